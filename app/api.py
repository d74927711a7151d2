"""The months API: published months with their links, rendering presets, pixel time series, health."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Request
from rio_tiler.errors import PointOutsideBounds

from app.links import route_url, stored_tiles_url, tiles_url
from app.presets import PRESETS
from app.readers import MonthLayer, MonthLayerReader
from mosaic.catalog import Catalog, Month
from mosaic.documents import Resolution
from mosaic.grid import MAX_LAT, MIN_ZOOM, TMS, dropped_share
from mosaic.layers import LAYERS, REFLECTANCE
from processing.layout import Flag


def api_router(catalog: Catalog) -> APIRouter:
    """``/api/months``, ``/api/point/{lon},{lat}``, ``/api/presets`` and ``/healthz``."""
    router = APIRouter()

    @router.get("/api/months", tags=["Months"], summary="Published months")
    def months(request: Request) -> list[dict]:
        """Every published month with its build, bounds, zooms, coverage and links."""
        return [_describe(m, request) for m in catalog.months()]

    @router.get("/api/point/{lon},{lat}", tags=["Months"], summary="Pixel time series over all months")
    def point_series(
        lon: Annotated[float, Path(ge=-180, le=180)],
        lat: Annotated[float, Path(ge=-MAX_LAT, le=MAX_LAT)],
    ) -> dict:
        """Reflectance, NDVI, flag and date of the pixel at lon/lat in every published month.

        ``valid`` is true where the month saw clear land there; otherwise ``reason`` says why not
        (``cloud``, ``snow``, ``water``, ``nodata``), for a chart to draw a gap with its reason.
        Values are given wherever the month has data, valid or not (a cloud top, snow)."""
        return {"coordinates": [lon, lat], "months": [_point(m, lon, lat) for m in catalog.months()]}

    @router.get("/api/presets", tags=["Months"], summary="Rendering presets")
    def presets() -> list[dict]:
        """The presets: layer and the tile query parameters that render it."""
        return [{"name": p.name, "title": p.title, "layer": p.layer, "query": p.query(),
                 "description": p.description} for p in PRESETS.values()]

    @router.get("/healthz", tags=["Health"], summary="Liveness")
    async def healthz() -> dict:
        """Answers on the event loop without reading any data: even when every tile thread is busy or the
        data store stalls (``months``: as last read)."""
        return {"status": "ok", "months": len(catalog.months(refresh=False))}

    return router


def _point(month: Month, lon: float, lat: float) -> dict:
    """One month's values at a point (None where the month has no data there)."""
    values: dict[str, list[float | None]] = {}
    for layer in ("reflectance", "flags", "dates"):
        try:
            with MonthLayerReader(MonthLayer(month, layer)) as src:
                pt = src.point(lon, lat)
            values[layer] = [None if m else float(v) for v, m in zip(pt.array.data, pt.array.mask, strict=True)]
        except PointOutsideBounds:
            values[layer] = [None] * len(LAYERS[layer].bands)
    refl = values["reflectance"]
    b4, b8 = (refl[i - 1] for i in REFLECTANCE.indexes("B4", "B8"))
    ndvi = (b8 - b4) / (b8 + b4) if b4 is not None and b8 is not None and (b8 + b4) else None
    flag = values["flags"][0]
    doy = values["dates"][0]
    reason = _invalid_reason(None if flag is None or None in refl else Flag(int(flag)))
    return {
        "month": month.month,
        "build_id": month.build_id,
        "valid": reason is None,
        "reason": reason,
        "reflectance": dict(zip(LAYERS["reflectance"].bands, [None if v is None else v / 10000 for v in refl],
                                strict=True)),
        "ndvi": None if ndvi is None else round(ndvi, 4),
        "flag": None if flag is None else int(flag),
        "flag_name": None if flag is None else Flag(int(flag)).name.lower(),
        "day_of_year": None if doy is None else int(doy),
        "date": None if doy is None else (date(int(month.month[:4]), 1, 1) + timedelta(days=int(doy))).isoformat(),
    }


def _resolution(recorded: Resolution) -> dict:
    """The month's resolution: zoom, ground size at 46.5 N, the sources' pixel size, every source pixel kept
    or not (else the share dropped, estimated at 46.5 N), label."""
    dropped = 0.0 if recorded.full else dropped_share(recorded.ground_m, recorded.source_pixel_m)
    return {**recorded.model_dump(include={"zoom", "ground_m", "source_pixel_m", "full", "label"}),
            "dropped_share": round(dropped, 3)}


def _invalid_reason(flag: Flag | None) -> str | None:
    """Why a month does not show clear land at a pixel (None: it does).

    Only land is valid for the point chart: NDVI and reflectance of water, snow or a cloud top
    say nothing of the vegetation (the difference maps, which compare surfaces, also accept
    water and snow)."""
    if flag is None or flag == Flag.NODATA:
        return "nodata"
    return None if flag == Flag.LAND else flag.name.lower()


def _describe(month: Month, request: Request) -> dict:
    """Public description of a month (no file paths); true colour links lead to the pre-rendered tiles."""
    w, s, e, n = month.bounds
    pin = f"build={month.build_id}"
    summary = month.summary
    resolution = summary.resolution  # builds published before it was recorded have none
    stored = stored_tiles_url(request, month)

    def tilejson(layer: str, query: str = "") -> str:
        return route_url(request, "tilejson", pin + query, month=month.month, layer=layer, tileMatrixSetId=TMS.id)
    return {
        "month": month.month,
        "build_id": month.build_id,
        "published": summary.published,
        "bounds": list(month.bounds),
        "center": [(w + e) / 2, (s + n) / 2, max(0, month.region_zoom - 2)],
        "minzoom": MIN_ZOOM,
        "maxzoom": month.zoom,
        **({"resolution": _resolution(resolution)} if resolution else {}),
        "coverage": summary.coverage.to_json() if summary.coverage else None,
        "products": summary.products,
        "missing_tiles": summary.missing_tiles,
        "links": {
            "wmts": route_url(request, "capabilities"),
            "layers": {
                layer: {
                    "tilejson": tilejson(layer),
                    "tiles": stored if layer == "truecolor" else tiles_url(request, month.month, layer, query=pin),
                    "point": route_url(request, "point", pin, month=month.month, layer=layer, lon="{lon}", lat="{lat}"),
                }
                for layer in LAYERS
            },
            "presets": {
                name: {
                    "tiles": stored if name == "truecolor" else
                    tiles_url(request, month.month, p.layer, p.extension, query=f"{pin}&{p.query()}"),
                    "tilejson": tilejson(p.layer) if name == "truecolor" else
                    tilejson(p.layer, f"&tilesize=256{'&tile_format=png' * bool(p.extension)}&{p.query()}"),
                }
                for name, p in PRESETS.items()
            },
            "stored_jpeg": stored_tiles_url(request, month, jpeg=True),
            "stored": stored,
            "stored_2x": stored_tiles_url(request, month, 512),
        },
    }
