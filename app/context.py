"""Coastline and national borders for the page, from Natural Earth 1:10m (npm ``world-atlas``).

``world-atlas`` is installed by the setup with the page's npm packages; GDAL reads its TopoJSON.
Only the part around France is kept, so the page's map parses a few hundred kilobytes.
"""

from __future__ import annotations

import json
import os
import threading
from functools import cache
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response
from osgeo import ogr

from app.places import cache_file, warm

LICENCE = "Coastline and borders: Natural Earth (public domain), via world-atlas (ISC)"
EXTENT = (-12.0, 35.0, 20.0, 56.0)
"""West, south, east, north kept (degrees): France, its neighbours and its seas."""
_lock = threading.Lock()


@cache
def _read(atlas: Path) -> bytes:
    """The outlines as GeoJSON bytes, from the installation's cache or computed and cached."""
    version = json.loads((atlas / "package.json").read_text())["version"]
    # Kept once computed (seconds of GEOS work: once per installation).
    cached = cache_file(f"borders-{version}-{'_'.join(map(str, EXTENT))}.json")
    if cached.exists():
        return cached.read_bytes()
    data = json.dumps(outlines(atlas), separators=(",", ":")).encode()
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")  # servers started together each write their own
    tmp.write_bytes(data)
    tmp.replace(cached)
    return data


def outlines(atlas: Path) -> dict:
    """Country outlines (``border``) and land outlines (``coast``) inside EXTENT, as GeoJSON lines.

    Country outlines include their coasts: the page draws the coast layer on top of them.
    """
    w, s, e, n = EXTENT
    box = ogr.CreateGeometryFromWkt(f"POLYGON(({w} {s},{e} {s},{e} {n},{w} {n},{w} {s}))")
    features = []
    for kind, name, layer in (("border", "countries-10m.json", "countries"), ("coast", "land-10m.json", "land")):
        source = ogr.Open(str(atlas / name))
        if source is None:
            raise FileNotFoundError(f"{atlas / name}: not readable as TopoJSON (run make setup)")
        features_layer = source.GetLayerByName(layer)
        features_layer.SetSpatialFilterRect(w, s, e, n)
        for feature in features_layer:
            line = _lines(feature.GetGeometryRef().Boundary().Intersection(box))
            if not line.IsEmpty():
                features.append({"type": "Feature", "properties": {"kind": kind},
                                 "geometry": json.loads(line.ExportToJson(["COORDINATE_PRECISION=4"]))})
    return {"type": "FeatureCollection", "licence": LICENCE, "features": features}


def _lines(geometry: ogr.Geometry | None) -> ogr.Geometry:
    """The lines of a clipped outline (a clip can leave points where an outline touches the box)."""
    lines = ogr.Geometry(ogr.wkbMultiLineString)
    if geometry is None:
        return lines
    parts = [geometry.GetGeometryRef(i) for i in range(geometry.GetGeometryCount())] or [geometry]
    for part in parts:
        if ogr.GT_Flatten(part.GetGeometryType()) == ogr.wkbLineString:
            lines.AddGeometry(part)
        elif ogr.GT_Flatten(part.GetGeometryType()) == ogr.wkbMultiLineString:
            for i in range(part.GetGeometryCount()):
                lines.AddGeometry(part.GetGeometryRef(i))
    return lines


def context_router(frontend_dir: Path) -> APIRouter:
    """``/api/context/borders``: the coastline and national borders around France (GeoJSON)."""
    router = APIRouter(tags=["Places"])
    atlas = frontend_dir / "node_modules" / "world-atlas"

    def outlines_now() -> bytes:
        with _lock:
            return _read(atlas)

    if atlas.is_dir():
        threading.Thread(target=warm, args=(outlines_now,), name="borders-warm", daemon=True).start()

    @router.get("/api/context/borders", summary="Coastline and national borders (GeoJSON)")
    def borders() -> Response:
        """Natural Earth 1:10m country and land outlines around France, as GeoJSON lines."""
        if not atlas.is_dir():
            raise HTTPException(503, "world-atlas is not installed on the server (run make setup)")
        return Response(outlines_now(), media_type="application/geo+json",
                        headers={"Cache-Control": "public, max-age=86400"})

    return router
