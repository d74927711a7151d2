"""The page's timeline in real headless Chromium on a real server: a month scale set by mouse, finger and
keys, play/pause that never shows a blank frame, the timeline in the URL, and the point chart over
every month with its gaps.

The sample is the Alpes-Maritimes tile (Mercantour snow and winter clouds, the sea) for five months
at a 1 km pixel (zoom 8: the play view needs two tiles a side): quick to make, and the months differ.
"""

from __future__ import annotations

import calendar
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.pages import ARTIFACTS, CHROMIUM, DESKTOP, PHONE, READY, axe_violations, new_page, open_page, serve
from tests.test_frontend_page_visitor import touch_drag

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
MONTHS = ["2018-01", "2018-02", "2018-03", "2018-04", "2018-05"]
CENTRE = "lng=7.2&lat=43.74"  # the middle of the tile: every pixel of the view has data
# After every frame MapLibre draws, the share of sampled pixels of the middle of the map that are not
# fully opaque (no tile drawn there, or one fading in), with the months shown. Read from the drawing
# buffer in the `render` event, before the browser composites the frame.
RECORD = """() => {
  const m = mosaique.map, canvas = m.getCanvas();
  const gl = canvas.getContext('webgl2') || canvas.getContext('webgl');
  window.frames_ = [];
  m.on('render', () => {
    const w = gl.drawingBufferWidth, h = gl.drawingBufferHeight, px = new Uint8Array(w * h * 4);
    gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, px);
    let blank = 0, n = 0;
    for (let y = Math.floor(h * 0.15); y < h * 0.85; y += 6)
      for (let x = Math.floor(w * 0.1); x < w * 0.9; x += 6) { n++; if (px[(y * w + x) * 4 + 3] < 255) blank++; }
    frames_.push({ left: mosaique.state.left, right: mosaique.state.right, preset: mosaique.state.preset,
                   blank: blank / n, t: performance.now() });
  });
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(tmp_path_factory.mktemp("timeline"), MONTHS, tiles=("T32TLP",), pixel_size=1000) as url:
        yield url


def lane(page: Page, side: str) -> dict:
    return page.evaluate("(id) => { const e = document.getElementById(id), a = (k) => e.getAttribute(k);"
                         " return { label: a('aria-label'), role: a('role'), min: a('aria-valuemin'),"
                         " max: a('aria-valuemax'), now: a('aria-valuenow'), text: a('aria-valuetext') }; }",
                         f"lane-{side}")


def month_x(page: Page, side: str, index: int) -> tuple[float, float]:
    """The middle of month ``index``'s cell on a side's slider, in page coordinates."""
    box = page.locator(f"#lane-{side}").bounding_box()
    return box["x"] + box["width"] * (index + 0.5) / len(MONTHS), box["y"] + box["height"] / 2


def shown(page: Page) -> list[str]:
    return page.evaluate("[mosaique.state.left, mosaique.state.right]")


def test_play_steps_through_the_months_without_a_blank_frame(browser: Browser, server: str) -> None:
    with new_page(browser, server, locale="en-GB", viewport={"width": 900, "height": 640}) as page:
        open_page(page, f"{server}/#left=2018-01&right=2018-02&{CENTRE}&zoom=10.5&borders=0&names=0"
                        "&speed=0.5&play=both")
        page.evaluate(RECORD)
        page.evaluate("() => new Promise((done) => { mosaique.map.once('render', done);"
                      " mosaique.map.triggerRepaint(); })")
        assert page.evaluate("frames_.at(-1).blank") == 0  # the view is all data: a hole is a missing tile
        page.click("#play")
        assert "playing=1" in page.url and "speed=0.5" in page.url and "play=both" in page.url
        assert page.inner_text("#play") == "Pause"
        # Both sides step on together, from the last month to the first, until a whole round is done.
        page.wait_for_function("() => frames_.filter((f, i) => i && f.right !== frames_[i - 1].right).length >= 6",
                               timeout=120000)
        page.click("#play")
        assert "playing=0" in page.url and page.inner_text("#play") == "Play"
        frames = page.evaluate("frames_")
        steps = [frames[0]] + [f for a, f in zip(frames, frames[1:], strict=False)
                               if (a["left"], a["right"]) != (f["left"], f["right"])]
        pairs = [(s["left"], s["right"]) for s in steps]
        assert pairs[:6] == [(MONTHS[i % 5], MONTHS[(i + 1) % 5]) for i in range(6)]
        assert all(b["t"] - a["t"] >= 450 for a, b in zip(steps[1:], steps[2:], strict=False))  # 0.5 s per month
        assert max(f["blank"] for f in frames) == 0, [f for f in frames if f["blank"]][:3]
        # The probe sees holes: a new view chosen in the settings shows at once, tiles still loading.
        page.evaluate("frames_.length = 0")
        page.select_option("#preset", "ndvi")
        page.wait_for_function(READY, timeout=60000)
        assert max(f["blank"] for f in page.evaluate("frames_")) > 0.2
        assert page.errors == [] and page.outside == []


def test_the_timeline_by_keys_mouse_and_finger_in_both_languages(browser: Browser, server: str) -> None:
    with new_page(browser, server, locale="en-GB", bypass_csp=True, has_touch=True,
                  viewport={"width": 1280, "height": 800}) as page:
        open_page(page, f"{server}/#{CENTRE}&zoom=9&borders=0&names=0")
        assert shown(page) == ["2018-04", "2018-05"]  # the two latest
        assert lane(page, "left") == {"label": "Left month on the timeline", "role": "slider", "min": "1", "max": "5",
                                      "now": "4", "text": "April 2018"}
        assert lane(page, "right")["label"] == "Right month on the timeline" and lane(page, "right")["now"] == "5"
        assert page.locator("#ticks li").all_inner_texts() == ["2018", "Feb", "Mar", "Apr", "May"]
        # Keys.
        page.focus("#lane-left")
        page.keyboard.press("Home")
        assert shown(page)[0] == "2018-01" and lane(page, "left")["text"] == "January 2018"
        page.keyboard.press("ArrowRight")
        assert "left=2018-02" in page.url and page.input_value("#left") == "2018-02"
        page.keyboard.press("End")
        page.keyboard.press("ArrowLeft")
        assert shown(page)[0] == "2018-04"
        # Mouse: a click on a month, then a drag back to the first.
        page.mouse.click(*month_x(page, "right", 2))
        assert shown(page)[1] == "2018-03" and lane(page, "right")["now"] == "3"
        page.mouse.move(*month_x(page, "right", 2))
        page.mouse.down()
        page.mouse.move(*month_x(page, "right", 0), steps=6)
        page.mouse.up()
        assert shown(page)[1] == "2018-01" and page.evaluate("document.activeElement.id") == "lane-right"
        # Finger.
        touch_drag(page, month_x(page, "left", 0), month_x(page, "left", 3))
        assert shown(page)[0] == "2018-04"
        page.wait_for_function(READY, timeout=60000)
        assert page.inner_text("#side-left") == "April 2018" and page.inner_text("#side-right") == "January 2018"
        page.select_option("#speed", "2")
        page.select_option("#play-side", "left")
        assert "speed=2" in page.url and "play=left" in page.url
        page.screenshot(path=ARTIFACTS / "timeline-desktop.png")
        assert axe_violations(page) == []
        page.click("#lang")
        assert lane(page, "left")["label"] == "Mois de gauche sur la frise"
        assert lane(page, "left")["text"] == "avril 2018"
        assert page.inner_text("#play") == "Lecture" and "2 s par mois" in page.inner_text("#speed")
        assert page.locator("#ticks li").all_inner_texts()[1:] == ["févr.", "mars", "avr.", "mai"]
        assert page.errors == [] and page.outside == []


def test_a_shared_link_plays_again_and_the_phone_keeps_the_map(browser: Browser, server: str) -> None:
    link = f"{server}/#left=2018-02&right=2018-05&{CENTRE}&zoom=8&borders=0&names=0&speed=1&play=right&playing=1"
    with new_page(browser, server, locale="fr-FR", bypass_csp=True, **PHONE) as page:
        open_page(page, link)
        assert page.evaluate("mosaique.state.playing") is True and page.inner_text("#play") == "Pause"
        assert page.input_value("#speed") == "1" and page.input_value("#play-side") == "right"
        # The right month steps on (after the last, the first); the left one stays.
        page.wait_for_function("() => mosaique.state.right === '2018-01'", timeout=30000)
        page.wait_for_function("() => mosaique.state.right === '2018-02'", timeout=30000)
        assert page.evaluate("mosaique.state.left") == "2018-02" and "right=2018-02" in page.url
        page.click("#play")
        assert page.evaluate("mosaique.state.playing") is False and "playing=0" in page.url
        paused = shown(page)  # a step may have come before the click: the months stay as they are now
        page.wait_for_timeout(1500)
        assert shown(page) == paused and paused[0] == "2018-02"
        header = page.locator("header").bounding_box()
        timeline = page.locator("#timeline").bounding_box()
        assert page.locator("#maps").bounding_box()["height"] >= 0.75 * 844
        assert header["height"] + timeline["height"] <= 0.25 * 844 and timeline["y"] + timeline["height"] <= 844
        lanes = [page.locator(f"#lane-{s}").bounding_box() for s in ("left", "right")]
        assert min(b["height"] for b in lanes) >= 24  # a finger's target
        touch_drag(page, month_x(page, "left", 1), month_x(page, "left", 4))
        assert shown(page) == ["2018-05", paused[1]]
        page.wait_for_function(READY, timeout=60000)
        page.screenshot(path=ARTIFACTS / "timeline-phone.png")
        assert axe_violations(page) == []
        assert page.errors == [] and page.outside == []


def month_name(month: str) -> str:
    return f"{calendar.month_name[int(month[5:])]} {month[:4]}"


def mixed_point(server: str) -> tuple[float, float, list[dict]]:
    """A point near the middle that some months see as clear land and others do not (snow, cloud)."""
    for dlat in (0, 0.1, -0.1, 0.2, -0.2, 0.3):
        for dlng in (0, 0.1, -0.1, 0.2):
            lng, lat = 7.2 + dlng, 43.74 + dlat
            series = httpx.get(f"{server}/api/point/{lng},{lat}").json()["months"]
            if 0 < sum(s["valid"] for s in series) < len(series):
                return lng, lat, series
    raise AssertionError("no point with valid and invalid months near the middle of the tile")


def test_the_point_chart_has_a_gap_where_a_month_is_not_valid(browser: Browser, server: str, tmp_path: Path) -> None:
    lng, lat, series = mixed_point(server)
    valid = [s["valid"] for s in series]
    runs = sum(1 for i, v in enumerate(valid) if v and (i == 0 or not valid[i - 1]))
    reasons = {"cloud": ("cloud", "nuage"), "snow": ("snow", "neige"), "water": ("water", "eau"),
               "nodata": ("no data", "sans donnée")}
    with new_page(browser, server, locale="en-GB", bypass_csp=True, **DESKTOP) as page:
        open_page(page, f"{server}/#lng={lng}&lat={lat}&zoom=9&borders=0&names=0")
        page.focus(".maplibregl-canvas")
        page.keyboard.press("Enter")  # the point at the middle of the map
        page.wait_for_selector("#chart svg", timeout=30000)
        assert page.locator("#chart .ndvi-point").count() == sum(valid)
        gaps = page.locator("#chart .gap")
        assert gaps.count() == len(series) - sum(valid)
        invalid = [s for s in series if not s["valid"]]
        for k, s in enumerate(invalid):  # the reason written in the gap, and its tooltip
            assert gaps.nth(k).locator("text").text_content() == reasons[s["reason"]][0]
            assert gaps.nth(k).locator("title").text_content() == f"{month_name(s['month'])}: {reasons[s['reason']][0]}"
        # The NDVI line and each band's line break at every gap: one run of months per subpath.
        for line in ("ndvi-line", "line-B4", "line-B8"):
            assert page.get_attribute(f"#chart .{line}", "d").count("M") == runs
        rows = page.locator("#chart tr").all_inner_texts()[1:]
        assert len(rows) == len(MONTHS)
        for row, s in zip(rows, series, strict=True):
            assert (reasons[s["reason"]][0] in row) if not s["valid"] else "land" in row
        assert axe_violations(page) == []
        page.screenshot(path=ARTIFACTS / "chart-gaps.png")
        page.click("#lang")
        for k, s in enumerate(invalid):
            assert gaps.nth(k).locator("text").text_content() == reasons[s["reason"]][1]
        assert page.errors == [] and page.outside == []
