"""The stored JPEG blocks of the true-colour COGs, located and read without decoding them.

The true-colour COGs are JPEG-compressed with 256 px blocks aligned on the web tiles of their
zoom level and of each overview level, and an internal 1-bit no-data mask (DEFLATE) of the same
layout. A tile whose block is stored is answered as that block's bytes behind the file's shared
JPEG tables (a standalone JPEG), provided the mask block says how much of it is valid:

- ``EMPTY``: no valid pixel (the mask block is absent: sparse): the tile is empty (204);
- ``FULL``: every pixel valid: the stored JPEG is the tile, transparency or not;
- ``PARTIAL``: some no data: the tile must be rendered (PNG with transparent no data).

GDAL locates the blocks (``BLOCK_OFFSET_*`` of each level, the mask levels opened as their own
TIFF directories); what it found is remembered per block in small arrays, so a block is looked up
through GDAL once per process. Block bytes are read with ``pread`` (local files) or GDAL's
virtual file systems (``/vsicurl/``, ``/vsis3/``). A mask block is inflated with zlib (8 KB).
"""

from __future__ import annotations

import math
import os
import threading
import zlib
from array import array
from collections import OrderedDict
from dataclasses import dataclass

from osgeo import gdal

from mosaic.grid import TILE_PX, cell_size, tile_corner, whole_pixels

EMPTY, FULL, PARTIAL = 1, 2, 3
_UNKNOWN = 0
_FULL_MASK = b"\xff" * (TILE_PX * TILE_PX // 8)
_lock = threading.Lock()  # GDAL dataset handles are not shared across threads unlocked


@dataclass(frozen=True)
class Block:
    """A stored block: where its bytes are and how much of it is valid."""

    offset: int
    size: int
    state: int
    """EMPTY, FULL or PARTIAL."""


class _Level:
    """One resolution level of a COG: its data band, its mask directory (if any) and what is known of its blocks."""

    def __init__(self, band: gdal.Band, mask: gdal.Band | None) -> None:
        self.band, self.mask = band, mask
        self.cols, self.rows = math.ceil(band.XSize / TILE_PX), math.ceil(band.YSize / TILE_PX)
        count = self.cols * self.rows
        self.offsets = array("q", [-1]) * count  # -1 unknown, 0 absent
        self.sizes = array("q", [0]) * count
        self.states = bytearray(count)


class BlockIndex:
    """Where each JPEG block of a COG lies, and its validity, by (level, column, row)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.local = not path.startswith("/vsi")
        ds = gdal.Open(path)
        if ds is None:
            raise OSError(f"cannot open {path}: {gdal.GetLastErrorMsg()}")
        gt = ds.GetGeoTransform()
        self.left, self.top, self.res = gt[0], gt[3], gt[1]
        band = ds.GetRasterBand(1)
        tables = band.GetMetadataItem("JPEGTABLES", "TIFF")
        self.tables = bytes.fromhex(tables)[:-2] if tables else b""  # without its end-of-image marker
        bands = [band] + [band.GetOverview(i) for i in range(band.GetOverviewCount())]
        masks = _mask_directories(path, ds) if band.GetMaskFlags() == gdal.GMF_PER_DATASET else {}
        self.levels = [_Level(b, masks[(b.XSize, b.YSize)][1] if (b.XSize, b.YSize) in masks else None)
                       for b in bands]
        self.has_mask = band.GetMaskFlags() & gdal.GMF_ALL_VALID == 0
        self._datasets = [ds, *(sub for sub, _ in masks.values())]  # keep the bands valid

    def position(self, z: int, x: int, y: int) -> tuple[int, int, int] | None:
        """(level, column, row) of web tile z/x/y in this file, or None if it is not one of its blocks."""
        level_res = cell_size(z)
        level = round(math.log2(level_res / self.res))
        if not 0 <= level < len(self.levels) or not math.isclose(self.res * 2**level, level_res, rel_tol=1e-9):
            return None
        left, top = tile_corner(x, y, z)
        size = TILE_PX * level_res
        where = whole_pixels((left - self.left) / size, (self.top - top) / size)
        info = self.levels[level]
        if where is None or not (0 <= where[0] < info.cols and 0 <= where[1] < info.rows):
            return None
        return level, *where

    def block(self, level: int, col: int, row: int) -> Block:
        """The data block at a position (offset 0 where none is stored) and its validity."""
        info = self.levels[level]
        i = row * info.cols + col
        if info.offsets[i] < 0:
            offset, size = self._locate(info.band, col, row)
            info.sizes[i], info.offsets[i] = size, offset
        if not info.states[i]:
            info.states[i] = self._validity(info, col, row, info.offsets[i])
        return Block(info.offsets[i], info.sizes[i], info.states[i])

    def jpeg(self, block: Block) -> bytes:
        """A stored block as a standalone JPEG (the file's tables, then the block without its start marker)."""
        data = self.read(block.offset, block.size)
        return self.tables + data[2:] if self.tables else data

    def read(self, offset: int, size: int) -> bytes:
        """Bytes of the file (``pread`` for a local file; GDAL's file systems otherwise)."""
        if self.local:
            fd = os.open(self.path, os.O_RDONLY)
            try:
                data = os.pread(fd, size, offset)
            finally:
                os.close(fd)
        else:
            handle = gdal.VSIFOpenL(self.path, "rb")
            if handle is None:
                raise OSError(f"cannot open {self.path}: {gdal.GetLastErrorMsg()}")
            try:
                gdal.VSIFSeekL(handle, offset, 0)
                data = gdal.VSIFReadL(1, size, handle)
            finally:
                gdal.VSIFCloseL(handle)
        if data is None or len(data) != size:
            raise OSError(f"{self.path}: short read")
        return data

    def _locate(self, band: gdal.Band, col: int, row: int) -> tuple[int, int]:
        """(offset, size) of a block as GDAL reads them from the TIFF directory; (0, 0) where none is stored."""
        with _lock:
            gdal.ErrorReset()
            offset = band.GetMetadataItem(f"BLOCK_OFFSET_{col}_{row}", "TIFF")
            size = band.GetMetadataItem(f"BLOCK_SIZE_{col}_{row}", "TIFF")
            if gdal.GetLastErrorType() >= gdal.CE_Failure:  # the block index could not be read: not "empty"
                raise OSError(f"{self.path}: {gdal.GetLastErrorMsg()}")
        if not offset or not size or int(size) == 0:
            return 0, 0
        return int(offset), int(size)

    def _validity(self, info: _Level, col: int, row: int, data_offset: int) -> int:
        """EMPTY, FULL or PARTIAL, from the block's 1-bit mask (inflated here, never through GDAL's raster I/O)."""
        if not self.has_mask:
            return FULL if data_offset else PARTIAL  # no mask: all valid; a sparse block of zeros is rendered
        if info.mask is None:
            return PARTIAL  # a mask this index cannot read raw: the tile is rendered, mask and all
        offset, size = self._locate(info.mask, col, row)
        if not offset:
            return EMPTY
        try:
            bits = zlib.decompress(self.read(offset, size))
        except zlib.error:
            return PARTIAL
        return FULL if bits == _FULL_MASK else PARTIAL


def _mask_directories(path: str, ds: gdal.Dataset) -> dict[tuple[int, int], tuple[gdal.Dataset, gdal.Band]]:
    """The 1-bit DEFLATE mask directories of a GeoTIFF, by size (GDAL opens each as ``GTIFF_DIR:n:path``)."""
    found: dict[tuple[int, int], tuple[gdal.Dataset, gdal.Band]] = {}
    levels = 1 + ds.GetRasterBand(1).GetOverviewCount()
    for n in range(2, 2 * levels + 1):  # directory 1 is the full resolution, the rest overviews and masks
        try:
            sub = gdal.OpenEx(f"GTIFF_DIR:{n}:{path}", gdal.OF_RASTER)
        except RuntimeError:  # (with exceptions on) no such directory
            sub = None
        if sub is None or sub.RasterCount != 1:
            continue
        band = sub.GetRasterBand(1)
        if (band.GetMetadataItem("NBITS", "IMAGE_STRUCTURE") == "1"
                and sub.GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE") == "DEFLATE"):
            found[(sub.RasterXSize, sub.RasterYSize)] = sub, band
    return found


class Indexes:
    """Block indexes of the files read lately (at most ``size``; builds are immutable: an index never goes stale).

    Each holds its file open once per level with a mask (GDAL datasets): 64 indexes, a few hundred
    file descriptors at most."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._indexes: OrderedDict[str, BlockIndex] = OrderedDict()

    def peek(self, path: str) -> BlockIndex | None:
        """The index of ``path`` if it is made already (never opens a file)."""
        return self._indexes.get(path)

    def get(self, path: str) -> BlockIndex:
        """The index of ``path``, made on first use."""
        index = self._indexes.get(path)
        if index is None:
            index = BlockIndex(path)
            with _lock:
                self._indexes[path] = index
                while len(self._indexes) > self.size:
                    self._indexes.popitem(last=False)
        return index

    def clear(self) -> None:
        """Forget every index (after a read error: one may hold a half-read block table)."""
        with _lock:
            self._indexes.clear()


INDEXES = Indexes()


def stored_block(path: str, z: int, x: int, y: int) -> tuple[BlockIndex, Block] | None:
    """The stored block of web tile z/x/y in ``path`` with its index (None: the file does not store that tile)."""
    index = INDEXES.get(path)
    where = index.position(z, x, y)
    return None if where is None else (index, index.block(*where))
