"""A build's manifest (inputs, coverage, timings) made from its tasks' results, and its STAC Item."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import version

import pystac
import rasterio
from osgeo import gdal
from pystac.extensions.projection import ProjectionExtension
from rasterio.warp import transform_bounds

from mosaic.documents import Coverage, GridInfo, InputRecord, LayerRecord, Manifest, SkippedRecord
from mosaic.layers import LAYERS
from mosaic.results import PartMade, PartOutcome, RegionMade
from processing.errors import InvalidProduct
from processing.layout import Flag
from processing.product import L3AProduct
from processing.tiles import france_tiles

FLAG_NAMES = {int(f): f.name.lower() for f in Flag}


def software() -> dict[str, str]:
    """Versions of what made the build."""
    return {
        "mosaique": version("mosaique"),
        "gdal": gdal.__version__,
        "rasterio": rasterio.__version__,
        "rasterio_gdal": rasterio.__gdal_version__,
    }


def percentages(counts: list[int]) -> Coverage:
    """FLG pixel counts (index = code 0-4) -> percentage per class name."""
    total = sum(counts)
    return Coverage(**{FLAG_NAMES[i]: (round(100.0 * c / total, 3) if total else 0.0) for i, c in enumerate(counts)})


def lonlat_bounds(bounds_3857: tuple[float, float, float, float]) -> list[float]:
    """EPSG:3857 bounds -> [west, south, east, north] in degrees."""
    return [round(v, 6) for v in transform_bounds("EPSG:3857", "EPSG:4326", *bounds_3857)]


def _add(a: list[int], b: list[int]) -> list[int]:
    return [x + y for x, y in zip(a, b, strict=True)]


def build_manifest(
    month: str,
    build_id: str,
    grid: GridInfo,
    products: Sequence[L3AProduct],
    fingerprints: Sequence[str],
    part_results: Sequence[PartOutcome],
    region_results: Sequence[RegionMade],
    skipped: Sequence[InvalidProduct],
    layers: dict[str, LayerRecord],
    timings: dict[str, float],
) -> Manifest:
    """The build's manifest: inputs (``fingerprints`` of their files, in the order of ``products``),
    skipped products, coverage, layers, regions, timings."""
    part_flags: dict[str, list[int]] = {}
    wins: dict[str, int] = {}
    france = [0] * 5
    for r in region_results:
        france = _add(france, r.result.france_flags)
        for tile, counts in r.result.part_flags.items():
            part_flags[tile] = _add(part_flags.get(tile, [0] * 5), counts)
        for tile, n in r.result.part_wins.items():
            wins[tile] = wins.get(tile, 0) + n
    by_tile = {r.tile: r for r in part_results}
    inputs = []
    left = bottom = float("inf")
    right = top = float("-inf")
    for product, fp in zip(products, fingerprints, strict=True):
        res = by_tile[product.tile]
        if not isinstance(res, PartMade):
            continue
        left, bottom = min(left, res.part.bounds[0]), min(bottom, res.part.bounds[1])
        right, top = max(right, res.part.bounds[2]), max(top, res.part.bounds[3])
        inputs.append(InputRecord(
            name=str(product.name), tile=product.tile, path=str(product.path), size=product.size_bytes(),
            sha256=res.checksum, fingerprint=fp, product=product.to_record(),
            version="{}.{}".format(*product.name.version), synthesis_date=product.name.synthesis.date().isoformat(),
            part=res.key, coverage=percentages(part_flags.get(product.tile, [0] * 5)),
            mosaic_pixels=wins.get(product.tile, 0), warnings=product.warnings,
            timings={k: round(v, 3) for k, v in res.timings.items()},
        ))
    present = {i.tile for i in inputs}
    return Manifest(
        build_id=build_id, month=month, created=datetime.now(UTC).isoformat(timespec="seconds"),
        software=software(), grid=grid, bounds=lonlat_bounds((left, bottom, right, top)),
        bounds_3857=[left, bottom, right, top], coverage=percentages(france),
        coverage_scope="pixels inside the France outline (Natural Earth 1:110m)",
        missing_tiles=sorted(set(france_tiles()) - present), inputs=inputs,
        skipped=[SkippedRecord(product=s.product, reason=s.reason, kind=type(s).__name__) for s in skipped],
        layers=layers, regions={r.region: r.record() for r in region_results},
        timings={k: round(v, 3) for k, v in timings.items()},
    )


def stac_item(manifest: Manifest) -> dict:
    """A STAC Item for a month's build: one asset per layer (VRT of COGs and overview COG)."""
    month = manifest.month
    year, mon = map(int, month.split("-"))
    start = datetime(year, mon, 1, tzinfo=UTC)
    end = datetime(year, mon, calendar.monthrange(year, mon)[1], 23, 59, 59, tzinfo=UTC)
    w, s, e, n = manifest.bounds
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
            "mosaique:build_id": manifest.build_id,
            "mosaique:coverage": manifest.coverage.to_json(),
            "mosaique:products": len(manifest.inputs),
            "mosaique:missing_tiles": manifest.missing_tiles,
            "created": manifest.created,
        },
    )
    proj = ProjectionExtension.ext(item, add_if_missing=True)
    proj.code = "EPSG:3857"
    for name, info in manifest.layers.items():
        layer = LAYERS[name]
        item.add_asset(name, pystac.Asset(
            href=info.vrt, media_type="application/x-gdal-vrt", roles=["data"],
            title=f"{name}: {layer.description}",
            extra_fields={"bands": [{"name": b} for b in layer.bands]},
        ))
        item.add_asset(f"{name}-overview", pystac.Asset(
            href=info.overview, media_type=pystac.MediaType.COG, roles=["overview"],
            title=f"{name} at low zoom (whole France)",
        ))
    item.add_asset("manifest", pystac.Asset(href="manifest.json", media_type=pystac.MediaType.JSON,
                                            roles=["metadata"]))
    return item.to_dict(include_self_link=False)
