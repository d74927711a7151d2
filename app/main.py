"""The Mosaïque tile server: TiTiler's factory over the published months.

Months are addressed by id and layers by name (``/months/2018-07/truecolor/...``); no request
carries a file path or URL. ``create_app(settings)`` reads the settings once.
"""

from __future__ import annotations

from typing import Annotated, Literal

import morecantile
import numexpr
from fastapi import Depends, FastAPI, Path, Query
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from titiler.core.factory import TilerFactory

from app.access import AccessLogMiddleware
from app.admin import admin_router
from app.api import api_router
from app.bands import band_params
from app.caching import CacheHeadersMiddleware
from app.changes import changes_router
from app.context import context_router
from app.differences import differences_router
from app.errors import add_error_handlers
from app.fastpath import StoredTilesFastPath
from app.faults import forget, install_fault_handling
from app.filecache import FileCache
from app.headers import SecurityHeadersMiddleware
from app.jobs import JobStore
from app.limits import BoundedPartParams, bounded_algorithm, check_request
from app.metrics import Metrics, metrics_router
from app.page import mount_page
from app.places import places_router
from app.prerendered import prerendered_router
from app.presettiles import PresetTilesFastPath
from app.readers import MonthLayer, MonthLayerReader
from app.rendering import render_tile
from app.settings import Settings
from app.tilejson import tilejson_router
from app.timelapse import timelapse_router
from app.validity import validity_router
from app.wmts import wmts_router
from mosaic.catalog import Catalog, configure_reads
from mosaic.grid import TMS
from mosaic.layers import LAYERS
from mosaic.store import BUILD_ID_PATTERN
from processing.naming import MONTH_PATTERN

LayerName = Literal[tuple(LAYERS)]  # type: ignore[valid-type]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for one data directory."""
    settings = settings or Settings()
    catalog = Catalog(settings.data_dir, ttl=settings.catalog_ttl)
    configure_reads(settings.gdal_cachemax, settings.http_timeout, settings.http_retries)  # all GDAL settings
    numexpr.set_num_threads(1)  # expressions (NDVI) run in the request's thread: a pool per call only adds waits
    app = FastAPI(
        title="Mosaïque",
        description="Monthly Sentinel-2 mosaics of France (Theia L3A), as web map tiles.",
        version="0.1.0",
        dependencies=[Depends(check_request)],
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
        supported_tms=morecantile.TileMatrixSets({TMS.id: TMS}),
        add_preview=False,
        add_part=False,
        add_viewer=False,
        render_func=render_tile,
        img_part_dependency=BoundedPartParams,
        layer_dependency=band_params,  # expressions may name the bands (B4, B8...)
        process_dependency=bounded_algorithm,
    )
    stored = prerendered_router(catalog)
    app.include_router(stored)  # before the tiler: its paths are more specific
    app.include_router(tilejson_router(catalog))  # the true colour's TileJSON, in place of the tiler's
    app.include_router(tiler.router, prefix="/months/{month}/{layer}", tags=["Tiles"])
    app.include_router(wmts_router(catalog))
    differences = differences_router(catalog)
    app.include_router(differences)
    jobs = None if settings.remote else JobStore(settings.jobs_db(), redact=settings.input_placeholders())
    if jobs is not None:  # admin builds write the data directory: local only
        app.include_router(admin_router(settings, jobs))
    metrics = Metrics(jobs=jobs)
    app.include_router(metrics_router(metrics))

    app.include_router(api_router(catalog))
    cache = FileCache(settings.cache_dir, settings.cache_max_mb * 2**20)
    app.include_router(changes_router(catalog, cache, settings.retry_after, settings.cache_max_age,
                                      wait=min(settings.compute_wait, settings.request_timeout / 2)))
    app.include_router(validity_router(catalog, settings.cache_max_age))
    app.include_router(timelapse_router(catalog, cache, settings))
    app.include_router(places_router())
    app.include_router(context_router(settings.frontend_dir))
    mount_page(app, settings.frontend_dir)
    add_error_handlers(app, settings.retry_after, forget=lambda: forget(catalog))  # every status, in one place
    routes = {route.path: route for route in stored.routes if isinstance(route, APIRoute)}
    tile_routes = {"tile.format" if route.path.endswith(".{format}") else "tile": route for route in tiler.router.routes
                   if isinstance(route, APIRoute) and route.path.startswith("/tiles/")}
    app.add_middleware(PresetTilesFastPath, catalog=catalog,  # innermost: preset and difference tiles, sooner
                       routes={**tile_routes, "diff": differences.routes[0]})
    app.add_middleware(StoredTilesFastPath, catalog=catalog, routes=routes)  # stored tiles, sooner
    install_fault_handling(app, settings, catalog)  # request timeouts: 503 + Retry-After
    app.add_middleware(CacheHeadersMiddleware, latest_max_age=settings.cache_max_age)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET"],
                           allow_headers=["*"], expose_headers=["ETag", "X-Request-ID"])
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(AccessLogMiddleware, metrics=metrics)  # outermost: its request id covers all below
    return app

