"""Band names map clients can read: B2, B3, B4, B8 in the COGs, TileJSON, info, statistics and points;
expressions by name or by index."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import rasterio
from fastapi.testclient import TestClient
from osgeo import gdal

from app.main import create_app
from app.settings import Settings
from mosaic.catalog import Catalog

MONTH = "2018-07"
POINT = "1.2,43.8"


@pytest.fixture()
def data(france: Path) -> Path:
    """The shared France sample: read only (the test that unnames the bands copies it)."""
    return france


def test_the_cogs_carry_the_band_names(data: Path) -> None:
    month = Catalog(data).get(MONTH)
    for cog in [month.overview("reflectance"), *Path(month.folder).glob("regions/*/reflectance.tif")]:
        with rasterio.open(cog) as ds:
            assert ds.descriptions == ("B2", "B3", "B4", "B8"), cog
    with rasterio.open(month.overview("flags")) as ds:
        assert ds.descriptions == ("FLG",)


def names_everywhere(client: TestClient) -> None:
    tilejson = client.get(f"/months/{MONTH}/reflectance/WebMercatorQuad/tilejson.json").json()
    assert tilejson["band_descriptions"] == [["b1", "B2"], ["b2", "B3"], ["b3", "B4"], ["b4", "B8"]]
    info = client.get(f"/months/{MONTH}/reflectance/info").json()
    assert [d for _, d in info["band_descriptions"]] == ["B2", "B3", "B4", "B8"]
    stats = client.get(f"/months/{MONTH}/reflectance/statistics", params={"max_size": 64}).json()
    assert [s["description"] for s in stats.values()] == ["B2", "B3", "B4", "B8"]
    point = client.get(f"/months/{MONTH}/reflectance/point/{POINT}").json()
    assert point["band_descriptions"] == ["B2", "B3", "B4", "B8"]
    some = client.get(f"/months/{MONTH}/reflectance/point/{POINT}", params=[("bidx", 4), ("bidx", 3)]).json()
    assert some["band_descriptions"] == ["B8", "B4"] and some["values"] == [point["values"][3], point["values"][2]]


def test_tilejson_info_statistics_and_points_name_the_bands(data: Path) -> None:
    names_everywhere(TestClient(create_app(Settings(data_dir=data))))


def test_builds_from_before_the_names_are_named_by_the_server(data: Path, tmp_path: Path) -> None:
    old = tmp_path / "data"
    shutil.copytree(data, old)
    for cog in old.rglob("*.tif"):
        ds = gdal.Open(str(cog), gdal.GA_Update)
        for i in range(1, ds.RasterCount + 1):
            ds.GetRasterBand(i).SetDescription("")
        ds = None
    with rasterio.open(Catalog(old).get(MONTH).overview("reflectance")) as ds:
        assert ds.descriptions == (None,) * 4
    names_everywhere(TestClient(create_app(Settings(data_dir=old))))


def test_expressions_take_band_names_or_indexes(data: Path) -> None:
    client = TestClient(create_app(Settings(data_dir=data)))
    url = f"/months/{MONTH}/reflectance/point/{POINT}"
    by_name = client.get(url, params={"expression": "(B8-B4)/(B8+B4)"}).json()["values"]
    by_index = client.get(url, params={"expression": "(b4-b3)/(b4+b3)"}).json()["values"]
    b2, b3, b4, b8 = client.get(url).json()["values"]
    assert by_name == by_index == [pytest.approx((b8 - b4) / (b8 + b4))]
    assert client.get(url, params={"expression": "B4"}).json()["values"] == [b4]  # the band named B4: red
    assert client.get(url, params={"expression": "b4"}).json()["values"] == [b8]  # the fourth band: NIR
    r = client.get(f"/months/{MONTH}/reflectance/tiles/WebMercatorQuad/7/64/46.png", params={"expression": "B5"})
    assert r.status_code == 400 and "B2, B3, B4, B8" in r.json()["detail"]
    tile = client.get(f"/months/{MONTH}/reflectance/tiles/WebMercatorQuad/7/64/46.png",
                      params={"expression": "(B8-B4)/(B8+B4)", "rescale": "-1,1", "colormap_name": "rdylgn"})
    same = client.get(f"/months/{MONTH}/reflectance/tiles/WebMercatorQuad/7/64/46.png",
                      params={"expression": "(b4-b3)/(b4+b3)", "rescale": "-1,1", "colormap_name": "rdylgn"})
    assert tile.status_code == 200 and tile.content == same.content
    assert client.get(f"/months/{MONTH}/flags/point/{POINT}", params={"expression": "FLG"}).json()["values"] == \
        client.get(f"/months/{MONTH}/flags/point/{POINT}").json()["values"]
