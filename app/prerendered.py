"""Pre-rendered true-colour tiles straight from the COG blocks, without decoding anything.

The true-colour COGs are JPEG-compressed, with 256 px blocks aligned on the web tiles of their
zoom level and of each overview level. A JPEG tile is therefore already stored: its bytes are
the block's compressed data behind the file's shared JPEG tables. This route reassembles that
standalone JPEG (tables + block) and answers it. Zooms the files do not hold (overzoom, the
lowest zooms) are rendered from the COG in the same request, as the dynamic route would (a
redirect would cost the client a second round trip).

JPEG has no transparency: no-data pixels come out black, and a tile without any data is an
empty 204 (as on every tile route). The second route, for maps that show
what lies under the mosaic (the page), answers the stored block only where the tile's no-data
mask block is all valid, and a PNG with transparent no data elsewhere.
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from osgeo import gdal
from rio_tiler.errors import TileOutsideBounds
from titiler.core.resources.enums import ImageType

from app.readers import MonthLayer, MonthLayerReader
from app.rendering import render_tile
from mosaic.catalog import Catalog, Month
from mosaic.store import BUILD_ID_PATTERN
from processing.naming import MONTH_PATTERN

WORLD = 20037508.342789244
TILE = 256
_lock = threading.Lock()  # GDAL dataset handles are not shared across threads unlocked


class _BlockIndex:
    """Where each JPEG block of a COG lies, by (level, column, row)."""

    def __init__(self, path: str) -> None:
        self.path = path
        ds = gdal.Open(path)
        if ds is None:
            raise OSError(f"cannot open {path}: {gdal.GetLastErrorMsg()}")
        gt = ds.GetGeoTransform()
        self.left, self.top, self.res = gt[0], gt[3], gt[1]
        band = ds.GetRasterBand(1)
        tables = band.GetMetadataItem("JPEGTABLES", "TIFF")
        self.tables = bytes.fromhex(tables)[:-2] if tables else b""  # without its end-of-image marker
        self.levels = [band] + [band.GetOverview(i) for i in range(band.GetOverviewCount())]
        mask = band.GetMaskBand()
        self.masks = [mask] + [mask.GetOverview(i) for i in range(mask.GetOverviewCount())]
        self._ds = ds  # keeps the bands valid

    def block(self, level: int, col: int, row: int) -> tuple[int, int] | None:
        """(offset, size) of a block, or None where there is none (outside, or empty)."""
        if not 0 <= level < len(self.levels):
            return None
        band = self.levels[level]
        if not (0 <= col < math.ceil(band.XSize / TILE) and 0 <= row < math.ceil(band.YSize / TILE)):
            return None
        with _lock:
            gdal.ErrorReset()
            offset = band.GetMetadataItem(f"BLOCK_OFFSET_{col}_{row}", "TIFF")
            size = band.GetMetadataItem(f"BLOCK_SIZE_{col}_{row}", "TIFF")
            if gdal.GetLastErrorType() >= gdal.CE_Failure:  # the block index could not be read: not "empty"
                raise OSError(f"{self.path}: {gdal.GetLastErrorMsg()}")
        if not offset or not size or int(size) == 0:
            return None
        return int(offset), int(size)

    def full(self, level: int, col: int, row: int) -> bool:
        """Whether every pixel of a block is valid (its no-data mask block is all 255)."""
        if level >= len(self.masks):
            return False
        with _lock:
            mask = self.masks[level].ReadRaster(col * TILE, row * TILE, TILE, TILE)
        return mask is not None and mask.count(255) == len(mask)

    def read(self, offset: int, size: int) -> bytes:
        """Bytes of a block (through GDAL's file systems: local, /vsicurl/, /vsis3/)."""
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


@lru_cache(maxsize=512)
def _index(path: str) -> _BlockIndex:
    with _lock:
        return _BlockIndex(path)  # builds are immutable: an index never goes stale


def stored_jpeg(path: str, z: int, x: int, y: int, full: bool = False) -> bytes | None:
    """The standalone JPEG of web tile z/x/y if ``path`` stores it as a block, else None
    (also None, with ``full``, when some pixel of the tile is no data)."""
    index = _index(path)
    level_res = 2 * WORLD / (TILE * 2**z)
    level = round(math.log2(level_res / index.res))
    if level < 0 or not math.isclose(index.res * 2**level, level_res, rel_tol=1e-9):
        return None
    col = (-WORLD + x * TILE * level_res - index.left) / (TILE * level_res)
    row = (index.top - (WORLD - y * TILE * level_res)) / (TILE * level_res)
    if abs(col - round(col)) > 1e-6 or abs(row - round(row)) > 1e-6:
        return None
    found = index.block(level, round(col), round(row))
    if found is None or full and not index.full(level, round(col), round(row)):
        return None
    data = index.read(*found)
    return index.tables + data[2:] if index.tables else data


def prerendered_router(catalog: Catalog) -> APIRouter:
    """Stored true-colour tiles: ``{z}/{x}/{y}.jpg`` always JPEG, ``{z}/{x}/{y}`` JPEG or PNG."""
    router = APIRouter(tags=["Tiles"])

    def address(
        month: Annotated[str, Path(pattern=MONTH_PATTERN)],
        z: Annotated[int, Path(ge=0, le=24)],
        x: Annotated[int, Path(ge=0)],
        y: Annotated[int, Path(ge=0)],
        build: Annotated[str | None, Query(pattern=BUILD_ID_PATTERN)] = None,
    ) -> tuple[Month, int, int, int]:
        """The month (its latest or pinned build) and the tile (inside the grid: app.limits checks it)."""
        return catalog.get(month, build), z, x, y

    def tile(where: tuple[Month, int, int, int], transparent: bool) -> Response:
        m, z, x, y = where
        source = m.source("truecolor", z, x, y)
        if source is None:
            raise TileOutsideBounds(f"tile {z}/{x}/{y} holds no data of {m.month}")
        try:
            jpeg = stored_jpeg(source, z, x, y, full=transparent) if z <= m.zoom else None
        except (OSError, RuntimeError):
            _index.cache_clear()  # an index that met a read error may hold a half-read block table
            raise
        if jpeg is not None:
            return Response(jpeg, media_type="image/jpeg")
        image = MonthLayerReader(MonthLayer(m, "truecolor")).tile(x, y, z)
        if not image.mask.any():  # a block the COG does not store (sparse), or no data at all
            raise TileOutsideBounds(f"tile {z}/{x}/{y} holds no data of {m.month}")
        content, media_type = render_tile(image, output_format=ImageType.png if transparent else ImageType.jpeg)
        return Response(content, media_type=media_type)

    @router.get(
        "/months/{month}/truecolor/{z}/{x}/{y}.jpg",
        summary="Pre-rendered true-colour JPEG tile (256 px; no data black)",
        response_class=Response,
        responses={200: {"content": {"image/jpeg": {}}}, 204: {"description": "no data here"}},
    )
    def stored(where: tuple[Month, int, int, int] = Depends(address)) -> Response:
        """A stored block when the files hold this zoom; otherwise the tile rendered from the COG."""
        return tile(where, transparent=False)

    @router.get(
        "/months/{month}/truecolor/{z}/{x}/{y}",
        summary="True-colour tile (256 px): the stored JPEG where every pixel is valid, else a PNG",
        response_class=Response,
        responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}, 204: {"description": "no data here"}},
    )
    def stored_or_transparent(where: tuple[Month, int, int, int] = Depends(address)) -> Response:
        """The stored JPEG block of a tile without no data (about 1 ms); a PNG with transparent no
        data where the tile has some, or where the files do not store this zoom."""
        return tile(where, transparent=True)

    return router
