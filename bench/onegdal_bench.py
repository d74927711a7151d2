"""One libgdal per process (issue 16): setup, build and tile figures before and after, in one run.

"Before" is a checkout whose setup installs rasterio's wheel (its own GDAL 3.10 beside osgeo's
system GDAL 3.6); "after" is this checkout (rasterio built against the system GDAL). Each gets a
fresh virtualenv made by its own scripts/setup.sh (timed; "after" twice: with rasterio to
compile, then with the wheel pip cached). Then the same products are built by both, alternately,
and one built month is served by both at once, tiles requested alternately (CPU seconds of the
server process, less sensitive to the shared machine's load than wall time) and the server's
RSS taken after. Writes the "One GDAL" section of docs/benchmarks.md.

    .venv/bin/python bench/onegdal_bench.py --before /work/wt-onegdal-before
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import morecantile
from common import free_port, rss, start, table, write_section
from serve_bench import cpu, load, run

from mosaic.catalog import Catalog

ROOT = Path(__file__).resolve().parent.parent
MONTH = "2018-07"


def children_cpu() -> float:
    """CPU seconds of the waited-for children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], **kw: object) -> tuple[float, float]:
    """Run a command to its end: (wall s, CPU s of it and its children)."""
    cpu0, t0 = children_cpu(), time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)  # noqa: S603 - our own commands
    return time.perf_counter() - t0, children_cpu() - cpu0


def setup(checkout: Path, venv: Path) -> tuple[float, float]:
    """A fresh virtualenv by the checkout's own setup script."""
    shutil.rmtree(venv, ignore_errors=True)
    return timed([str(checkout / "scripts" / "setup.sh")], env={**os.environ, "VENV": str(venv)})


def build(venv: Path, inputs: Path, data: Path) -> tuple[float, float]:
    """Build the month from scratch."""
    shutil.rmtree(data, ignore_errors=True)
    return timed([str(venv / "bin" / "mosaique"), "build", "--month", MONTH, "--input", str(inputs),
                  "--data-dir", str(data), "--no-progress"], env={**os.environ, "MOSAIQUE_LOG_LEVEL": "WARNING"})


def tile_urls(base: str, bounds: tuple[float, ...], zooms: range, per_zoom: int) -> dict[str, list[str]]:
    """Random tiles, the same for both servers: "dynamic" (true-colour and false-colour PNG rendered
    by TiTiler) and "stored" (the pre-rendered true colour, up to the month's zoom)."""
    tms, rng = morecantile.tms.get("WebMercatorQuad"), random.Random(0)
    urls: dict[str, list[str]] = {"dynamic": [], "stored": []}
    for z in zooms:
        tiles = list(tms.tiles(*bounds, [z]))
        for t in rng.sample(tiles, min(per_zoom, len(tiles))):
            urls["dynamic"].append(f"{base}/months/{MONTH}/truecolor/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}.png")
            urls["dynamic"].append(f"{base}/months/{MONTH}/reflectance/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}.png"
                                   "?bidx=4&bidx=3&bidx=2&rescale=0,5000")
            if z <= zooms[-1] - 1:
                urls["stored"].append(f"{base}/months/{MONTH}/truecolor/{t.z}/{t.x}/{t.y}")
    urls["stored"] *= 3  # a few hundred requests: a stored tile takes about a millisecond of CPU
    return urls


def main() -> None:
    """Run everything and write the section."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="checkout of the code before")
    parser.add_argument("--work", type=Path, default=Path("/tmp/onegdal-bench"))
    parser.add_argument("--tiles", default="T31TCJ,T31TDJ,T31TCH,T31TDH")
    parser.add_argument("--pixel-size", type=int, default=100)
    parser.add_argument("--per-zoom", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--reuse-venvs", action="store_true", help="no setup: the virtualenvs of a previous run")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    venvs = {"before": args.work / "venv-before", "after": args.work / "venv-after"}
    loads = [load()]

    setups = {}
    if not args.reuse_venvs:
        setups["before"] = setup(args.before, venvs["before"])
        subprocess.run([sys.executable, "-m", "pip", "cache", "remove", "rasterio"], check=False, capture_output=True)
        setups["after, rasterio compiled"] = setup(ROOT, venvs["after"])
        setups["after, rasterio wheel cached"] = setup(ROOT, venvs["after"])
        loads.append(load())

    inputs = args.work / "inputs"
    if not inputs.exists():
        subprocess.run([str(venvs["after"] / "bin" / "mosaique"), "sample", "--tiles", args.tiles, "--months", MONTH,
                        "--pixel-size", str(args.pixel_size), "--out", str(inputs)], check=True,
                       stdout=subprocess.DEVNULL)
    builds: dict[str, list[tuple[float, float]]] = {name: [] for name in venvs}
    for _ in range(args.rounds):
        for name, venv in venvs.items():
            builds[name].append(build(venv, inputs, args.work / f"data-{name}"))
    loads.append(load())

    data = args.work / "data-after"
    month = Catalog(data).get(MONTH)
    servers, urls = {}, {}
    for name, venv in venvs.items():
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        servers[name] = start([str(venv / "bin" / "mosaique"), "serve", "--port", str(port), "--data-dir", str(data)],
                              f"{base}/healthz")
        urls[name] = tile_urls(base, month.bounds, range(month.region_zoom - 2, month.zoom + 2), args.per_zoom)
    try:
        passes: dict[tuple[str, str], list[tuple[float, float, int]]] = {}  # CPU s, wall s, errors
        for kind in ("stored", "dynamic"):
            for _ in range(1 + args.rounds):  # the first pass is cold (files opened, blocks read)
                for name, server in servers.items():
                    cpu0 = cpu(server)
                    _, wall, errors = run(urls[name][kind], clients=4)
                    passes.setdefault((kind, name), []).append((cpu(server) - cpu0, wall, errors))
        memory = {name: rss(server) for name, server in servers.items()}
    finally:
        for server in servers.values():
            server.terminate()
            server.wait()
    loads.append(load())

    rows = [[f"setup, fresh virtualenv ({name})", f"{wall:.0f} s", f"{cpu_s:.0f} s"] for name, (wall, cpu_s) in
            setups.items()]
    for name, runs in builds.items():
        rows.append([f"build {len(args.tiles.split(','))} products at {args.pixel_size} m ({name}), best of "
                     f"{len(runs)}", f"{min(w for w, _ in runs):.1f} s", f"{min(c for _, c in runs):.1f} s"])
    for (kind, name), runs in passes.items():
        cold, warm, n = runs[0], runs[1:], len(urls[name][kind])
        rows.append([f"{n} {kind} tiles, cold ({name})", f"{cold[1]:.1f} s", f"{cold[0]:.2f} s"])
        rows.append([f"{n} {kind} tiles, warm ({name}), median of {len(warm)}",
                     f"{statistics.median(w for _, w, _ in warm):.1f} s",
                     f"{statistics.median(c for c, _, _ in warm):.2f} s"])
    errors = sum(e for runs in passes.values() for *_, e in runs)
    body = "\n".join([
        "`bench/onegdal_bench.py`: the code before (rasterio's wheel with its own GDAL 3.10, beside the",
        "system GDAL 3.6 of osgeo) against rasterio built from source on the system GDAL 3.6.2, one run,",
        f"alternating. Load average (1 min) during the run: {' / '.join(loads)} on 2 cores (shared).",
        "",
        table(rows, ["what", "wall", "CPU"]),
        "",
        f"Server RSS after the tiles (one process, default `MOSAIQUE_GDAL_CACHEMAX` 256 MB): before "
        f"{memory['before'] / 2**20:.0f} MB, after {memory['after'] / 2**20:.0f} MB. Tile errors: {errors}.",
        "Dynamic tiles: true-colour PNG and false-colour (B8/B4/B3 rescaled) PNG rendered by TiTiler, random",
        f"tiles of zooms {month.region_zoom - 2}-{month.zoom + 1}; stored tiles: the pre-rendered true colour of",
        f"the same tiles up to zoom {month.zoom}. 4 keep-alive clients, the same URLs for both servers.",
    ])
    print(body)
    write_section("One GDAL (issue 16)", body)
    for name in ("before", "after"):
        shutil.rmtree(args.work / f"data-{name}", ignore_errors=True)


if __name__ == "__main__":
    main()
