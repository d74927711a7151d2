"""Helpers of the page tests: a real server on sample months, Debian's headless Chromium driven by Playwright."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from playwright.sync_api import Browser, Page
from rasterio.io import MemoryFile

from tests.helpers import published_months, serving

CHROMIUM = "/usr/bin/chromium"
TILE = re.compile(r"/(months|diff)/.+/\d+/\d+/\d+")  # a tile URL: stored, dynamic or difference
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--use-gl=swiftshader", "--enable-unsafe-swiftshader"]
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
READY = ("() => window.mosaique && mosaique.left.loaded() && mosaique.right.loaded()"
         " && mosaique.left.areTilesLoaded() && mosaique.right.areTilesLoaded()")
# Borders and place names drawn too (they join the style after the months' first tiles).
CONTEXT = ("() => window.mosaique && ['border', 'places'].every((id) => mosaique.map.getLayer(id))"
           " && mosaique.map.isSourceLoaded('borders') && mosaique.map.isSourceLoaded('places')"
           " && mosaique.map.loaded() && mosaique.map.areTilesLoaded()")
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True, "device_scale_factor": 1}
DESKTOP = {"viewport": {"width": 1920, "height": 1080}}


@contextmanager
def serve(root: Path, months: list[str], tiles: tuple[str, ...] = ("T31TCJ", "T31TDJ"),
          pixel_size: float = 1000) -> Iterator[str]:
    """A real server on sample months published under ``root``; yields its URL."""
    with serving(published_months(root, list(tiles), months, pixel_size=pixel_size)) as url:
        yield url


@contextmanager
def new_page(browser: Browser, server: str, **context: object) -> Iterator[Page]:
    """A page in a fresh context that records errors, requests outside ``server`` and tile requests."""
    ARTIFACTS.mkdir(exist_ok=True)
    ctx = browser.new_context(**({"viewport": {"width": 1000, "height": 700}} | context))
    page = ctx.new_page()
    page.errors, page.outside, page.tile_requests = [], [], []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("response", lambda r: r.status >= 400 and page.errors.append(f"{r.status} {r.url}"))

    def on_request(request) -> None:
        if not request.url.startswith((server, "blob:", "data:")):
            page.outside.append(request.url)
        if TILE.search(request.url):
            page.tile_requests.append(request.url)

    page.on("request", on_request)
    try:
        yield page
    finally:
        ctx.close()


def open_page(page: Page, url: str, shot: str | None = None, ready: str = READY) -> None:
    """Go to ``url`` and wait until the months' tiles (or ``ready``) are all drawn; screenshot as ``shot``."""
    page.goto(url)
    page.wait_for_function(ready, timeout=90000)
    page.wait_for_timeout(300)
    if shot:
        page.screenshot(path=ARTIFACTS / f"{shot}.png")


def screenshot(page: Page) -> np.ndarray:
    with MemoryFile(page.screenshot()) as mem, mem.open() as img:
        return img.read()


def drawn(page: Page) -> np.ndarray:
    """A screenshot once the map has drawn its current state (divider, layers) with every tile."""
    page.evaluate("() => new Promise((done) => { mosaique.map.once('idle', done); mosaique.map.triggerRepaint(); })")
    return screenshot(page)


def axe_violations(page: Page) -> list[str]:
    """Serious and critical axe-core findings on the page as it is (the context must bypass the CSP)."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document, { resultTypes: ['violations'] })).violations.map("
                          "(v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')) }))")
    return [f"{v['id']} ({v['impact']}): {v['nodes'][:3]}" for v in found if v["impact"] in ("serious", "critical")]


def overlap(a: dict, b: dict) -> bool:
    """Whether two bounding boxes (Playwright's x, y, width, height) intersect."""
    return a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"] \
        and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]
