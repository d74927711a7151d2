"""Tile serving benchmark: Mosaïque beside stock TiTiler and static tile files, same data, one run.

Serves one built month (default: the 10 m build left by build_bench.py) three ways on 127.0.0.1:
- Mosaïque: `mosaique serve` (uvicorn with httptools/uvloop), true-colour tiles, both the stored
  JPEG blocks and the dynamic route;
- stock TiTiler: titiler.core's default TilerFactory (the `?url=` COG endpoint, as
  titiler.application mounts it) over the same true-colour VRT, same uvicorn;
- static files: the same tiles saved as files, served by Starlette's StaticFiles on uvicorn.
Requests use keep-alive clients (httpx), cold (each tile once) then warm (again), 1 then 8
clients. Prints a table and rewrites the "Serving" section of docs/benchmarks.md.

    .venv/bin/python bench/serve_bench.py [--data bench/out/build/data] [--tiles 400]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import morecantile
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
                errors += r.status_code not in (200, 404)
        return lat, errors

    start_t = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(worker, chunks))
    wall = time.perf_counter() - start_t
    return [x for lat, _ in results for x in lat], wall, sum(e for _, e in results)


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("bench/out/build/data"))
    parser.add_argument("--tiles", type=int, default=400, help="distinct tiles (spread over zooms 8-14)")
    parser.add_argument("--format", default="jpg", choices=["jpg", "png", "webp"])
    args = parser.parse_args()
    months = Catalog(args.data).months()
    month, first = months[-1], months[0]
    zooms = range(8, 15)
    tiles = tiles_for(month.bounds, zooms, args.tiles // len(zooms))
    bin_dir = Path(sys.executable).parent
    rows, summary = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        ports = {name: free_port() for name in ("mosaique", "titiler", "static")}
        base = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        procs = {
            "mosaique": start([str(bin_dir / "mosaique"), "serve", "--port", str(ports["mosaique"]),
                               "--data-dir", str(args.data)], f"{base['mosaique']}/healthz"),
            "titiler": start([sys.executable, "-c", VANILLA, str(ports["titiler"])], f"{base['titiler']}/docs"),
        }
        vrt = month.vrt("truecolor")
        urls = {
            "mosaique-stored": [f"{base['mosaique']}/months/{month.month}/truecolor/{z}/{x}/{y}.jpg"
                                f"?build={month.build_id}" for z, x, y in tiles],
            "mosaique-ndvi": [f"{base['mosaique']}/months/{month.month}/reflectance/tiles/WebMercatorQuad/{z}/{x}/{y}.png"
                              f"?build={month.build_id}&{PRESETS['ndvi'].query()}" for z, x, y in tiles],
            "mosaique-diff": [f"{base['mosaique']}/diff/{first.month}/{month.month}/tiles/WebMercatorQuad/{z}/{x}/{y}.png"
                              f"?kind=ndvi" for z, x, y in tiles],
            "mosaique": [f"{base['mosaique']}/months/{month.month}/truecolor/tiles/WebMercatorQuad/{z}/{x}/{y}.{args.format}"
                         f"?build={month.build_id}" for z, x, y in tiles],
            "titiler": [f"{base['titiler']}/cog/tiles/WebMercatorQuad/{z}/{x}/{y}.{args.format}?url={vrt}"
                        for z, x, y in tiles],
        }
        # Static floor: the same tiles, pre-rendered to files once.
        with httpx.Client() as client:
            for (z, x, y), url in zip(tiles, urls["mosaique"], strict=True):
                r = client.get(url)
                if r.status_code == 200:
                    path = Path(tmp) / str(z) / str(x) / f"{y}.{args.format}"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(r.content)
        procs["static"] = start([sys.executable, "-c", STATIC, tmp, str(ports["static"])], base["static"])
        urls["static"] = [f"{base['static']}/{z}/{x}/{y}.{args.format}" for z, x, y in tiles]
        try:
            for name in ("mosaique-stored", "mosaique", "mosaique-ndvi", "mosaique-diff", "titiler", "static"):
                rss0 = rss(procs[name.split("-")[0]])
                for label, clients in (("cold, 1 client", 1), ("warm, 1 client", 1), ("warm, 8 clients", 8)):
                    lat, wall, errors = run(urls[name], clients)
                    p50, p95 = statistics.median(lat) * 1000, statistics.quantiles(lat, n=20)[18] * 1000
                    rows.append([name, label, f"{p50:.1f}", f"{p95:.1f}", f"{len(lat) / wall:.0f}", str(errors)])
                    summary[(name, label)] = (p50, p95, len(lat) / wall)
                rows[-1].append(f"{rss0 / 1e6:.0f} -> {rss(procs[name.split('-')[0]]) / 1e6:.0f}")
        finally:
            for proc in procs.values():
                proc.terminate()
                proc.wait(timeout=10)
    for r in rows:
        r += [""] * (7 - len(r))
    cold = {n: summary[(n, "cold, 1 client")][0] for n in ("mosaique-stored", "mosaique", "titiler", "static")}
    body = f"""Command: `.venv/bin/python bench/serve_bench.py --data {args.data} --format {args.format}` ({len(tiles)}
distinct true-colour tiles, zooms 8-14, over month {month.month} build {month.build_id}; keep-alive
httpx clients on 127.0.0.1; each server one uvicorn process with httptools/uvloop).

{table(rows, ["server", "run", "p50 ms", "p95 ms", "tiles/s", "errors", "server RSS MB"])}

- `mosaique-stored`: `/months/{{month}}/truecolor/{{z}}/{{x}}/{{y}}.jpg`, the COG's own JPEG blocks
  (zooms the files do not hold, here 14, are redirected to the dynamic route and cost two requests);
  `mosaique`: the dynamic TiTiler route of the same layer; `mosaique-ndvi`: the NDVI preset (expression +
  colormap on the reflectance layer); `mosaique-diff`: NDVI difference tiles between {first.month} and {month.month}
  (four COG reads per tile).
- Cold p50: Mosaïque stored {cold['mosaique-stored']:.1f} ms, dynamic {cold['mosaique']:.1f} ms, stock TiTiler
  {cold['titiler']:.1f} ms (stored is **{cold['titiler'] / cold['mosaique-stored']:.1f}x** faster), static files
  {cold['static']:.1f} ms (stored at **{cold['mosaique-stored'] / cold['static']:.1f}x** the static floor).
"""
    print(body)
    write_section("Serving", body)


if __name__ == "__main__":
    main()
