"""Tile serving benchmark: Mosaïque beside stock TiTiler and static tile files, same data, one run.

Serves one built month (default: the 10 m build left by build_bench.py) three ways on 127.0.0.1:
- Mosaïque: `mosaique serve` (uvicorn with httptools/uvloop), one process and two, on the tile
  templates `/api/months` advertises (true colour, HiDPI, every preset, differences) and the
  dynamic true-colour route for comparison;
- stock TiTiler: titiler.core's default TilerFactory (the `?url=` COG endpoint, as
  titiler.application mounts it) over the same true-colour VRT, same uvicorn;
- static files: the true-colour tiles saved as files, served by Starlette's StaticFiles on uvicorn.
Requests use keep-alive clients (httpx), cold (each tile once) then warm (again), 1 then 8
clients, then a memory soak of ``--soak`` requests. Prints a table and rewrites the "Serving"
section of docs/benchmarks.md.

    .venv/bin/python bench/serve_bench.py [--data bench/out/build/data] [--tiles 400] [--soak 20000]
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


def save_tiles(tiles: list[tuple[int, int, int]], urls: list[str], root: Path) -> None:
    """The answers of ``urls`` saved as ``root/z/x/y`` files (the static-file floor)."""
    with httpx.Client() as client:
        for (z, x, y), url in zip(tiles, urls, strict=True):
            r = client.get(url)
            if r.status_code == 200:
                path = root / str(z) / str(x) / str(y)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(r.content)


def advertised(base: str, month: str) -> dict[str, str]:
    """The tile templates /api/months hands out for a month (what map clients and the page follow)."""
    (described,) = [m for m in httpx.get(f"{base}/api/months").json() if m["month"] == month]
    links = described["links"]
    routes = {name: link["tiles"] for name, link in links["presets"].items()}
    routes["truecolor@2x"] = links["stored_2x"]
    routes["truecolor.jpg"] = links["stored_jpeg"]
    return {name: url.replace(base, "") for name, url in routes.items()}


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("bench/out/build/data"))
    parser.add_argument("--tiles", type=int, default=400, help="distinct tiles (spread over zooms 8-14)")
    parser.add_argument("--soak", type=int, default=20000, help="requests of the memory soak (8 clients; 0: none)")
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
        routes = advertised(base["mosaique"], month.month)
        pins = f"build_a={first.build_id}&build_b={month.build_id}"
        for kind in ("ndvi", "magnitude"):  # as the page asks for them
            routes[f"diff-{kind}"] = (f"/diff/{first.month}/{month.month}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png"
                                      f"?kind={kind}&{pins}")
        routes["dynamic"] = (f"/months/{month.month}/truecolor/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}"
                             f"?build={month.build_id}")
        urls = {f"mosaique-{name}": [base["mosaique"] + route.format(z=z, x=x, y=y) for z, x, y in tiles]
                for name, route in routes.items()}
        urls["mosaique2-truecolor"] = [base["mosaique2"] + routes["truecolor"].format(z=z, x=x, y=y)
                                       for z, x, y in tiles]
        # Stock TiTiler as its TileJSON hands tiles out at 256 px (format chosen per tile: JPEG, or PNG where masked).
        urls["titiler"] = [f"{base['titiler']}/cog/tiles/WebMercatorQuad/{z}/{x}/{y}?url={vrt}" for z, x, y in tiles]
        urls["static"] = [f"{base['static']}/{z}/{x}/{y}" for z, x, y in tiles]
        order = ["mosaique-truecolor", "mosaique-truecolor@2x", "mosaique-truecolor.jpg", "mosaique-dynamic",
                 "mosaique-falsecolor", "mosaique-ndvi", "mosaique-validity", "mosaique-diff-ndvi",
                 "mosaique-diff-magnitude", "titiler", "static", "mosaique2-truecolor"]
        try:
            for name in order:
                if name == "static":  # the floor: Mosaïque's true-colour answers saved as files (after its cold runs)
                    save_tiles(tiles, urls["mosaique-truecolor"], Path(tmp))
                    procs["static"] = start([sys.executable, "-c", STATIC, tmp, str(ports["static"])], base["static"])
                server = name.split("-")[0]
                rss0 = rss(procs[server])
                for label, clients in (("cold, 1 client", 1), ("warm, 1 client", 1), ("warm, 8 clients", 8)):
                    cpu0 = cpu(procs[server])
                    lat, wall, errors = run(urls[name], clients)
                    cpu_ms = (cpu(procs[server]) - cpu0) / len(lat) * 1000
                    p50, p95 = statistics.median(lat) * 1000, statistics.quantiles(lat, n=20)[18] * 1000
                    rows.append([name, label, f"{p50:.1f}", f"{p95:.1f}", f"{cpu_ms:.1f}", f"{len(lat) / wall:.0f}",
                                 str(errors)])
                    summary[(name, label)] = (p50, p95, len(lat) / wall)
                rows[-1].append(f"{rss0 / 1e6:.0f} -> {rss(procs[server]) / 1e6:.0f}")
            loads.append(load())
            soak_line = ""
            if args.soak:
                # Memory soak: the one-process server, every Mosaïque route in turn, 8 clients; a first pass fills
                # the bounded caches (GDAL's block cache), the second is measured.
                mixed = [u for group in zip(*(urls[n] for n in order if n.startswith("mosaique-")), strict=True)
                         for u in group]
                soak = (mixed * (args.soak // len(mixed) + 1))[:args.soak]
                rss_start = rss(procs["mosaique"])
                run(soak, 8)
                rss_before = rss(procs["mosaique"])
                _, soak_wall, soak_errors = run(soak, 8)
                rss_after = rss(procs["mosaique"])
                loads.append(load())
                soak_line = f"""- Memory: after the runs above the server held {rss_start / 1e6:.0f} MB; a first pass of
  {len(soak)} requests over every Mosaïque route (8 clients) took it to {rss_before / 1e6:.0f} MB, the same
  requests again ({soak_wall:.0f} s, {soak_errors} errors) to {rss_after / 1e6:.0f} MB:
  **{100 * (rss_after - rss_before) / rss_before:+.1f} %**."""
        finally:
            for proc in procs.values():
                proc.terminate()
                proc.wait(timeout=10)
    for r in rows:
        r += [""] * (8 - len(r))
    cold = {n: summary[(n, "cold, 1 client")][:2] for n in urls}
    cpu_cold = {r[0]: float(r[4]) for r in rows if r[1] == "cold, 1 client"}
    eight = {n: summary[(n, "warm, 8 clients")][2] for n in urls}
    tc, ti = cold["mosaique-truecolor"], cold["titiler"]
    others = ", ".join(f"{n.split('-', 1)[1]} {cold[n][0]:.1f} / {cold[n][1]:.1f}" for n in order[4:9])
    body = f"""Command: `.venv/bin/python bench/serve_bench.py --data {args.data}` ({len(tiles)} distinct tiles, zooms
8-14, random inside month {month.month} build {month.build_id}; differences {first.month} -> {month.month};
keep-alive httpx clients on 127.0.0.1; each server one uvicorn process with httptools/uvloop,
`mosaique2` the same app with `mosaique serve --workers 2`). Machine load average (1 min, other
engineers' jobs included) at start / after the runs{" / after the soak" * bool(args.soak)}: {" / ".join(loads)}
on 2 cores.

{table(rows, ["server-route", "run", "p50 ms", "p95 ms", "server CPU ms/tile", "tiles/s", "errors", "server RSS MB"])}

- Routes are the templates `/api/months` hands out (TileJSON and WMTS give the same): `truecolor`
  `/months/{{month}}/truecolor/{{z}}/{{x}}/{{y}}` (the stored JPEG block where every pixel is valid, a PNG
  with transparent no data elsewhere, 204 where empty; zoom {month.zoom + 1} is not stored and is rendered);
  `truecolor@2x` the HiDPI tile (512 px, the next zoom's stored pixels, decoded and encoded again);
  `truecolor.jpg` JPEG only; `dynamic` TiTiler's route of the same layer (what TileJSON used to hand out, here
  at 256 px); `falsecolor` (JPEG or PNG), `ndvi`, `validity` (paletted PNG) the presets; `diff-*` the page's
  difference tiles. `titiler`: stock TiTiler on the true-colour VRT, 256 px, its automatic format; `static`:
  the `truecolor` answers saved as files.
- `server CPU ms/tile`: CPU time of the server process(es) per request, HTTP included: on this
  shared machine latency grows with other jobs' load, CPU time much less. With a load average far
  above the 2 cores, every server's latency and throughput suffer alike: compare within the run
  (ratios to static files and stock TiTiler, CPU per tile), not with targets set on a quiet machine.
- True colour as map clients get it, cold: p50 **{tc[0]:.1f} ms**, p95 **{tc[1]:.1f} ms** (targets 3 / 10);
  static files in the same run {cold['static'][0]:.1f} / {cold['static'][1]:.1f} ms; stock TiTiler {ti[0]:.1f} /
  {ti[1]:.1f} ms: **{ti[0] / tc[0]:.1f}x** faster at p50 (target >= 10x). Server CPU per cold tile (what other jobs
  on the machine disturb least): true colour {cpu_cold['mosaique-truecolor']:.1f} ms, stock TiTiler
  {cpu_cold['titiler']:.1f} ms (**{cpu_cold['titiler'] / cpu_cold['mosaique-truecolor']:.1f}x**), static files
  {cpu_cold['static']:.1f} ms. HiDPI p50 {cold['mosaique-truecolor@2x'][0]:.1f} ms, p95
  {cold['mosaique-truecolor@2x'][1]:.1f} ms, {cpu_cold['mosaique-truecolor@2x']:.1f} ms CPU (cold: every one rendered).
- 8 clients, true colour: **{eight['mosaique-truecolor']:.0f} tiles/s** with one server process (target >= 400),
  **{eight['mosaique-truecolor'] / eight['static']:.2f}x** static files' {eight['static']:.0f} in the same run;
  {eight['mosaique2-truecolor']:.0f} with two processes, stock TiTiler {eight['titiler']:.0f}
  (**{eight['mosaique-truecolor'] / eight['titiler']:.0f}x**). The clients run on the same 2 cores.
- Presets and differences, cold p50 / p95 ms (targets 10 / 30): {others}.
{soak_line}
"""
    print(body)
    write_section("Serving", body)


if __name__ == "__main__":
    main()
