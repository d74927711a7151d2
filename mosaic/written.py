"""Rasters written so that a full disk is an error, never a silently broken file.

GDAL 3.6 has no ``Dataset.Close`` (3.7 has): a dataset is closed when its last Python reference
goes, and what is written then (the blocks still in the cache, the TIFF directory) can fail with
only an "Exception ignored" on stderr; rasterio does not report it either. And libtiff does not
check the final ``fclose``, so the last bytes of a file can be lost on a full disk with no error
at all. So the build writes every raster through osgeo inside :func:`flushed` (flushed and
closed with GDAL's errors raised) and :func:`written` (read back: the directory must open and
every block it lists must lie inside the file). A GDAL failure on a (nearly) full disk becomes
``OSError(ENOSPC)`` naming the file: GDAL's own words for it are often vaguer
(``TIFFReadDirectory: Failed to read directory``).
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from osgeo import gdal

gdal.UseExceptions()

NEARLY_FULL = 8 * 2**20
"""Free bytes under which a failed write is put down to a full disk: more than any one write
GDAL makes here (a block of a region scratch is 512 KB), and the build's own files are still there."""


@contextmanager
def written(path: str | Path) -> Iterator[None]:
    """Around the writing of the raster ``path`` (flushed and closed by the end of the block): read it back.

    Raises ``OSError(ENOSPC)`` naming ``path`` when the write or the read-back fails on a nearly
    full disk, GDAL's error otherwise.
    """
    path = Path(path)
    try:
        yield
        check_complete(path)
    except RuntimeError as exc:
        if _free(path.parent) < NEARLY_FULL:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path)) from exc
        raise


@contextmanager
def flushed(ds: gdal.Dataset) -> Iterator[gdal.Dataset]:
    """``ds`` for the block, then flushed and closed, raising GDAL's errors; closed quietly if the block raised."""
    try:
        yield ds
    except BaseException:
        with suppress(RuntimeError):  # closing a half-written file fails too: the block's error is the one
            _close(ds)
        raise
    close(ds)


def close(ds: gdal.Dataset) -> None:
    """Flush and close ``ds`` now, raising GDAL's errors (the dataset must not be used afterwards)."""
    try:
        ds.FlushCache()
    except RuntimeError:
        with suppress(RuntimeError):
            _close(ds)
        raise
    _close(ds)


def _close(ds: gdal.Dataset) -> None:
    """Close ``ds`` now: ``Dataset.Close`` from GDAL 3.7, the bindings' destructor before (which disowns it,
    so that dropping the last reference later does nothing), raising GDAL's error either way."""
    if hasattr(ds, "Close"):
        ds.Close()
    else:
        gdal._gdal.delete_Dataset(ds)  # noqa: SLF001 - what Close does in GDAL >= 3.7


def check_complete(path: Path) -> None:
    """Raise unless ``path`` opens and every block its TIFF directories list lies inside the file.

    A file cut short by a write lost at close has a directory (then it does not open) or blocks
    (then they end past the end of the file) missing. Other formats (VRT) are only opened.
    """
    size = path.stat().st_size
    ds = gdal.Open(str(path))
    try:
        end = max((_blocks_end(level) for level in _levels(ds)), default=0)
    finally:
        ds = None  # noqa: F841 - closed before the caller removes or renames the file
    if end > size:
        raise RuntimeError(f"{path}: blocks end at byte {end}, past the end of the file ({size} bytes)")


def _levels(ds: gdal.Dataset) -> Iterator[gdal.Band]:
    """Every band (the first only when pixel-interleaved), mask band and overview of ``ds``."""
    pixel = ds.GetMetadataItem("INTERLEAVE", "IMAGE_STRUCTURE") == "PIXEL"
    for index in range(1, (1 if pixel else ds.RasterCount) + 1):
        band = ds.GetRasterBand(index)
        bands = [band]
        if index == 1 and band.GetMaskFlags() == gdal.GMF_PER_DATASET:
            bands.append(band.GetMaskBand())
        for b in bands:
            yield b
            yield from (b.GetOverview(k) for k in range(b.GetOverviewCount()))


def _blocks_end(band: gdal.Band) -> int:
    """Byte offset where the last of a band's TIFF blocks ends (0: none written, or not a TIFF)."""
    bx, by = band.GetBlockSize()
    end = 0
    for y in range((band.YSize + by - 1) // by):
        for x in range((band.XSize + bx - 1) // bx):
            offset = band.GetMetadataItem(f"BLOCK_OFFSET_{x}_{y}", "TIFF")
            if offset:
                end = max(end, int(offset) + int(band.GetMetadataItem(f"BLOCK_SIZE_{x}_{y}", "TIFF")))
    return end


def _free(folder: Path) -> int:
    """Free bytes on the disk of ``folder`` (0 when it cannot be told)."""
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return 0
