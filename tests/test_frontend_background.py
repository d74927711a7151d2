"""The page at its default view, in a real headless Chromium: no data shows the page's background, never black."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from playwright.sync_api import sync_playwright
from rasterio.io import MemoryFile

from tests.helpers import free_port, published_months, running
from tests.test_frontend_page import ARGS, ARTIFACTS, CHROMIUM, READY, pytestmark  # noqa: F401 - skipped without Chromium

BACKGROUND = (0xDD, 0xE3, 0xEA)
"""``.map { background: #dde3ea }`` in frontend/page/app.css."""
HIDE = """() => document.querySelectorAll(".maplibregl-control-container, #divider, #legend, #status, .side")
    .forEach((e) => { e.style.visibility = "hidden"; })"""
"""Hides what lies over the map (through the CSSOM: the page's CSP refuses inline styles)."""
REPAINTED = "() => new Promise((done) => { mosaique.map.once('idle', done); mosaique.map.triggerRepaint(); })"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # Two products in two UTM zones: their month's overview rasters (zooms below the region
    # zoom) are rectangles much larger than the data, and the page opens at zoom 5.
    data = published_months(tmp_path_factory.mktemp("background"), ["T31TCJ", "T30TYQ"], ["2018-07", "2018-08"])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running([sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--data-dir", str(data)],
                 f"{url}/healthz"):
        yield url


def test_default_view_shows_the_background_around_the_data_never_black(server: str) -> None:
    months = httpx.get(f"{server}/api/months").json()
    west, south, east, north = np.array([m["bounds"] for m in months]).T
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 700})
            page.goto(f"{server}/#borders=0&names=0")  # the default view, without the borders and names over it
            page.wait_for_function(READY, timeout=60000)
            assert page.evaluate("mosaique.map.getZoom()") <= 6  # the month overview's zooms
            page.evaluate(HIDE)  # controls and the divider over the map
            page.evaluate(REPAINTED)
            page.screenshot(path=ARTIFACTS / "default-view-background.png")
            box = page.evaluate("""([w, s, e, n]) => {
                const map = mosaique.map, r = map.getContainer().getBoundingClientRect();
                const a = map.project([w, n]), b = map.project([e, s]);
                return [r.left, r.top, r.right, r.bottom, r.left + a.x, r.top + a.y, r.left + b.x, r.top + b.y];
            }""", [float(west.min()), float(south.min()), float(east.max()), float(north.max())])
            with MemoryFile(page.screenshot()) as mem, mem.open() as img:
                shot = img.read()[:3].astype(int)
        finally:
            browser.close()
    left, top, right, bottom, x0, y0, x1, y1 = (round(v) for v in box)
    rows, cols = np.mgrid[0:shot.shape[1], 0:shot.shape[2]]
    in_map = (cols >= left + 1) & (cols < right - 1) & (rows >= top + 1) & (rows < bottom - 1)
    in_data = (cols >= x0 - 2) & (cols <= x1 + 2) & (rows >= y0 - 2) & (rows <= y1 + 2)
    around = in_map & ~in_data
    assert in_data.sum() > 2000 and around.sum() > 100_000  # the data is on screen, with room around it
    drawn = np.abs(shot - np.array(BACKGROUND)[:, None, None]).max(axis=0) > 3
    black = shot.max(axis=0) < 40
    assert not drawn[around].any(), (f"{drawn[around].sum()} pixels around the data are not the page's background "
                                     f"({black[around].sum()} black)")
    assert drawn[in_data].mean() > 0.2  # the months are drawn
