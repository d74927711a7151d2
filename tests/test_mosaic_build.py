"""Monthly builds on real (small) L3A products: values, overlap rule, publishing, incremental."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.warp import transform
from rasterio.windows import Window

from mosaic.build import BuildOptions, build_month
from mosaic.cog import cog_errors
from mosaic.select import RANK
from mosaic.store import DataStore
from processing.layout import NODATA, Flag
from processing.product import L3AProduct
from sample import generate_products
from tests.helpers import read_asset

PIXEL = 1000.0
MONTH = "2018-07"
# Two pairs of neighbours across the UTM zone boundaries 30/31 (0 E) and 31/32 (6 E).
TILES = ["T30TYP", "T31TCJ", "T31TGJ", "T32TLP"]
SYNC = BuildOptions(scheduler="sync", progress=False)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Zipped sample products of TILES for MONTH."""
    root = tmp_path_factory.mktemp("inputs")
    generate_products(root, tiles=TILES, months=[MONTH], pixel_size=PIXEL, as_zip=True, workers=1)
    return root


@pytest.fixture(scope="module")
def built(inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A published build of MONTH and its manifest."""
    data = tmp_path_factory.mktemp("data")
    report = build_month(data, MONTH, [inputs], SYNC)
    assert report.exit_code == 0
    return data, json.loads((report.build_dir / "manifest.json").read_text())


def month_dir(data: Path) -> Path:
    """Folder of the published build of MONTH."""
    return data / DataStore(data).read_catalog().months[MONTH].path


def mosaic_pixel(vrt: Path, lon: float, lat: float) -> tuple[np.ndarray, tuple[float, float]]:
    """All bands of the mosaic pixel containing (lon, lat), and that pixel's centre (EPSG:3857)."""
    (x,), (y,) = transform("EPSG:4326", "EPSG:3857", [lon], [lat])
    with rasterio.open(vrt) as ds:
        row, col = ds.index(x, y)
        return ds.read(window=Window(col, row, 1, 1))[:, 0, 0], ds.xy(row, col)


def source_pixels(
    products: list[L3AProduct], centre: tuple[float, float], shift: tuple[float, float] = (0, 0)
) -> list[tuple[int, list[int]]]:
    """(FLG, [B2, B3, B4, B8]) of every product covering an EPSG:3857 point.

    ``shift`` moves the point by fractions of a source pixel in x and y (GDAL's warper places
    pixels within 1/8 of a source pixel).
    """
    found = []
    for p in products:
        (x,), (y,) = transform("EPSG:3857", p.crs, [centre[0]], [centre[1]])
        res = p.grids["R1"].res
        row, col = rasterio.transform.rowcol(p.grids["R1"].transform, x + shift[0] * res, y + shift[1] * res)
        if 0 <= row < p.grids["R1"].height and 0 <= col < p.grids["R1"].width:
            w = Window(col, row, 1, 1)
            flag = int(read_asset(p, "FLG_R1", window=w)[0, 0])
            if flag != Flag.NODATA:
                found.append((flag, [int(read_asset(p, b, window=w)[0, 0]) for b in ("B2", "B3", "B4", "B8")]))
    return found


def test_values_equal_source_values_in_each_zone_and_across_boundaries(inputs: Path, built: tuple[Path, dict]) -> None:
    data, _ = built
    products = [L3AProduct.open(p) for p in sorted(inputs.iterdir())]
    refl, flags = month_dir(data) / "reflectance.vrt", month_dir(data) / "flags.vrt"
    checked = {"single": 0, "overlap": 0}
    exact = 0
    for lon in np.arange(-0.45, 7.85, 0.11):
        for lat in np.arange(43.3, 44.2, 0.13):
            values, centre = mosaic_pixel(refl, lon, lat)
            got = (int(mosaic_pixel(flags, lon, lat)[0][0]), list(values))
            sources = source_pixels(products, centre)
            if not sources:
                assert got[0] == Flag.NODATA and (values == NODATA).all()
                continue
            best = max(RANK[f] for f, _ in sources)
            if got in [(f, v) for f, v in sources if RANK[f] == best]:
                exact += 1
            else:  # within GDAL's 1/8 px placement: a neighbouring source pixel of the same product
                shifts = [(dx, dy) for dx in (-0.13, 0, 0.13) for dy in (-0.13, 0, 0.13)]
                nearby = [s for shift in shifts for s in source_pixels(products, centre, shift)]
                assert got in nearby, (lon, lat, got, sources)
            checked["overlap" if len(sources) > 1 else "single"] += 1
    assert checked["single"] > 100 and checked["overlap"] > 10
    assert exact >= 0.95 * sum(checked.values())


def test_every_layer_is_a_valid_cog_with_overviews(built: tuple[Path, dict]) -> None:
    data, manifest = built
    folder = month_dir(data)
    cogs = sorted(folder.glob("regions/*/*.tif")) + sorted(folder.glob("overview/*.tif"))
    assert len(cogs) == 4 * (len(manifest["regions"]) + 1)
    for cog in cogs:
        assert cog_errors(cog) == [], cog
    with rasterio.open(folder / "overview" / "truecolor.tif") as ds:
        assert ds.crs.to_epsg() == 3857 and ds.count == 3
        assert ds.block_shapes[0] == (256, 256)


def test_nodata_is_transparent_in_truecolor(built: tuple[Path, dict]) -> None:
    data, _ = built
    folder = month_dir(data)
    with rasterio.open(folder / "truecolor.vrt") as rgb, rasterio.open(folder / "flags.vrt") as flg:
        mask = rgb.dataset_mask()
        flags = flg.read(1)
    assert mask.shape == flags.shape
    assert (mask[flags == Flag.NODATA] == 0).all()
    assert (mask[flags != Flag.NODATA] == 255).mean() > 0.99


def test_manifest_describes_the_month(built: tuple[Path, dict]) -> None:
    data, manifest = built
    assert manifest["month"] == MONTH
    assert sorted(i["tile"] for i in manifest["inputs"]) == TILES
    for item in manifest["inputs"]:
        assert len(item["sha256"]) == 64 and item["size"] > 0
        assert item["mosaic_pixels"] > 0
    assert len(manifest["missing_tiles"]) == 95 - len(TILES)
    assert set(manifest["coverage"]) == {"nodata", "cloud", "snow", "water", "land"}
    assert sum(manifest["coverage"].values()) == pytest.approx(100, abs=0.01)
    item = json.loads((month_dir(data) / "item.json").read_text())
    assert item["type"] == "Feature" and item["properties"]["start_datetime"].startswith("2018-07-01")
    assert {"reflectance", "truecolor", "flags", "dates", "manifest"} <= set(item["assets"])


def test_overlap_rule_does_not_depend_on_input_order(inputs: Path, tmp_path: Path) -> None:
    zips = sorted(inputs.iterdir())
    arrays = []
    for order in (zips, zips[::-1]):
        report = build_month(tmp_path / f"data{len(arrays)}", MONTH, order, SYNC)
        with rasterio.open(report.build_dir / "reflectance.vrt") as ds:
            arrays.append(ds.read())
    np.testing.assert_array_equal(arrays[0], arrays[1])
