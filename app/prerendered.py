"""Pre-rendered true-colour tiles straight from the COG blocks, without decoding anything.

The true-colour COGs are JPEG-compressed, with 256 px blocks aligned on the web tiles of their
zoom level and of each overview level. A JPEG tile is therefore already stored: its bytes are
the block's compressed data behind the file's shared JPEG tables. This route reassembles that
standalone JPEG (tables + block) and answers it; zooms the files do not hold (overzoom, the
lowest zooms) are redirected to the dynamic TiTiler tile route.
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import RedirectResponse, Response
from osgeo import gdal
from rio_tiler.errors import TileOutsideBounds

from mosaic.catalog import Catalog
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


def stored_jpeg(path: str, z: int, x: int, y: int) -> bytes | None:
    """The standalone JPEG of web tile z/x/y if ``path`` stores it as a block, else None."""
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
    if found is None:
        return None
    data = index.read(*found)
    return index.tables + data[2:] if index.tables else data


def prerendered_router(catalog: Catalog) -> APIRouter:
    """``/months/{month}/truecolor/{z}/{x}/{y}.jpg``: stored JPEG blocks, else the dynamic route."""
    router = APIRouter(tags=["Tiles"])

    @router.get(
        "/months/{month}/truecolor/{z}/{x}/{y}.jpg",
        summary="Pre-rendered true-colour JPEG tile (256 px)",
        response_class=Response,
        responses={200: {"content": {"image/jpeg": {}}}, 307: {"description": "zoom not stored"}},
    )
    def prerendered(
        month: Annotated[str, Path(pattern=MONTH_PATTERN)],
        z: Annotated[int, Path(ge=0, le=24)],
        x: Annotated[int, Path(ge=0)],
        y: Annotated[int, Path(ge=0)],
        build: Annotated[str | None, Query(pattern=BUILD_ID_PATTERN)] = None,
    ) -> Response:
        """A stored block when the files hold this zoom; otherwise a redirect to the dynamic tile."""
        if x >= 2**z or y >= 2**z:
            raise TileOutsideBounds(f"tile {z}/{x}/{y} is outside the grid")
        m = catalog.get(month, build)
        source = m.source("truecolor", z, x, y)
        if source is None:
            raise TileOutsideBounds(f"tile {z}/{x}/{y} holds no data of {month}")
        try:
            jpeg = stored_jpeg(source, z, x, y) if z <= m.zoom else None
        except (OSError, RuntimeError):
            _index.cache_clear()  # an index that met a read error may hold a half-read block table
            raise
        if jpeg is None:
            query = f"?build={m.build_id}" if build else ""
            return RedirectResponse(f"/months/{month}/truecolor/tiles/WebMercatorQuad/{z}/{x}/{y}.jpg{query}", 307)
        return Response(jpeg, media_type="image/jpeg")

    return router
