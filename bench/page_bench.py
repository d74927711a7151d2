"""Page benchmark: time from navigation to the first tiles on both sides, tile requests during
a drag, and the weight of the page's own JS and CSS (headless Chromium on 127.0.0.1).

    .venv/bin/python bench/page_bench.py --data DIR [--runs 5] [--compare URL]

Prints a table and rewrites the "Page" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from common import table, write_section
from playwright.sync_api import Browser, sync_playwright
from serve_bench import free_port

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--use-gl=swiftshader", "--enable-unsafe-swiftshader"]
# Functions, not expressions: Playwright evaluates an expression string with eval, which the page CSP forbids.
FIRST_TILES = "() => window.mosaique && mosaique.firstTile.left && mosaique.firstTile.right"
TILE = re.compile(r"/(months|diff)/.+/\d+/\d+/\d+")  # a tile URL: stored, dynamic or difference
PAGE = Path(__file__).resolve().parent.parent / "frontend" / "page"


def load_once(browser: Browser, url: str) -> tuple[list[float], float, int]:
    """One page load: ([first tile left, right] ms, every tile loaded ms, tile requests in a drag)."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{url}/#zoom=6&lng=2.5&lat=46.5")
    page.wait_for_function(FIRST_TILES, timeout=60000)
    first = page.evaluate("[mosaique.firstTile.left, mosaique.firstTile.right]")
    page.wait_for_function("() => mosaique.left.areTilesLoaded() && mosaique.right.areTilesLoaded()", timeout=120000)
    loaded = page.evaluate("performance.now()")
    tiles = []
    page.on("request", lambda r: TILE.search(r.url) and tiles.append(r.url))
    box = page.locator("#divider").bounding_box()
    page.mouse.move(box["x"] + 3, box["y"] + 300)
    page.mouse.down()
    page.mouse.move(box["x"] - 400, box["y"] + 300, steps=30)
    page.mouse.move(box["x"] + 400, box["y"] + 300, steps=30)
    page.mouse.up()
    page.wait_for_timeout(300)
    page.close()
    return first, loaded, len(tiles)


def column(times: list[list[float]], loaded: list[float], drags: list[int]) -> list[str]:
    """The table's values for one server."""
    both = [max(t) for t in times]
    return [f"{statistics.median(both):.0f}", f"{max(both):.0f}",
            f"{statistics.median(t[0] for t in times):.0f} / {statistics.median(t[1] for t in times):.0f}",
            f"{statistics.median(loaded):.0f}", str(max(drags))]


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--compare", metavar="URL",
                        help="a running server (e.g. another checkout on the same data), loaded in turn with ours")
    parser.add_argument("--compare-name", default="compared server", help="its column's title")
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([str(Path(sys.executable).parent / "mosaique"), "serve", "--port", str(port),
                             "--data-dir", str(args.data)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    urls = [url, args.compare] if args.compare else [url]
    results: dict[str, tuple[list, list, list]] = {u: ([], [], []) for u in urls}
    load = [f"{os.getloadavg()[0]:.1f}"]
    try:
        for _ in range(300):
            try:
                httpx.get(f"{url}/healthz")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for run in range(args.runs):
                for u in urls if run % 2 == 0 else urls[::-1]:  # alternate who goes first
                    for values, value in zip(results[u], load_once(browser, u), strict=True):
                        values.append(value)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    load.append(f"{os.getloadavg()[0]:.1f}")
    weight = {f.name: f.stat().st_size for f in sorted(PAGE.iterdir())}
    zipped = sum(len(gzip.compress(f.read_bytes(), 9)) for f in PAGE.iterdir() if f.suffix in (".js", ".css"))
    names = ["navigation -> first tiles on both sides, median ms", "same, slowest of the runs, ms",
             "first tile, left / right month, median ms", "navigation -> every tile loaded, median ms",
             "tile requests during a 60-step divider drag"]
    columns = [column(*results[u]) for u in urls]
    rows = [[name, *(c[i] for c in columns)] for i, name in enumerate(names)]
    rows += [[f"page file {name}, bytes", str(size), *([""] if args.compare else [])] for name, size in weight.items()]
    rows.append(["our JS + CSS + HTML, bytes", str(sum(weight.values())), *([""] if args.compare else [])])
    rows.append(["our JS + CSS, gzip -9 file by file, bytes (budget 40960)", str(zipped), *[""] * bool(args.compare)])
    header = ["measure", "this tree", args.compare_name] if args.compare else ["measure", "value"]
    compared = (f" Both servers on the same data, loaded in turn ({args.runs} runs each, alternating which goes"
                " first); page weights are this tree's.") if args.compare else ""
    body = f"""Command: `.venv/bin/python bench/page_bench.py --data {args.data} --runs {args.runs}{
        " --compare URL --compare-name NAME" if args.compare else ""}` (headless
Chromium from Debian, SwiftShader GL, 1280x800, the app on 127.0.0.1; MapLibre GL itself is not
counted in our page weight). Machine load average (1 min, other engineers' jobs included) at start /
end: {" / ".join(load)} on 2 cores; the browser renders WebGL in software, on the same cores.{compared}

{table(rows, header)}
"""
    print(body)
    write_section("Page", body)


if __name__ == "__main__":
    main()
