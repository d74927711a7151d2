"""Change hotspots between two months: the largest connected areas of change, as GeoJSON.

Both months are read at one analysis resolution (WebMercatorQuad ``zoom``, 9 by default: about
210 m at 46.5 N, the whole of France in about 5,500 x 5,000 pixels whatever the builds' own
resolution). A pixel counts only where both months hold a trusted observation (flags land or
water, reflectance present). Changed pixels are those beyond the kind's threshold; they are
grouped into 4-connected components (``scipy.ndimage.label``, the connectivity of
``rasterio.features.shapes`` too, so each component is one polygon, holes included), each
measured in true ground area (WGS 84 ellipsoid, not Web-Mercator area), and those of at least
``MIN_AREA_KM2`` are returned largest first.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
from osgeo import ogr
from rasterio.features import shapes
from rasterio.warp import transform_bounds, transform_geom
from scipy import ndimage

from mosaic.analysis import View, read_layer, valid_mask
from mosaic.catalog import Month
from mosaic.layers import REFLECTANCE

ANALYSIS_ZOOM = 9
"""WebMercatorQuad zoom of the analysis (capped at the builds' own zoom)."""
MIN_AREA_KM2 = 1.0
"""Smallest component reported (true ground area)."""
MAX_FEATURES = 100
"""Components kept (largest first); requests ask for at most this many."""
VERSION = 1
"""Bumped when the method changes, so cached answers of an older method are not served."""


@dataclass(frozen=True)
class Kind:
    """One kind of change: which value, and from which threshold a pixel counts as changed."""

    name: str
    value: str
    threshold: float
    description: str

    def changed(self, value: np.ndarray) -> np.ndarray:
        """Pixels beyond the threshold (NaN never)."""
        with np.errstate(invalid="ignore"):
            return value <= self.threshold if self.threshold < 0 else value >= self.threshold


KINDS = {k.name: k for k in (
    Kind("ndvi_loss", "ndvi_change", -0.2, "NDVI of the second month minus the first, at most -0.2"),
    Kind("ndvi_gain", "ndvi_change", 0.2, "NDVI of the second month minus the first, at least +0.2"),
    Kind("magnitude", "reflectance_change", 0.1,
         "Euclidean change of B2, B3, B4, B8 reflectance (0-1 scale), at least 0.1"),
)}


def analysis_view(a: Month, b: Month, zoom: int = ANALYSIS_ZOOM) -> View:
    """The pixels both months are compared on: the union of their bounds at the analysis zoom."""
    west, south = min(a.bounds[0], b.bounds[0]), min(a.bounds[1], b.bounds[1])
    east, north = max(a.bounds[2], b.bounds[2]), max(a.bounds[3], b.bounds[3])
    bounds = transform_bounds("EPSG:4326", "EPSG:3857", west, south, east, north)
    return View.at_zoom(bounds, min(zoom, a.zoom, b.zoom))


def change_field(a: Month, b: Month, kind: Kind, view: View) -> tuple[np.ndarray, np.ndarray]:
    """The change value (float32) and where both months are valid, on ``view``."""
    valid = _valid(a, view) & _valid(b, view)
    if kind.value == "ndvi_change":
        value = _ndvi(b, view)
        value -= _ndvi(a, view)
    else:
        value = np.zeros((view.height, view.width), dtype=np.float32)
        for band in range(1, 5):  # one band at a time: memory stays at a few arrays of the view
            pa, pb = read_layer(a, "reflectance", view, (band,))[0], read_layer(b, "reflectance", view, (band,))[0]
            valid &= (pa != REFLECTANCE.nodata) & (pb != REFLECTANCE.nodata)
            delta = (pb.astype(np.float32) - pa) / 10000.0
            value += delta * delta
        np.sqrt(value, out=value)
    valid &= np.isfinite(value)
    return value, valid


def hotspots(a: Month, b: Month, kind_name: str, zoom: int = ANALYSIS_ZOOM) -> dict:
    """The FeatureCollection of the largest changed areas from month ``a`` to month ``b``."""
    kind, zoom = KINDS[kind_name], min(zoom, a.zoom, b.zoom)
    view = analysis_view(a, b, zoom)
    value, valid = change_field(a, b, kind, view)
    labels, count = ndimage.label(kind.changed(value) & valid)
    idx = np.flatnonzero(labels)
    lab, rows = labels.ravel()[idx], idx // view.width
    weights = view.row_area_km2[rows]
    area = np.bincount(lab, weights=weights, minlength=count + 1)
    total = np.bincount(lab, weights=weights * value.ravel()[idx], minlength=count + 1)
    row_c = np.bincount(lab, weights=weights * (rows + 0.5), minlength=count + 1)
    col_c = np.bincount(lab, weights=weights * (idx % view.width + 0.5), minlength=count + 1)
    kept = [i for i in np.argsort(-area[1:], kind="stable") + 1 if area[i] >= MIN_AREA_KM2]
    slices = ndimage.find_objects(labels)
    features = []
    for rank, i in enumerate(kept[:MAX_FEATURES], start=1):
        rs, cs = slices[i - 1]
        lon, lat = view.lonlat(col_c[i] / area[i], row_c[i] / area[i])
        features.append({
            "type": "Feature",
            "id": rank,
            "bbox": _rounded(view.lonlat_bounds(rs, cs)),
            "geometry": _polygon(labels[rs, cs] == i, view, rs, cs),
            "properties": {
                "rank": rank,
                "area_km2": round(float(area[i]), 3),
                "mean_change": round(float(total[i] / area[i]), 4),
                "centroid": _rounded([float(lon), float(lat)]),
                "bbox": _rounded(view.lonlat_bounds(rs, cs)),
                "valid_share": round(float(valid[rs, cs].mean()), 4),
            },
        })
    valid_km2 = float((valid.sum(axis=1) * view.row_area_km2).sum())
    return {
        "type": "FeatureCollection",
        "month_a": a.month, "build_a": a.build_id, "month_b": b.month, "build_b": b.build_id,
        "kind": kind.name,
        "parameters": {**asdict(kind), "min_area_km2": MIN_AREA_KM2, "zoom": zoom, "connectivity": 4,
                       "version": VERSION},
        "summary": {"components": int(len(kept)), "changed_km2": round(float(area[kept].sum()), 3),
                    "valid_km2": round(valid_km2, 3)},
        "features": features,
    }


def _valid(month: Month, view: View) -> np.ndarray:
    return valid_mask(read_layer(month, "flags", view)[0])


def _ndvi(month: Month, view: View) -> np.ndarray:
    """NDVI (float32), NaN where the reflectance is missing."""
    b4, b8 = read_layer(month, "reflectance", view, REFLECTANCE.indexes("B4", "B8")).astype(np.float32)
    missing = (b4 == REFLECTANCE.nodata) | (b8 == REFLECTANCE.nodata)
    with np.errstate(divide="ignore", invalid="ignore"):
        ndvi = (b8 - b4) / (b8 + b4)
    ndvi[missing] = np.nan
    return ndvi


def _polygon(mask: np.ndarray, view: View, rows: slice, cols: slice) -> dict:
    """The component's outline in lon/lat, simplified to about one analysis pixel."""
    transform = view.transform @ view.transform.translation(cols.start, rows.start)
    rings = [geom for geom, _ in shapes(mask.astype(np.uint8), mask=mask, transform=transform, connectivity=4)]
    geometry = ogr.CreateGeometryFromJson(json.dumps(rings[0] if len(rings) == 1 else
                                                     {"type": "MultiPolygon",
                                                      "coordinates": [r["coordinates"] for r in rings]}))
    simple = geometry.SimplifyPreserveTopology(view.res[0])
    return _round_geometry(transform_geom("EPSG:3857", "EPSG:4326", json.loads(simple.ExportToJson())))


def _rounded(values: list[float]) -> list[float]:
    return [round(v, 5) for v in values]


def _round_geometry(geometry: dict) -> dict:
    def walk(c: list) -> list:
        return _rounded(c) if c and isinstance(c[0], float) else [walk(x) for x in c]
    return {"type": geometry["type"], "coordinates": walk(geometry["coordinates"])}
