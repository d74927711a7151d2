"""Stored true-colour tiles answered in process, this checkout against another one, in the same run.

Usage: .venv/bin/python bench/fastpath_bench.py --baseline CHECKOUT [--data DIR] [--rounds 3]

Issue 16 moved the stored tiles' tile maths (:mod:`app.blocks`, :mod:`app.fastpath`) onto the
grid's TMS. Each round runs one worker process per checkout (alternately: the machine's load
drifts), which sends every stored tile of a few zooms through the whole application as raw ASGI
calls (middlewares and the fast path; no sockets) and reports the best and median time per
request of 7 passes. ``--data`` (made once if absent): two sample tiles, one month, 200 m pixels.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import table, write_section  # noqa: E402


def worker(data: Path) -> dict:
    """Time the stored tiles of ``data`` through the app of the checkout on ``sys.path``."""
    from app.main import create_app
    from app.settings import Settings
    from mosaic.catalog import Catalog
    from mosaic.grid import TMS

    app = create_app(Settings(data_dir=data, cache_dir=data.parent / "cache"))
    month = Catalog(data).months()[0]
    paths = [f"/months/{month.month}/truecolor/{t.z}/{t.x}/{t.y}.jpg"
             for z in range(month.zoom - 3, month.zoom + 1) for t in list(TMS.tiles(*month.bounds, [z]))[:100]]

    async def call(path: str) -> int:
        scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b"",
                 "headers": [(b"host", b"127.0.0.1")], "scheme": "http", "server": ("127.0.0.1", 80),
                 "client": ("127.0.0.1", 1), "root_path": "", "http_version": "1.1", "asgi": {"version": "3.0"}}
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        await app(scope, receive, send)
        return sent[0]["status"]

    async def run() -> dict:
        statuses = {await call(p) for p in paths}  # (also makes the block indexes)
        passes = []
        for _ in range(7):
            start = time.perf_counter()
            for p in paths:
                await call(p)
            passes.append((time.perf_counter() - start) / len(paths) * 1e6)
        return {"tiles": len(paths), "statuses": sorted(statuses), "best_us": min(passes),
                "median_us": statistics.median(passes)}

    return asyncio.run(run())


def main() -> None:
    """Run the rounds (or, with --worker, one timing) and write the section of docs/benchmarks.md."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, required=True, help="another checkout (e.g. main's worktree)")
    parser.add_argument("--data", type=Path, default=Path("/tmp/fastpath-bench/data"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.data)))
        return
    if not args.data.exists():
        sys.path.insert(0, str(ROOT))
        from tests.helpers import published_months

        published_months(args.data.parent, ["T31TCJ", "T31TDJ"], ["2018-07"], pixel_size=200)
    results: dict[str, list[dict]] = {"baseline": [], "this": []}
    for _ in range(args.rounds):
        for name, tree in (("baseline", args.baseline.resolve()), ("this", ROOT)):
            out = subprocess.run(  # noqa: S603 - our own script
                [sys.executable, __file__, "--worker", "--data", str(args.data), "--baseline", str(tree)],
                env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True, check=True)
            results[name].append(json.loads(out.stdout.splitlines()[-1]))
    rows = []
    for name in ("baseline", "this"):
        best = statistics.median(r["best_us"] for r in results[name])
        median = statistics.median(r["median_us"] for r in results[name])
        rows.append([name, f"{best:.0f}", f"{median:.0f}"])
    ratio = statistics.median(r["best_us"] for r in results["this"]) / statistics.median(
        r["best_us"] for r in results["baseline"])
    load = os.getloadavg()[0]
    body = (f"`bench/fastpath_bench.py --baseline {args.baseline.name} --rounds {args.rounds}`: "
            f"{results['this'][0]['tiles']} stored tiles (`.jpg`, four zooms) through the whole app in process, "
            f"each checkout in its own process, alternately; medians over the rounds of the best and median pass "
            f"(7 passes). Load average {load:.1f} at the end.\n\n"
            + table(rows, ["checkout", "best (us/request)", "median (us/request)"])
            + f"\n\nThis checkout / baseline (best): {ratio:.2f}.")
    write_section("Stored tiles in process: tile maths on the TMS (issue 16)", body)
    print(body)


if __name__ == "__main__":
    main()
