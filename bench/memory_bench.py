"""Server memory under serve_bench's mix: the RSS plateau of one server process and what it is made of.

Starts one-process ``mosaique serve`` servers on 127.0.0.1 in turn, one per configuration: ``before``
(the code of ``--baseline``, default settings), ``after`` (this checkout, default settings) and any
``--config LABEL:NAME=VALUE,...`` (this checkout with those environment variables: settings such
as ``MOSAIQUE_GDAL_CACHEMAX``, or glibc's ``MALLOC_*``). Each gets serve_bench's Mosaïque routes
(the templates /api/months hands out, the page's differences, TiTiler's dynamic route) route by
route: cold, warm, then 8 clients, then ``--soak`` requests of every route mixed (8 clients) twice.
After each step the server's RSS and, from its /metrics, GDAL's block cache, the readers kept and
malloc's bytes (in use, free but kept, mmapped). Rewrites the "Serving: memory" section of
docs/benchmarks.md.

    .venv/bin/python bench/memory_bench.py --data DATA --baseline BEFORE [--soak 8000] [--config ...]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import httpx
from common import free_port, rss, start, table, write_section
from prometheus_client.parser import text_string_to_metric_families
from serve_bench import advertised, cpu, load, run, tiles_for

from mosaic.catalog import Catalog

SECTION = "Serving: memory"
ORDER = ["truecolor", "truecolor@2x", "truecolor.jpg", "dynamic", "falsecolor", "ndvi", "validity", "diff-ndvi",
         "diff-magnitude"]


def gauges(base: str) -> dict[str, float]:
    """The memory gauges of a server's /metrics (MB), those it has."""
    out = {}
    for family in text_string_to_metric_families(httpx.get(f"{base}/metrics", timeout=30).text):
        for s in family.samples:
            if s.name == "mosaique_gdal_block_cache_bytes":
                out["gdal cache"] = s.value / 2**20
            elif s.name == "mosaique_kept_readers":
                out["readers"] = s.value
            elif s.name == "mosaique_malloc_bytes":
                out[f"malloc {s.labels['state']}"] = s.value / 2**20
    return out


def routes_of(base: str, data: Path) -> tuple[dict[str, list[str]], int]:
    """serve_bench's Mosaïque URLs by route (relative), and how many distinct tiles."""
    months = Catalog(data).months()
    month, first = months[-1], months[0]
    tiles = tiles_for(month.bounds, range(8, 15), 400 // 7)
    routes = advertised(base, month.month)
    pins = f"build_a={first.build_id}&build_b={month.build_id}"
    for kind in ("ndvi", "magnitude"):
        routes[f"diff-{kind}"] = (f"/diff/{first.month}/{month.month}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png"
                                  f"?kind={kind}&{pins}")
    routes["dynamic"] = (f"/months/{month.month}/truecolor/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}"
                         f"?build={month.build_id}")
    return {n: [routes[n].format(z=z, x=x, y=y) for z, x, y in tiles] for n in ORDER}, len(tiles)


def measure(label: str, root: Path, env: dict[str, str], data: Path, soak: int) -> list[list[str]]:
    """One configuration's rows: after each route (cold, warm, 8 clients) and the soak."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start([sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--data-dir", str(data)],
                 f"{base}/healthz", env={**os.environ, "PYTHONPATH": str(root), **env}, cwd=root)
    rows = []
    try:
        urls, _ = routes_of(base, data)
        full = {n: [base + u for u in us] for n, us in urls.items()}
        cpu0, requests, errors = cpu(proc), 0, 0

        def row(step: str) -> None:
            g = gauges(base)
            rows.append([label, step, f"{rss(proc) / 2**20:.0f}", *(f"{g[k]:.0f}" if k in g else "" for k in
                         ("gdal cache", "readers", "malloc in_use", "malloc free", "malloc mmapped")), load()])
            print(" | ".join(rows[-1]), flush=True)

        row("started")
        for name in ORDER:
            for clients in (1, 1, 8):
                lat, _, e = run(full[name], clients)
                requests, errors = requests + len(lat), errors + e
            row(f"after {name}")
        mixed = [u for group in zip(*full.values(), strict=True) for u in group]
        mixed = (mixed * (soak // len(mixed) + 1))[:soak]
        for i in (1, 2):
            lat, _, e = run(mixed, 8)
            requests, errors = requests + len(lat), errors + e
            row(f"soak pass {i}")
        cpu_ms = (cpu(proc) - cpu0) / requests * 1000
        rows.append([label, f"CPU {cpu_ms:.2f} ms/request over {requests} requests, {errors} errors", *[""] * 7])
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return rows


def main() -> None:
    """Run the configurations in turn."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--baseline", type=Path, help="checkout of the code before (default: no 'before')")
    parser.add_argument("--soak", type=int, default=8000, help="requests of each soak pass (8 clients)")
    parser.add_argument("--config", action="append", default=[],
                        help="LABEL:NAME=VALUE,... this checkout with these environment variables")
    args = parser.parse_args()
    here = Path(__file__).resolve().parent.parent
    configs = [("before", args.baseline.resolve(), {})] if args.baseline else []
    configs.append(("after", here, {}))
    for spec in args.config:
        label, _, assignments = spec.partition(":")
        configs.append((label, here, dict(a.split("=", 1) for a in assignments.split(",") if a)))
    loads, rows = [load()], []
    for label, root, env in configs:
        rows += measure(label, root, env, args.data.resolve(), args.soak)
    loads.append(load())
    plateau = {r[0]: r[2] for r in rows if r[1] == "soak pass 2"}
    cpu_per = {r[0]: r[1].split(" ")[1] for r in rows if r[1].startswith("CPU ")}
    summary = "- This run, the plateau (RSS after the second soak pass) and CPU per request: " + ", ".join(
        f"`{label}` {plateau[label]} MB, {cpu_per[label]} ms" for label, _, _ in configs) + "."
    described = "; ".join(f"`{label}`: {', '.join(f'{k}={v}' for k, v in env.items()) or 'default settings'}"
                          f"{' (baseline code)' if root != here else ''}" for label, root, env in configs)
    body = f"""Command: `.venv/bin/python bench/memory_bench.py --data DATA{' --baseline BEFORE' * bool(args.baseline)}
--soak {args.soak}{''.join(f' --config {c}' for c in args.config)}`: one `mosaique serve` process per configuration,
in turn, given serve_bench's Mosaïque routes one after the other (each: its distinct tiles cold, warm, then 8
clients), then every route mixed, 8 clients, {args.soak} requests twice. {described}. Data: {args.data.name}
(months {", ".join(m.month for m in Catalog(args.data).months())}). Load average (1 min, 2 cores shared with other
engineers' jobs) at start / end: {" / ".join(loads)}.

{table(rows, ["configuration", "after", "RSS MB", "GDAL cache MB", "readers kept", "malloc in use MB",
              "malloc free MB", "malloc mmapped MB", "load"])}

- `malloc free`: freed memory glibc keeps for later allocations (in the RSS wherever its pages were touched);
  `in use` holds GDAL's cached blocks (up to `MOSAIQUE_GDAL_CACHEMAX`), the buffers of the datasets kept open and
  the requests' arrays; Python's own small objects are not malloc's.
- What the plateau is: the heap's high-water mark. GDAL's block cache fills to its bound while one layer's tiles
  are read (HiDPI true colour, then the presets); when the files whose blocks it held are closed (the 16 kept
  open are the least recently used), their blocks are freed, `in use` falls back to about 100 MB, and malloc keeps
  the rest as `free` for the process's life: no growth, but a plateau set by `MOSAIQUE_GDAL_CACHEMAX` (and what
  the requests held meanwhile). Under the mixed soak the cache never fills again (files are closed before).
- Not the suspects (separate runs on 4 December, 20 m build): the kept readers and the 20 threads' buffers
  (all of `in use` at the plateau, them included, is about 100 MB); the arenas (one instead of two lowered the
  plateau by about a tenth, 801 -> 705 MB, at the same CPU). glibc's mmap threshold fixed at 128 KB
  (`MALLOC_MMAP_THRESHOLD_=131072`: the cache's 128 KB blocks mapped one by one, returned when freed) brought the
  plateau down to 517 MB (peak 799) but cost 10-40 % more CPU per route (every array of a tile newly mapped and
  faulted in; load 10): not taken.
- The defaults since then: a 192 MB cache (was 256) and one arena (was 2). On that 20 m build 192 MB still holds
  the blocks of a serve_bench pass of one layer, so the tiles asked again are as fast as with 256 (cold and warm
  CPU per tile of @2x, falsecolor, ndvi and both differences equal within 0.2 ms, one client, alternate servers,
  load 9); with 128 MB the presets asked again cost 0.7-0.9 ms more per tile (their blocks decoded again).
{summary}
"""
    print(body)
    write_section(SECTION, body)


if __name__ == "__main__":
    main()
