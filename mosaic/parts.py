"""Parts: one product's R1 layers warped onto the common grid, cached for incremental builds.

A part is a tiled GeoTIFF in EPSG:3857 on the grid's pixels, covering the product's footprint,
with six Int16 bands: B2, B3, B4, B8, FLG, DTS, no data -10000 in all of them (nearest
neighbour, so every mosaic value is a value of a source pixel; GDAL's default approximate
transformer places pixels within 1/8 of a source pixel). Parts are written to a temporary name
and renamed when complete.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from osgeo import gdal
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.io import DatasetReader
from rasterio.warp import reproject, transform_bounds
from rasterio.windows import Window
from rasterio.windows import transform as window_transform

from mosaic.grid import OutputGrid
from mosaic.layers import REFLECTANCE
from mosaic.written import flushed, written
from processing.layout import NODATA, Flag

gdal.UseExceptions()  # a failed write or flush raises

REFLECTANCE_BANDS: tuple[str, ...] = REFLECTANCE.bands
PART_ASSETS: tuple[str, ...] = (*REFLECTANCE_BANDS, "FLG_R1", "DTS_R1")
PART_NODATA = NODATA
"""One no-data value for all bands of a part (GeoTIFF stores one): FLG 0 becomes -10000."""
PART_FORMAT = 2
"""Bump when the content of a part changes, so cached parts are rebuilt."""
CHUNK_ROWS = 512
"""Output rows warped at a time: bounds the memory of a part task (~200 MB at 10 m)."""
WARP_MEMORY_MB = 128
"""GDAL's working buffers per slab warp. 512 let two concurrent part tasks hold ~0.1 GB more at the
build's peak (10 m, 2 products: 1.57 -> 1.45 GB; 4: 1.77 -> 1.67 GB) for the same wall time."""

# ZSTD level 1 without predictor: parts are written once and read once per build, and the
# predictor doubled the time to read them back.
_PROFILE = {
    "driver": "GTiff", "dtype": "int16", "crs": "EPSG:3857", "nodata": PART_NODATA, "tiled": True,
    "blockxsize": 512, "blockysize": 512, "compress": "zstd", "zstd_level": 1, "interleave": "band",
    "bigtiff": "IF_SAFER",
}


@dataclass(frozen=True)
class Part:
    """A product warped onto the grid."""

    tile: str
    path: str
    bounds: tuple[float, float, float, float]
    """EPSG:3857, on grid pixels."""
    centre: tuple[float, float]
    """EPSG:3857 centre of the product footprint (the overlap rule's distance reference)."""

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)


def part_key(checksum: str, grid: OutputGrid) -> str:
    """Cache key of a part: the input's checksum, the grid and the part format."""
    raw = f"{checksum}:{grid.zoom}:{PART_FORMAT}".encode()
    return hashlib.sha256(raw).hexdigest()[:24]


def part_geometry(
    src_bounds: tuple[float, float, float, float], epsg: int, grid: OutputGrid
) -> tuple[tuple[float, float, float, float], tuple[float, float]]:
    """Snapped EPSG:3857 bounds of a product's footprint, and its centre."""
    b = transform_bounds(f"EPSG:{epsg}", "EPSG:3857", *src_bounds, densify_pts=51)
    return grid.snap(b), ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)


def warp_part(
    tile: str,
    assets: dict[str, str],
    epsg: int,
    src_bounds: tuple[float, float, float, float],
    grid: OutputGrid,
    out: Path,
    threads: int = 1,
) -> Part:
    """Warp a product's R1 reflectances, FLG and DTS onto ``grid`` into ``out`` (atomically).

    The part is made in slabs of ``CHUNK_ROWS`` output rows: the six assets' source rows under
    a slab are read into one array (their files are striped: whole rows are what they read
    best) and warped together, so GDAL computes the reprojection once for the six bands.
    """
    bounds, centre = part_geometry(src_bounds, epsg, grid)
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
        width = round((bounds[2] - bounds[0]) / grid.res)
        height = round((bounds[3] - bounds[1]) / grid.res)
        profile = {
            **_PROFILE, "width": width, "height": height, "count": len(PART_ASSETS),
            "transform": Affine(grid.res, 0.0, bounds[0], 0.0, -grid.res, bounds[3]),
        }
        try:
            with ExitStack() as stack:
                sources = [stack.enter_context(rasterio.open(assets[a])) for a in PART_ASSETS]
                # Flushed and closed raising errors, then read back: a full disk raises (mosaic.written).
                with written(tmp), flushed(_create_part(tmp, profile)) as dst:
                    for row in range(0, height, CHUNK_ROWS):
                        window = Window(0, row, width, min(CHUNK_ROWS, height - row))
                        slab = _warp_slab(sources, window_transform(window, profile["transform"]), window, threads)
                        for band, data in enumerate(slab, start=1):
                            dst.GetRasterBand(band).WriteArray(data, xoff=0, yoff=row)
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
    return Part(tile=tile, path=str(out), bounds=bounds, centre=centre)


def _create_part(path: Path, profile: dict) -> gdal.Dataset:
    """An empty part (GTiff, ``_PROFILE``'s options) opened for writing by GDAL's own bindings.

    Written through osgeo rather than rasterio so that flushing and closing it raise GDAL's errors
    (:mod:`mosaic.written`).
    """
    options = [
        "TILED=YES", f"BLOCKXSIZE={profile['blockxsize']}", f"BLOCKYSIZE={profile['blockysize']}",
        f"COMPRESS={profile['compress'].upper()}", f"ZSTD_LEVEL={profile['zstd_level']}",
        f"INTERLEAVE={profile['interleave'].upper()}", f"BIGTIFF={profile['bigtiff']}",
    ]
    ds = gdal.GetDriverByName("GTiff").Create(
        str(path), profile["width"], profile["height"], profile["count"], gdal.GDT_Int16, options=options
    )
    ds.SetGeoTransform(profile["transform"].to_gdal())
    ds.SetProjection(CRS.from_user_input(profile["crs"]).to_wkt())
    for i in range(1, profile["count"] + 1):
        ds.GetRasterBand(i).SetNoDataValue(profile["nodata"])
    return ds


def _warp_slab(sources: list[DatasetReader], transform: Affine, window: Window, threads: int) -> np.ndarray:
    """The six part bands of one slab of output rows (nearest neighbour, no data -10000).

    No source no-data value is given to GDAL: with nearest neighbour a source no-data pixel
    lands unchanged in the part, where it means no data too (FLG 0 is turned into -10000), and
    GDAL skips building the validity masks of six full slabs. No destination no-data value
    either: the slab starts as -10000 and GDAL only writes the pixels a source pixel lands on;
    told of it, GDAL also masked the destination, which made the warp 1.4x slower (10 m, the
    same bytes).
    """
    height, width = int(window.height), int(window.width)
    out = np.full((len(PART_ASSETS), height, width), PART_NODATA, dtype=np.int16)
    src = sources[0]
    left, top = transform.c, transform.f
    right, bottom = transform @ (width, height)
    slab = transform_bounds("EPSG:3857", src.crs, left, bottom, right, top, densify_pts=21)
    read = _source_window(src, slab)
    if read is None:
        return out
    data = np.empty((len(PART_ASSETS), int(read.height), int(read.width)), dtype=np.int16)
    for band, source in zip(data, sources, strict=True):
        source.read(1, window=read, out=band)
    reproject(  # into ``out`` as filled above: GDAL writes only the pixels that have a source pixel
        data, out, src_transform=src.window_transform(read), src_crs=src.crs,
        dst_transform=transform, dst_crs="EPSG:3857", resampling=Resampling.nearest,
        init_dest_nodata=False, num_threads=threads, warp_mem_limit=WARP_MEMORY_MB,
    )
    flags = out[PART_ASSETS.index("FLG_R1")]
    flags[flags == int(Flag.NODATA)] = PART_NODATA
    return out


def _source_window(src: DatasetReader, bounds: tuple[float, float, float, float]) -> Window | None:
    """Whole source pixels covering ``bounds`` (source CRS) plus a one-pixel margin, or None."""
    window = src.window(*bounds).round_offsets(op="floor").round_lengths(op="ceil")
    col0, row0 = max(0, int(window.col_off) - 1), max(0, int(window.row_off) - 1)
    col1 = min(src.width, int(window.col_off + window.width) + 1)
    row1 = min(src.height, int(window.row_off + window.height) + 1)
    if col0 >= col1 or row0 >= row1:
        return None
    return Window(col0, row0, col1 - col0, row1 - row0)
