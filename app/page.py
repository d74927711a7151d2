"""The swipe page: its files at ``/`` and ``/static``, MapLibre GL from the npm install."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

log = logging.getLogger("mosaique.app")


def mount_page(app: FastAPI, frontend_dir: Path) -> None:
    """The swipe page at ``/`` with its files and MapLibre GL from the npm install (no CDN)."""
    page = frontend_dir / "page"
    vendor = frontend_dir / "node_modules" / "maplibre-gl" / "dist"
    if not (page / "index.html").exists() or not vendor.exists():
        log.warning("no page: %s or %s missing (run make setup)", page / "index.html", vendor)
        return
    app.mount("/static", StaticFiles(directory=page), name="static")
    app.mount("/vendor/maplibre-gl", StaticFiles(directory=vendor), name="maplibre")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(page / "index.html", media_type="text/html")
