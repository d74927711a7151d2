"""The page as a visitor meets it, in real headless Chromium: French and English, a large screen and a
phone, borders and place names, the search box, status messages and an axe-core audit."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.helpers import free_port, running
from tests.pages import (
    ARTIFACTS,
    CHROMIUM,
    CONTEXT,
    DESKTOP,
    PHONE,
    READY,
    axe_violations,
    new_page,
    open_page,
    overlap,
    serve,
)

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
MONTHS = ["2018-07", "2018-08", "2018-09"]
FRANCE = [[-5.0, 42.4], [8.2, 51.0]]  # Finistère, Corsica's south, Strasbourg's east, Dunkirk's north
FITS = ("(corners) => { const m = mosaique.map, c = m.getContainer(); return corners.every(([lng, lat]) => {"
        " const p = m.project([lng, lat]);"
        " return p.x >= 0 && p.y >= 0 && p.x <= c.clientWidth && p.y <= c.clientHeight; }); }")
OUTLINE = "() => getComputedStyle(document.activeElement).outlineStyle"
RENDERED = "(layer) => mosaique.map.queryRenderedFeatures({ layers: [layer] }).map((f) => f.properties)"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(tmp_path_factory.mktemp("visitor"), MONTHS) as url:
        yield url


def status(page: Page) -> str:
    return page.inner_text("#status").strip()


def test_large_screen_in_english_then_french(browser: Browser, server: str) -> None:
    with new_page(browser, server, locale="en-GB", bypass_csp=True, **DESKTOP) as page:
        open_page(page, f"{server}/", ready=CONTEXT)
        page.screenshot(path=ARTIFACTS / "en-desktop.png")
        # The default months are the two latest published (from /api/months), and France fits the screen.
        assert page.evaluate("[mosaique.state.left, mosaique.state.right]") == ["2018-08", "2018-09"]
        assert page.evaluate(FITS, FRANCE)
        assert page.get_attribute("html", "lang") == "en"
        assert page.inner_text("#side-left") == "August 2018" and page.inner_text("#side-right") == "September 2018"
        assert "August 2018" in page.inner_text("#left")
        assert status(page) == ""  # "Loading months…" went with the loading
        assert page.get_attribute("#divider", "aria-valuetext") == "left month 50%"
        # Borders and place names are drawn above both months; cities of 15,000 and more at this zoom.
        names = {p["name"]: p["population"] for p in page.evaluate(RENDERED, "places")}
        assert {"Paris", "Toulouse", "Marseille", "Lyon"} <= set(names) and min(names.values()) >= 15000
        assert page.evaluate(RENDERED, "border") and page.evaluate(RENDERED, "coast")
        assert "GeoNames" in page.inner_text(".maplibregl-ctrl-attrib")
        assert axe_violations(page) == []
        page.click("#borders")
        assert page.evaluate("mosaique.map.getLayoutProperty('border', 'visibility')") == "none"
        assert "borders=0" in page.url
        page.click("#borders")
        # Difference mode, then the point chart, each audited.
        page.select_option("#mode", "ndvi")
        page.wait_for_function(READY, timeout=90000)
        assert page.inner_text("#legend").splitlines()[0].startswith("NDVI change (August 2018 → September 2018)")
        assert "-0.5 (loss)" in page.inner_text("#legend") and "+0.5 (gain)" in page.inner_text("#legend")
        assert axe_violations(page) == []
        page.select_option("#mode", "swipe")
        page.wait_for_function(READY, timeout=90000)
        box = page.locator("#maps").bounding_box()
        point = page.evaluate("mosaique.map.project([1.5, 43.8])")  # inside the sample months' tiles
        page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
        page.wait_for_selector("#chart table", timeout=30000)
        assert axe_violations(page) == []
        page.focus("#divider")
        page.keyboard.press("ArrowLeft")  # keyboard focus: visible
        assert page.evaluate(OUTLINE) == "solid"
        assert page.get_attribute("#divider", "aria-valuetext") == "left month 48%"
        page.keyboard.press("ArrowRight")
        # The switch: everything in French, months and numbers written the French way.
        page.click("#lang")
        assert page.get_attribute("html", "lang") == "fr"
        assert page.inner_text("#side-left") == "août 2018" and "septembre 2018" in page.inner_text("#right")
        # A no-break space before %, as French writes it.
        assert page.get_attribute("#divider", "aria-valuetext") == "mois de gauche 50\u00a0%"
        table = page.inner_text("#chart table")
        assert "août 2018" in table and "," in table and "." not in table  # NDVI 0,45, not 0.45
        assert "Contient des données Copernicus Sentinel" in page.inner_text(".maplibregl-ctrl-attrib")
        page.screenshot(path=ARTIFACTS / "fr-desktop-chart.png")
        page.click("#chart .close")
        assert page.is_hidden("#chart")
        page.select_option("#mode", "magnitude")
        page.wait_for_function(READY, timeout=90000)
        assert "Évolution des réflectances" in page.inner_text("#legend") and "0,3" in page.inner_text("#legend")
        page.screenshot(path=ARTIFACTS / "fr-desktop-difference.png")
        assert page.errors == [] and page.outside == []
    with new_page(browser, server, locale="fr-FR", **DESKTOP) as page:  # the browser's language: French
        open_page(page, f"{server}/", "fr-desktop", ready=CONTEXT)
        assert page.get_attribute("html", "lang") == "fr" and page.inner_text("#side-right") == "septembre 2018"
        assert page.inner_text("#menu") == "Réglages" and page.is_hidden("#menu")  # no fold on a large screen


def test_search_with_the_keyboard_alone(browser: Browser, server: str) -> None:
    shared = f"{server}/#left=2018-07&right=2018-09&mode=swipe&divider=40.0&lng=2.5&lat=46.5&zoom=5.5"
    with new_page(browser, server, locale="en-GB", bypass_csp=True) as page:
        open_page(page, shared, ready=CONTEXT)
        assert status(page) == ""  # a shared link leaves no message behind
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "q"
        assert page.evaluate(OUTLINE) == "solid"  # the focus is visible
        page.keyboard.type("besancon")
        page.wait_for_selector("#suggestions [role=option]", timeout=20000)
        assert page.get_attribute("#q", "aria-expanded") == "true"
        assert page.inner_text("#place-0").startswith("Besançon")
        assert axe_violations(page) == []
        page.keyboard.press("ArrowDown")
        assert page.get_attribute("#q", "aria-activedescendant") == "place-0"
        assert page.get_attribute("#place-0", "aria-selected") == "true"
        page.keyboard.press("Enter")
        page.wait_for_function("() => !mosaique.map.isMoving() && mosaique.map.getZoom() > 10", timeout=60000)
        center = page.evaluate("mosaique.map.getCenter()")
        assert abs(center["lng"] - 6.018) < 0.01 and abs(center["lat"] - 47.249) < 0.01
        assert page.get_attribute("#q", "aria-expanded") == "false"
        page.wait_for_function(CONTEXT, timeout=90000)
        names = {p["name"]: p["population"] for p in page.evaluate(RENDERED, "places")}
        assert "Besançon" in names and min(names.values()) < 15000  # towns too, closer in
        page.screenshot(path=ARTIFACTS / "en-search-besancon.png")
        page.fill("#q", "")
        page.keyboard.type("43°36'N 1°26'E")
        page.wait_for_selector("#place-0", timeout=20000)
        assert "coordinates" in page.inner_text("#place-0")
        page.keyboard.press("Enter")
        page.wait_for_function("() => !mosaique.map.isMoving() && Math.abs(mosaique.map.getCenter().lat - 43.6) < 0.01",
                               timeout=60000)
        assert abs(page.evaluate("mosaique.map.getCenter().lng") - 1.4333) < 0.01
        page.fill("#q", "")
        page.keyboard.type("xqzw")
        page.wait_for_selector("#suggestions .none", timeout=20000)
        assert page.inner_text("#suggestions") == "No place found"
        page.keyboard.press("Escape")
        assert page.is_hidden("#suggestions")
        assert page.errors == [] and page.outside == []


def touch_drag(page: Page, start: tuple[float, float], end: tuple[float, float], steps: int = 10) -> None:
    """A real finger drag (Chromium's touch input, as a phone sends it)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": start[0], "y": start[1]}]})
    for i in range(1, steps + 1):
        x, y = (start[k] + (end[k] - start[k]) * i / steps for k in (0, 1))
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_phone_in_french_from_a_shared_link(browser: Browser, server: str) -> None:
    with new_page(browser, server, locale="fr-FR", bypass_csp=True, **PHONE) as page:
        open_page(page, f"{server}/", "fr-phone", ready=CONTEXT)
        assert page.evaluate(FITS, FRANCE)
        header = page.locator("header").bounding_box()
        assert header["height"] <= 0.25 * 844 and page.locator("#maps").bounding_box()["height"] >= 0.75 * 844
        scale = page.locator(".maplibregl-ctrl-scale").bounding_box()
        attribution = page.locator(".maplibregl-ctrl-attrib")
        assert not overlap(scale, attribution.bounding_box())
        # Folded behind its button, as small as the button; the button opens it.
        assert "maplibregl-compact-show" not in attribution.get_attribute("class")
        assert page.locator(".maplibregl-ctrl-attrib-inner").bounding_box() is None or \
            attribution.bounding_box()["width"] <= 40
        page.click(".maplibregl-ctrl-attrib-button")
        assert "maplibregl-compact-show" in attribution.get_attribute("class")
        assert "Copernicus Sentinel" in page.inner_text(".maplibregl-ctrl-attrib-inner")
        page.click(".maplibregl-ctrl-attrib-button")
        assert page.is_hidden("#controls") and page.get_attribute("#menu", "aria-expanded") == "false"
        assert axe_violations(page) == []
        page.click("#menu")
        assert page.is_visible("#controls") and page.get_attribute("#menu", "aria-expanded") == "true"
        page.screenshot(path=ARTIFACTS / "fr-phone-settings.png")
        assert axe_violations(page) == []
        page.keyboard.press("Escape")
        assert page.is_hidden("#controls") and page.evaluate("document.activeElement.id") == "menu"
        # A shared link naming a month that is not published: said, then gone once another is chosen.
        page.goto("about:blank")
        page.goto(f"{server}/#left=2017-01&right=2018-08&divider=50.0&lng=1.7&lat=43.8&zoom=7")
        page.wait_for_function(READY, timeout=90000)
        assert status(page).startswith("Le mois 2017-01 n’est pas publié ; à la place : juillet 2018")
        assert "Chargement" not in status(page)
        page.screenshot(path=ARTIFACTS / "fr-phone-shared-link.png")
        page.click("#menu")
        assert page.evaluate("[mosaique.state.left, mosaique.state.right]") == ["2018-07", "2018-08"]
        page.select_option("#left", "2018-09")
        page.click("#menu")
        assert status(page) == ""
        page.wait_for_function(READY, timeout=90000)
        # The divider follows a finger, and asks for no tile.
        before = len(page.tile_requests)
        handle = page.locator("#divider").bounding_box()
        maps = page.locator("#maps").bounding_box()
        y = maps["y"] + maps["height"] * 0.6
        touch_drag(page, (handle["x"] + handle["width"] / 2, y), (maps["x"] + maps["width"] * 0.8, y))
        assert 75 <= float(page.get_attribute("#divider", "aria-valuenow")) <= 85
        page.wait_for_timeout(300)
        assert len(page.tile_requests) == before
        page.click("#menu")
        page.click("#lang")
        page.click("#menu")
        assert page.get_attribute("html", "lang") == "en" and page.inner_text("#side-left") == "September 2018"
        page.screenshot(path=ARTIFACTS / "en-phone.png")
        assert page.errors == [] and page.outside == []


def test_a_tile_error_message_goes_when_the_server_is_back(browser: Browser, france: Path) -> None:
    port = free_port()  # the same port for both servers: the page's tile URLs stay the same
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--data-dir", str(france)]
    with new_page(browser, url, locale="en-GB") as page:
        with running(command, f"{url}/healthz"):
            open_page(page, f"{url}/#borders=0&names=0&lng=1.5&lat=43.8&zoom=7")
        page.select_option("#preset", "ndvi")  # new tiles, and no server to give them
        page.wait_for_function("() => document.getElementById('status').textContent.includes('could not be loaded')",
                               timeout=60000)
        with running(command, f"{url}/healthz"):
            assert "could not be loaded" in page.inner_text("#status")  # still true until tiles load again
            page.select_option("#preset", "falsecolor")
            page.wait_for_function(READY, timeout=90000)
            page.wait_for_function("() => document.getElementById('status').textContent === ''", timeout=30000)
