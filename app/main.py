"""The Mosaïque tile server: TiTiler's factory over the published months.

Months are addressed by id and layers by name (``/months/2018-07/truecolor/...``); no request
carries a file path or URL. ``create_app(settings)`` reads the settings once.
"""

from __future__ import annotations

import logging
from typing import Annotated, Literal

import morecantile
from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from rio_tiler.errors import PointOutsideBounds, TileOutsideBounds
from titiler.core.errors import DEFAULT_STATUS_CODES, add_exception_handlers
from titiler.core.factory import TilerFactory

from app.admin import admin_router
from app.caching import CacheHeadersMiddleware
from app.differences import differences_router
from app.jobs import JobConflict, JobNotFound, JobStore
from app.metrics import Metrics, MetricsMiddleware, metrics_router
from app.prerendered import prerendered_router
from app.presets import PRESETS
from app.readers import MonthLayer, MonthLayerReader
from app.settings import Settings
from app.wmts import wmts_router
from mosaic.catalog import Catalog, LayerNotFound, Month, MonthNotFound
from mosaic.layers import LAYERS
from mosaic.store import BUILD_ID_PATTERN
from processing.layout import Flag
from processing.naming import MONTH_PATTERN

LayerName = Literal[tuple(LAYERS)]  # type: ignore[valid-type]
MAX_TILESIZE = 512
log = logging.getLogger("mosaique.app")
STATUS_CODES = {
    **DEFAULT_STATUS_CODES,
    MonthNotFound: 404,
    LayerNotFound: 404,
    TileOutsideBounds: 204,  # no data there: an empty tile, which map clients skip quietly
    PointOutsideBounds: 404,
    JobNotFound: 404,
    JobConflict: 409,
}


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for one data directory."""
    settings = settings or Settings()
    catalog = Catalog(settings.data_dir)
    app = FastAPI(
        title="Mosaïque",
        description="Monthly Sentinel-2 mosaics of France (Theia L3A), as web map tiles.",
        version="0.1.0",
        dependencies=[Depends(_bounded_tilesize)],
    )

    def month_layer(
        month: Annotated[str, Path(pattern=MONTH_PATTERN, description="Month id, YYYY-MM.")],
        layer: Annotated[LayerName, Path(description="Layer of the month.")],
        build: Annotated[str | None, Query(pattern=BUILD_ID_PATTERN, description=(
            "Build id: pins the URL to one build (cached as immutable); default: the latest."))] = None,
    ) -> MonthLayer:
        """Resolve a month id and layer name to what the reader reads (never a path from the URL)."""
        return MonthLayer(catalog.get(month, build), layer)

    tiler = TilerFactory(
        reader=MonthLayerReader,
        path_dependency=month_layer,
        router_prefix="/months/{month}/{layer}",
        supported_tms=morecantile.TileMatrixSets({"WebMercatorQuad": morecantile.tms.get("WebMercatorQuad")}),
        add_preview=False,
        add_part=False,
        add_viewer=False,
        environment_dependency=lambda: {"GDAL_CACHEMAX": settings.gdal_cachemax,
                                        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR"},
    )
    app.include_router(prerendered_router(catalog))  # before the tiler: its paths are more specific
    app.include_router(tiler.router, prefix="/months/{month}/{layer}", tags=["Tiles"])
    app.include_router(wmts_router(catalog))
    app.include_router(differences_router(catalog))
    jobs = None if settings.remote else JobStore(settings.jobs_db())
    if jobs is not None:  # admin builds write the data directory: local only
        app.include_router(admin_router(settings, jobs))
    metrics = Metrics(jobs=jobs)
    app.include_router(metrics_router(metrics))

    @app.get("/api/months", tags=["Months"], summary="Published months")
    def months(request: Request) -> list[dict]:
        """Every published month with its build, bounds, zooms, coverage and links."""
        return [_describe(m, request) for m in catalog.months()]

    @app.get("/api/point/{lon},{lat}", tags=["Months"], summary="Pixel time series over all months")
    def point_series(
        lon: Annotated[float, Path(ge=-180, le=180)],
        lat: Annotated[float, Path(ge=-85.05, le=85.05)],
    ) -> dict:
        """Reflectance, NDVI, flag and date of the pixel at lon/lat in every published month."""
        return {"coordinates": [lon, lat], "months": [_point(m, lon, lat) for m in catalog.months()]}

    @app.get("/api/presets", tags=["Months"], summary="Rendering presets")
    def presets() -> list[dict]:
        """The presets: layer and the tile query parameters that render it."""
        return [{"name": p.name, "title": p.title, "layer": p.layer, "query": p.query(),
                 "description": p.description} for p in PRESETS.values()]

    @app.get("/healthz", tags=["Health"], summary="Liveness")
    async def healthz() -> dict:
        """Answers on the event loop, even when every tile thread is busy."""
        return {"status": "ok", "months": len(catalog.months())}

    _mount_page(app, settings)
    add_exception_handlers(app, STATUS_CODES)
    for cls, code in STATUS_CODES.items():  # TiTiler's handlers would echo str(exc): file paths
        if code >= 500:
            app.add_exception_handler(cls, _internal_error)
    app.add_middleware(CacheHeadersMiddleware, latest_max_age=settings.cache_max_age)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET"],
                           allow_headers=["*"])
    return app


def _mount_page(app: FastAPI, settings: Settings) -> None:
    """The swipe page at ``/`` with its files and MapLibre GL from the npm install (no CDN)."""
    page = settings.frontend_dir / "page"
    vendor = settings.frontend_dir / "node_modules" / "maplibre-gl" / "dist"
    if not (page / "index.html").exists() or not vendor.exists():
        log.warning("no page: %s or %s missing (run make setup)", page / "index.html", vendor)
        return
    app.mount("/static", StaticFiles(directory=page), name="static")
    app.mount("/vendor/maplibre-gl", StaticFiles(directory=vendor), name="maplibre")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(page / "index.html", media_type="text/html")


def _bounded_tilesize(request: Request) -> None:
    """Refuse oversized tiles before any pixel is read (TiTiler accepts any positive size)."""
    raw = request.query_params.get("tilesize")
    if raw is not None and (not raw.isdigit() or not 1 <= int(raw) <= MAX_TILESIZE):
        raise HTTPException(400, f"tilesize must be an integer from 1 to {MAX_TILESIZE}")


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    """A 500 that says nothing about files or code; the details go to the log."""
    log.error("internal error on %s", request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal server error"}, status_code=500)


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
    return {
        "month": month.month,
        "build_id": month.build_id,
        "reflectance": dict(zip(LAYERS["reflectance"].bands, [None if v is None else v / 10000 for v in refl],
                                strict=True)),
        "ndvi": None if ndvi is None else round(ndvi, 4),
        "flag": None if flag is None else int(flag),
        "flag_name": None if flag is None else Flag(int(flag)).name.lower(),
        "day_of_year": None if values["dates"][0] is None else int(values["dates"][0]),
    }


def _describe(month: Month, request: Request) -> dict:
    """Public description of a month (no file paths)."""
    w, s, e, n = month.bounds
    base = str(request.base_url).rstrip("/")
    pin = f"build={month.build_id}"
    summary = month.summary
    return {
        "month": month.month,
        "build_id": month.build_id,
        "published": summary.get("published"),
        "bounds": list(month.bounds),
        "center": [(w + e) / 2, (s + n) / 2, max(0, month.region_zoom - 2)],
        "minzoom": 0,
        "maxzoom": month.zoom,
        "coverage": summary.get("coverage"),
        "products": summary.get("products"),
        "missing_tiles": summary.get("missing_tiles"),
        "links": {
            "wmts": f"{base}/wmts/WMTSCapabilities.xml",
            "layers": {
                layer: {
                    "tilejson": f"{base}/months/{month.month}/{layer}/WebMercatorQuad/tilejson.json?{pin}",
                    "tiles": f"{base}/months/{month.month}/{layer}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}?{pin}",
                    "point": f"{base}/months/{month.month}/{layer}/point/{{lon}},{{lat}}?{pin}",
                }
                for layer in LAYERS
            },
            "presets": {
                name: {
                    "tiles": f"{base}/months/{month.month}/{p.layer}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png"
                    f"?{pin}" + (f"&{p.query()}" if p.params else ""),
                    "tilejson": f"{base}/months/{month.month}/{p.layer}/WebMercatorQuad/tilejson.json"
                    f"?{pin}&tilesize=256&tile_format=png" + (f"&{p.query()}" if p.params else ""),
                }
                for name, p in PRESETS.items()
            },
            "stored_jpeg": f"{base}/months/{month.month}/truecolor/{{z}}/{{x}}/{{y}}.jpg?{pin}",
        },
    }
