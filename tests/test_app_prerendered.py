"""Stored true-colour tiles: JPEG blocks answered as stored, PNG only where a tile has no data."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from mosaic.catalog import Catalog, Month
from tests.helpers import published_months, rgba

MONTH = "2018-07"


@pytest.fixture(scope="module")
def month_client(tmp_path_factory: pytest.TempPathFactory) -> tuple[Month, TestClient]:
    # 200 m: zoom 10 (every source pixel kept), whose 256 px tiles (about 28 km) fit inside one 110 km product.
    data = published_months(tmp_path_factory.mktemp("stored"), ["T31TCJ"], [MONTH], pixel_size=200)
    return Catalog(data).get(MONTH), TestClient(create_app(Settings(data_dir=data)))


def stored_tiles(month: Month) -> dict[tuple[int, int, int], np.ndarray]:
    """The no-data mask of every tile of the month's zoom, from its one region COG."""
    (region,) = month.regions
    rz, rx, ry = map(int, region.split("-"))
    with rasterio.open(f"{month.folder}/regions/{region}/truecolor.tif") as cog:
        mask = cog.dataset_mask()
    shift = month.zoom - rz
    return {(month.zoom, (rx << shift) + col, (ry << shift) + row): mask[row * 256:(row + 1) * 256,
                                                                        col * 256:(col + 1) * 256]
            for row in range(mask.shape[0] // 256) for col in range(mask.shape[1] // 256)}


def test_full_tiles_are_the_stored_jpeg_partial_ones_png_with_transparent_no_data(
    month_client: tuple[Month, TestClient],
) -> None:
    month, client = month_client
    masks = stored_tiles(month)
    full = [tile for tile, mask in masks.items() if mask.all()]
    partial = [tile for tile, mask in masks.items() if mask.any() and not mask.all()]
    assert full and partial
    pin = f"?build={month.build_id}"
    for z, x, y in full:
        r = client.get(f"/months/{MONTH}/truecolor/{z}/{x}/{y}{pin}")
        assert r.headers["content-type"] == "image/jpeg"
        assert r.content == client.get(f"/months/{MONTH}/truecolor/{z}/{x}/{y}.jpg{pin}").content
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    for z, x, y in partial:
        r = client.get(f"/months/{MONTH}/truecolor/{z}/{x}/{y}{pin}")
        assert r.headers["content-type"] == "image/png"
        np.testing.assert_array_equal(rgba(r.content)[3] > 0, masks[z, x, y] > 0)
    z, x, y = full[0]
    over = client.get(f"/months/{MONTH}/truecolor/{z + 1}/{2 * x}/{2 * y}{pin}")
    assert over.status_code == 200 and over.headers["content-type"] == "image/jpeg"  # not stored: rendered, all valid
    metrics = client.get("/metrics").text.splitlines()
    served = [line for line in metrics if line.startswith("mosaique_tiles_served_total")]
    assert float(served[0].split()[-1]) >= 2 * len(full) + len(partial) + 1  # stored tiles count as served
    assert client.get(f"/months/{MONTH}/truecolor/9/1/1").status_code == 204
    assert client.get(f"/months/{MONTH}/truecolor/9/1/1.png").status_code == 400  # y must be an integer


def test_the_fast_path_answers_as_the_route_does(month_client: tuple[Month, TestClient]) -> None:
    """The ASGI fast path (plain query) and the FastAPI route (any other query key) give the same answers."""
    month, client = month_client
    pin = f"?build={month.build_id}"
    tiles = list(stored_tiles(month))[:12] + [(month.zoom - 1, *[v // 2 for v in next(iter(stored_tiles(month)))[1:]]),
                                                (9, 1, 1), (month.zoom + 1, 0, 0)]
    for z, x, y in tiles:
        for suffix in ("", ".jpg"):
            fast = client.get(f"/months/{MONTH}/truecolor/{z}/{x}/{y}{suffix}{pin}")
            routed = client.get(f"/months/{MONTH}/truecolor/{z}/{x}/{y}{suffix}{pin}&via=route")
            assert (fast.status_code, fast.headers.get("content-type"), fast.content) == \
                (routed.status_code, routed.headers.get("content-type"), routed.content), (z, x, y, suffix)
            assert fast.headers["cache-control"] == routed.headers["cache-control"]
            assert fast.headers["x-content-type-options"] == "nosniff" and "x-request-id" in fast.headers


def test_hidpi_tiles_hold_the_next_zooms_stored_pixels(month_client: tuple[Month, TestClient]) -> None:
    month, client = month_client
    masks = stored_tiles(month)
    parents = {(z - 1, x // 2, y // 2) for z, x, y in masks}
    pin = f"?build={month.build_id}"
    seen = set()
    for z, x, y in sorted(parents):
        children = [(z + 1, 2 * x + dx, 2 * y + dy) for dy in (0, 1) for dx in (0, 1)]
        big = client.get(f"/months/{MONTH}/truecolor/{z}/{x}/{y}@2x{pin}")
        if not any(masks.get(child, np.zeros(1)).any() for child in children):
            assert big.status_code == 204 and not big.content  # no data under any of the four: empty, as 256 px
            seen.add("empty")
            continue
        assert big.status_code == 200
        assert big.content == client.get(f"/months/{MONTH}/truecolor/{z}/{x}/{y}{pin}&tilesize=512").content
        pixels = rgba(big.content)
        assert pixels.shape[1:] == (512, 512)
        mosaic = np.zeros((3, 512, 512), dtype=int)
        valid = np.zeros((512, 512), dtype=bool)
        for i, (cz, cx, cy) in enumerate(children):
            r = client.get(f"/months/{MONTH}/truecolor/{cz}/{cx}/{cy}.jpg{pin}")
            rows, cols = slice(256 * (i // 2), 256 * (i // 2) + 256), slice(256 * (i % 2), 256 * (i % 2) + 256)
            if r.status_code == 200:
                mosaic[:, rows, cols] = rgba(r.content)[:3]
                valid[rows, cols] = masks.get((cz, cx, cy), np.zeros((256, 256))) > 0
        if valid.all():
            assert big.headers["content-type"] == "image/jpeg"
            seen.add("jpeg")
        else:
            assert big.headers["content-type"] == "image/png"
            np.testing.assert_array_equal(pixels[3] > 0, valid)  # transparency where there is no data
            seen.add("png")
        assert np.abs(pixels[:3].astype(int) - mosaic)[:, valid].mean() < 2.0  # the same pixels, JPEG-encoded again
    assert {"png"} <= seen <= {"png", "jpeg", "empty"}


def test_map_clients_are_given_the_stored_tiles(month_client: tuple[Month, TestClient]) -> None:
    month, client = month_client
    (described,) = client.get("/api/months").json()
    stored = f"http://testserver/months/{MONTH}/truecolor/{{z}}/{{x}}/{{y}}?build={month.build_id}"
    assert described["links"]["layers"]["truecolor"]["tiles"] == described["links"]["presets"]["truecolor"]["tiles"] \
        == described["links"]["stored"] == stored
    for link in (described["links"]["layers"]["truecolor"]["tilejson"], described["links"]["presets"]["truecolor"]
                 ["tilejson"], f"/months/{MONTH}/truecolor/WebMercatorQuad/tilejson.json"):
        tilejson = client.get(link).json()
        assert tilejson["tiles"] == [stored] and tilejson["maxzoom"] == month.zoom, link
    tj = f"/months/{MONTH}/truecolor/WebMercatorQuad/tilejson.json"
    assert client.get(tj, params={"tilesize": 512}).json()["tiles"] == [stored.replace("{y}", "{y}@2x")]
    assert client.get(tj, params={"tile_format": "jpg"}).json()["tiles"] == [stored.replace("{y}", "{y}.jpg")]
    dynamic = client.get(tj, params={"color_formula": "gamma rgb 2"}).json()["tiles"][0]
    assert "/truecolor/tiles/WebMercatorQuad/{z}/{x}/{y}?" in dynamic and "color_formula=gamma" in dynamic
    xml = client.get("/wmts/WMTSCapabilities.xml").text
    assert f'template="http://testserver/months/{MONTH}/truecolor/{{TileMatrix}}/{{TileCol}}/{{TileRow}}?build=' \
           f'{month.build_id}"' in xml
