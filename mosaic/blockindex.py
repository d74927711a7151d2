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

Made that way, an index costs about 2 ms of CPU (``gdal.Open`` and one sub-dataset per mask
level): most of a cold tile's answer. So the build writes, next to each true-colour COG, its
whole index (:func:`write_block_index`: every block located and judged by the same code, through
GDAL), and the server loads it in one read (:meth:`BlockIndex.stored`, tens of microseconds). The
sidecar names the COG it describes by its size and a CRC of its header (the TIFF directories
and block tables, up to the first block) and carries a CRC of its own: one that does not match,
or cannot be read, is ignored and the index made through GDAL as before (older builds have none).
"""

from __future__ import annotations

import io
import logging
import math
import os
import threading
import uuid
import zlib
from array import array
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from osgeo import gdal

from mosaic.grid import TILE_PX, cell_size, tile_corner, whole_pixels

EMPTY, FULL, PARTIAL = 1, 2, 3
_UNKNOWN = 0
_FULL_MASK = b"\xff" * (TILE_PX * TILE_PX // 8)
_lock = threading.Lock()  # GDAL dataset handles are not shared across threads unlocked
SIDECAR_SUFFIX = ".blocks.npy"
_MAGIC, _VERSION = int.from_bytes(b"MQBLKIDX", "little"), 1
_HEAD = 12
"""Sidecar array: magic, version, CRC of the rest, COG size, header length, header CRC, has mask, levels,
tables length, left, top, resolution (float bits); then each level's columns and rows; then each
level's offsets, sizes and states; then the JPEG tables (padded to 8 bytes)."""
log = logging.getLogger("mosaique.blocks")


@dataclass(frozen=True)
class Block:
    """A stored block: where its bytes are and how much of it is valid."""

    offset: int
    size: int
    state: int
    """EMPTY, FULL or PARTIAL."""


class _Level:
    """One resolution level of a COG: its data band, its mask directory (if any) and what is known of its blocks."""

    def __init__(self, band: gdal.Band | None, mask: gdal.Band | None, cols: int, rows: int) -> None:
        self.band, self.mask, self.cols, self.rows = band, mask, cols, rows
        count = self.cols * self.rows
        self.offsets: array | np.ndarray = array("q", [-1]) * count  # -1 unknown, 0 absent
        self.sizes: array | np.ndarray = array("q", [0]) * count
        self.states: bytearray | np.ndarray = bytearray(count)

    @classmethod
    def of(cls, band: gdal.Band, mask: gdal.Band | None) -> _Level:
        """A level read through GDAL, its blocks unknown yet."""
        return cls(band, mask, math.ceil(band.XSize / TILE_PX), math.ceil(band.YSize / TILE_PX))


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
        self.levels = [_Level.of(b, masks[(b.XSize, b.YSize)][1] if (b.XSize, b.YSize) in masks else None)
                       for b in bands]
        self.has_mask = band.GetMaskFlags() & gdal.GMF_ALL_VALID == 0
        self._datasets = [ds, *(sub for sub, _ in masks.values())]  # keep the bands valid
        self.weight = 2**19
        """What keeping it costs (bytes, roughly): open GDAL datasets here; its arrays for a stored index."""

    @classmethod
    def stored(cls, path: str) -> BlockIndex | None:
        """The index of local COG ``path`` from its build-time sidecar; None where there is none, or one that
        does not match the file or its own CRC (then made through GDAL: ``BlockIndex(path)``)."""
        if path.startswith("/vsi"):
            return None
        try:
            with open(sidecar_path(path), "rb") as f:
                return cls._from_table(path, np.load(io.BytesIO(f.read()), allow_pickle=False))
        except FileNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - unreadable, truncated, not ours, stale: GDAL's way instead
            log.warning("block index of %s ignored: %s", path, exc)
            return None

    @classmethod
    def _from_table(cls, path: str, table: np.ndarray) -> BlockIndex:
        """The index a sidecar's array describes, once it is found to match ``path``."""
        if table.dtype != np.dtype("<i8") or table.ndim != 1 or len(table) < _HEAD:
            raise ValueError("not a block index")
        if table[0] != _MAGIC or table[1] != _VERSION or table[2] != zlib.crc32(table[3:].tobytes()):
            raise ValueError("not a block index, or a corrupt one")
        size, header, header_crc, has_mask, count, tables = (int(v) for v in table[3:9])
        fd = os.open(path, os.O_RDONLY)
        try:
            if os.fstat(fd).st_size != size or zlib.crc32(os.pread(fd, header, 0)) != header_crc:
                raise ValueError("made for another file")
        finally:
            os.close(fd)
        index = cls.__new__(cls)
        index.path, index.local, index.has_mask, index._datasets = path, True, bool(has_mask), []
        index.left, index.top, index.res = (float(v) for v in table[9:12].view("<f8"))
        shapes = table[_HEAD:_HEAD + 2 * count].tolist()
        total = sum(cols * rows for cols, rows in zip(shapes[::2], shapes[1::2], strict=True))
        at = _HEAD + 2 * count
        offsets, sizes, states = (table[at + k * total:at + (k + 1) * total] for k in range(3))
        index.tables = table[at + 3 * total:].tobytes()[:tables]
        if (len(states) != total or len(index.tables) != tables
                or total and (states.min() < EMPTY or states.max() > PARTIAL or offsets.min() < 0 or sizes.min() < 0)):
            raise ValueError("a corrupt block index")
        index.levels, at = [], 0
        for cols, rows in zip(shapes[::2], shapes[1::2], strict=True):
            level = _Level(None, None, cols, rows)
            level.offsets, level.sizes, level.states = (a[at:at + cols * rows] for a in (offsets, sizes, states))
            index.levels.append(level)
            at += cols * rows
        index.weight = table.nbytes
        return index

    def table(self) -> np.ndarray:
        """Every block of every level located and judged (through GDAL), as a sidecar's array."""
        starts = []  # of the blocks stored, data and mask: the header (directories, block tables) ends at the first
        for level, info in enumerate(self.levels):
            for i in range(info.cols * info.rows):
                row, col = divmod(i, info.cols)
                block = self.block(level, col, row)
                starts += [block.offset] if block.offset else []
                if info.mask is not None:
                    mask_offset, _ = self._locate(info.mask, col, row)
                    starts += [mask_offset] if mask_offset else []
        size = os.path.getsize(self.path)
        length = min([*starts, size])
        with open(self.path, "rb") as f:
            header_crc = zlib.crc32(f.read(length))
        place = np.array([self.left, self.top, self.res], "<f8").view("<i8").tolist()
        parts = [np.array([size, length, header_crc, int(self.has_mask), len(self.levels), len(self.tables), *place]
                          + [v for info in self.levels for v in (info.cols, info.rows)], "<i8")]
        for field in ("offsets", "sizes", "states"):  # (all levels' offsets, then sizes, then states)
            parts += [np.array(getattr(info, field), "<i8") for info in self.levels]
        parts.append(np.frombuffer(self.tables + b"\0" * (-len(self.tables) % 8), "<i8"))
        rest = np.concatenate(parts)
        return np.concatenate([np.array([_MAGIC, _VERSION, zlib.crc32(rest.tobytes())], "<i8"), rest])

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
        return Block(int(info.offsets[i]), int(info.sizes[i]), int(info.states[i]))

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


BLOCKS_FILE = "truecolor.blocks"
"""Key of a region's block index in the manifest's ``files`` (beside the layers' COGs)."""


def sidecar_path(cog: str | Path) -> str:
    """Where the block index of a COG is stored: ``truecolor.tif`` -> ``truecolor.blocks.npy``."""
    cog = str(cog)
    return (cog[:-4] if cog.endswith(".tif") else cog) + SIDECAR_SUFFIX


def write_block_index(cog: str | Path) -> Path:
    """Write the block index of a local COG beside it (atomically: a temporary sibling renamed), and check that
    it reads back as the index made through GDAL. Returns its path."""
    table = BlockIndex(str(cog)).table()
    dst = Path(sidecar_path(cog))
    tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}.tmp")
    try:
        with tmp.open("wb") as f:
            np.save(f, table, allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    if BlockIndex.stored(str(cog)) is None:
        raise OSError(f"{dst}: the block index does not read back")
    return dst
