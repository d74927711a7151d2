"""The months API: published months with their links, rendering presets, pixel time series, health."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Request
from rio_tiler.errors import PointOutsideBounds

from app.presets import PRESETS
from app.readers import MonthLayer, MonthLayerReader
from app.tilejson import truecolor_tiles_url
from mosaic.catalog import Catalog, Month
from mosaic.documents import Resolution
from mosaic.layers import LAYERS
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
        lat: Annotated[float, Path(ge=-85.05, le=85.05)],
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
    b4, b8 = refl[2], refl[3]
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
    """The month's resolution: zoom, ground size at 46.5 N, every source pixel kept or not, label."""
    return recorded.model_dump(include={"zoom", "ground_m", "full", "label"})


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
    base = str(request.base_url).rstrip("/")
    pin = f"build={month.build_id}"
    summary = month.summary
    resolution = summary.resolution  # builds published before it was recorded have none
    stored = truecolor_tiles_url(base, month)
    tilejson = f"{base}/months/{month.month}/{{layer}}/WebMercatorQuad/tilejson.json?{pin}"
    return {
        "month": month.month,
        "build_id": month.build_id,
        "published": summary.published,
        "bounds": list(month.bounds),
        "center": [(w + e) / 2, (s + n) / 2, max(0, month.region_zoom - 2)],
        "minzoom": 0,
        "maxzoom": month.zoom,
        **({"resolution": _resolution(resolution)} if resolution else {}),
        "coverage": summary.coverage.to_json() if summary.coverage else None,
        "products": summary.products,
        "missing_tiles": summary.missing_tiles,
        "links": {
            "wmts": f"{base}/wmts/WMTSCapabilities.xml",
            "layers": {
                layer: {
                    "tilejson": tilejson.format(layer=layer),
                    "tiles": stored if layer == "truecolor" else
                    f"{base}/months/{month.month}/{layer}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}?{pin}",
                    "point": f"{base}/months/{month.month}/{layer}/point/{{lon}},{{lat}}?{pin}",
                }
                for layer in LAYERS
            },
            "presets": {
                name: {
                    "tiles": stored if name == "truecolor" else
                    f"{base}/months/{month.month}/{p.layer}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}{p.extension}"
                    f"?{pin}&{p.query()}",
                    "tilejson": tilejson.format(layer=p.layer) if name == "truecolor" else
                    f"{tilejson.format(layer=p.layer)}&tilesize=256{'&tile_format=png' * bool(p.extension)}"
                    f"&{p.query()}",
                }
                for name, p in PRESETS.items()
            },
            "stored_jpeg": truecolor_tiles_url(base, month, jpeg=True),
            "stored": stored,
            "stored_2x": truecolor_tiles_url(base, month, 512),
        },
    }
