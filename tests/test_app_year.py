"""A year of months served by a real uvicorn: WMTS with a Time dimension, point series with reasons.

The sample is the Alpes-Maritimes tile (Mercantour snow in winter, the sea) for the twelve months
of 2018 at a 2 km pixel; clients are OWSLib, GDAL's WMTS driver and httpx.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import morecantile
import numpy as np
import pytest
import rasterio
from osgeo import gdal
from rasterio.warp import transform

from mosaic.catalog import Catalog
from processing.layout import Flag
from tests.helpers import YEAR_MONTHS as MONTHS
from tests.helpers import rgba

TMS = morecantile.tms.get("WebMercatorQuad")


def _tile_over_the_mountains(data: Path) -> morecantile.Tile:
    """The tile at the month's full zoom over the Mercantour (snowy in January, not in July)."""
    return TMS.tile(7.2, 44.1, Catalog(data).get("2018-01").zoom)


# --- WMTS Time dimension -------------------------------------------------------------------------


def test_owslib_reads_the_time_dimension_and_fetches_two_months(year_server: str, year: Path) -> None:
    from owslib.wmts import WebMapTileService

    wmts = WebMapTileService(f"{year_server}/wmts/WMTSCapabilities.xml")
    presets = ("truecolor", "falsecolor", "ndvi", "validity")
    assert sorted(wmts.contents) == sorted([*presets, *(f"{m}_{p}" for m in MONTHS for p in presets)])
    layer = wmts.contents["truecolor"]
    time = layer.dimensions["Time"]
    assert time["values"] == MONTHS and time["default"] == "2018-12"
    assert "{Time}" in layer.resourceURLs[0]["template"]
    tile = _tile_over_the_mountains(year)
    fetched = {}
    for month in ("2018-01", "2018-07"):
        args = dict(tilematrixset="WebMercatorQuad", tilematrix=str(tile.z), row=tile.y, column=tile.x)
        for preset in presets:
            through_time = wmts.gettile(layer=preset, Time=month, **args).read()
            own_layer = wmts.gettile(layer=f"{month}_{preset}", **args).read()
            assert through_time == own_layer, preset  # the very same tile as the month's own layer
        fetched[month] = rgba(wmts.gettile(layer="ndvi", Time=month, **args).read())
        assert fetched[month][3].any()
    assert not np.array_equal(fetched["2018-01"], fetched["2018-07"])


def test_gdal_reads_two_months_through_the_time_layer(year_server: str, year: Path, tmp_path: Path) -> None:
    gdal.SetConfigOption("GDAL_DEFAULT_WMS_CACHE_PATH", str(tmp_path / "wmscache"))
    caps = f"{year_server}/wmts/WMTSCapabilities.xml"
    zoom = Catalog(year).get("2018-01").zoom
    month_layer = gdal.Open(f"WMTS:{caps},layer=2018-01_ndvi,tilematrixset=WebMercatorQuad,zoom_level={zoom}")

    def read(connection: str) -> np.ndarray:
        """The whole layer at the months' zoom (the same extent for every month of this sample)."""
        ds = gdal.Open(f"WMTS:{connection},tilematrixset=WebMercatorQuad,zoom_level={zoom}")
        assert ds.GetGeoTransform() == month_layer.GetGeoTransform()
        return ds.ReadAsArray()

    # GDAL's driver uses a dimension's <Default>: the capabilities URL chooses it.
    pixels = {m: read(f"{caps}?time={m},layer=ndvi") for m in ("2018-01", "2018-07")}
    for month, array in pixels.items():
        np.testing.assert_array_equal(array, read(f"{caps},layer={month}_ndvi"))
        assert array[3].any()
    assert not np.array_equal(pixels["2018-01"], pixels["2018-07"])
    np.testing.assert_array_equal(read(f"{caps},layer=ndvi"), read(f"{caps},layer=2018-12_ndvi"))  # default


def test_time_values_and_errors(year_server: str, year: Path) -> None:
    tile = _tile_over_the_mountains(year)
    url = f"{year_server}/wmts/tiles/truecolor/{{}}/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}"
    with httpx.Client() as client:
        month = client.get(url.format("2018-07"))
        assert month.status_code == 200 and month.headers["content-type"] in ("image/png", "image/jpeg")
        assert month.headers["cache-control"] == "public, max-age=60"  # follows the month's latest build
        for same in ("2018-07-15", "2018-07-31T23:00:00Z", "2018-07-01T00:00:00.000+02:00"):
            assert client.get(url.format(same)).content == month.content, same
        assert client.get(url.format("current")).content == client.get(url.format("2018-12")).content
        assert client.get(url.format("2019-07")).status_code == 404
        for bad in ("2018-13", "2018-07-45", "July", "2018-07-15Tnoon"):
            r = client.get(url.format(bad))
            assert r.status_code == 400 and "Time" in r.json()["detail"], bad
        assert client.get(url.format("2018-07").replace("truecolor", "nope")).status_code == 422
        empty = client.get(f"{year_server}/wmts/tiles/ndvi/2018-07/WebMercatorQuad/{tile.z}/0/0")
        assert empty.status_code == 204
        assert client.get(f"{year_server}/wmts/WMTSCapabilities.xml?time=2019-01").status_code == 404
        assert client.get(f"{year_server}/wmts/WMTSCapabilities.xml?TIME=2018-13").status_code == 400


# --- point series over the year ----------------------------------------------------------------


def _flags(data: Path) -> dict[str, tuple[np.ndarray, rasterio.Affine]]:
    """Each month's published flags layer, as read by rasterio."""
    out = {}
    for month in MONTHS:
        with rasterio.open(Catalog(data).get(month).vrt("flags")) as src:
            out[month] = src.read(1), src.transform
    return out


def _lonlat(transform_: rasterio.Affine, row: int, col: int) -> tuple[float, float]:
    x, y = transform_ @ (col + 0.5, row + 0.5)
    (lon,), (lat,) = transform("EPSG:3857", "EPSG:4326", [x], [y])
    return lon, lat


def test_point_series_gives_every_month_and_why_it_is_not_valid(year_server: str, year: Path) -> None:
    flags = _flags(year)
    jan, jul = flags["2018-01"][0], flags["2018-07"][0]
    stack = np.stack([flags[m][0] for m in MONTHS])
    kinds = {
        "snow in winter": (jan == Flag.SNOW) & (jul == Flag.LAND),
        "cloud some month": (stack == Flag.CLOUD).any(axis=0) & (stack == Flag.LAND).any(axis=0),
        "water": (stack == Flag.WATER).all(axis=0),
    }
    points = {}
    for name, where in kinds.items():
        rows, cols = np.nonzero(where[1:-1, 1:-1])  # not on the edge: the point is that pixel
        assert rows.size, f"the sample has no pixel with {name}"
        points[name] = _lonlat(flags["2018-01"][1], rows[0] + 1, cols[0] + 1)
    points["outside"] = (2.35, 48.86)  # Paris: outside every month

    with httpx.Client(base_url=year_server) as client:
        for name, (lon, lat) in points.items():
            series = client.get(f"/api/point/{lon},{lat}").json()["months"]
            assert [m["month"] for m in series] == MONTHS, name
            for month, entry in zip(MONTHS, series, strict=True):
                expected = _expected(year, month, lon, lat)
                assert entry["valid"] == (expected["flag"] == Flag.LAND), (name, month)
                assert entry["reason"] == expected["reason"], (name, month)
                assert entry["flag"] == expected["flag"]
                if expected["ndvi"] is None:
                    assert entry["ndvi"] is None and entry["date"] is None
                else:
                    assert entry["ndvi"] == pytest.approx(expected["ndvi"], abs=1e-4)
                    assert entry["date"].startswith(month[:4])
            reasons = [m["reason"] for m in series]
            if name == "snow in winter":
                assert reasons[0] == "snow" and reasons[6] is None and series[6]["ndvi"] > 0.2
            elif name == "cloud some month":
                assert "cloud" in reasons and None in reasons
            elif name == "water":
                assert set(reasons) == {"water"}
            else:
                assert set(reasons) == {"nodata"} and {m["ndvi"] for m in series} == {None}


def _expected(data: Path, month: str, lon: float, lat: float) -> dict:
    """A month's flag, reason and NDVI at a point, read from the published files by rasterio."""
    published = Catalog(data).get(month)
    with rasterio.open(published.vrt("flags")) as fl, rasterio.open(published.vrt("reflectance")) as rf:
        (x,), (y,) = transform("EPSG:4326", fl.crs, [lon], [lat])
        if not (fl.bounds.left < x < fl.bounds.right and fl.bounds.bottom < y < fl.bounds.top):
            return {"flag": None, "reason": "nodata", "ndvi": None}
        flag = int(next(fl.sample([(x, y)]))[0])
        b2, b3, b4, b8 = (float(v) for v in next(rf.sample([(x, y)])))
    if flag == Flag.NODATA:
        return {"flag": flag, "reason": "nodata", "ndvi": None}
    reason = None if flag == Flag.LAND else Flag(flag).name.lower()
    return {"flag": flag, "reason": reason, "ndvi": (b8 - b4) / (b8 + b4)}
