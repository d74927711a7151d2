"""One OGC WMTS capabilities document listing every published month x preset as a layer.

TiTiler's WMTS extension describes one dataset per document; here its template (copied to
``app/templates/wmts.xml``, with per-layer formats and ``<Dimension>`` added) and TiTiler's
tile-limit helper describe all months at once, plus one layer per preset with a ``Time``
dimension over the published months (see "Time layers" below).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Literal

import jinja2
from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.templating import Jinja2Templates
from titiler.core.utils import tms_limits

from app.links import WMTS_XYZ, route_url, tiles_url
from app.presets import PRESETS, Preset
from app.presettiles import answer as preset_answer
from mosaic.catalog import Catalog, Month, MonthNotFound
from mosaic.grid import MIN_ZOOM, TMS

TMS_ID = TMS.id
TEMPLATES = Jinja2Templates(env=jinja2.Environment(
    autoescape=jinja2.select_autoescape(["xml"]),
    loader=jinja2.FileSystemLoader(FilePath(__file__).parent / "templates"),
))


def wmts_router(catalog: Catalog) -> APIRouter:
    """The ``/wmts/WMTSCapabilities.xml`` route over a catalog."""
    router = APIRouter(tags=["OGC WMTS"])

    @router.get("/wmts/WMTSCapabilities.xml", summary="OGC WMTS 1.0.0 capabilities (RESTful)")
    def capabilities(request: Request) -> Response:
        """Every month and preset as a layer, with build-pinned tile templates: the stored tiles for true colour,
        JPEG or PNG (where a tile has no data) for false colour, PNG for the others; and one layer per preset
        with a ``Time`` dimension (default: the latest month, or ``?time=YYYY-MM``)."""
        months = catalog.months()
        layers = []
        for month in months:
            limits = tms_limits(TMS, month.bounds, zooms=(MIN_ZOOM, month.zoom))
            for preset in PRESETS.values():
                layers.append(month_layer(request, month, preset, limits))
        layers += time_layers(request, months, _default_time(request, catalog, months))
        return TEMPLATES.TemplateResponse(
            request,
            name="wmts.xml",
            context={
                "layers": layers,
                "tileMatrixSets": [{"id": TMS_ID, "crs": "urn:ogc:def:crs:EPSG::3857", "matrices": TMS.tileMatrices}],
                "media_type": "image/png",
            },
            media_type="application/xml",
        )

    add_time_tiles(router, catalog)
    return router


def month_layer(request: Request, month: Month, preset: Preset, limits: list, absolute: bool = True) -> dict:
    """The WMTS layer of one month and preset (template context), tiles pinned to its build."""
    query = f"build={month.build_id}" + (f"&{preset.query()}" if preset.params else "")
    return {
        "title": f"{preset.title} {month.month}",
        "identifier": f"{month.month}_{preset.name}",
        "tms_identifier": TMS_ID,
        "tms_limits": limits,
        "tiles_url": _tiles_url(request, month.month, preset.layer, preset.extension, absolute),
        "query_string": query,
        "bbox_crs_type": "WGS84BoundingBox",
        "bbox_crs_uri": "urn:ogc:def:crs:OGC:2:84",
        "bbox": month.bounds,
    }


# --- Time layers --------------------------------------------------------------------------------
# One layer per preset (identifier: the preset's name) whose OGC ``Time`` dimension lists the
# published months, default the latest. Its ResourceURL template carries ``{Time}``; the route
# behind it resolves the month (and so its current build) and answers exactly what the month's
# own layer answers, by handing the request to that layer's route inside the app (no redirect:
# one round trip, the same bytes and status). Such URLs follow the latest build of the month:
# cached briefly, like every URL without ``build``.
#
# Clients that can only use a dimension's default (GDAL's WMTS driver substitutes ``<Default>``
# and has no option to choose another value) select a month through the capabilities URL:
# ``/wmts/WMTSCapabilities.xml?time=2018-01`` makes 2018-01 the default.

TIME_TILES = "/wmts/tiles/{preset}/{time}/" + TMS_ID + "/{z}/{x}/{y}"
PresetName = Literal[tuple(PRESETS)]  # type: ignore[valid-type]
_TIME = re.compile(r"(\d{4}-(?:0[1-9]|1[0-2]))(-\d{2}(?:T[0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?)?")


def time_layers(request: Request, months: list[Month], default: str | None) -> list[dict]:
    """One layer per preset with a ``Time`` dimension over ``months`` (none when nothing is published)."""
    if not months:
        return []
    west, south = min(m.bounds[0] for m in months), min(m.bounds[1] for m in months)
    east, north = max(m.bounds[2] for m in months), max(m.bounds[3] for m in months)
    bounds = (west, south, east, north)
    limits = tms_limits(TMS, bounds, zooms=(MIN_ZOOM, max(m.zoom for m in months)))
    dimension = {
        "title": "Month of the synthesis",
        "identifier": "Time",
        "uom": "ISO8601",
        "default": default or months[-1].month,
        "current": True,  # "current" is accepted and means the latest month
        "values": [m.month for m in months],
    }
    z, x, y = WMTS_XYZ
    return [
        {
            "title": f"{preset.title} (monthly: Time dimension)",
            "identifier": preset.name,
            "tms_identifier": TMS_ID,
            "tms_limits": limits,
            "tiles_url": route_url(request, "time_tile", preset=preset.name, time="{Time}", z=z, x=x, y=y),
            "query_string": "",
            "media_type": month_layer(request, months[-1], preset, limits).get("media_type"),
            "bbox_crs_type": "WGS84BoundingBox",
            "bbox_crs_uri": "urn:ogc:def:crs:OGC:2:84",
            "bbox": bounds,
            "dimensions": [dimension],
        }
        for preset in PRESETS.values()
    ]


def resolve_time(catalog: Catalog, value: str) -> Month:
    """The published month of a ``Time`` value: ``YYYY-MM``, any ISO 8601 date or date-time in
    that month, or ``current``/``default`` (the latest). 400 if malformed, 404 if not published."""
    if value.lower() in ("current", "default"):
        months = catalog.months()
        if not months:
            raise MonthNotFound("no month is published")
        return months[-1]
    match = _TIME.fullmatch(value)
    valid = match is not None
    if match and match[2]:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            valid = False
    if not valid:
        raise HTTPException(400, f"Time must be a month (YYYY-MM) or an ISO 8601 date in it, not {value[:40]!r}")
    return catalog.get(match[1])


def _default_time(request: Request, catalog: Catalog, months: list[Month]) -> str | None:
    """The ``time`` query parameter of a capabilities request (any case), resolved; None if absent."""
    values = [v for k, v in request.query_params.multi_items() if k.lower() == "time"]
    return resolve_time(catalog, values[-1]).month if values and months else None


def add_time_tiles(router: APIRouter, catalog: Catalog) -> None:
    """The route behind the time layers' ResourceURL."""

    @router.get(TIME_TILES, summary="A tile of a preset at a month (the WMTS Time dimension)",
                response_class=Response, responses={200: {"content": {"image/png": {}}}, 204: {}})
    async def time_tile(
        request: Request,
        preset: Annotated[PresetName, Path(description="Preset (the WMTS layer).")],
        time: Annotated[str, Path(description="Month: YYYY-MM, an ISO 8601 date in it, or `current`.")],
        z: Annotated[int, Path(description="TileMatrix (zoom).")],
        x: Annotated[int, Path(description="TileCol.")],
        y: Annotated[int, Path(description="TileRow.")],
    ) -> Response:
        """The month's own WMTS layer's tile, answered through its route."""
        month = await run_in_threadpool(resolve_time, catalog, time)
        layer = month_layer(request, month, PRESETS[preset], [], absolute=False)
        path = layer["tiles_url"].format(TileMatrix=z, TileCol=x, TileRow=y)
        fast = await preset_answer(catalog, path, layer["query_string"].encode())
        if fast is not None:  # what the month's layer answers before its route (app.presettiles)
            return Response(fast[2], status_code=fast[0], headers={k.decode(): v.decode() for k, v in fast[1]})
        return await _forward(request, path, layer["query_string"])


async def _forward(request: Request, path: str, query: str) -> Response:
    """Answer ``path?query`` from this app's own routes, as if it had been asked (an internal redirect)."""
    scope = {**request.scope, "path": path, "raw_path": path.encode(), "query_string": query.encode()}
    for key in ("path_params", "endpoint", "route"):
        scope.pop(key, None)
    start: dict = {}
    body: list[bytes] = []

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await request.app.router(scope, request.receive, send)
    response = Response(b"".join(body), status_code=start["status"])
    response.raw_headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"cache-control"]
    return response


def _tiles_url(request: Request, month: str, layer: str, extension: str, absolute: bool = True) -> str:
    """A layer's RESTful tile template (the stored route for the true colour)."""
    if layer == "truecolor":
        z, x, y = WMTS_XYZ
        return route_url(request, "truecolor", absolute=absolute, month=month, z=z, x=x, y=y)
    return tiles_url(request, month, layer, extension, where=WMTS_XYZ, absolute=absolute)
