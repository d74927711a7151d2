"""Rebuilds keep the regions whose parts read the same there (issue 12): per-region digests of the parts."""

from __future__ import annotations

import json
from pathlib import Path

import morecantile
import numpy as np
import pytest
import rasterio
from rasterio.warp import transform
from rasterio.windows import Window

from mosaic.build import BuildOptions, BuildReport, build_month
from mosaic.grid import region_id
from mosaic.layers import LAYERS
from sample import generate_products
from tests.helpers import cog_pixels

PIXEL = 200.0  # zoom 10: a part is 2 x 2 blocks of 512 px, a region 2048 px
MONTH = "2018-07"
TILES = ["T30TYQ", "T30TYR"]  # neighbours overlapping, each across the same four zoom-7 regions
SYNC = BuildOptions(scheduler="sync", progress=False)


@pytest.fixture()
def first(tmp_path: Path) -> BuildReport:
    """The month built from TILES (product folders in ``tmp_path / "in"``)."""
    generate_products(tmp_path / "in", tiles=TILES, months=[MONTH], pixel_size=PIXEL, workers=1)
    return build_month(tmp_path / "data", MONTH, [tmp_path / "in"], SYNC)


def manifest(report: BuildReport) -> dict:
    return json.loads((report.build_dir / "manifest.json").read_text())


def composited(report: BuildReport) -> set[str]:
    """Regions the build composited (not linked from the previous build)."""
    return {rid for rid, r in manifest(report)["regions"].items() if not r.get("reused")}


def regions_of(report: BuildReport, tile: str) -> set[str]:
    """Regions holding the part of ``tile``."""
    doc = manifest(report)
    (key,) = [i["part"] for i in doc["inputs"] if i["tile"] == tile]
    return {rid for rid, r in doc["regions"].items() if key in r["inputs"]}


def assert_same_as_fresh(report: BuildReport, inputs: Path, tmp_path: Path) -> None:
    """Every layer (VRT of region COGs, overview COG) equals a fresh build's of ``inputs``, pixels and masks."""
    fresh = build_month(tmp_path / "fresh", MONTH, [inputs], SYNC)
    assert sorted(manifest(report)["regions"]) == sorted(manifest(fresh)["regions"])
    for layer in LAYERS:
        with rasterio.open(report.build_dir / f"{layer}.vrt") as a, \
                rasterio.open(fresh.build_dir / f"{layer}.vrt") as b:
            assert a.transform == b.transform, layer
            np.testing.assert_array_equal(a.read(), b.read(), err_msg=layer)
            np.testing.assert_array_equal(a.dataset_mask(), b.dataset_mask(), err_msg=layer)
        assert cog_pixels(report.build_dir / "overview" / f"{layer}.tif") == cog_pixels(
            fresh.build_dir / "overview" / f"{layer}.tif"), layer


def test_a_small_change_recomposites_only_the_regions_holding_it(first: BuildReport, tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    (b4,) = inputs.glob("*T30TYR*/*_FRC_B4.tif")
    with rasterio.open(b4, "r+") as ds:  # a 20 px block near the north-east corner, only T30TYR there
        window = Window(ds.width - 60, 10, 20, 20)
        ds.write(ds.read(1, window=window) + 300, 1, window=window)
        (lon,), (lat,) = transform(ds.crs, "EPSG:4326", *map(list, zip(ds.xy(20, ds.width - 50), strict=True)))
    second = build_month(tmp_path / "data", MONTH, [inputs], SYNC)
    assert second.reused_parts == 1
    holding = region_id(morecantile.tms.get("WebMercatorQuad").tile(lon, lat, 7))
    assert len(regions_of(second, "T30TYR")) > 1
    assert composited(second) == {holding}
    assert second.built_regions == 1 and second.reused_regions == len(manifest(second)["regions"]) - 1
    with rasterio.open(first.build_dir / "reflectance.vrt") as a, \
            rasterio.open(second.build_dir / "reflectance.vrt") as b:
        assert not np.array_equal(a.read(3), b.read(3))
    assert_same_as_fresh(second, inputs, tmp_path)


def test_same_pixels_another_checksum_recomposites_nothing(first: BuildReport, tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    (mtd,) = inputs.glob("*T30TYR*/*_MTD_ALL.xml")
    mtd.write_text(mtd.read_text() + "<!-- re-delivered -->\n")
    second = build_month(tmp_path / "data", MONTH, [inputs], SYNC)
    assert second.reused_parts == 1 and second.built_regions == 0
    assert composited(second) == set()
    before, after = manifest(first), manifest(second)
    assert {i["part"] for i in before["inputs"]} != {i["part"] for i in after["inputs"]}
    for rid, region in after["regions"].items():  # the kept regions record the new parts
        assert sorted(region["digests"]) == region["inputs"] == sorted(
            i["part"] for i in after["inputs"] if rid in regions_of(second, i["tile"]))
        for f in (second.build_dir / "regions" / rid).iterdir():
            assert f.stat().st_ino == (first.build_dir / "regions" / rid / f.name).stat().st_ino
    assert_same_as_fresh(second, inputs, tmp_path)
