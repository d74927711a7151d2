"""Cloud Optimized GeoTIFF writing and validation (GDAL's COG driver and validator)."""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from osgeo import gdal
from osgeo_utils.samples.validate_cloud_optimized_geotiff import validate

from mosaic.layers import Layer
from mosaic.written import close, flushed, written

gdal.UseExceptions()

BLOCK = 256
"""COG block size: one block = one web tile."""


@contextmanager
def gdal_config(**options: str) -> Iterator[None]:
    """Set GDAL configuration options for the current thread (GDAL 3.6 has no context manager)."""
    old = {k: gdal.GetThreadLocalConfigOption(k) for k in options}
    for k, v in options.items():
        gdal.SetThreadLocalConfigOption(k, v)
    try:
        yield
    finally:
        for k, v in old.items():
            gdal.SetThreadLocalConfigOption(k, v)


def cog_options(layer: Layer, threads: int = 1) -> list[str]:
    """COG creation options of a layer: 256 px blocks (one block = one web tile)."""
    options = [
        f"BLOCKSIZE={BLOCK}",
        f"COMPRESS={layer.compress}",
        f"OVERVIEW_RESAMPLING={layer.overview_resampling}",
        f"NUM_THREADS={threads}",
        "BIGTIFF=IF_SAFER",
        "SPARSE_OK=TRUE",  # blocks without any data are not written (stored-tile route: 204)
    ]
    if layer.compress == "JPEG":
        options.append("QUALITY=85")
    else:
        options += [f"PREDICTOR={'YES' if layer.predictor else 'NO'}",
                    "LEVEL=1"]  # ZSTD 1: 3x faster than DEFLATE 6, 10 % larger
    return options


def overview_factors(width: int, height: int) -> list[int]:
    """Overview decimation factors the COG driver would make: halve until one block is left."""
    return [2**k for k in range(1, max(0, math.ceil(math.log2(max(width, height) / BLOCK))) + 1)]


def add_overviews(scratch: str | Path, layer: Layer) -> None:
    """Compute a scratch GTiff's overviews into the file itself (uncompressed, 256 px blocks), and name its
    bands after the layer's (``B2``...: the band descriptions GIS clients show; the COG copies them).

    Done once on the uncompressed scratch file, the COG driver then only copies them: left to
    itself it computes them from the source into a compressed temporary file and copies that,
    which took twice as long (docs/benchmarks.md). Written through osgeo and read back
    (:mod:`mosaic.written`).
    """
    with written(scratch), gdal_config(GDAL_TIFF_INTERNAL_MASK="YES", GDAL_TIFF_OVR_BLOCKSIZE=str(BLOCK)), \
            flushed(gdal.Open(str(scratch), gdal.GA_Update)) as ds:
        for index, name in enumerate(layer.bands[: ds.RasterCount], 1):
            ds.GetRasterBand(index).SetDescription(name)
        factors = overview_factors(ds.RasterXSize, ds.RasterYSize)
        if not factors:
            return
        window = data_window(ds, factors[-1])
        if window is None or window[2] * window[3] > SPARSE_SHARE * ds.RasterXSize * ds.RasterYSize:
            ds.BuildOverviews(layer.overview_resampling, factors)
        else:
            _window_overviews(ds, Path(scratch), window, layer, factors)


SPARSE_SHARE = 0.5
"""Above this share of the raster, the data window's overviews are built over the whole raster."""


def data_window(ds: gdal.Dataset, align: int) -> tuple[int, int, int, int] | None:
    """The window (x, y, width, height) of the blocks of ``ds`` that hold data (bands and mask; GDAL's
    data coverage: absent blocks of a sparse GTiff are empty), widened to multiples of ``align``
    (or the raster's edge); None when no block holds data."""
    bands = [ds.GetRasterBand(i) for i in range(1, ds.RasterCount + 1)]
    if bands[0].GetMaskFlags() == gdal.GMF_PER_DATASET:
        bands.append(bands[0].GetMaskBand())
    bx, by = bands[0].GetBlockSize()
    xs, ys = [], []
    for y in range(0, ds.RasterYSize, by):
        for x in range(0, ds.RasterXSize, bx):
            w, h = min(bx, ds.RasterXSize - x), min(by, ds.RasterYSize - y)
            if any(not b.GetDataCoverageStatus(x, y, w, h)[0] & gdal.GDAL_DATA_COVERAGE_STATUS_EMPTY for b in bands):
                xs += [x, x + w]
                ys += [y, y + h]
    if not xs:
        return None
    x0, y0 = min(xs) // align * align, min(ys) // align * align
    x1, y1 = (min(ds.RasterXSize, -(-max(v) // align) * align) for v in (xs, ys))
    return x0, y0, x1 - x0, y1 - y0


def _window_overviews(ds: gdal.Dataset, scratch: Path, window: tuple[int, int, int, int], layer: Layer,
                      factors: list[int]) -> None:
    """Overviews of ``ds`` computed over ``window`` only (the rest of the raster holds no data): GDAL builds
    them on a copy of the window (the same GTiff code, the window aligned to the coarsest factor, so each
    overview pixel averages the same pixels), they are pasted into empty overview levels of ``ds``."""
    x0, y0, w, h = window
    part_path = scratch.with_name(f"{scratch.stem}.window.tif")
    options = [f"BLOCKXSIZE={BLOCK}", f"BLOCKYSIZE={BLOCK}", "TILED=YES", "INTERLEAVE=PIXEL", "SPARSE_OK=TRUE"]
    try:
        part = gdal.Translate(str(part_path), ds, srcWin=[x0, y0, w, h], creationOptions=options)
        part.BuildOverviews(layer.overview_resampling, factors)
        ds.BuildOverviews("NONE", factors)  # empty levels: absent blocks read as no data
        for level, factor in enumerate(factors):
            src, dst = part.GetRasterBand(1).GetOverview(level), ds.GetRasterBand(1).GetOverview(level)
            dst.GetDataset().WriteRaster(x0 // factor, y0 // factor, src.XSize, src.YSize,
                                         src.GetDataset().ReadRaster())
            if ds.GetRasterBand(1).GetMaskFlags() == gdal.GMF_PER_DATASET:
                src, dst = src.GetMaskBand(), dst.GetMaskBand()
                dst.WriteRaster(x0 // factor, y0 // factor, src.XSize, src.YSize, src.ReadRaster())
        close(part)
    finally:
        part_path.unlink(missing_ok=True)


def write_cog(scratch: str | Path, dst: Path, layer: Layer, threads: int = 1) -> Path:
    """Write ``scratch`` (a tiled GTiff, given overviews here) as a COG ``dst``, atomically."""
    add_overviews(scratch, layer)
    tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}.tmp")
    try:
        with written(tmp), gdal_config(GDAL_NUM_THREADS=str(threads), GDAL_TIFF_INTERNAL_MASK="YES"):
            options = [*cog_options(layer, threads), "OVERVIEWS=FORCE_USE_EXISTING"]
            close(gdal.Translate(str(tmp), str(scratch), format="COG", creationOptions=options))
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return dst


def cog_errors(path: str | Path) -> list[str]:
    """COG validation errors of a file (empty when it is a valid COG)."""
    ds = gdal.Open(str(path))
    try:
        _warnings, errors, _details = validate(ds, full_check=True)
    finally:
        ds = None
    return list(errors)
