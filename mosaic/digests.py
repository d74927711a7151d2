"""Per-region digests of a part: what a region's composite reads of it, so a rebuild can keep the region.

A region's composite depends on each of its parts' pixels inside the region, its tile (the overlap
rule's order), bounds and centre (the overlap rule's distance). The digest of a part for a region is
a SHA-256 of those, the pixels taken as the stored (ZSTD-compressed) bytes of the part's blocks that
intersect the region's window, every band, read without decoding them. The same pixels written by
the same GDAL give the same bytes; where they did not, the region is only rebuilt when it need not be.
"""

from __future__ import annotations

import hashlib
import os

import morecantile
from osgeo import gdal

from mosaic.grid import OutputGrid, region_id
from mosaic.parts import PART_FORMAT, Part

gdal.UseExceptions()


def part_digests(part: Part, grid: OutputGrid, regions: list[morecantile.Tile] | None = None) -> dict[str, str]:
    """Region id -> digest of ``part`` for each region it intersects (or only ``regions``)."""
    regions = grid.regions(part.bounds) if regions is None else regions
    ds = gdal.Open(part.path)
    fd = os.open(part.path, os.O_RDONLY)
    try:
        return {region_id(r): _digest(ds, fd, part, grid, r) for r in regions}
    finally:
        os.close(fd)
        ds = None


def _digest(ds: gdal.Dataset, fd: int, part: Part, grid: OutputGrid, region: morecantile.Tile) -> str:
    """The digest of one region: geometry, then each band's blocks in the region's window."""
    h = hashlib.sha256(repr((PART_FORMAT, part.tile, tuple(part.bounds), tuple(part.centre))).encode())
    size = grid.region_size()
    transform = grid.region_transform(region)
    reg_col, reg_row = grid.offset(transform.c, transform.f)
    p_col, p_row = grid.offset(part.bounds[0], part.bounds[3])
    c0, c1 = max(0, reg_col - p_col), min(ds.RasterXSize, reg_col + size - p_col)
    r0, r1 = max(0, reg_row - p_row), min(ds.RasterYSize, reg_row + size - p_row)
    if c0 >= c1 or r0 >= r1:
        return h.hexdigest()
    for i in range(1, ds.RasterCount + 1):
        band = ds.GetRasterBand(i)
        bx, by = band.GetBlockSize()
        for y in range(r0 // by, (r1 - 1) // by + 1):
            for x in range(c0 // bx, (c1 - 1) // bx + 1):
                offset = int(band.GetMetadataItem(f"BLOCK_OFFSET_{x}_{y}", "TIFF") or 0)
                length = int(band.GetMetadataItem(f"BLOCK_SIZE_{x}_{y}", "TIFF") or 0) if offset else 0
                h.update(f"{i}:{x}:{y}:{length}:".encode())
                if offset:
                    h.update(os.pread(fd, length, offset))
    return h.hexdigest()
