"""Tile serving benchmark: Mosaïque beside stock TiTiler and static tile files, same data, one run.

Serves one built month (default: the 10 m build left by build_bench.py) three ways on 127.0.0.1:
- Mosaïque: `mosaique serve` (uvicorn with httptools/uvloop), one process and two: true-colour
  tiles (stored JPEG blocks, stored-or-PNG, dynamic), NDVI and difference tiles;
- stock TiTiler: titiler.core's default TilerFactory (the `?url=` COG endpoint, as
  titiler.application mounts it) over the same true-colour VRT, same uvicorn;
- static files: the same tiles saved as files, served by Starlette's StaticFiles on uvicorn.
Requests use keep-alive clients (httpx), cold (each tile once) then warm (again), 1 then 8
clients, then a memory soak of ``--soak`` requests. Prints a table and rewrites the "Serving"
section of docs/benchmarks.md.

    .venv/bin/python bench/serve_bench.py [--data bench/out/build/data] [--tiles 400]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import morecantile
import psutil
from common import free_port, rss, start, table, write_section

from app.presets import PRESETS
from mosaic.catalog import Catalog

VANILLA = """
import sys, uvicorn
from fastapi import FastAPI
from titiler.core.factory import TilerFactory
app = FastAPI()
app.include_router(TilerFactory(router_prefix="/cog").router, prefix="/cog")
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), http="httptools", loop="uvloop", log_level="warning")
"""
STATIC = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.staticfiles import StaticFiles
app = Starlette(); app.mount("/", StaticFiles(directory=sys.argv[1]))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), http="httptools", loop="uvloop", log_level="warning")
"""


def tiles_for(bounds: tuple[float, float, float, float], zooms: range, per_zoom: int) -> list[tuple[int, int, int]]:
    """Up to ``per_zoom`` random tiles per zoom inside lon/lat bounds (deterministic)."""
    tms = morecantile.tms.get("WebMercatorQuad")
    rng = random.Random(0)
    out = []
    for z in zooms:
        tiles = [(t.z, t.x, t.y) for t in tms.tiles(*bounds, [z])]
        out += rng.sample(tiles, min(per_zoom, len(tiles)))
    return out


def run(urls: list[str], clients: int) -> tuple[list[float], float, int]:
    """Fetch URLs with ``clients`` keep-alive clients: (latencies s, wall s, errors)."""
    chunks = [urls[i::clients] for i in range(clients)]

    def worker(chunk: list[str]) -> tuple[list[float], int]:
        lat, errors = [], 0
        with httpx.Client(timeout=30, follow_redirects=True) as client:
            for url in chunk:
                t = time.perf_counter()
                r = client.get(url)
                lat.append(time.perf_counter() - t)
                if r.status_code not in (200, 204, 404):
                    errors += 1
                    print(f"error {r.status_code} {url}: {r.text[:200]}", file=sys.stderr)
        return lat, errors

    start_t = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(worker, chunks))
    wall = time.perf_counter() - start_t
    return [x for lat, _ in results for x in lat], wall, sum(e for _, e in results)


def cpu(proc: subprocess.Popen) -> float:
    """CPU seconds (user + system) used so far by a server process tree: unlike latency, hardly
    changed by other jobs on the machine."""
    p = psutil.Process(proc.pid)
    return sum(sum(q.cpu_times()[:2]) for q in [p, *p.children(recursive=True)])


def load() -> str:
    """The machine's 1-minute load average (other engineers share it)."""
    return f"{os.getloadavg()[0]:.1f}"


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("bench/out/build/data"))
    parser.add_argument("--tiles", type=int, default=400, help="distinct tiles (spread over zooms 8-14)")
    parser.add_argument("--format", default="jpg", choices=["jpg", "png", "webp"])
    parser.add_argument("--soak", type=int, default=20000, help="requests of the memory soak (8 clients)")
    args = parser.parse_args()
    months = Catalog(args.data).months()
    month, first = months[-1], months[0]
    zooms = range(8, 15)
    tiles = tiles_for(month.bounds, zooms, args.tiles // len(zooms))
    bin_dir = Path(sys.executable).parent
    rows, summary, loads = [], {}, [load()]
    with tempfile.TemporaryDirectory() as tmp:
        ports = {name: free_port() for name in ("mosaique", "mosaique2", "titiler", "static")}
        base = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        procs = {
            name: start([str(bin_dir / "mosaique"), "serve", "--port", str(ports[name]), "--workers", workers,
                         "--data-dir", str(args.data)], f"{base[name]}/healthz")
            for name, workers in (("mosaique", "1"), ("mosaique2", "2"))
        }
        procs["titiler"] = start([sys.executable, "-c", VANILLA, str(ports["titiler"])], f"{base['titiler']}/docs")
        vrt = month.vrt("truecolor")
        pin, ndvi = f"?build={month.build_id}", PRESETS["ndvi"].query()
        routes = {
            "stored": f"/months/{month.month}/truecolor/{{z}}/{{x}}/{{y}}.jpg{pin}",
            "auto": f"/months/{month.month}/truecolor/{{z}}/{{x}}/{{y}}{pin}",
            "dynamic": f"/months/{month.month}/truecolor/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.{args.format}{pin}",
            "ndvi": f"/months/{month.month}/reflectance/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png{pin}&{ndvi}",
            "diff": f"/diff/{first.month}/{month.month}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png?kind=ndvi",
        }
        urls = {f"mosaique-{name}": [base["mosaique"] + route.format(z=z, x=x, y=y) for z, x, y in tiles]
                for name, route in routes.items()}
        urls["mosaique2-stored"] = [base["mosaique2"] + routes["stored"].format(z=z, x=x, y=y) for z, x, y in tiles]
        urls["titiler"] = [f"{base['titiler']}/cog/tiles/WebMercatorQuad/{z}/{x}/{y}.{args.format}?url={vrt}"
                           for z, x, y in tiles]
        # Static floor: the same tiles, pre-rendered to files once.
        with httpx.Client() as client:
            for (z, x, y), url in zip(tiles, urls["mosaique-dynamic"], strict=True):
                r = client.get(url)
                if r.status_code == 200:
                    path = Path(tmp) / str(z) / str(x) / f"{y}.{args.format}"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(r.content)
        procs["static"] = start([sys.executable, "-c", STATIC, tmp, str(ports["static"])], base["static"])
        urls["static"] = [f"{base['static']}/{z}/{x}/{y}.{args.format}" for z, x, y in tiles]
        try:
            for name in ("mosaique-stored", "mosaique-auto", "mosaique-dynamic", "mosaique-ndvi", "mosaique-diff",
                         "titiler", "static", "mosaique2-stored"):
                rss0 = rss(procs[name.split("-")[0]])
                for label, clients in (("cold, 1 client", 1), ("warm, 1 client", 1), ("warm, 8 clients", 8)):
                    cpu0 = cpu(procs[name.split("-")[0]])
                    lat, wall, errors = run(urls[name], clients)
                    cpu_ms = (cpu(procs[name.split("-")[0]]) - cpu0) / len(lat) * 1000
                    p50, p95 = statistics.median(lat) * 1000, statistics.quantiles(lat, n=20)[18] * 1000
                    rows.append([name, label, f"{p50:.1f}", f"{p95:.1f}", f"{cpu_ms:.1f}", f"{len(lat) / wall:.0f}",
                                 str(errors)])
                    summary[(name, label)] = (p50, p95, len(lat) / wall)
                rows[-1].append(f"{rss0 / 1e6:.0f} -> {rss(procs[name.split('-')[0]]) / 1e6:.0f}")
            loads.append(load())
            # Memory soak: the one-process server, every Mosaïque route in turn, 8 clients; a first
            # pass fills the bounded caches (GDAL's block cache), the second is measured.
            mixed = [u for group in zip(*(urls[f"mosaique-{r}"] for r in routes), strict=True) for u in group]
            soak = (mixed * (args.soak // len(mixed) + 1))[:args.soak]
            rss_start = rss(procs["mosaique"])
            run(soak, 8)
            rss_before = rss(procs["mosaique"])
            _, soak_wall, soak_errors = run(soak, 8)
            rss_after = rss(procs["mosaique"])
            loads.append(load())
        finally:
            for proc in procs.values():
                proc.terminate()
                proc.wait(timeout=10)
    for r in rows:
        r += [""] * (8 - len(r))
    cold = {n: summary[(n, "cold, 1 client")][0] for n in urls}
    eight = {n: summary[(n, "warm, 8 clients")][2] for n in urls}
    body = f"""Command: `.venv/bin/python bench/serve_bench.py --data {args.data} --format {args.format}` ({len(tiles)}
distinct tiles, zooms 8-14, over month {month.month} build {month.build_id}; keep-alive httpx clients
on 127.0.0.1; each server one uvicorn process with httptools/uvloop, `mosaique2` the same app with
`mosaique serve --workers 2`). Machine load average (1 min, other engineers' jobs included) at
start / after the runs / after the soak: {" / ".join(loads)} on 2 cores.

{table(rows, ["server-route", "run", "p50 ms", "p95 ms", "server CPU ms/tile", "tiles/s", "errors", "server RSS MB"])}

- Routes: `stored` `/months/{{month}}/truecolor/{{z}}/{{x}}/{{y}}.jpg`, the COG's own JPEG blocks (zoom 14,
  not stored, is rendered from the COG in the same request); `auto` `/months/{{month}}/truecolor/{{z}}/{{x}}/{{y}}`
  (the page's true colour: the stored JPEG where the tile has no no-data pixel, else a PNG with
  transparency); `dynamic` the TiTiler route of the same layer ({args.format}); `ndvi` the NDVI preset
  (expression + colormap on the reflectance layer, paletted PNG); `diff` NDVI difference tiles
  {first.month} -> {month.month} (two COGs per month).
- `server CPU ms/tile`: CPU time of the server process(es) per request, HTTP included: on this
  shared machine latency grows with other jobs' load, CPU time much less.
- Cold p50: stored {cold['mosaique-stored']:.1f} ms, dynamic {cold['mosaique-dynamic']:.1f} ms, stock TiTiler
  {cold['titiler']:.1f} ms (stored is **{cold['titiler'] / cold['mosaique-stored']:.1f}x** faster, dynamic
  **{cold['titiler'] / cold['mosaique-dynamic']:.1f}x**), static files {cold['static']:.1f} ms (stored at
  **{cold['mosaique-stored'] / cold['static']:.1f}x** the static floor). NDVI {cold['mosaique-ndvi']:.1f} ms,
  difference {cold['mosaique-diff']:.1f} ms (target <= 15 ms).
- 8 clients: stored {eight['mosaique-stored']:.0f} tiles/s with one process, {eight['mosaique2-stored']:.0f} with two;
  static files {eight['static']:.0f} (target >= 400). The clients run on the same 2 cores as the server.
- Memory: after the runs above the server held {rss_start / 1e6:.0f} MB; a first pass of {len(soak)} requests over
  every Mosaïque route (8 clients) took it to {rss_before / 1e6:.0f} MB (GDAL's block caches, at most
  `MOSAIQUE_GDAL_CACHEMAX` = 256 MB in the process's one GDAL library, and up to 16 kept-open
  readers of about 9 MB each, filling); the same {len(soak)} requests again
  ({soak_wall:.0f} s, {soak_errors} errors) to {rss_after / 1e6:.0f} MB:
  **{100 * (rss_after - rss_before) / rss_before:+.1f} %** (target < 10 %).
"""
    print(body)
    write_section("Serving", body)


if __name__ == "__main__":
    main()
