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
"""
    print(body)
    write_section(SECTION, body)


if __name__ == "__main__":
    main()
