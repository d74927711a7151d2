"""``GET /api/valid/{month_a}/{month_b}?bbox=``: how much of a view the two months let you compare.

One small read per month: the flags over the bbox at about ``SIZE`` px on its longer side, from
the COGs' overview level nearest that resolution. Each pixel of the view is counted once, by the
first reason it is not comparable (no data in either month, else all-month cloud in either,
else snow in either), or as valid in both (land or water in both).
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse

from app.changes import BuildId, MonthId, pinned_headers
from mosaic.analysis import View, read_layer, valid_mask
from mosaic.catalog import Catalog
from mosaic.grid import MAX_LAT
from processing.layout import Flag

SIZE = 256
"""Pixels on the longer side of the view read."""


def parse_bbox(raw: str, name: str = "bbox") -> tuple[float, float, float, float]:
    """``west,south,east,north`` in degrees, or a 400 naming the parameter."""
    try:
        west, south, east, north = (float(v) for v in raw.split(","))
    except ValueError:
        raise HTTPException(400, f"{name} must be four numbers: west,south,east,north (degrees)") from None
    if not (-180 <= west < east <= 180 and -MAX_LAT <= south < north <= MAX_LAT):
        raise HTTPException(400, f"{name} must have -180 <= west < east <= 180 and "
                                 f"-{MAX_LAT} <= south < north <= {MAX_LAT}")
    return west, south, east, north


def validity_router(catalog: Catalog, max_age: int) -> APIRouter:
    """The view validity route."""
    router = APIRouter(tags=["Changes"])

    @router.get("/api/valid/{month_a}/{month_b}", summary="Share of a view valid in both months")
    def valid_share(
        month_a: MonthId,
        month_b: MonthId,
        bbox: Annotated[str, Query(description="west,south,east,north in degrees", examples=["0.5,43.3,2,44.3"])],
        build_a: BuildId = None,
        build_b: BuildId = None,
    ) -> JSONResponse:
        """``valid_share`` and the shares of each reason a pixel is not comparable (they sum to 1)."""
        view = View.of_lonlat(parse_bbox(bbox), SIZE)
        a, b = catalog.get(month_a, build_a), catalog.get(month_b, build_b)
        fa, fb = read_layer(a, "flags", view)[0], read_layer(b, "flags", view)[0]
        nodata = (fa == Flag.NODATA) | (fb == Flag.NODATA)
        cloud = ~nodata & ((fa == Flag.CLOUD) | (fb == Flag.CLOUD))
        snow = ~nodata & ~cloud & ((fa == Flag.SNOW) | (fb == Flag.SNOW))
        valid = valid_mask(fa) & valid_mask(fb)
        weights = np.broadcast_to(view.row_area_km2[:, None], valid.shape)  # ground area: rows differ in size
        total = float(weights.sum())

        def share(mask: np.ndarray) -> float:
            return round(float(weights[mask].sum()) / total, 4)

        return JSONResponse({
            "month_a": a.month, "build_a": a.build_id, "month_b": b.month, "build_b": b.build_id,
            "bbox": list(parse_bbox(bbox)), "valid_share": share(valid),
            "shares": {"valid": share(valid), "no_data": share(nodata), "cloud": share(cloud), "snow": share(snow)},
            "pixels": [view.width, view.height], "area_km2": round(total, 1),
        }, headers=pinned_headers(bool(build_a and build_b), max_age))

    return router
