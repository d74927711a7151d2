"""Parts: one product's R1 layers warped onto the common grid, cached for incremental builds.

A part is a raster in EPSG:3857 on the grid's pixels, covering the product's footprint, with six
Int16 bands: B2, B3, B4, B8, FLG, DTS, no data -10000 in all of them (nearest neighbour, so
every mosaic value is a value of a source pixel; GDAL's default approximate transformer places
pixels within 1/8 of a source pixel). It is a VRT (``parts/<key>.vrt``) stacking tiled GeoTIFFs
of ``CHUNK_ROWS`` rows each (``parts/<key>/NNNN.tif``), one per slab of the warp, so that a new
version of a product keeps (hard-links) the slabs of its previous part whose source pixels did
not change. A part's folder is written under a temporary name and renamed, then its VRT.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import rasterio
import xxhash
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
from mosaic.store import write_json_atomic
from mosaic.written import close, flushed, written
from processing.layout import NODATA, Flag

gdal.UseExceptions()  # a failed write or flush raises

REFLECTANCE_BANDS: tuple[str, ...] = REFLECTANCE.bands
PART_ASSETS: tuple[str, ...] = (*REFLECTANCE_BANDS, "FLG_R1", "DTS_R1")
PART_NODATA = NODATA
"""One no-data value for all bands of a part (GeoTIFF stores one): FLG 0 becomes -10000."""
PART_FORMAT = 3
"""Bump when the content of a part changes, so cached parts are rebuilt (3: a VRT over slab GeoTIFFs)."""
SLABS_FILE = "slabs.json"
"""In a part's folder: the digest of each slab's source pixels, and what else decides its pixels."""
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
    previous: Path | None = None,
) -> Part:
    """Warp a product's R1 reflectances, FLG and DTS onto ``grid`` into the part ``out`` (atomically).

    The part is made in slabs of ``CHUNK_ROWS`` output rows: the six assets' source rows under
    a slab are read into one array (their files are striped: whole rows are what they read
    best) and warped together, so GDAL computes the reprojection once for the six bands. Each
    slab is a GeoTIFF of its own in the part's folder (:func:`slab_folder`); ``out`` is the VRT
    that stacks them, written last: a part exists once its VRT does.

    ``previous`` is the part of an earlier version of the same product, if any: when it lies on
    the same pixels, its slabs whose source pixels are the same (same digest) are hard-linked
    into the new part instead of being warped and compressed again.
    """
    bounds, centre = part_geometry(src_bounds, epsg, grid)
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.stem}.{uuid.uuid4().hex}.tmp")
        tmp.mkdir()
        width = round((bounds[2] - bounds[0]) / grid.res)
        height = round((bounds[3] - bounds[1]) / grid.res)
        transform = Affine(grid.res, 0.0, bounds[0], 0.0, -grid.res, bounds[3])
        try:
            with ExitStack() as stack:
                sources = [stack.enter_context(rasterio.open(assets[a])) for a in PART_ASSETS]
                geometry = _geometry(transform, width, height, sources[0])
                kept = _previous_slabs(previous, geometry)
                digests = []
                for index, row in enumerate(range(0, height, CHUNK_ROWS)):
                    window = Window(0, row, width, min(CHUNK_ROWS, height - row))
                    slab_transform = window_transform(window, transform)
                    source = _read_slab(sources, slab_transform, window)
                    digests.append(_slab_digest(source))
                    name = _slab_name(index)
                    if index < len(kept) and kept[index] == digests[-1] and _linked(
                            slab_folder(previous) / name, tmp / name):
                        continue
                    _write_slab(tmp / name, _warp_slab(source, sources[0].crs, slab_transform, window, threads),
                                slab_transform)
            write_json_atomic(tmp / SLABS_FILE, {"geometry": geometry, "slabs": digests})
            folder = slab_folder(out)
            shutil.rmtree(folder, ignore_errors=True)  # an earlier attempt's, killed before its VRT
            os.replace(tmp, folder)
            _write_vrt(out, [folder / _slab_name(i) for i in range(len(digests))])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return Part(tile=tile, path=str(out), bounds=bounds, centre=centre)


def part_path(parts_dir: str | Path, key: str) -> Path:
    """Where the part of cache key ``key`` lives in a month's parts folder (its VRT)."""
    return Path(parts_dir) / f"{key}.vrt"


def slab_folder(part: Path) -> Path:
    """The folder of a part's slab GeoTIFFs and their digests (beside its VRT, same name)."""
    return part.with_suffix("")


def slab_files(part: Path) -> list[Path]:
    """A part's slab GeoTIFFs, top to bottom (raises when it has none: not a part of this format)."""
    files = sorted(slab_folder(part).glob("*.tif"))
    if not files:
        raise FileNotFoundError(f"{part}: no slab GeoTIFFs in {slab_folder(part)}")
    return files


def _slab_name(index: int) -> str:
    return f"{index:04d}.tif"


def _linked(src: Path, dst: Path) -> bool:
    """Hard-link ``src`` as ``dst`` (False when it cannot be: gone, or another file system)."""
    try:
        os.link(src, dst)
    except OSError:
        return False
    return True


def _write_slab(path: Path, slab: np.ndarray, transform: Affine) -> None:
    """One slab's six bands as a GeoTIFF (``_PROFILE``), flushed, closed and read back (a full disk raises)."""
    profile = {**_PROFILE, "width": slab.shape[2], "height": slab.shape[1], "count": len(PART_ASSETS),
               "transform": transform}
    with written(path), flushed(_create_part(path, profile)) as dst:
        for band, data in enumerate(slab, start=1):
            dst.GetRasterBand(band).WriteArray(data)


def _write_vrt(out: Path, slabs: list[Path]) -> None:
    """The part's VRT over its slabs (sources relative to it), written to a temporary name and renamed."""
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    try:
        with written(tmp):
            # Slabs do not overlap: plain sources (copied as they are), not sources masked by their no-data
            # value pixel by pixel (twice the time to read a region's parts back).
            close(gdal.BuildVRT(str(tmp), [str(s) for s in slabs], srcNodata="None", VRTNodata=PART_NODATA))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def _geometry(transform: Affine, width: int, height: int, src: DatasetReader) -> str:
    """What, besides the source pixels, decides a part's pixels: its grid, its source grid and this code."""
    return repr((PART_FORMAT, CHUNK_ROWS, gdal.__version__, tuple(transform), width, height, src.crs.to_wkt(),
                 tuple(src.transform), src.width, src.height))


def _previous_slabs(previous: Path | None, geometry: str) -> list[str]:
    """The slab digests of the part ``previous`` when it lies on the same pixels (else none)."""
    if previous is None:
        return []
    try:
        doc = json.loads((slab_folder(previous) / SLABS_FILE).read_text())
    except (OSError, ValueError):
        return []
    return list(doc["slabs"]) if doc.get("geometry") == geometry else []


def _slab_digest(source: tuple[np.ndarray, Affine] | None) -> str:
    """A digest of the source pixels a slab is warped from (xxh3, 128 bits: a change detector, ~17 GB/s)."""
    if source is None:
        return "empty"
    data, transform = source
    h = xxhash.xxh3_128(repr((data.shape, tuple(transform))).encode())
    h.update(np.ascontiguousarray(data).data)
    return h.hexdigest()


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


def _read_slab(sources: list[DatasetReader], transform: Affine, window: Window) -> tuple[np.ndarray, Affine] | None:
    """The six assets' source pixels under one slab of output rows, and their transform (None: no source pixel)."""
    src = sources[0]
    left, top = transform.c, transform.f
    right, bottom = transform @ (int(window.width), int(window.height))
    slab = transform_bounds("EPSG:3857", src.crs, left, bottom, right, top, densify_pts=21)
    read = _source_window(src, slab)
    if read is None:
        return None
    data = np.empty((len(PART_ASSETS), int(read.height), int(read.width)), dtype=np.int16)
    for band, source in zip(data, sources, strict=True):
        source.read(1, window=read, out=band)
    return data, src.window_transform(read)


def _warp_slab(
    source: tuple[np.ndarray, Affine] | None, src_crs: CRS, transform: Affine, window: Window, threads: int
) -> np.ndarray:
    """The six part bands of one slab of output rows (nearest neighbour, no data -10000).

    No source no-data value is given to GDAL: with nearest neighbour a source no-data pixel
    lands unchanged in the part, where it means no data too (FLG 0 is turned into -10000), and
    GDAL skips building the validity masks of six full slabs. No destination no-data value
    either: the slab starts as -10000 and GDAL only writes the pixels a source pixel lands on;
    told of it, GDAL also masked the destination, which made the warp 1.4x slower (10 m, the
    same bytes).
    """
    out = np.full((len(PART_ASSETS), int(window.height), int(window.width)), PART_NODATA, dtype=np.int16)
    if source is None:
        return out
    data, src_transform = source
    reproject(  # into ``out`` as filled above: GDAL writes only the pixels that have a source pixel
        data, out, src_transform=src_transform, src_crs=src_crs,
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
