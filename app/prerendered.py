"""Pre-rendered true-colour tiles: the COG's own JPEG blocks, answered without decoding anything.

The true-colour COGs store every tile of their zoom and overview levels as a JPEG block
(:mod:`app.blocks`). ``{z}/{x}/{y}.jpg`` answers that block as a standalone JPEG (no data
black); ``{z}/{x}/{y}``, the route map clients are given, answers it where every pixel of the
tile is valid and a PNG with transparent no data elsewhere. Both answer an empty 204 where the
month has no data. What the files do not store (overzoom, the lowest zooms, a ``tilesize``
other than 256) is rendered from the COG in the same request (a redirect would cost the client
a second round trip): HiDPI tiles (``@2x`` or ``tilesize=512``) are the four stored tiles of the
next zoom, decoded and encoded again as one 512 px tile, so they hold the same pixels. The
rendered tiles answered lately are kept (32 MB): stored tiles cost nothing to answer again.

:mod:`app.fastpath` answers the stored cases of these routes before FastAPI sees them; both
decide through :func:`stored_tile`, so the two give the same answer.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import Response
from rio_tiler.errors import TileOutsideBounds
from titiler.core.resources.enums import ImageType

from app.blocks import INDEXES, stored_block
from app.limits import MAX_TILESIZE
from app.readers import MonthLayer, MonthLayerReader
from app.rendering import render_tile
from mosaic.blockindex import EMPTY, FULL
from mosaic.catalog import Catalog, Month
from mosaic.grid import MAX_ZOOM, MIN_ZOOM, TILE_PX
from mosaic.store import BUILD_ID_PATTERN
from processing.naming import MONTH_PATTERN

STORED_SIZE = TILE_PX
NO_DATA = b""
"""What :func:`stored_tile` returns for a tile without any valid pixel (answered 204)."""
ROUTE = "/months/{month}/truecolor/{z}/{x}/{y}"
"""The stored-or-transparent route (the one map clients are given); ``.jpg`` and ``@2x`` variants follow it."""


def stored_tile(month: Month, z: int, x: int, y: int, transparent: bool) -> bytes | None:
    """The stored JPEG of tile z/x/y; ``NO_DATA`` where the month has none there; None when it must be rendered
    (not stored, or, with ``transparent``, some pixel is no data)."""
    source = month.source("truecolor", z, x, y)
    if source is None:
        return NO_DATA
    if z > month.zoom:
        return None
    try:
        found = stored_block(source, z, x, y)
    except (OSError, RuntimeError):
        INDEXES.clear()  # an index that met a read error may hold a half-read block table
        raise
    if found is None:
        return None
    index, block = found
    if block.state == EMPTY:
        return NO_DATA
    if not block.offset or transparent and block.state != FULL:
        return None  # (a valid block of zeros is not stored: SPARSE_OK)
    return index.jpeg(block)


class _Rendered:
    """The rendered tiles answered lately, up to ``max_bytes`` (builds are immutable: keyed by build folder).

    A rendered tile costs 3-10 ms of CPU (a PNG with transparency most), a stored one 0.1 ms: map
    clients ask for the same tiles again and again, so the few rendered ones are kept."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes, self.size = max_bytes, 0
        self._tiles: OrderedDict[tuple, tuple[bytes, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple[bytes, str] | None:
        """A kept tile (now the most recently used), or None."""
        with self._lock:
            found = self._tiles.get(key)
            if found is not None:
                self._tiles.move_to_end(key)
            return found

    def put(self, key: tuple, tile: tuple[bytes, str]) -> None:
        """Keep a tile, dropping the least recently used beyond ``max_bytes``."""
        with self._lock:
            if key not in self._tiles:
                self._tiles[key] = tile
                self.size += len(tile[0])
            while self.size > self.max_bytes:
                self.size -= len(self._tiles.popitem(last=False)[1][0])


RENDERED = _Rendered(32 * 2**20)


def rendered_tile(month: Month, z: int, x: int, y: int, size: int, transparent: bool) -> Response:
    """Tile z/x/y rendered from the COG at ``size`` px: JPEG, or PNG with transparent no data if ``transparent``
    and some pixel is no data; 204 where no pixel is valid."""
    key = (month.folder, z, x, y, size, transparent)
    found = RENDERED.get(key)
    if found is None:
        image = MonthLayerReader(MonthLayer(month, "truecolor")).tile(x, y, z, tilesize=size)
        output = ImageType.png if transparent and not image.mask.all() else ImageType.jpeg
        found = render_tile(image, output_format=output) if image.mask.any() else (NO_DATA, "")
        RENDERED.put(key, found)
    if found[0] == NO_DATA:
        raise TileOutsideBounds(f"tile {z}/{x}/{y} holds no data of {month.month}")
    return Response(found[0], media_type=found[1])


def truecolor_tile(month: Month, z: int, x: int, y: int, size: int, transparent: bool) -> Response:
    """The answer of every true-colour tile route: stored where it can be, else rendered."""
    found = stored_tile(month, z, x, y, transparent) if size == STORED_SIZE else None
    if found == NO_DATA:
        raise TileOutsideBounds(f"tile {z}/{x}/{y} holds no data of {month.month}")
    if found is not None:
        return Response(found, media_type="image/jpeg")
    return rendered_tile(month, z, x, y, size, transparent)


def prerendered_router(catalog: Catalog) -> APIRouter:
    """True-colour tiles: ``{z}/{x}/{y}`` stored JPEG or PNG, ``{z}/{x}/{y}.jpg`` always JPEG; ``@2x``: 512 px."""
    router = APIRouter(tags=["Tiles"])

    def address(
        month: Annotated[str, Path(pattern=MONTH_PATTERN)],
        z: Annotated[int, Path(ge=MIN_ZOOM, le=MAX_ZOOM)],
        x: Annotated[int, Path(ge=0)],
        y: Annotated[int, Path(ge=0)],
        build: Annotated[str | None, Query(pattern=BUILD_ID_PATTERN)] = None,
        tilesize: Annotated[int, Query(ge=1, le=512, description=(
            "Tile width and height in pixels: 256 is stored, 512 (HiDPI) is the next zoom's four tiles"))] = 256,
    ) -> tuple[Month, int, int, int, int]:
        """The month (its latest or pinned build), the tile (inside the grid: app.limits checks it) and its size."""
        return catalog.get(month, build), z, x, y, tilesize

    responses = {200: {"content": {"image/jpeg": {}, "image/png": {}}}, 204: {"description": "no data here"}}
    for suffix, scale, transparent in (("@2x.jpg", 2, False), ("@2x", 2, True), (".jpg", 1, False), ("", 1, True)):
        what = "JPEG (no data black)" if not transparent else "stored JPEG where every pixel is valid, else PNG"
        router.add_api_route(
            ROUTE + suffix, _endpoint(address, scale, transparent), methods=["GET"], response_class=Response,
            summary=f"True-colour tile{' (512 px)' if scale == 2 else ''}: {what}", responses=responses,
            name=f"truecolor{suffix}",
        )
    return router


def _endpoint(address: object, scale: int, transparent: bool) -> object:
    """The endpoint of one true-colour route variant."""

    def endpoint(where: tuple[Month, int, int, int, int] = Depends(address)) -> Response:  # type: ignore[arg-type]
        """Pre-rendered true colour (the stored block where the files hold it; rendered otherwise)."""
        m, z, x, y, size = where
        if size * scale > MAX_TILESIZE:
            raise HTTPException(400, f"tilesize must be at most {MAX_TILESIZE // scale} with @{scale}x")
        return truecolor_tile(m, z, x, y, size * scale, transparent)

    return endpoint
