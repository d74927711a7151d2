"""Per-region digests of a part: what a region's composite reads of it, so a rebuild can keep the region.

A region's composite depends on each of its parts' pixels inside the region, its tile (the overlap
rule's order), bounds and centre (the overlap rule's distance). The digest of a part for a region is
a SHA-256 of those, the pixels taken as the stored (ZSTD-compressed) bytes of the part's blocks that
intersect the region's window, every band of every slab GeoTIFF of the part, read without decoding
them. The same pixels written by the same GDAL give the same bytes; where they did not, the region
is only rebuilt when it need not be.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import morecantile
from osgeo import gdal

from mosaic.grid import OutputGrid, region_id
from mosaic.parts import PART_FORMAT, Part, slab_files

gdal.UseExceptions()


def part_digests(part: Part, grid: OutputGrid, regions: list[morecantile.Tile] | None = None) -> dict[str, str]:
    """Region id -> digest of ``part`` for each region it intersects (or only ``regions``)."""
    regions = grid.regions(part.bounds) if regions is None else regions
    with ExitStack() as stack:
        slabs = [stack.enter_context(_Slab.open(path)) for path in slab_files(Path(part.path))]
        return {region_id(r): _digest(slabs, part, grid, r) for r in regions}


@dataclass
class _Slab:
    """One slab GeoTIFF of a part, open for reading its blocks' stored bytes."""

    ds: gdal.Dataset
    fd: int

    @classmethod
    @contextmanager
    def open(cls, path: Path) -> Iterator[_Slab]:
        ds, fd = gdal.Open(str(path)), os.open(path, os.O_RDONLY)
        try:
            yield cls(ds, fd)
        finally:
            os.close(fd)

    @property
    def height(self) -> int:
        return self.ds.RasterYSize

    def update(self, h: hashlib._Hash, c0: int, c1: int, r0: int, r1: int) -> None:
        """Add the stored bytes of every band's blocks within columns c0:c1 and rows r0:r1 (of this slab)."""
        for i in range(1, self.ds.RasterCount + 1):
            band = self.ds.GetRasterBand(i)
            bx, by = band.GetBlockSize()
            for y in range(r0 // by, (r1 - 1) // by + 1):
                for x in range(c0 // bx, (c1 - 1) // bx + 1):
                    offset = int(band.GetMetadataItem(f"BLOCK_OFFSET_{x}_{y}", "TIFF") or 0)
                    length = int(band.GetMetadataItem(f"BLOCK_SIZE_{x}_{y}", "TIFF") or 0) if offset else 0
                    h.update(f"{i}:{x}:{y}:{length}:".encode())
                    if offset:
                        h.update(os.pread(self.fd, length, offset))


def _digest(slabs: list[_Slab], part: Part, grid: OutputGrid, region: morecantile.Tile) -> str:
    """The digest of one region: geometry, then each slab's blocks in the region's window."""
    h = hashlib.sha256(repr((PART_FORMAT, part.tile, tuple(part.bounds), tuple(part.centre))).encode())
    size = grid.region_size()
    transform = grid.region_transform(region)
    reg_col, reg_row = grid.offset(transform.c, transform.f)
    p_col, p_row = grid.offset(part.bounds[0], part.bounds[3])
    width = round((part.bounds[2] - part.bounds[0]) / grid.res)
    c0, c1 = max(0, reg_col - p_col), min(width, reg_col + size - p_col)
    top = 0
    for index, slab in enumerate(slabs):
        r0, r1 = max(0, reg_row - p_row - top), min(slab.height, reg_row + size - p_row - top)
        if c0 < c1 and r0 < r1:
            h.update(f"slab {index}:".encode())
            slab.update(h, c0, c1, r0, r1)
        top += slab.height
    return h.hexdigest()
