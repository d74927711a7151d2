"""The true-colour TileJSON: it hands map clients the pre-rendered tiles, not the dynamic route.

TiTiler's TileJSON of a layer points at its dynamic tile route (512 px by default). For the
true-colour layer that would make every client re-render tiles the files store as JPEG blocks,
so its TileJSON (the one ``/api/months`` links to, and the layer's own URL) points at the stored
routes of :mod:`app.prerendered` instead:

- ``tilesize`` 256 (default): ``{z}/{x}/{y}`` (stored JPEG, PNG where there is no data);
  512: ``{z}/{x}/{y}@2x`` (HiDPI, the next zoom's pixels); other sizes: ``?tilesize=N`` (rendered);
- ``tile_format`` png or none: as above; jpg/jpeg: the ``.jpg`` routes (no data black);
  another format, or any rendering parameter (``rescale``, ``color_formula``...): the dynamic
  route with those parameters, as TiTiler would.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from titiler.core.models.mapbox import TileJSON
from titiler.core.resources.enums import ImageType

from app.limits import MAX_TILESIZE
from app.links import stored_tiles_url, tiles_url
from app.readers import MonthLayer, MonthLayerReader
from mosaic.catalog import Catalog
from mosaic.grid import MAX_ZOOM, MIN_ZOOM
from mosaic.store import BUILD_ID_PATTERN
from processing.naming import MONTH_PATTERN

STORED_PARAMS = frozenset({"build", "tilesize", "tile_format", "minzoom", "maxzoom"})
"""Query parameters the stored routes honour; any other one asks for the dynamic route."""


def tilejson_router(catalog: Catalog) -> APIRouter:
    """``/months/{month}/truecolor/WebMercatorQuad/tilejson.json`` (include before the tiler: it takes its place)."""
    router = APIRouter(tags=["Tiles"])

    @router.get(
        "/months/{month}/truecolor/{tileMatrixSetId}/tilejson.json",
        response_model=TileJSON,
        response_model_exclude_none=True,
        summary="TileJSON of the true colour: the pre-rendered tiles (build-pinned)",
    )
    def truecolor_tilejson(
        request: Request,
        month: Annotated[str, Path(pattern=MONTH_PATTERN)],
        tileMatrixSetId: Annotated[Literal["WebMercatorQuad"], Path()],  # noqa: N803 - TiTiler's name
        build: Annotated[str | None, Query(pattern=BUILD_ID_PATTERN)] = None,
        tilesize: Annotated[int, Query(ge=1, le=MAX_TILESIZE, description="256 (stored), 512 (HiDPI)...")] = 256,
        tile_format: Annotated[ImageType | None, Query(description="png or none: JPEG or PNG as each tile "
                                                                   "needs; jpg: JPEG only (no data black)")] = None,
        minzoom: Annotated[int | None, Query(ge=MIN_ZOOM, le=MAX_ZOOM)] = None,
        maxzoom: Annotated[int | None, Query(ge=MIN_ZOOM, le=MAX_ZOOM)] = None,
    ) -> dict:
        """TileJSON 3.0 of the month's true colour; the tiles are pinned to the build it was asked of (or the
        latest), so they can be cached for good."""
        m = catalog.get(month, build)
        extra = [(k, v) for k, v in request.query_params.multi_items() if k not in STORED_PARAMS]
        if extra or tile_format not in (None, ImageType.png, ImageType.jpeg, ImageType.jpg):
            query = urlencode([("build", m.build_id), *extra, ("tilesize", tilesize)])
            tiles = tiles_url(request, month, "truecolor", f".{tile_format.value}" if tile_format else "", query)
        else:
            tiles = stored_tiles_url(request, m, tilesize, jpeg=tile_format in (ImageType.jpeg, ImageType.jpg))
        with MonthLayerReader(MonthLayer(m, "truecolor")) as src:
            info = src.info()
        return {
            "name": f"True colour {m.month}",
            "tiles": [tiles],
            "minzoom": MIN_ZOOM if minzoom is None else minzoom,
            "maxzoom": m.zoom if maxzoom is None else maxzoom,
            "bounds": list(m.bounds),
            "band_descriptions": info.band_descriptions,
            "data_type": info.dtype,
        }

    return router
