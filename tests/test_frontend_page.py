"""The swipe page in a real headless Chromium (Debian's), driven by Playwright, on a real server."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pytest
from playwright.sync_api import Page, sync_playwright

from tests.pages import ARGS, ARTIFACTS, CHROMIUM, READY, drawn, new_page, open_page, serve

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(tmp_path_factory.mktemp("page"), ["2018-07", "2018-08"]) as url:
        yield url


@pytest.fixture()
def page(server: str) -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        with new_page(browser, server, locale="en-GB") as page:
            yield page
        browser.close()


def divider(page: Page) -> float:
    return float(page.get_attribute("#divider", "aria-valuenow"))


def test_both_months_load_without_errors_or_outside_requests(page: Page, server: str) -> None:
    open_page(page, f"{server}/#zoom=7&lng=1.7&lat=43.8", "default")
    state = page.evaluate("mosaique.state")
    assert (state["left"], state["right"]) == ("2018-07", "2018-08")
    assert any("/months/2018-07/" in u for u in page.tile_requests)
    assert any("/months/2018-08/" in u for u in page.tile_requests)
    assert page.errors == [] and page.outside == []
    assert "Copernicus Sentinel" in page.inner_text(".maplibregl-ctrl-attrib")


def both_months(page: Page, url: str, shot: str) -> tuple[np.ndarray, np.ndarray]:
    """The view all in the left month (divider at the end), then all in the right one (Home key)."""
    open_page(page, f"{url}&divider=100", f"{shot}-all-left")
    left = drawn(page)
    page.focus("#divider")
    page.keyboard.press("Home")
    right = drawn(page)
    page.screenshot(path=ARTIFACTS / f"{shot}-all-right.png")
    return left, right


def test_left_and_right_differ_where_the_months_differ(page: Page, server: str) -> None:
    july, august = both_months(page, f"{server}/#zoom=8&lng=1.5&lat=43.8&borders=0&names=0", "vertical")
    body = slice(120, 600), slice(50, 950)
    changed = np.abs(july[:3][(slice(None), *body)].astype(int) - august[:3][(slice(None), *body)]).sum(axis=0) > 30
    assert 0.02 < changed.mean() < 0.98
    # Divider in the middle: July left of it, August right of it, pixel for pixel (the right month
    # is drawn over the left one only right of the divider, and nothing of July shows through).
    # Still so after a month picker round trip (a style change puts the layers back in order).
    for _ in range(5):
        page.keyboard.press("Shift+ArrowRight")
    assert divider(page) == 50
    # Rows below the month badges (their antialiased corners over the map differ by a few levels
    # after a restyle; the header's third row of settings brings them down to about row 150).
    rows, west, east = slice(160, 600), slice(50, 480), slice(520, 950)
    for shot in ("middle", "middle-after-picker"):
        half = drawn(page)
        page.screenshot(path=ARTIFACTS / f"{shot}.png")
        assert np.abs(half[:3, rows, west].astype(int) - july[:3, rows, west]).max() <= 2
        assert np.abs(half[:3, rows, east].astype(int) - august[:3, rows, east]).max() <= 2
        page.select_option("#right", "2018-07")
        page.wait_for_function(READY, timeout=60000)
        page.select_option("#right", "2018-08")
        page.wait_for_function(READY, timeout=60000)


def test_horizontal_divider_shows_the_left_month_above_and_the_right_month_below(page: Page, server: str) -> None:
    url = f"{server}/#zoom=8&lng=1.5&lat=43.8&orient=horizontal&borders=0&names=0"
    july, august = both_months(page, url, "horizontal")
    for _ in range(5):
        page.keyboard.press("Shift+ArrowRight")
    assert divider(page) == 50
    half = drawn(page)
    page.screenshot(path=ARTIFACTS / "horizontal-middle.png")
    top, bottom, columns = slice(100, 300), slice(440, 640), slice(50, 950)
    assert np.abs(july[:3, top, columns].astype(int) - august[:3, top, columns]).max() > 30  # the months differ
    assert np.abs(half[:3, top, columns].astype(int) - july[:3, top, columns]).max() <= 2
    assert np.abs(half[:3, bottom, columns].astype(int) - august[:3, bottom, columns]).max() <= 2


def test_divider_moves_with_keyboard_mouse_and_touch_without_tile_requests(page: Page, server: str) -> None:
    open_page(page, f"{server}/#zoom=7&lng=1.7&lat=43.8", "divider")
    before = len(page.tile_requests)
    page.focus("#divider")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert divider(page) == 46
    box = page.locator("#maps").bounding_box()
    handle = page.locator("#divider").bounding_box()
    page.mouse.move(handle["x"] + 3, handle["y"] + 300)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.8, handle["y"] + 300, steps=8)
    page.mouse.up()
    assert 78 <= divider(page) <= 82
    handle = page.locator("#divider").bounding_box()
    for kind, x in (("pointerdown", handle["x"] + 3), ("pointermove", box["x"] + box["width"] * 0.3),
                    ("pointerup", box["x"] + box["width"] * 0.3)):
        page.dispatch_event("#divider", kind, {"pointerId": 7, "pointerType": "touch", "isPrimary": True,
                                               "clientX": x, "clientY": handle["y"] + 200, "bubbles": True})
    assert 28 <= divider(page) <= 32
    page.wait_for_timeout(300)
    assert len(page.tile_requests) == before
    assert "divider=3" in page.url
    assert page.errors == []


def test_url_state_round_trips_through_a_reload(page: Page, server: str) -> None:
    url = f"{server}/#left=2018-08&right=2018-07&preset=ndvi&mode=swipe&validity=1&opacity=0.8&divider=30.0" \
          "&orient=horizontal&borders=0&names=1&lng=1.80000&lat=43.90000&zoom=8.50"
    open_page(page, url, "url-state")
    page.reload()
    page.wait_for_function(READY, timeout=60000)
    state = page.evaluate("mosaique.state")
    assert (state["left"], state["right"], state["preset"]) == ("2018-08", "2018-07", "ndvi")
    assert state["orient"] == "horizontal" and state["borders"] is False and state["names"] is True
    assert state["validity"] is True and state["divider"] == 30 and state["opacity"] == 0.8
    center = page.evaluate("mosaique.left.getCenter()")
    assert abs(center["lng"] - 1.8) < 1e-3 and abs(center["lat"] - 43.9) < 1e-3
    assert abs(page.evaluate("mosaique.left.getZoom()") - 8.5) < 1e-6
    assert any("/months/2018-08/flags/" in u for u in page.tile_requests)  # validity overlay


def test_month_picker_click_chart_and_difference_mode(page: Page, server: str) -> None:
    open_page(page, f"{server}/#zoom=7&lng=1.7&lat=43.8", "picker")
    page.select_option("#right", "2018-07")
    page.wait_for_function(READY, timeout=60000)
    assert page.evaluate("mosaique.state.right") == "2018-07"
    assert "right=2018-07" in page.url
    page.mouse.click(300, 400)
    page.wait_for_selector("#chart svg", timeout=20000)
    assert page.locator("#chart .ndvi-point").count() == 2  # one point per published month
    assert page.locator("#chart tr").count() == 3
    page.screenshot(path=ARTIFACTS / "chart.png")
    page.select_option("#right", "2018-08")
    page.select_option("#mode", "ndvi")
    page.wait_for_function(READY, timeout=60000)
    assert any("/diff/2018-07/2018-08/" in u for u in page.tile_requests)
    assert page.is_visible("#legend") and "NDVI change" in page.inner_text("#legend")
    page.screenshot(path=ARTIFACTS / "difference.png")
    assert page.errors == [] and page.outside == []
