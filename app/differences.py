"""Difference tiles between two months: NDVI change and change magnitude.

Both months are read through the same month-layer reader as every tile (reflectance and flags
of the one COG holding the tile); a pixel is transparent unless both months hold a valid
observation there (land, water or snow: not all-month cloud, not no data).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from rio_tiler.colormap import cmap
from rio_tiler.errors import TileOutsideBounds
from titiler.core.resources.enums import ImageType

from app.readers import MonthLayer, MonthLayerReader, window_read
from app.rendering import encode_with_palette, palette_of
from mosaic.catalog import Catalog, Month
from mosaic.grid import MAX_ZOOM, MIN_ZOOM, valid_tile
from mosaic.layers import REFLECTANCE
from mosaic.select import RANK
from mosaic.store import BUILD_ID_PATTERN as BUILD_PATTERN
from processing.naming import MONTH_PATTERN

DIFFERENCES = {
    "ndvi": ("NDVI of the second month minus the first, -0.5 (brown, loss) to +0.5 (green, gain)", (-0.5, 0.5), "brbg"),
    "magnitude": ("Euclidean change of B2, B3, B4, B8 reflectance, 0 to 0.3", (0.0, 0.3), "inferno"),
}
DifferenceKind = Literal[tuple(DIFFERENCES)]  # type: ignore[valid-type]
_FORMATS = {"png": ImageType.png, "webp": ImageType.webp}
_DRIVERS = {"png": "PNG", "webp": "WEBP"}
_pool = ThreadPoolExecutor(4, thread_name_prefix="diff")  # the second month is read meanwhile (GDAL frees the GIL)


_BANDS = {"ndvi": REFLECTANCE.indexes("B4", "B8"), "magnitude": REFLECTANCE.indexes(*REFLECTANCE.bands)}
_VALID = RANK == 2
"""Flags -> a valid observation (land, water, snow)."""
_PALETTES = {kind: palette_of(cmap.get(colormap)) for kind, (_, _, colormap) in DIFFERENCES.items()}


def _layer(month: Month, layer: str, z: int, x: int, y: int, indexes: tuple[int, ...],
           size: int) -> tuple[np.ndarray, np.ndarray]:
    """A layer's tile: its bands and where it holds no data (per band), read as ``grid_tile`` reads it, else by the
    month's reader."""
    read = window_read(month, layer, z, x, y, indexes, size)
    if read is not None and read.nodata is not None and not math.isnan(read.nodata):  # (as grid_tile)
        return read.data, read.data == read.nodata
    image = MonthLayerReader(MonthLayer(month, layer)).tile(x, y, z, tilesize=size, indexes=indexes or None)
    return image.array.data, np.ma.getmaskarray(image.array)


def _read(catalog: Catalog, month: str, build: str | None, z: int, x: int, y: int, size: int,
          kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Reflectance bands the difference needs (float32, x1e-4) and validity of one month's tile."""
    m = catalog.get(month, build)
    refl, refl_nodata = _layer(m, "reflectance", z, x, y, _BANDS[kind], size)
    flags, flags_nodata = _layer(m, "flags", z, x, y, (), size)
    valid = _VALID[flags[0]]
    valid &= ~flags_nodata[0]
    for band in refl_nodata:
        valid &= ~band
    values = refl.astype(np.float32)
    values /= 10000.0  # (float32, as values / 10000.0 computes it)
    return values, valid


def difference(catalog: Catalog, a: tuple[str, str | None], b: tuple[str, str | None], z: int, x: int, y: int,
               size: int, kind: str, format: str) -> tuple[bytes, str]:
    """Tile z/x/y of the change from month ``a`` to month ``b`` (each ``(month, build or None)``): the image and its
    media type. Raises ``TileOutsideBounds`` where either month holds no data.

    The arithmetic is float32, in place, in the order of the expressions in the comments (the same bytes)."""
    if not valid_tile(x, y, z):
        raise TileOutsideBounds(f"tile {z}/{x}/{y} is outside the grid")
    read_b = _pool.submit(_read, catalog, *b, z, x, y, size, kind)
    one, valid = _read(catalog, *a, z, x, y, size, kind)
    two, valid_b = read_b.result()
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "ndvi":  # B4, B8: (two[1] - two[0]) / (two[1] + two[0]) - (one[1] - one[0]) / (one[1] + one[0])
            value = two[1] - two[0]
            value /= two[1] + two[0]
            before = one[1] - one[0]
            before /= one[1] + one[0]
            value -= before
        else:  # np.sqrt(((two - one) ** 2).sum(axis=0))
            two -= one
            np.square(two, out=two)
            value = two.sum(axis=0)
            np.sqrt(value, out=value)
    _, (lo, hi), _ = DIFFERENCES[kind]
    valid &= valid_b
    valid &= np.isfinite(value)
    # np.clip((np.nan_to_num(value) - lo) / (hi - lo) * 255.0, 0, 255).astype(np.uint8)
    np.nan_to_num(value, copy=False)
    value -= lo
    value /= hi - lo
    value *= 255.0
    np.clip(value, 0, 255, out=value)
    mask = np.where(valid, np.uint8(255), np.uint8(0))  # (ImageData.mask of the masked pixels)
    content = encode_with_palette(value.astype(np.uint8), mask, _PALETTES[kind], _DRIVERS[format])
    return content, _FORMATS[format].mediatype


def differences_router(catalog: Catalog) -> APIRouter:
    """The ``/diff/{month_a}/{month_b}/...`` tile route and ``/api/legends``, their colour scales."""
    router = APIRouter(tags=["Differences"])

    @router.get(
        "/diff/{month_a}/{month_b}/tiles/WebMercatorQuad/{z}/{x}/{y}.{format}",
        summary="Difference tile between two months",
        responses={200: {"content": {"image/png": {}, "image/webp": {}}}, 404: {"description": "no data"}},
    )
    def difference_tile(
        month_a: Annotated[str, Path(pattern=MONTH_PATTERN)],
        month_b: Annotated[str, Path(pattern=MONTH_PATTERN)],
        z: Annotated[int, Path(ge=MIN_ZOOM, le=MAX_ZOOM)],
        x: Annotated[int, Path(ge=0)],
        y: Annotated[int, Path(ge=0)],
        format: Annotated[Literal["png", "webp"], Path()],
        kind: Annotated[DifferenceKind, Query(description="ndvi or magnitude")] = "ndvi",
        tilesize: Annotated[Literal[256, 512], Query()] = 256,
        build_a: Annotated[str | None, Query(pattern=BUILD_PATTERN)] = None,
        build_b: Annotated[str | None, Query(pattern=BUILD_PATTERN)] = None,
    ) -> Response:
        """Change from ``month_a`` to ``month_b``, transparent where either is not valid."""
        content, media_type = difference(catalog, (month_a, build_a), (month_b, build_b), z, x, y, tilesize, kind,
                                         format)
        return Response(content, media_type=media_type)

    @router.get("/api/legends", tags=["Changes"], summary="Colour scales of the difference kinds")
    def legends() -> dict[str, dict]:
        """What each ``kind`` of difference tile shows: its range (the ends of the colour scale) and the
        colours of the scale from low to high (CSS), as the tiles are rendered."""
        return {kind: legend(kind) for kind in DIFFERENCES}

    return router


def legend(kind: str, stops: int = 5) -> dict:
    """The legend of a difference kind: description, range, and ``stops`` colours of its colormap."""
    description, (lo, hi), colormap = DIFFERENCES[kind]
    ramp = cmap.get(colormap)
    colors = [ramp[round(i * 255 / (stops - 1))][:3] for i in range(stops)]
    return {"description": description, "range": [lo, hi], "signed": lo < 0,
            "colors": ["#{:02x}{:02x}{:02x}".format(*c) for c in colors]}
