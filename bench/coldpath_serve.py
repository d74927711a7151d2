"""Cold true-colour tiles over HTTP, this checkout against another one, on the same build, in one run.

Usage: .venv/bin/python bench/coldpath_serve.py --baseline CHECKOUT [--data bench/out/data] [--tiles 700] [--rounds 2]

Serves the latest month with `mosaique serve` (one process, uvicorn) of each checkout, alternately,
and asks the tiles map clients are given (``/months/{m}/truecolor/{z}/{x}/{y}?build=``) at the
stored tiles (a block answered as it is, or 204) of zooms 8 to the month's inside its regions, in random order: once
each (cold), then again (warm), one keep-alive client (partial tiles, PNG rendered, are left out:
this change does not touch them). Reports p50/p95 and the server's CPU per tile (psutil), for all
tiles and for the stored ones (answered from a block, or 204), two ways: the default index cache
(a small build: every index stays cached) and ``keep one`` (the cache holds one index: what a
France-scale build's random traffic does to the default cache of the baseline).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))  # (this checkout's packages, not the installed ones)

from common import free_port  # noqa: E402
from serve_bench import cpu  # noqa: E402

SERVER = """
import sys
sys.argv = ["mosaique", "serve", "--port", sys.argv[1], "--data-dir", sys.argv[2], "--workers", "1"]
import app.blocks as blocks
if {keep_one}:
    if hasattr(blocks.INDEXES, "max_bytes"):
        blocks.INDEXES.max_bytes = 1  # (at least one is kept)
    else:
        blocks.INDEXES.size = 1
from app.cli import main
main()
"""


def serve(tree: Path, data: Path, keep_one: bool) -> tuple[subprocess.Popen, str]:
    """`mosaique serve` of checkout ``tree`` on ``data`` (its index cache keeping one index if ``keep_one``)."""
    port = free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own code
        [sys.executable, "-c", SERVER.format(keep_one=keep_one), str(port), str(data.resolve())],
        cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(tree)})
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(f"{base}/healthz", timeout=1)
            return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def main() -> None:
    """Run the rounds and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=ROOT / "bench/out/data")
    parser.add_argument("--tiles", type=int, default=700)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    from app.prerendered import stored_tile
    from mosaic.catalog import Catalog
    from mosaic.grid import TMS

    month = Catalog(args.data).months()[-1]
    every = [(t.z, t.x, t.y) for z in range(8, month.zoom + 1) for t in TMS.tiles(*month.bounds, [z])]
    random.Random(0).shuffle(every)
    tiles = [t for t in every if month.source("truecolor", *t) and stored_tile(month, *t, transparent=True) is not None]
    tiles = tiles[:args.tiles]
    paths = [f"/months/{month.month}/truecolor/{z}/{x}/{y}?build={month.build_id}" for z, x, y in tiles]
    results: dict[tuple[str, bool], list[dict]] = {}
    for _ in range(args.rounds):
        for keep_one in (False, True):
            for name, tree in (("baseline", args.baseline.resolve()), ("this", ROOT)):
                proc, base = serve(tree, args.data, keep_one)
                try:
                    out = {}
                    with httpx.Client(base_url=base, timeout=30) as client:
                        for label in ("cold", "warm"):
                            lat, kinds = [], []
                            c0 = cpu(proc)
                            for path in paths:
                                t = time.perf_counter()
                                r = client.get(path)
                                lat.append(time.perf_counter() - t)
                                assert r.status_code in (200, 204), (r.status_code, path)
                                kinds.append(r.headers.get("content-type", "204"))
                            used = (cpu(proc) - c0) / len(paths)
                            stored = [v for v, k in zip(lat, kinds, strict=True) if k != "image/png"]
                            out[label] = {"p50": statistics.median(lat) * 1e3,
                                          "p95": statistics.quantiles(lat, n=20)[18] * 1e3,
                                          "stored_p50": statistics.median(stored) * 1e3,
                                          "cpu_ms": used * 1e3, "stored": len(stored), "load": os.getloadavg()[0]}
                    results.setdefault((name, keep_one), []).append(out)
                finally:
                    proc.terminate()
                    proc.wait()
    print(f"month {month.month} build {month.build_id} zoom {month.zoom}: {len(paths)} stored tiles z8-{month.zoom} "
          f"(JPEG or 204, in a region) of {len(every)}; medians of {args.rounds} rounds")
    print("| index cache | checkout | cold p50 all / stored (ms) | cold p95 | cold CPU/tile (ms) | warm p50 | "
          "warm CPU/tile (ms) | load |")
    print("|---|---|---|---|---|---|---|---|")
    for keep_one in (False, True):
        for name in ("baseline", "this"):
            runs = results[name, keep_one]

            def med(label: str, key: str) -> float:
                return statistics.median(r[label][key] for r in runs)  # noqa: B023

            print(f"| {'keep one' if keep_one else 'default'} | {name} | {med('cold', 'p50'):.2f} / "
                  f"{med('cold', 'stored_p50'):.2f} | {med('cold', 'p95'):.2f} | {med('cold', 'cpu_ms'):.2f} | "
                  f"{med('warm', 'p50'):.2f} | {med('warm', 'cpu_ms'):.2f} | {med('cold', 'load'):.1f} |")


if __name__ == "__main__":
    main()
