"""The tile server, as a real uvicorn process on 127.0.0.1, read by real clients."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest
import rasterio
from osgeo import gdal
from rasterio.io import MemoryFile

from mosaic.build import BuildOptions, build_month
from mosaic.catalog import Catalog
from tests.helpers import FRANCE_MONTHS, rgba, serving

MONTH = "2018-07"


@pytest.fixture()
def data(france: Path) -> Path:
    """The shared France sample (two tiles, two months, at zoom 7): read only."""
    return france


@pytest.fixture()
def server(france_server: str) -> str:
    return france_server


def month_listed(client: httpx.Client, month: str = MONTH) -> dict:
    """The month's entry in /api/months, after checking that every sample month is listed."""
    months = client.get("/api/months").json()
    assert [m["month"] for m in months] == FRANCE_MONTHS
    return next(m for m in months if m["month"] == month)


def test_months_lists_the_published_month_without_paths(server: str, data: Path) -> None:
    with httpx.Client(base_url=server) as client:
        month = month_listed(client)
    assert month["maxzoom"] == 7
    assert month["build_id"] == Catalog(data).get(MONTH).build_id
    assert str(data) not in str(month)
    assert month["links"]["layers"]["truecolor"]["tiles"].startswith(server)


def test_tiles_at_every_zoom_come_from_the_right_cog(server: str, data: Path) -> None:
    month = Catalog(data).get(MONTH)
    with httpx.Client(base_url=server) as client:  # one keep-alive connection, as a browser
        for z, x, y in [(3, 4, 2), (6, 32, 23), (7, 64, 46), (9, 259, 187)]:
            r = client.get(f"/months/{MONTH}/truecolor/tiles/WebMercatorQuad/{z}/{x}/{y}.png")
            assert r.status_code == 200, (z, r.text)
            with MemoryFile(r.content) as mem, mem.open() as img:
                assert (img.count, img.width, img.height) == (4, 256, 256)  # RGB + alpha
                rgba = img.read()
            assert rgba[3].any(), "tile is empty"
            assert month.source("truecolor", z, x, y) is not None
        assert client.get(f"/months/{MONTH}/truecolor/tiles/WebMercatorQuad/9/1/1.png").status_code == 204


def test_bad_requests_are_4xx(server: str) -> None:
    with httpx.Client(base_url=server) as client:
        assert client.get("/months/2019-07/truecolor/tiles/WebMercatorQuad/7/64/46.png").status_code == 404
        assert client.get(f"/months/{MONTH}/nope/tiles/WebMercatorQuad/7/64/46.png").status_code == 422
        assert client.get("/months/..%2F..%2Fetc/truecolor/tiles/WebMercatorQuad/7/64/46.png").status_code in (404, 422)
        tile = f"/months/{MONTH}/truecolor/tiles/WebMercatorQuad/7/64/46.png"
        assert client.get(f"{tile}?url=/etc/passwd").status_code == 200
        spec = client.get("/openapi.json").json()
    params = {p["name"] for op in spec["paths"].values() for m in op.values() for p in m.get("parameters", [])}
    assert "url" not in params


def test_point_query_returns_the_mosaic_values(server: str, data: Path) -> None:
    month = Catalog(data).get(MONTH)
    with httpx.Client(base_url=server) as client:
        values = client.get(f"/months/{MONTH}/reflectance/point/1.2,43.8").json()["values"]
    with rasterio.open(month.vrt("reflectance")) as ds:
        (x,), (y,) = rasterio.warp.transform("EPSG:4326", ds.crs, [1.2], [43.8])
        expected = [float(v) for v in next(ds.sample([(x, y)]))]
    assert values == expected


def test_gdal_reads_the_xyz_tiles(server: str, data: Path) -> None:
    template = f"{server}/months/{MONTH}/truecolor/tiles/WebMercatorQuad/${{z}}/${{x}}/${{y}}.png"
    xml = f"""<GDAL_WMS><Service name="TMS"><ServerUrl>{template}</ServerUrl></Service>
<DataWindow><UpperLeftX>-20037508.34</UpperLeftX><UpperLeftY>20037508.34</UpperLeftY><LowerRightX>20037508.34</LowerRightX>
<LowerRightY>-20037508.34</LowerRightY><TileLevel>7</TileLevel><TileCountX>1</TileCountX><TileCountY>1</TileCountY><YOrigin>top</YOrigin></DataWindow>
<Projection>EPSG:3857</Projection><BlockSizeX>256</BlockSizeX><BlockSizeY>256</BlockSizeY><BandsCount>4</BandsCount>
<ZeroBlockHttpCodes>204,404</ZeroBlockHttpCodes></GDAL_WMS>"""
    ds = gdal.Open(xml)
    assert ds.RasterXSize == 256 * 2**7
    block = ds.ReadAsArray(64 * 256, 46 * 256, 256, 256)  # tile 7/64/46 over Toulouse
    month = Catalog(data).get(MONTH)
    assert month.region_zoom == 7  # so the region COG of tile 7/64/46 is exactly that tile
    with rasterio.open(month.source("truecolor", 7, 64, 46)) as cog:
        assert (cog.width, cog.height) == (256, 256)
        expected, mask = cog.read(), cog.dataset_mask()
    np.testing.assert_array_equal(block[3] > 0, mask > 0)
    assert np.abs(block[:3].astype(int) - expected.astype(int))[:, mask > 0].mean() < 1.0


def test_every_preset_renders_and_validity_hides_only_clear_land(server: str, data: Path) -> None:
    with httpx.Client(base_url=server) as client:
        month = month_listed(client)
        names = [p["name"] for p in client.get("/api/presets").json()]
        assert names == ["truecolor", "falsecolor", "ndvi", "validity"]
        tiles = {}
        for name, links in month["links"]["presets"].items():
            r = client.get(links["tiles"].format(z=7, x=64, y=46))
            assert r.status_code == 200 and r.headers["content-type"] == "image/png", (name, r.text)
            tiles[name] = rgba(r.content)
            tilejson = client.get(links["tilejson"]).json()
            assert tilejson["tilejson"] == "3.0.0" and "{z}/{x}/{y}" in tilejson["tiles"][0]
    with rasterio.open(Catalog(data).get(MONTH).source("flags", 7, 64, 46)) as cog:
        flags = cog.read(1)
    alpha = tiles["validity"][3]
    assert ((alpha == 0) == ((flags == 4) | (flags == 0))).all()  # no data is never drawn
    assert (tiles["validity"][:3, flags == 1] > 200).all()  # all-month clouds in white
    assert not np.array_equal(tiles["ndvi"][:3], tiles["falsecolor"][:3])


def test_build_pinned_urls_are_immutable_and_survive_a_republish(france_copy: Path) -> None:
    data = france_copy  # republished below: a copy of the shared sample, served on its own
    with serving(data) as server, httpx.Client(base_url=server) as client:
        month = month_listed(client)
        pinned = month["links"]["presets"]["ndvi"]["tiles"].format(z=7, x=64, y=46)
        assert f"build={month['build_id']}" in pinned
        first = client.get(pinned)
        assert first.status_code == 200, first.text
        assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
        etag = first.headers["etag"]
        again = client.get(pinned, headers={"If-None-Match": etag})
        assert again.status_code == 304 and not again.content
        latest = client.get(f"/months/{MONTH}/truecolor/tiles/WebMercatorQuad/7/64/46")
        assert latest.headers["cache-control"] == "public, max-age=60" and "etag" not in latest.headers
        empty = client.get(f"/months/{MONTH}/truecolor/tiles/WebMercatorQuad/9/1/1.png")
        assert empty.status_code == 204 and not empty.content and empty.headers["cache-control"] == "public, max-age=60"
        tilejson = client.get(month["links"]["layers"]["truecolor"]["tilejson"]).json()
        assert f"build={month['build_id']}" in tilejson["tiles"][0]
        assert client.get(pinned.replace(month["build_id"], "20180101T000000.000000Z-abcdef")).status_code == 404
        assert client.get(pinned.replace(month["build_id"], "../../etc")).status_code == 422

        # Republish: the old pinned URL keeps answering the same bytes, "latest" moves on.
        rebuilt = build_month(data, MONTH, [data.parent / "in"], BuildOptions(scheduler="sync", force=True))
        now = month_listed(client)
        assert now["build_id"] == rebuilt.build_id != month["build_id"]
        assert client.get(pinned).content == first.content
        assert client.get(now["links"]["presets"]["ndvi"]["tiles"].format(z=7, x=64, y=46)).status_code == 200


def test_wmts_capabilities_parse_in_owslib_and_gdal_reads_a_layer(server: str, tmp_path: Path) -> None:
    from owslib.wmts import WebMapTileService

    with httpx.Client(base_url=server) as client:
        xml = client.get("/wmts/WMTSCapabilities.xml").content
        month = month_listed(client)
    wmts = WebMapTileService(f"{server}/wmts/WMTSCapabilities.xml", xml=xml)
    names = sorted(wmts.contents)
    presets = ("truecolor", "falsecolor", "ndvi", "validity")
    assert names == sorted([*presets, *(f"{m}_{p}" for m in FRANCE_MONTHS for p in presets)])  # presets: Time layers
    layer = wmts.contents[f"{MONTH}_ndvi"]
    assert "WebMercatorQuad" in layer.tilematrixsetlinks
    template = layer.resourceURLs[0]["template"]
    assert f"build={month['build_id']}" in template and "colormap_name=rdylgn" in template
    # A real WMTS client: GDAL's driver fetches tiles through the capabilities.
    gdal.SetConfigOption("GDAL_DEFAULT_WMS_CACHE_PATH", str(tmp_path / "wmscache"))  # not the working dir
    ds = gdal.Open(f"WMTS:{server}/wmts/WMTSCapabilities.xml,layer={MONTH}_truecolor,tilematrixset=WebMercatorQuad")
    assert ds is not None and ds.RasterCount == 4
    ovr = ds.GetRasterBand(1).GetOverviewCount()
    assert ovr > 0
    band = ds.GetRasterBand(4).GetOverview(ovr - 4) if ovr >= 4 else ds.GetRasterBand(4)
    assert band.ReadAsArray().max() == 255  # some opaque pixels came through the server


def test_metrics_count_requests_by_route_and_tiles(server: str) -> None:
    with httpx.Client(base_url=server) as client:
        for _ in range(3):
            client.get(f"/months/{MONTH}/truecolor/tiles/WebMercatorQuad/7/64/46.png")
        client.get(f"/months/{MONTH}/truecolor/tiles/WebMercatorQuad/9/1/1.png")
        text = client.get("/metrics").text
    route = "/months/{month}/{layer}/tiles/{tileMatrixSetId}/{z}/{x}/{y}.{format}"
    samples = [line.rsplit(" ", 1) for line in text.splitlines() if line.startswith("mosaique")]
    lines = {name: float(value) for name, value in samples}
    assert lines[f'mosaique_http_requests_total{{method="GET",route="{route}",status="200"}}'] >= 3
    assert lines[f'mosaique_http_requests_total{{method="GET",route="{route}",status="204"}}'] >= 1
    assert lines['mosaique_tiles_served_total{kind="month"}'] >= 3
    assert lines[f'mosaique_http_request_duration_seconds_count{{route="{route}"}}'] >= 4


def test_stored_jpeg_tiles_are_the_cog_blocks_and_other_zooms_are_rendered(server: str, data: Path) -> None:
    month = Catalog(data).get(MONTH)
    with httpx.Client(base_url=server) as client:
        r = client.get(f"/months/{MONTH}/truecolor/7/64/46.jpg?build={month.build_id}")
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        with MemoryFile(r.content) as mem, mem.open() as img:
            served = img.read()
        with rasterio.open(month.source("truecolor", 7, 64, 46)) as cog:
            stored = cog.read()  # GDAL decodes the same JPEG block
        np.testing.assert_array_equal(served, stored)
        over = client.get(f"/months/{MONTH}/truecolor/9/259/187.jpg")  # beyond the stored zooms
        dynamic = client.get(f"/months/{MONTH}/truecolor/tiles/WebMercatorQuad/9/259/187.jpg")
        assert over.status_code == 200 and over.headers["content-type"] == "image/jpeg"
        assert over.content == dynamic.content
        assert client.get(f"/months/{MONTH}/truecolor/7/1/1.jpg").status_code == 204
        assert client.get(f"/months/{MONTH}/truecolor/7/999/1.jpg").status_code == 400  # not a zoom-7 tile
