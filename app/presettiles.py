"""Preset and difference tiles as map clients are handed them, answered at the cost of their pixels.

The presets (false colour, NDVI, validity) are TiTiler tile URLs with fixed parameters
(:mod:`app.presets`). Through TiTiler's route a preset tile cost 5-15 ms of CPU, of which the
pixels were the lesser part: FastAPI solving the route's ten dependencies (each sync one a hop to
a worker thread) and rio-tiler's general-purpose read around one block of the COG. Here the URLs
``/api/months``, the presets' TileJSON and the WMTS layers hand out (the preset's parameters
exactly, with at most ``build`` and ``tilesize=256``) are answered before FastAPI's routing by a
pure-ASGI middleware and by the WMTS time route, with one worker-thread hop:

- the parameters are parsed once, at import, by TiTiler's own dependency classes;
- the tile is read as the whole-pixel window of the COG it is (one 256 px block at the month's
  zoom; GDAL takes the overview level of the lower zooms), by rasterio, its mask from the nodata
  value as rio-tiler makes it;
- expression, rescale, colormap and encoding are rio-tiler's and :func:`app.rendering.render_tile`,
  the same functions the route calls, so the answer is the route's, byte for byte (tested on every
  tile of the test months).

The page's difference tiles (``/diff/...png?kind=...&build_a=...&build_b=...``) are answered the same
way, by the function their route calls (:func:`app.differences.difference`). Anything else (other
parameters, a tile not on the file's grid, an error) goes on to the route.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

import anyio.to_thread
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.expression import parse_expression
from rio_tiler.types import ColorMapType
from rio_tiler.utils import CRS_to_uri
from starlette.types import Scope
from titiler.core.dependencies import ColorMapParams, DatasetParams, RenderingParams
from titiler.core.resources.enums import ImageType

from app.bands import expression_with_indexes
from app.differences import DIFFERENCES, difference
from app.fastpath import Answer, FastPath
from app.presets import PRESETS
from app.readers import grid_tile
from app.rendering import render_tile
from mosaic.catalog import Catalog, Month
from mosaic.grid import TILE_PX, valid_tile
from mosaic.store import BUILD_ID_PATTERN

_PATH = re.compile(r"/months/(\d{4}-\d{2})/(\w+)/tiles/WebMercatorQuad/(\d{1,2})/(\d{1,8})/(\d{1,8})(\.png)?")
_DIFF = re.compile(r"/diff/(\d{4}-\d{2})/(\d{4}-\d{2})/tiles/WebMercatorQuad/(\d{1,2})/(\d{1,8})/(\d{1,8})\.(png|webp)")
_BUILD = re.compile(BUILD_ID_PATTERN)
NO_DATA = (204, [], b"")
"""The answer where the month holds no data (TiTiler's route: ``TileOutsideBounds`` -> 204)."""


@dataclass(frozen=True)
class PresetRendering:
    """A preset's TiTiler parameters as the route's dependencies parse them."""

    layer: str
    indexes: tuple[int, ...]
    expression: str | None
    nodata: float | None
    rescale: list[tuple[float, float]] | None
    colormap: ColorMapType | None


def _parse(layer: str, query: dict[str, list[str]]) -> PresetRendering:
    """A preset's query through TiTiler's dependency classes (those of the tile route)."""
    expression = query.get("expression", [None])[0]
    expression = expression_with_indexes(expression, layer) if expression else None
    indexes = parse_expression(expression) if expression else [int(i) for i in query.get("bidx", [])]
    dataset = DatasetParams(nodata=query.get("nodata", [None])[0])
    rendering = RenderingParams(rescale=query.get("rescale"))
    colormap = ColorMapParams(colormap_name=query.get("colormap_name", [None])[0],
                              colormap=query.get("colormap", [None])[0])
    return PresetRendering(layer, tuple(indexes), expression, dataset.nodata, rendering.rescale, colormap)


def _grouped(pairs: list[tuple[str, str]]) -> tuple:
    """Query pairs as a hashable key: the values of each name in order (names in any order)."""
    groups: dict[str, list[str]] = {}
    for key, value in pairs:
        groups.setdefault(key, []).append(value)
    return tuple(sorted((k, tuple(v)) for k, v in groups.items()))


FAST: dict[tuple[str, tuple], PresetRendering] = {
    (p.layer, _grouped(list(p.params))): _parse(p.layer, {k: list(v) for k, v in _grouped(list(p.params))})
    for p in PRESETS.values() if p.layer != "truecolor"  # (true colour: app.fastpath)
}


def match(layer: str, query: str) -> tuple[PresetRendering, str | None] | None:
    """The preset a tile query asks for (with at most ``build`` and ``tilesize=256`` besides) and its build."""
    build, size, rest = None, None, []
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == "build" and build is None and _BUILD.fullmatch(value):
            build = value
        elif key == "tilesize" and size is None and value == str(TILE_PX):
            size = value
        else:
            rest.append((key, value))
    preset = FAST.get((layer, _grouped(rest)))
    return None if preset is None else (preset, build)


def preset_tile(month: Month, preset: PresetRendering, z: int, x: int, y: int,
                output_format: ImageType | None) -> Answer | None:
    """Tile z/x/y of a preset as TiTiler's route answers it; None where the file is not on the tile's grid."""
    try:
        image = grid_tile(month, preset.layer, z, x, y, preset.indexes, preset.nodata)
    except TileOutsideBounds:
        return NO_DATA
    if image is None:
        return None
    if preset.expression:
        image = image.apply_expression(preset.expression)
    content, media_type = render_tile(image, colormap=preset.colormap, output_format=output_format,
                                      rescale=preset.rescale)
    headers = [(b"content-bbox", ",".join(map(str, image.bounds)).encode()),
               (b"content-crs", f"<{CRS_to_uri(image.crs)}>".encode()),
               (b"content-type", media_type.encode()), (b"content-length", str(len(content)).encode())]
    return 200, headers, content


def difference_tile(catalog: Catalog, found: re.Match, query: str) -> Answer | None:
    """A difference tile as its route answers it (the page's URLs: ``kind`` and the builds at most)."""
    params = parse_qsl(query, keep_blank_values=True)
    given = dict(params)
    if (len(given) < len(params) or not set(given) <= {"kind", "build_a", "build_b"}
            or given.get("kind", "ndvi") not in DIFFERENCES
            or not all(_BUILD.fullmatch(given[k]) for k in ("build_a", "build_b") if k in given)):
        return None
    z, x, y = int(found[3]), int(found[4]), int(found[5])
    try:
        content, media_type = difference(catalog, (found[1], given.get("build_a")), (found[2], given.get("build_b")),
                                         z, x, y, TILE_PX, given.get("kind", "ndvi"), found[6])
    except TileOutsideBounds:
        return NO_DATA
    return 200, [(b"content-type", media_type.encode()), (b"content-length", str(len(content)).encode())], content


async def answer(catalog: Catalog, path: str, query: bytes) -> Answer | None:
    """The answer to a preset or difference tile request, or None for the route to answer (anything else, and
    every error)."""
    if catalog.remote:
        return None
    found = _DIFF.fullmatch(path)
    if found is not None:
        z, x, y = int(found[3]), int(found[4]), int(found[5])
        if not valid_tile(x, y, z):  # (refused by the route: 422, 400)
            return None
        try:
            return await anyio.to_thread.run_sync(difference_tile, catalog, found, query.decode("latin-1"))
        except Exception:  # noqa: BLE001 - (as below)
            return None
    found = _PATH.fullmatch(path)
    if found is None:
        return None
    month, layer, z, x, y = found[1], found[2], int(found[3]), int(found[4]), int(found[5])
    preset = match(layer, query.decode("latin-1"))
    if preset is None or not valid_tile(x, y, z):  # (outside the grid: the route's 400)
        return None
    try:
        m = catalog.get(month, preset[1])
        return await anyio.to_thread.run_sync(preset_tile, m, preset[0], z, x, y,
                                              ImageType.png if found[6] else None)
    except Exception:  # noqa: BLE001 - the route answers it again, with the error handling of every route
        return None


class PresetTilesFastPath(FastPath):
    """Answers the advertised preset and difference tiles of a local data directory (``routes``: the routes that
    answer otherwise by name, ``tile``, ``tile.format``, ``diff``)."""

    async def respond(self, scope: Scope) -> tuple[str, Answer] | None:
        """A preset or difference tile, or None."""
        path = scope["path"]
        if not path.startswith(("/months/", "/diff/")):
            return None
        found = await answer(self.catalog, path, scope["query_string"])
        if found is None:
            return None
        return "diff" if path.startswith("/diff/") else "tile.format" if path.endswith(".png") else "tile", found
