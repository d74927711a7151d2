"""A build's manifest (inputs, coverage, timings) and its STAC Item."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from importlib.metadata import version

import pystac
import rasterio
from osgeo import gdal
from pystac.extensions.projection import ProjectionExtension
from rasterio.warp import transform_bounds

from mosaic.layers import LAYERS
from processing.layout import Flag

FLAG_NAMES = {int(f): f.name.lower() for f in Flag}


def software() -> dict[str, str]:
    """Versions of what made the build."""
    return {
        "mosaique": version("mosaique"),
        "gdal": gdal.__version__,
        "rasterio": rasterio.__version__,
        "rasterio_gdal": rasterio.__gdal_version__,
    }


def percentages(counts: list[int]) -> dict[str, float]:
    """FLG pixel counts (index = code 0-4) -> percentage per class name."""
    total = sum(counts)
    return {FLAG_NAMES[i]: (round(100.0 * c / total, 3) if total else 0.0) for i, c in enumerate(counts)}


def lonlat_bounds(bounds_3857: tuple[float, float, float, float]) -> list[float]:
    """EPSG:3857 bounds -> [west, south, east, north] in degrees."""
    return [round(v, 6) for v in transform_bounds("EPSG:3857", "EPSG:4326", *bounds_3857)]


def stac_item(manifest: dict) -> dict:
    """A STAC Item for a month's build: one asset per layer (VRT of COGs and overview COG)."""
    month = manifest["month"]
    year, mon = map(int, month.split("-"))
    start = datetime(year, mon, 1, tzinfo=UTC)
    end = datetime(year, mon, calendar.monthrange(year, mon)[1], 23, 59, 59, tzinfo=UTC)
    w, s, e, n = manifest["bounds"]
    item = pystac.Item(
        id=f"mosaique-{month}",
        geometry={"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]},
        bbox=[w, s, e, n],
        datetime=None,
        start_datetime=start,
        end_datetime=end,
        properties={
            "title": f"Sentinel-2 monthly mosaic of France, {month}",
            "constellation": "sentinel-2",
            "mosaique:build_id": manifest["build_id"],
            "mosaique:coverage": manifest["coverage"],
            "mosaique:products": len(manifest["inputs"]),
            "mosaique:missing_tiles": manifest["missing_tiles"],
            "created": manifest["created"],
        },
    )
    proj = ProjectionExtension.ext(item, add_if_missing=True)
    proj.code = "EPSG:3857"
    for name, info in manifest["layers"].items():
        layer = LAYERS[name]
        item.add_asset(name, pystac.Asset(
            href=info["vrt"], media_type="application/x-gdal-vrt", roles=["data"],
            title=f"{name}: {layer.description}",
            extra_fields={"bands": [{"name": b} for b in layer.bands]},
        ))
        item.add_asset(f"{name}-overview", pystac.Asset(
            href=info["overview"], media_type=pystac.MediaType.COG, roles=["overview"],
            title=f"{name} at low zoom (whole France)",
        ))
    item.add_asset("manifest", pystac.Asset(href="manifest.json", media_type=pystac.MediaType.JSON,
                                            roles=["metadata"]))
    return item.to_dict(include_self_link=False)
