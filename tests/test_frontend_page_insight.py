"""The page's biggest-changes list, valid share and timelapse export, in real headless Chromium
against a real server on months with a planted change (tests/planted.py)."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page

from tests.helpers import serving
from tests.pages import ARTIFACTS, CHROMIUM, DESKTOP, PHONE, READY, axe_violations, new_page, open_page, overlap
from tests.planted import CLOUD, LOSS, lonlat_bounds

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
RETRY_AFTER = 3
VALID = "() => document.getElementById('valid').textContent"
BOUNDS = "() => { const b = mosaique.map.getBounds(); return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }"
# Where lon/lat bounds lie on the page (x, y, width, height in CSS px).
ON_PAGE = ("([w, s, e, n]) => { const m = mosaique.map, r = m.getContainer().getBoundingClientRect(),"
           " a = m.project([w, n]), b = m.project([e, s]);"
           " return { x: r.x + a.x, y: r.y + a.y, width: b.x - a.x, height: b.y - a.y }; }")
# Bounded: a drag whose mouseup Chromium never delivers (released outside the window) leaves the map moving for ever.
SETTLED = ("() => new Promise((done, fail) => { if (!mosaique.map.isMoving()) return done();"
           " mosaique.map.once('moveend', done);"
           " setTimeout(() => fail(new Error('the map is still moving')), 30000); })")
NOTE = "document.getElementById('{}').textContent"


@pytest.fixture(scope="module")
def planted(planted_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A real server on the shared planted months (read only), caching in this module's folder;
    every computation answers 202 first (no wait)."""
    env = os.environ | {"MOSAIQUE_CACHE_DIR": str(tmp_path_factory.mktemp("insight-cache")),
                        "MOSAIQUE_COMPUTE_WAIT": "0", "MOSAIQUE_RETRY_AFTER": str(RETRY_AFTER)}
    with serving(planted_sample / "data", env=env) as url:
        yield planted_sample, url


def requests_to(page: Page, path: str) -> list[str]:
    found: list[str] = []
    page.on("request", lambda r: path in r.url and found.append(r.url))
    return found


def inside(outer: list[float], inner: tuple[float, ...]) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and outer[2] >= inner[2] and outer[3] >= inner[3]


def shown_shares(page: Page, server: str) -> dict[str, int]:
    """The valid share and the reasons the page shows (%), each checked against the API's answer for
    the page's own view."""
    bbox = ",".join(f"{v:.4f}" for v in page.evaluate(BOUNDS))
    expected = httpx.get(f"{server}/api/valid/2018-07/2018-08", params={"bbox": bbox}).json()["shares"]
    why = page.text_content("#valid-why")
    shown = {"valid": int(re.fullmatch(r"Valid in both months: (\d+)%", page.evaluate(VALID))[1]),
             **{key: int(re.search(rf"{words} (\d+)%", why)[1]) for key, words in
                (("cloud", "cloud all month"), ("snow", "snow"), ("no_data", "no data"))}}
    for key, value in shown.items():
        assert abs(value - expected[key] * 100) <= 0.5 + 1e-6, (key, shown, expected)
    return shown


def within(outer: dict, inner: dict) -> bool:
    """Whether a box (Playwright's x, y, width, height) lies inside another."""
    return outer["x"] <= inner["x"] and inner["x"] + inner["width"] <= outer["x"] + outer["width"] \
        and outer["y"] <= inner["y"] and inner["y"] + inner["height"] <= outer["y"] + outer["height"]


def in_sight(page: Page, bounds: tuple[float, ...], overlays: tuple[str, ...]) -> dict:
    """Where ``bounds`` lie on the page, checked to be on the map and clear of the visible ``overlays``."""
    area = page.evaluate(ON_PAGE, list(bounds))
    assert within(page.locator("#maps").bounding_box(), area)
    for overlay in overlays:
        assert not overlap(page.locator(overlay).bounding_box(), area), overlay
    return area


def settle(page: Page) -> None:
    page.wait_for_function(READY, timeout=90000)
    page.evaluate(SETTLED)


def test_changes_list_flies_to_the_planted_loss_and_the_valid_share_follows_the_view(
        browser: Browser, planted: tuple[Path, str]) -> None:
    root, server = planted
    loss, cloud = lonlat_bounds(root, LOSS), lonlat_bounds(root, CLOUD)
    with new_page(browser, server, locale="en-GB", bypass_csp=True) as page:
        valid_requests, change_requests = requests_to(page, "/api/valid/"), requests_to(page, "/api/changes/")
        open_page(page, f"{server}/#left=2018-07&right=2018-08")
        page.wait_for_function(f"({VALID})().endsWith('%')", timeout=30000)
        first = len(valid_requests)
        assert first == 1 and "build_a=" in valid_requests[0]
        # Dragging the divider asks for nothing.
        box = page.locator("#divider").bounding_box()
        page.mouse.move(box["x"] + 3, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] - 150, box["y"] + box["height"] / 2, steps=8)
        page.mouse.up()
        page.wait_for_timeout(600)
        assert len(valid_requests) == first
        # The list: computed in the background (202, asked again), the planted loss first, local numbers.
        page.click("#changes summary")
        page.wait_for_selector("#changes-list li button", timeout=60000)
        assert change_requests[0].count("kind=ndvi_loss") == 1 and len(change_requests) >= 2
        top = page.inner_text("#changes-list li:first-child button")
        area = float(top.split(" km²")[0].replace(",", ""))
        assert area == pytest.approx(900, rel=0.03) and "mean change -0.77" in top.replace("\u2212", "-")
        assert axe_violations(page) == []
        page.screenshot(path=ARTIFACTS / "insight-en-desktop-changes.png")
        # Enter on the first item flies there in NDVI difference mode.
        page.focus("#changes-list li:first-child button")
        page.keyboard.press("Enter")
        settle(page)
        assert page.evaluate("mosaique.state.mode") == "ndvi" and page.input_value("#mode") == "ndvi"
        assert inside(page.evaluate(BOUNDS), loss)
        # The whole area in sight: on the map, clear of the list's panel (still open) and of the legend.
        assert in_sight(page, loss, ("#changes .panel", "#legend"))["width"] > 200
        page.screenshot(path=ARTIFACTS / "insight-en-desktop-flown.png")
        page.wait_for_function(f"({VALID})() !== 'Valid in both months: …'", timeout=30000)
        over_loss = shown_shares(page, server)
        assert over_loss["valid"] >= 50 and over_loss["cloud"] < 10  # the loss and its frame, a strip of the cloud
        # A drag of the map east, onto the block under August's cloud: one request, the cloud's share up.
        before = len(valid_requests)
        a, b = (page.evaluate(ON_PAGE, list(block)) for block in (loss, cloud))
        shift = (b["x"] + b["width"] / 2 - a["x"] - a["width"] / 2, b["y"] + b["height"] / 2 - a["y"] - a["height"] / 2)
        maps = page.locator("#maps").bounding_box()
        # The whole drag on the open map, between the list's panel and the legend: one from the map's centre ended
        # left of the window (x = -26) once the legend fitted on one line, and MapLibre never saw its mouseup, nor
        # does it see one over the panel.
        panel, legend = page.locator("#changes .panel").bounding_box(), page.locator("#legend").bounding_box()
        x = maps["x"] + (maps["width"] + shift[0]) / 2
        y = (panel["y"] + panel["height"] + legend["y"]) / 2 + shift[1]
        for px, py in ((x, y), (x - shift[0], y - shift[1])):
            assert maps["x"] < px < maps["x"] + maps["width"] and maps["y"] < py < maps["y"] + maps["height"]
            assert not any(overlap(box, {"x": px, "y": py, "width": 1, "height": 1}) for box in (panel, legend))
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x - shift[0], y - shift[1], steps=10)
        page.wait_for_timeout(600)  # no fling: the map stops where the mouse does; nothing asked while held
        assert len(valid_requests) == before
        page.mouse.up()
        settle(page)
        page.wait_for_function(f"{NOTE.format('valid-why')} !== {page.text_content('#valid-why')!r}", timeout=30000)
        page.wait_for_timeout(600)
        assert len(valid_requests) == before + 1
        over_cloud = shown_shares(page, server)
        assert over_cloud["cloud"] > over_loss["cloud"] + 20
        # What the rest is: on hover (and focus, or a tap), read with the share (aria-describedby).
        assert page.is_hidden("#valid-why")
        page.hover("#valid")
        assert page.is_visible("#valid-why")
        why = page.inner_text("#valid-why")
        assert why.startswith("Not comparable") and "cloud all month" in why
        assert page.get_attribute("#valid", "aria-describedby") == "valid-why"
        page.screenshot(path=ARTIFACTS / "insight-en-desktop-valid.png")
        # The keyboard: Tab onto the share shows the reasons, Escape hides them; Escape in the open
        # list folds it, back to its summary.
        page.mouse.move(0, 0)
        page.focus("#lang")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "valid" and page.is_visible("#valid-why")
        page.keyboard.press("Escape")
        assert page.is_hidden("#valid-why")
        page.focus("#change-kind")
        page.keyboard.press("Escape")
        assert page.get_attribute("#changes", "open") is None
        assert page.evaluate("document.activeElement.parentElement.id") == "changes"
        page.click("#changes summary")
        # The gain kind: its top item is the planted gain, and the list follows a change of month.
        page.select_option("#change-kind", "ndvi_gain")
        page.wait_for_function("document.querySelector('#changes-list li button')?.textContent.includes('+0.77')",
                               timeout=60000)
        page.select_option("#right", "2018-07")
        page.wait_for_function(f"{NOTE.format('changes-note')}.startsWith('No large change')", timeout=60000)
        # While the timeline plays the list waits (each step would start an analysis); a pause lists again.
        asked = len(change_requests)
        page.click("#play")
        page.wait_for_function(f"{NOTE.format('changes-note')}.startsWith('Pause the timeline')")
        page.wait_for_timeout(2500)  # two steps or more
        assert len(change_requests) == asked and page.inner_text("#changes-list") == ""
        page.click("#play")
        page.wait_for_selector("#changes-list li button, #changes-note:text-matches('^No large')", timeout=60000)
        assert len(change_requests) == asked + 1
        assert page.errors == [] and page.outside == []


def decode_frames(path: Path) -> int:
    with Image.open(io.BytesIO(path.read_bytes())) as img:
        img.seek(img.n_frames - 1)
        img.convert("RGB")
        return img.n_frames


# Records the export panel's note, whether its progress bar is hidden and the bar's total, at each change.
PANEL_STATES = ("() => { window.panelStates = []; const p = document.getElementById('export-progress');"
                f" new MutationObserver(() => panelStates.push([{NOTE.format('export-note')}, p.hidden, p.max]))"
                ".observe(document.getElementById('export'),"
                " { subtree: true, childList: true, attributes: true, characterData: true }); }")


def test_timelapse_export_from_the_page(browser: Browser, planted: tuple[Path, str], tmp_path: Path) -> None:
    root, server = planted
    loss = lonlat_bounds(root, LOSS, inset=-10)
    with new_page(browser, server, locale="fr-FR", bypass_csp=True, accept_downloads=True, **DESKTOP) as page:
        jobs = requests_to(page, "/api/timelapse/jobs/")
        open_page(page, f"{server}/#left=2018-08&right=2018-07&preset=ndvi")
        page.evaluate(f"mosaique.map.fitBounds([[{loss[0]}, {loss[1]}], [{loss[2]}, {loss[3]}]], {{ animate: false }})")
        settle(page)
        page.click("#export summary")
        page.wait_for_selector("#export-size option", state="attached")
        assert page.inner_text("#export-size").split("\n")[-1] == "1\u202f280 px"  # French digit grouping
        # A size beyond the API's limit: its 400 said plainly, and gone with the next export.
        page.evaluate("() => { const o = document.querySelector('#export-size option:last-child'); o.value = '1500'; }")
        page.select_option("#export-size", "1500")
        page.click("#export-start")
        page.wait_for_function(f"{NOTE.format('export-note')}.startsWith('L’export a échoué')")
        assert "width must be from 64 to 1280" in page.inner_text("#export-note")
        page.select_option("#export-size", "320")
        page.select_option("#export-format", "gif")
        page.evaluate(PANEL_STATES)
        with page.expect_download(timeout=120000) as download:  # downloaded once ready
            page.click("#export-start")
        assert jobs, "the export was followed at its job URL"
        # The progress was shown while it ran: a bar of frames + 1 (encoding) steps, and the step in words.
        seen = page.evaluate("window.panelStates")
        assert any(not hidden and total == 3 and note.startswith("Export : étape ") for note, hidden, total in seen), \
            seen
        assert page.is_hidden("#export-progress")
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        assert saved.name == "mosaique-2018-07-2018-08-ndvi.gif"
        assert decode_frames(saved) == 2
        with Image.open(saved) as img:
            # The map's shape: the frames show what the page shows.
            w, h = page.evaluate("() => ['clientWidth', 'clientHeight'].map((k) => mosaique.map.getContainer()[k])")
            assert img.width == 320 and abs(img.height - 320 * h / w) <= 0.5
        assert page.inner_text("#export-note") == "L’animation est prête."
        assert page.inner_text("#export-file").startswith("Télécharger mosaique-2018-07-2018-08-ndvi.gif (")
        page.screenshot(path=ARTIFACTS / "insight-fr-desktop-export.png")
        assert axe_violations(page) == []
        # The link gives the same file again.
        with page.expect_download() as again:
            page.click("#export-file")
        assert again.value.suggested_filename == saved.name
        assert Path(again.value.path()).read_bytes() == saved.read_bytes()
        # Another export running on the server: the page says when to try again, then the message goes.
        busy = httpx.get(f"{server}/api/timelapse", params={"bbox": "-1,42,4,46", "width": 1280, "height": 1280,
                                                             "format": "mp4", "preset": "falsecolor"}, timeout=60)
        assert busy.status_code == 202  # rendering in the background
        page.select_option("#export-format", "webp")
        page.click("#export-start")
        page.wait_for_function(f"{NOTE.format('export-note')}.startsWith('Un autre export')")
        assert f"réessayez dans {RETRY_AFTER} s" in page.inner_text("#export-note")
        assert page.is_disabled("#export-start")
        page.wait_for_function(f"{NOTE.format('export-note')} === ''", timeout=RETRY_AFTER * 1000 + 5000)
        assert page.is_enabled("#export-start")
        errors = [e for e in page.errors if "400" not in e and "429" not in e]
        assert errors == [] and page.outside == []


def test_phone_keeps_the_map_with_the_new_panels_folded(browser: Browser, planted: tuple[Path, str]) -> None:
    root, server = planted
    with new_page(browser, server, locale="en-GB", bypass_csp=True, **PHONE) as page:
        change_requests = requests_to(page, "/api/changes/")
        open_page(page, f"{server}/#left=2018-07&right=2018-08")
        assert page.locator("#maps").bounding_box()["height"] >= 0.75 * 844
        assert page.is_hidden("#changes") and page.is_hidden("#valid")
        page.click("#menu")
        page.click("#changes summary")
        page.wait_for_selector("#changes-list li button", timeout=60000)
        page.click("#export summary")
        page.wait_for_selector("#export-size option", state="attached")
        page.screenshot(path=ARTIFACTS / "insight-en-phone-panels.png")
        assert axe_violations(page) == []
        page.tap("#changes-list li:first-child button")
        settle(page)
        assert page.is_hidden("#controls") and page.evaluate("mosaique.state.mode") == "ndvi"
        assert page.locator("#maps").bounding_box()["height"] >= 0.75 * 844
        in_sight(page, lonlat_bounds(root, LOSS), ("#legend",))
        page.screenshot(path=ARTIFACTS / "insight-en-phone-flown.png")
        # In French: the list written again (no new request), the share and, on a tap, its reasons.
        asked = len(change_requests)
        page.click("#menu")
        page.click("#lang")
        top = page.inner_text("#changes-list li:first-child button")
        assert "km², évolution moyenne -0,77" in top.replace("\u2212", "-")
        assert len(change_requests) == asked
        page.wait_for_function(f"({VALID})().startsWith('Valide les deux mois')")
        page.tap("#valid")
        assert page.is_visible("#valid-why") and page.inner_text("#valid-why").startswith("Non comparable")
        page.screenshot(path=ARTIFACTS / "insight-fr-phone-panels.png")
        assert axe_violations(page) == []
        assert page.errors == [] and page.outside == []


def test_month_labels_give_the_lighter_grid_in_the_pages_language(browser: Browser, planted: tuple[Path, str]) -> None:
    """The planted months are a lighter product (zoom 7 for 1 km pixels): their labels say so in the page's
    language, with the API's numbers written the local way, in the pickers and the legend; and again after a
    switch of language."""
    _, server = planted
    r = next(m for m in httpx.get(f"{server}/api/months").json() if m["month"] == "2018-07")["resolution"]
    assert r["full"] is False and r["ground_m"] > 10
    metres = f"{r['ground_m']:.0f}"
    english = f"July 2018 (lighter: zoom {r['zoom']}, about {metres} m)"
    french = f"juillet 2018 (allégé : zoom {r['zoom']}, environ {metres} m)"
    shown = ("() => [document.querySelector('#left option[value=\"2018-07\"]')?.textContent,"
             " document.getElementById('side-left').textContent]")
    for locale, first, then in (("en-GB", english, french), ("fr-FR", french, english)):
        with new_page(browser, server, locale=locale) as page:
            page.goto(f"{server}/#left=2018-07&right=2018-08")
            page.wait_for_function(f"({shown})()[1] !== ''", timeout=30000)
            assert page.evaluate(shown) == [first, first]
            page.click("#lang")
            assert page.evaluate(shown) == [then, then]
            assert page.errors == []
