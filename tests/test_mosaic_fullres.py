"""Every source pixel is kept by default: read back exactly by the point query and the finest tiles.

Six real sample products in the three UTM zones, near 42 and 51 N (where the web grid is coarsest
on the ground and where the UTM grid turns most against it), at 640 m: the grid is chosen by the
same rule as for 10 m products. Random source pixels away from overlaps are looked up at their
centres through a real server; a lighter month (one zoom coarser, as ``--zoom 13`` is for 10 m)
must fail the same check.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import morecantile
import numpy as np
import pytest
import rasterio
from playwright.sync_api import Browser
from rasterio.io import MemoryFile
from rasterio.warp import transform

from mosaic.build import BuildOptions, build_month
from mosaic.catalog import Catalog
from mosaic.grid import choose_zoom, resolution
from processing.layout import NODATA
from processing.scan import scan_products
from sample import generate_products
from tests.helpers import free_port, run_cli, running
from tests.pages import CHROMIUM, new_page

PIXEL = 640.0
"""10 m x 2**6: on the web grid exactly as 10 m products are six zooms higher (zoom 8 here is 14 there,
7 is 13, the zoom the rule used before nearest on a log scale and picked for both)."""
TILES = ["T30TYN", "T30UYA", "T31TDG", "T31UDS", "T32TML", "T32UMV"]  # zones 30, 31, 32; ~42 and ~50-51 N
FULL, LIGHTER = "2018-07", "2018-08"
BANDS = ("B2", "B3", "B4", "B8")
PER_TILE = 120
TMS = morecantile.tms.get("WebMercatorQuad")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fullres")
    generate_products(root / "in", tiles=TILES, months=[FULL, LIGHTER], pixel_size=PIXEL, workers=1)
    build_month(root / "data", FULL, [root / "in"], BuildOptions(scheduler="sync", progress=False))
    lighter = BuildOptions(zoom=choose_zoom(PIXEL) - 1, scheduler="sync", progress=False)
    build_month(root / "data", LIGHTER, [root / "in"], lighter)
    return root


@pytest.fixture(scope="module")
def server(data: Path) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running([sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--data-dir", str(data / "data")],
                 f"{url}/healthz"):
        yield url


def source_pixels(root: Path, month: str) -> list[tuple[str, float, float, list[float]]]:
    """(tile, lon, lat, B2/B3/B4/B8) of random valid source pixels whose centre no other product covers."""
    products = scan_products([root / "in"], month=month).products
    rng = np.random.default_rng(7)
    picked = []
    for product in products:
        bands = []
        for band in BANDS:
            with rasterio.open(product.assets[band]) as src:
                bands.append(src.read(1))
                affine = src.transform
        stack = np.stack(bands)
        rows, cols = np.nonzero((stack != NODATA).all(axis=0))
        chosen = rng.choice(len(rows), size=min(PER_TILE, len(rows)), replace=False)
        xs, ys = affine @ (cols[chosen] + 0.5, rows[chosen] + 0.5)
        lons, lats = transform(f"EPSG:{product.epsg}", "EPSG:4326", xs, ys)
        alone = np.ones(len(chosen), dtype=bool)
        for other in products:
            if other is not product:
                ox, oy = np.array(transform("EPSG:4326", f"EPSG:{other.epsg}", lons, lats))
                left, bottom, right, top = other.bounds
                alone &= ~((ox >= left) & (ox <= right) & (oy >= bottom) & (oy <= top))
        for i in np.flatnonzero(alone):
            picked.append((product.tile, lons[i], lats[i], stack[:, rows[chosen[i]], cols[chosen[i]]].tolist()))
    return picked


def exact_share(server: str, data: Path, month: str) -> tuple[float, float, set[str]]:
    """Shares of the pixels returned exactly by the point query and by the finest zoom's tile."""
    zoom = Catalog(data / "data").get(month).zoom
    pixels = source_pixels(data, month)
    by_point = by_tile = 0
    tiles: dict[tuple[int, int], MemoryFile] = {}
    with httpx.Client(base_url=server) as client:
        for _tile, lon, lat, expected in pixels:
            r = client.get(f"/months/{month}/reflectance/point/{lon},{lat}")
            assert r.status_code == 200, r.text
            by_point += r.json()["values"] == expected
            t = TMS.tile(lon, lat, zoom)
            if (t.x, t.y) not in tiles:
                r = client.get(f"/months/{month}/reflectance/tiles/WebMercatorQuad/{zoom}/{t.x}/{t.y}.tif")
                assert r.status_code == 200, r.text
                tiles[(t.x, t.y)] = MemoryFile(r.content)
            with tiles[(t.x, t.y)].open() as img:
                (x,), (y,) = transform("EPSG:4326", img.crs, [lon], [lat])
                row, col = img.index(x, y)
                window = ((row, row + 1), (col, col + 1))
                by_tile += img.read([1, 2, 3, 4], window=window)[:, 0, 0].tolist() == expected  # 5: the mask
    return by_point / len(pixels), by_tile / len(pixels), {p[0] for p in pixels}


def test_every_source_pixel_is_read_back_exactly(server: str, data: Path) -> None:
    point, tile, tiles = exact_share(server, data, FULL)
    assert tiles == set(TILES)  # every product has pixels away from the overlaps
    assert point >= 0.99 and tile >= 0.99, (point, tile)


def test_a_lighter_product_fails_the_check_and_says_so(server: str, data: Path) -> None:
    point, tile, _ = exact_share(server, data, LIGHTER)
    print(f"lighter month: {100 * point:.1f} % exact by point, {100 * tile:.1f} % by tile")
    assert point < 0.99 and tile < 0.99, (point, tile)
    with httpx.Client(base_url=server) as client:
        months = {m["month"]: m["resolution"] for m in client.get("/api/months").json()}
    zoom = choose_zoom(PIXEL)
    ground = TMS.matrix(zoom).cellSize * np.cos(np.radians(46.5))
    assert months[FULL] == {"zoom": zoom, "ground_m": pytest.approx(ground, abs=1e-3), "full": True,
                            "source_pixel_m": PIXEL, "dropped_share": 0.0,
                            "label": f"640 m, every source pixel (zoom {zoom})"}
    assert months[LIGHTER]["zoom"] == zoom - 1 and months[LIGHTER]["full"] is False
    coarser = 2 * ground  # one zoom down: web pixels twice as large
    assert months[LIGHTER]["dropped_share"] == pytest.approx(1 - (PIXEL / coarser) ** 2, abs=1e-3)
    assert months[LIGHTER]["label"].startswith(f"lighter: zoom {zoom - 1}, about ")
    listing = run_cli("months", "--data-dir", str(data / "data")).stdout
    assert months[FULL]["label"] in listing and months[LIGHTER]["label"] in listing


def test_the_manifest_names_the_resolution(data: Path) -> None:
    for month, full in ((FULL, True), (LIGHTER, False)):
        folder = Catalog(data / "data").get(month).folder
        manifest = json.loads((Path(folder) / "manifest.json").read_text())
        resolution = manifest["grid"]["resolution"]
        assert resolution["full"] is full and resolution["source_pixel_m"] == PIXEL
        assert resolution["label"] in manifest["layers"]["reflectance"]["description"]
        assert "10 m" not in manifest["layers"]["reflectance"]["description"]


def test_the_rule_at_10_m_and_its_lighter_label() -> None:
    assert [choose_zoom(px) for px in (10, 20, 200)] == [14, 13, 10]
    assert resolution(14, 10)["full"] and resolution(14, 10)["label"] == "10 m, every source pixel (zoom 14)"
    lighter = resolution(13, 10)
    assert not lighter["full"] and lighter["ground_m"] == pytest.approx(13.15, abs=0.01)
    assert lighter["label"] == "lighter: zoom 13, about 13 m, drops ~42 % of 10 m source pixels"
    with pytest.raises(ValueError, match="pixel size"):
        choose_zoom(0)


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_the_page_says_how_many_source_pixels_a_lighter_month_drops(server: str, browser: Browser) -> None:
    """The month pickers name the lighter month's share of dropped source pixels, in the page's language."""
    r = {m["month"]: m["resolution"] for m in httpx.get(f"{server}/api/months").json()}[LIGHTER]
    share, metres = f"{100 * r['dropped_share']:.0f}", f"{r['ground_m']:.0f}"
    english = f"August 2018 (lighter: zoom {r['zoom']}, about {metres} m, drops ~{share} % of the 640 m source pixels)"
    french = f"août 2018 (allégé : zoom {r['zoom']}, environ {metres} m, omet ~{share} % des pixels sources de 640 m)"
    shown = "() => document.querySelector('#left option[value=\"2018-08\"]')?.textContent"
    for locale, label in (("en-GB", english), ("fr-FR", french)):
        with new_page(browser, server, locale=locale) as page:
            page.goto(f"{server}/#left={LIGHTER}&right={FULL}")
            page.wait_for_function(f"({shown})() !== undefined", timeout=30000)
            assert page.evaluate(shown) == label
            assert page.errors == []
