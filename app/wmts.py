"""One OGC WMTS capabilities document listing every published month x preset as a layer.

TiTiler's WMTS extension describes one dataset per document; here the same template (from
``titiler.extensions``) and TiTiler's tile-limit helper describe all months at once.
"""

from __future__ import annotations

import morecantile
from fastapi import APIRouter, Request
from fastapi.responses import Response
from titiler.core.utils import tms_limits
from titiler.extensions.wmts import DEFAULT_TEMPLATES

from app.presets import PRESETS
from mosaic.catalog import Catalog

TMS_ID = "WebMercatorQuad"


def wmts_router(catalog: Catalog) -> APIRouter:
    """The ``/wmts/WMTSCapabilities.xml`` route over a catalog."""
    router = APIRouter(tags=["OGC WMTS"])
    tms = morecantile.tms.get(TMS_ID)

    @router.get("/wmts/WMTSCapabilities.xml", summary="OGC WMTS 1.0.0 capabilities (RESTful)")
    def capabilities(request: Request) -> Response:
        """Every month and preset as a layer, with build-pinned tile templates: the stored tiles for true colour,
        JPEG or PNG (where a tile has no data) for false colour, PNG for the others."""
        base = str(request.base_url).rstrip("/")
        layers = []
        for month in catalog.months():
            limits = tms_limits(tms, month.bounds, zooms=(0, month.zoom))
            for preset in PRESETS.values():
                query = f"build={month.build_id}" + (f"&{preset.query()}" if preset.params else "")
                layers.append({
                    "title": f"{preset.title} {month.month}",
                    "identifier": f"{month.month}_{preset.name}",
                    "tms_identifier": TMS_ID,
                    "tms_limits": limits,
                    "tiles_url": _tiles_url(base, month.month, preset.layer, preset.extension),
                    "query_string": query,
                    "bbox_crs_type": "WGS84BoundingBox",
                    "bbox_crs_uri": "urn:ogc:def:crs:OGC:2:84",
                    "bbox": month.bounds,
                })
        return DEFAULT_TEMPLATES.TemplateResponse(
            request,
            name="wmts.xml",
            context={
                "layers": layers,
                "tileMatrixSets": [{"id": TMS_ID, "crs": "urn:ogc:def:crs:EPSG::3857", "matrices": tms.tileMatrices}],
                "media_type": "image/png",
            },
            media_type="application/xml",
        )

    return router


def _tiles_url(base: str, month: str, layer: str, extension: str) -> str:
    """A layer's RESTful tile template (the stored route for the true colour)."""
    if layer == "truecolor":
        return f"{base}/months/{month}/truecolor/{{TileMatrix}}/{{TileCol}}/{{TileRow}}"
    return f"{base}/months/{month}/{layer}/tiles/{TMS_ID}/{{TileMatrix}}/{{TileCol}}/{{TileRow}}{extension}"
