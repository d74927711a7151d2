"""Load benchmark: 32 keep-alive clients for 60 s against `mosaique serve`, /healthz probed meanwhile.

Serves the sample months of `make run` (all 95 France tiles, 2018-07 and 2018-08, 200 m pixels;
made into ``--data`` on the first run) with `mosaique serve --workers N` on 127.0.0.1, for each N
of ``--workers``. 32 asyncio clients, each with its own keep-alive httpx client, ask for random
tiles at zooms 5-14 over the published regions (stored JPEG, dynamic true colour, NDVI preset,
NDVI difference between the two months), point time series and TileJSON, with build-pinned
URLs as the page does, for ``--seconds`` and at least ``--requests`` requests. A separate
process asks /healthz every 50 ms on its own keep-alive connection. Reports requests, errors
(any answer but 200/204, or none), req/s, p50/p95 per kind, /healthz latency, and the RSS of
the server's processes (sum) before the load, after a 10 s warm-up, after 20 000 requests and
at the end. Prints a table and rewrites the "Load" section of docs/benchmarks.md.

    .venv/bin/python bench/load_bench.py [--data bench/out/load/data] [--seconds 60] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import morecantile
from common import free_port, rss, start, table, write_section

from mosaic.catalog import Catalog, Month

BIN = Path(sys.executable).parent
MONTHS = ("2018-07", "2018-08")
KINDS = {"stored": 30, "truecolor": 15, "ndvi": 20, "difference": 10, "point": 15, "tilejson": 10}
"""Request kinds and their weights in the mix."""
CLIENTS = 32
ZOOMS = range(5, 15)
WARMUP_S = 10.0
IDLE_PROBE_S = 5.0
MARK = 20_000
TMS = morecantile.tms.get("WebMercatorQuad")


def sample_months(data: Path) -> None:
    """The `make run` months (95 tiles, 200 m) in ``data``, unless already there."""
    if {m.month for m in Catalog(data).months()} >= set(MONTHS):
        return
    inputs = data.parent / "inputs"
    subprocess.run([str(BIN / "mosaique"), "sample", "--months", ",".join(MONTHS), "--pixel-size", "200", "--zip",
                    "--out", str(inputs)], check=True)
    for month in MONTHS:
        proc = subprocess.run([str(BIN / "mosaique"), "build", "--month", month, "--input", str(inputs),
                               "--data-dir", str(data), "--no-progress"])
        if proc.returncode not in (0, 3):
            raise SystemExit(f"build of {month} failed")


class Requests:
    """Random requests of every kind over the published regions of the months."""

    def __init__(self, months: list[Month], seed: int) -> None:
        self.months = months
        self.rng = random.Random(seed)
        self.regions = {m.month: sorted(m.regions) for m in months}

    def _place(self, month: Month) -> tuple[float, float]:
        """A random lon/lat inside one of the month's regions."""
        z, x, y = map(int, self.rng.choice(self.regions[month.month]).split("-"))
        w, s, e, n = TMS.bounds(x, y, z)
        return self.rng.uniform(w, e), self.rng.uniform(s, n)

    def next(self) -> tuple[str, str]:
        """(kind, path) of one request."""
        kind = self.rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
        month = self.rng.choice(self.months)
        lon, lat = self._place(month)
        tile = TMS.tile(lon, lat, self.rng.choice(ZOOMS))
        zxy, pin = f"{tile.z}/{tile.x}/{tile.y}", f"build={month.build_id}"
        first, last = self.months[0], self.months[-1]
        return kind, {
            "stored": f"/months/{month.month}/truecolor/{zxy}.jpg?{pin}",
            "truecolor": f"/months/{month.month}/truecolor/tiles/WebMercatorQuad/{zxy}.png?{pin}",
            "ndvi": f"/months/{month.month}/reflectance/tiles/WebMercatorQuad/{zxy}.png?{pin}"
                    "&expression=(b4-b3)/(b4%2Bb3)&rescale=-0.2,0.9&colormap_name=rdylgn",
            "difference": f"/diff/{first.month}/{last.month}/tiles/WebMercatorQuad/{zxy}.png?kind=ndvi"
                          f"&build_a={first.build_id}&build_b={last.build_id}",
            "point": f"/api/point/{lon:.5f},{lat:.5f}",
            "tilejson": f"/months/{month.month}/reflectance/WebMercatorQuad/tilejson.json?{pin}"
                        "&tilesize=256&tile_format=png&expression=(b4-b3)/(b4%2Bb3)&rescale=-0.2,0.9",
        }[kind]


async def client(base: str, requests: Requests, results: list, stop: asyncio.Event) -> None:
    """One keep-alive client asking until stopped; appends (kind, seconds, ok)."""
    async with httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=True) as http:
        while not stop.is_set():
            kind, path = requests.next()
            t = time.perf_counter()
            try:
                ok = (await http.get(path)).status_code in (200, 204)
            except httpx.HTTPError:
                ok = False
            results.append((kind, time.perf_counter() - t, ok))


def probing(base: str, seconds: float) -> list[float]:
    """/healthz latencies (s) every 50 ms for ``seconds``, from a process of its own."""
    ctx = mp.get_context("spawn")
    stop, out = ctx.Event(), ctx.Queue()
    prober = ctx.Process(target=probe, args=(base, stop, out))
    prober.start()
    time.sleep(seconds)
    stop.set()
    latencies = out.get(timeout=30)
    prober.join()
    return latencies


def probe(base: str, stop: mp.Event, out: mp.Queue) -> None:
    """/healthz every 50 ms on one keep-alive connection until stopped; puts the latencies (s)."""
    latencies = []
    with httpx.Client(base_url=base, timeout=30) as http:
        while not stop.is_set():
            t = time.perf_counter()
            http.get("/healthz").raise_for_status()
            latencies.append(time.perf_counter() - t)
            time.sleep(0.05)
    out.put(latencies)


async def load(base: str, months: list[Month], server: subprocess.Popen, seconds: float, at_least: int) -> dict:
    """The load phase: results per request, /healthz latencies, RSS samples."""
    idle = await asyncio.to_thread(probing, base, IDLE_PROBE_S)  # the floor: /healthz with no load
    ctx = mp.get_context("spawn")
    probe_stop, probe_out = ctx.Event(), ctx.Queue()
    prober = ctx.Process(target=probe, args=(base, probe_stop, probe_out))
    prober.start()
    load_before = os.getloadavg()[0]
    results: list[tuple[str, float, bool]] = []
    stop = asyncio.Event()
    memory = {"idle": rss(server)}
    t0 = time.perf_counter()
    tasks = [asyncio.create_task(client(base, Requests(months, seed), results, stop)) for seed in range(CLIENTS)]
    while (elapsed := time.perf_counter() - t0) < seconds or (len(results) < at_least and elapsed < 8 * seconds):
        await asyncio.sleep(0.25)
        if "warm" not in memory and elapsed >= WARMUP_S:
            memory["warm"] = rss(server)
        if f"{MARK}" not in memory and len(results) >= MARK:
            memory[f"{MARK}"] = rss(server)
    stop.set()
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - t0
    memory["end"] = rss(server)
    probe_stop.set()
    healthz = probe_out.get(timeout=30)
    prober.join()
    return {"results": results, "wall": wall, "healthz": healthz, "idle": idle, "memory": memory,
            "load": (load_before, os.getloadavg()[0])}


def ms(values: list[float], q: int) -> str:
    """The q-th percentile in ms."""
    return f"{statistics.quantiles(values, n=100)[q - 1] * 1000:.1f}" if len(values) > 1 else "-"


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("bench/out/load/data"))
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--requests", type=int, default=MARK, help="go on past --seconds until this many")
    parser.add_argument("--workers", default="1,2", help="server processes to try, comma-separated")
    args = parser.parse_args()
    sample_months(args.data)
    months = [m for m in Catalog(args.data).months() if m.month in MONTHS]
    rows, notes = [], []
    for workers in map(int, args.workers.split(",")):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start([str(BIN / "mosaique"), "serve", "--port", str(port), "--workers", str(workers),
                        "--data-dir", str(args.data)], f"{base}/healthz")
        try:
            run = asyncio.run(load(base, months, server, args.seconds, args.requests))
        finally:
            server.terminate()
            server.wait(timeout=30)
        results, wall, mem = run["results"], run["wall"], run["memory"]
        for kind in KINDS:
            lat = [s for k, s, _ in results if k == kind]
            errors = sum(not ok for k, _, ok in results if k == kind)
            rows.append([str(workers), kind, str(len(lat)), str(errors), f"{len(lat) / wall:.0f}",
                         ms(lat, 50), ms(lat, 95)])
        every = [s for _, s, _ in results]
        errors = sum(not ok for *_, ok in results)
        rows.append([str(workers), "**all**", str(len(results)), str(errors), f"{len(results) / wall:.0f}",
                     ms(every, 50), ms(every, 95)])
        hz, idle = run["healthz"], run["idle"]
        rows.append([str(workers), "/healthz probe", str(len(hz)), "0", "", ms(hz, 50), ms(hz, 95)])
        rows.append([str(workers), "/healthz, no load (before)", str(len(idle)), "0", "", ms(idle, 50), ms(idle, 95)])
        marks = " -> ".join(f"{k} {v / 1e6:.0f}" for k, v in mem.items())
        growth = {k: (mem[k] / mem["warm"] - 1) * 100 for k in (f"{MARK}", "end") if k in mem}
        before, after = run["load"]
        notes.append(f"- {workers} worker(s), machine load average {before:.1f} at the start, {after:.1f} "
                     f"at the end: {len(results)} requests in {wall:.0f} s, {errors} errors; /healthz p95 "
                     f"{ms(hz, 95)} ms, max {max(hz) * 1000:.0f} ms; server RSS MB (all processes) {marks}; growth "
                     "after warm-up: " + ", ".join(f"to {k} {v:+.1f} %" for k, v in growth.items())
                     + f" (from idle to end {(mem['end'] / mem['idle'] - 1) * 100:+.1f} %)")
        print(table(rows, ["workers", "kind", "requests", "errors", "req/s", "p50 ms", "p95 ms"]))
        print("\n".join(notes))
    load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    body = f"""Command: `.venv/bin/python bench/load_bench.py --data {args.data} --seconds {args.seconds:.0f} --workers
{args.workers}` ({CLIENTS} asyncio clients, each its own keep-alive httpx client, on the same 2-core machine as the
server; random tiles at zooms {ZOOMS.start}-{ZOOMS.stop - 1} over the regions of {", ".join(MONTHS)} (95 France
tiles, 200 m, stored up to zoom {months[0].zoom}: stored JPEGs above it are rendered from the COG in the same request);
mix {", ".join(f"{k} {v} %" for k, v in KINDS.items())}; /healthz asked every 50 ms by a separate process,
also for {IDLE_PROBE_S:.0f} s before the load: the machine's own floor; other engineers share the machine, load
average at the end {load_avg}).

{table(rows, ["workers", "kind", "requests", "errors", "req/s", "p50 ms", "p95 ms"])}

{chr(10).join(notes)}
- Errors count any answer other than 200/204 (after following redirects) and transport failures. RSS is
  summed over the server's processes (with 2 workers: the supervisor and both workers); "warm" is taken
  {WARMUP_S:.0f} s into the load; GDAL's block caches and kept readers may still be filling then.
"""
    print(body)
    write_section("Load", body)


if __name__ == "__main__":
    main()
