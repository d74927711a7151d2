"""Load benchmark: 32 keep-alive clients on the advertised true-colour tiles, directly and through nginx.

Serves the sample months of `make run` (all 95 France tiles, 2018-07 and 2018-08, 200 m pixels;
made into ``--data`` on the first run) with `mosaique serve --workers N` (default settings) on
127.0.0.1. The clients follow what a map client follows: /api/months, the true-colour layer's
TileJSON, its tile template (whatever route it names), and ask for random tiles at zooms
``--zooms`` (from TileJSON's minzoom) over the months' published regions, each client on its own
keep-alive connection (asyncio httpx clients in ``--client-processes`` processes). /healthz is asked
every 50 ms by a separate process; the RSS of each server process is sampled every ``--sample`` s,
with what /metrics says of GDAL's block caches and the readers kept open.

- Load (default: 60 s): the load above, then, unless ``--no-nginx``, the warm comparison: nginx
  (scripts/nginx/run.sh) in front of the same server, ``--warm-tiles`` tiles fetched once through
  it (its cache and the server's filled), then the 32 clients ask for those tiles for
  ``--compare-seconds``, directly and through nginx, in turn. Writes "## Load".
- Soak (``--soak``: 1800 s, a sample every 30 s, no comparison): the load for 30 minutes; checks 0
  errors, /healthz p95 < 100 ms, RSS growth over the second half < 10 %, RSS <= 1 GB per server
  process. Writes "## Load: soak" with the RSS curve.

    .venv/bin/python bench/load_bench.py [--data bench/out/load/data] [--seconds 60] [--workers 1]
    .venv/bin/python bench/load_bench.py --soak [--seconds 1800] [--sample 30]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import morecantile
import psutil
from common import free_port, start, table, write_section
from prometheus_client.parser import text_string_to_metric_families

from mosaic.catalog import Catalog

BIN = Path(sys.executable).parent
NGINX = Path(__file__).resolve().parent.parent / "scripts" / "nginx" / "run.sh"
MONTHS = ("2018-07", "2018-08")
CLIENTS = 32
TMS = morecantile.tms.get("WebMercatorQuad")
HEALTHZ_P95_MS, SOAK_GROWTH, RSS_LIMIT = 100, 0.10, 1 << 30
OK = (200, 204)


def sample_months(data: Path) -> None:
    """The `make run` months (95 tiles, 200 m) in ``data``, unless it holds published months already."""
    if (data / "catalog.json").exists():
        if not {m.month for m in Catalog(data).months()} & set(MONTHS):
            raise SystemExit(f"{data} holds none of {', '.join(MONTHS)}")
        return
    inputs = data.parent / "inputs"
    subprocess.run([str(BIN / "mosaique"), "sample", "--months", ",".join(MONTHS), "--pixel-size", "200", "--zip",
                    "--out", str(inputs)], check=True)
    for month in MONTHS:
        proc = subprocess.run([str(BIN / "mosaique"), "build", "--month", month, "--input", str(inputs),
                               "--data-dir", str(data), "--no-progress"])
        if proc.returncode not in (0, 3):
            raise SystemExit(f"build of {month} failed")


def advertised(base: str, data: Path, zooms: range) -> list[dict]:
    """Per month: the true-colour tile template found through /api/months and TileJSON, its zooms
    (``zooms`` from TileJSON's minzoom on) and the month's published regions."""
    regions = {m.month: sorted(m.regions) for m in Catalog(data).months()}
    layers = []
    with httpx.Client(timeout=60) as http:
        for month in http.get(f"{base}/api/months").raise_for_status().json():
            if month["month"] in MONTHS:
                tilejson = http.get(month["links"]["layers"]["truecolor"]["tilejson"]).raise_for_status().json()
                layers.append({"template": tilejson["tiles"][0], "regions": regions[month["month"]],
                               "zooms": [z for z in zooms if z >= tilejson.get("minzoom", 0)]})
    return layers


def random_tile(layers: list[dict], rng: random.Random) -> str:
    """The URL of a random tile over one month's regions."""
    layer = rng.choice(layers)
    z, x, y = map(int, rng.choice(layer["regions"]).split("-"))
    w, s, e, n = TMS.bounds(x, y, z)
    tile = TMS.tile(rng.uniform(w, e), rng.uniform(s, n), rng.choice(layer["zooms"]))
    return layer["template"].format(z=tile.z, x=tile.x, y=tile.y)


async def _client(urls: list[str] | None, layers: list[dict], seed: int, until: float, out: dict) -> None:
    """One keep-alive client asking until ``until`` (random tiles, or ``urls`` at random)."""
    rng = random.Random(seed)
    async with httpx.AsyncClient(timeout=60) as http:
        while time.time() < until:
            url = rng.choice(urls) if urls else random_tile(layers, rng)
            t = time.perf_counter()
            try:
                r = await http.get(url)
                status, cache = r.status_code, r.headers.get("x-cache-status")
            except httpx.HTTPError as exc:
                status, cache = type(exc).__name__, None
            out["seconds"].append(time.perf_counter() - t)
            out["status"][status] += 1
            if cache:
                out["cache"][cache] += 1


def clients(n: int, first_seed: int, urls: list[str] | None, layers: list[dict], ready: mp.Semaphore, go: mp.Event,
            seconds: float, queue: mp.Queue) -> None:
    """``n`` clients in one process, from when ``go`` is set for ``seconds``; puts their results."""
    out = {"seconds": [], "status": Counter(), "cache": Counter()}
    ready.release()
    go.wait()

    async def run() -> None:
        until = time.time() + seconds
        await asyncio.gather(*(_client(urls, layers, first_seed + i, until, out) for i in range(n)))

    asyncio.run(run())
    queue.put(out)


def probe(base: str, ready: mp.Semaphore, stop: mp.Event, queue: mp.Queue) -> None:
    """/healthz every 50 ms on one keep-alive connection until stopped; puts (latencies, failures)."""
    latencies, failures = [], 0
    with httpx.Client(base_url=base, timeout=30) as http:
        http.get("/healthz")  # connected: the latencies are those of a kept-alive connection
        ready.release()
        while not stop.is_set():
            t = time.perf_counter()
            try:
                http.get("/healthz").raise_for_status()
                latencies.append(time.perf_counter() - t)
            except httpx.HTTPError:
                failures += 1
            time.sleep(0.05)
    queue.put((latencies, failures))


def rss(server: subprocess.Popen) -> list[int]:
    """RSS of each process of the server (with several workers: the supervisor first)."""
    root = psutil.Process(server.pid)
    return [p.memory_info().rss for p in [root, *root.children(recursive=True)]]


def held(base: str) -> tuple[float, float]:
    """GDAL's block caches (bytes, all libraries) and the kept readers, from /metrics (one worker's)."""
    text = httpx.get(f"{base}/metrics", timeout=60).text
    values = {"mosaique_gdal_block_cache_bytes": 0.0, "mosaique_kept_readers": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in values:
                values[sample.name] += sample.value
    return values["mosaique_gdal_block_cache_bytes"], values["mosaique_kept_readers"]


def snapshot(server: subprocess.Popen, base: str, t: float) -> tuple:
    """(seconds, RSS per process, GDAL block caches, kept readers)."""
    return (t, rss(server), *held(base))


def run_load(urls: list[str] | None, layers: list[dict], seconds: float, procs: int,
             server: subprocess.Popen | None = None, sample: float = 5, healthz: str | None = None) -> dict:
    """32 clients for ``seconds``; their latencies and statuses, /healthz latencies and RSS samples."""
    ctx = mp.get_context("spawn")
    go, queue, stop, ready = ctx.Event(), ctx.Queue(), ctx.Event(), ctx.Semaphore(0)
    shares = [CLIENTS // procs + (i < CLIENTS % procs) for i in range(procs)]
    workers = [ctx.Process(target=clients, args=(n, 1000 * i, urls, layers, ready, go, seconds, queue))
               for i, n in enumerate(shares)]
    prober = ctx.Process(target=probe, args=(healthz, ready, stop, queue)) if healthz else None
    for p in [*workers, *([prober] if prober else [])]:
        p.start()
    for _ in [*workers, *([prober] if prober else [])]:
        ready.acquire(timeout=120)
    samples = [snapshot(server, healthz, 0.0)] if server else []
    load_before, t0 = os.getloadavg()[0], time.perf_counter()
    go.set()
    while any(p.is_alive() for p in workers) and time.perf_counter() - t0 < seconds:
        time.sleep(min(sample, max(0.1, seconds - (time.perf_counter() - t0))))
        if server and time.perf_counter() - t0 < seconds + 1:
            samples.append(snapshot(server, healthz, time.perf_counter() - t0))
    results = [queue.get(timeout=120) for _ in workers]
    wall = time.perf_counter() - t0
    hz, hz_failures = [], 0
    if prober:
        stop.set()
        hz, hz_failures = queue.get(timeout=60)
    for p in [*workers, *([prober] if prober else [])]:
        p.join()
    merged = {"seconds": [s for r in results for s in r["seconds"]], "status": sum((r["status"] for r in results),
              Counter()), "cache": sum((r["cache"] for r in results), Counter())}
    return {**merged, "template": (urls or [layers[0]["template"]])[0], "wall": wall, "healthz": hz,
            "healthz_failures": hz_failures, "rss": samples, "load": (load_before, os.getloadavg()[0])}


def ms(values: list[float], q: int) -> str:
    """The q-th percentile in ms."""
    return f"{statistics.quantiles(values, n=100)[q - 1] * 1000:.1f}" if len(values) > 1 else "-"


def errors(run: dict) -> int:
    """Answers other than 200/204, and transport failures."""
    return sum(n for status, n in run["status"].items() if status not in OK)


def row(name: str, run: dict) -> list[str]:
    """One table row: requests, errors, req/s, p50, p95."""
    lat = run["seconds"]
    return [name, str(len(lat)), str(errors(run)), f"{len(lat) / run['wall']:.0f}", ms(lat, 50), ms(lat, 95)]


def memory(run: dict) -> tuple[str, dict]:
    """The RSS curve as a table, and its figures: max per process, growth over the second half."""
    samples = run["rss"]
    half = min(samples, key=lambda s: abs(s[0] - samples[-1][0] / 2))
    figures = {"max_process": max(max(s[1]) for s in samples), "first": sum(samples[0][1]),
               "half": sum(half[1]), "end": sum(samples[-1][1])}
    figures["growth"] = figures["end"] / figures["half"] - 1
    rows = [[f"{t:.0f}", " + ".join(f"{b / 1e6:.0f}" for b in r), f"{sum(r) / 1e6:.0f}", f"{cache / 1e6:.0f}",
             f"{kept:.0f}"] for t, r, cache, kept in samples]
    return table(rows, ["s into the load", "RSS MB per process", "total MB", "GDAL block caches MB",
                        "readers kept"]), figures


def compare(base: str, layers_direct: list[dict], layers_nginx: list[dict], n: int, seconds: float,
            procs: int) -> list[list[str]]:
    """The warm comparison: ``n`` tiles fetched once through nginx, then asked for directly and through it."""
    rng = random.Random(12345)
    picks = [random_tile(layers_direct, rng) for _ in range(n)]
    direct_base = layers_direct[0]["template"].split("/months/")[0]
    nginx_base = layers_nginx[0]["template"].split("/months/")[0]
    via_nginx = [u.replace(direct_base, nginx_base) for u in picks]
    with httpx.Client(timeout=60) as http:
        for url in dict.fromkeys(via_nginx):
            http.get(url)
    direct = run_load(picks, layers_direct, seconds, procs)
    proxied = run_load(via_nginx, layers_nginx, seconds, procs)
    hits = proxied["cache"]["HIT"] / max(1, sum(proxied["cache"].values()))
    return [row("direct (warm)", direct), row(f"through nginx (warm, {hits:.0%} HIT)", proxied)]


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("bench/out/load/data"))
    parser.add_argument("--soak", action="store_true", help="30-minute soak: --seconds 1800 --sample 30, no nginx")
    parser.add_argument("--seconds", type=float, default=None, help="load duration [60; soak 1800]")
    parser.add_argument("--sample", type=float, default=None, help="seconds between RSS samples [5; soak 30]")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--zooms", default="5-14", help="zooms asked for (from TileJSON's minzoom on)")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--no-nginx", action="store_true", help="skip the warm comparison through nginx")
    parser.add_argument("--warm-tiles", type=int, default=2000)
    parser.add_argument("--compare-seconds", type=float, default=20)
    args = parser.parse_args()
    seconds = args.seconds or (1800 if args.soak else 60)
    sample = args.sample or (30 if args.soak else 5)
    lo, hi = map(int, args.zooms.split("-"))
    sample_months(args.data)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start([str(BIN / "mosaique"), "serve", "--port", str(port), "--workers", str(args.workers),
                    "--data-dir", str(args.data)], f"{base}/healthz")
    nginx = None
    try:
        layers = advertised(base, args.data, range(lo, hi + 1))
        idle = probe_only(base, 5)
        run = run_load(None, layers, seconds, args.client_processes, server, sample, healthz=base)
        comparison: list[list[str]] = []
        if not args.soak and not args.no_nginx:
            nginx_port = free_port()
            os.environ.update(MOSAIQUE_UPSTREAM=f"127.0.0.1:{port}", MOSAIQUE_NGINX_LISTEN=f"127.0.0.1:{nginx_port}")
            prefix = tempfile.mkdtemp(prefix="nginx-", dir=args.data.parent)
            nginx = start([str(NGINX), prefix], f"http://127.0.0.1:{nginx_port}/healthz")
            layers_nginx = advertised(f"http://127.0.0.1:{nginx_port}", args.data, range(lo, hi + 1))
            comparison = compare(base, layers, layers_nginx, args.warm_tiles, args.compare_seconds,
                                 args.client_processes)
    finally:
        if nginx:
            nginx.terminate()
            nginx.wait(timeout=30)
            shutil.rmtree(prefix)
        server.terminate()
        server.wait(timeout=30)
    report(args, seconds, sample, run, idle, comparison)


def probe_only(base: str, seconds: float) -> list[float]:
    """/healthz latencies with no load: the machine's own floor."""
    ctx = mp.get_context("spawn")
    stop, queue, ready = ctx.Event(), ctx.Queue(), ctx.Semaphore(0)
    prober = ctx.Process(target=probe, args=(base, ready, stop, queue))
    prober.start()
    ready.acquire(timeout=120)
    time.sleep(seconds)
    stop.set()
    latencies, _ = queue.get(timeout=60)
    prober.join()
    return latencies


def report(args: argparse.Namespace, seconds: float, sample: float, run: dict, idle: list[float],
           comparison: list[list[str]]) -> None:
    """Print the figures and write them into docs/benchmarks.md."""
    curve, mem = memory(run)
    hz = run["healthz"]
    header = ["clients on", "requests", "errors", "req/s", "p50 ms", "p95 ms"]
    rows = [row(f"server, random tiles ({args.workers} worker(s))", run),
            ["/healthz probe, under the load", str(len(hz)), str(run["healthz_failures"]), "", ms(hz, 50), ms(hz, 95)],
            ["/healthz probe, no load (before)", str(len(idle)), "0", "", ms(idle, 50), ms(idle, 95)]]
    checks = {
        "0 errors": errors(run) == 0 and run["healthz_failures"] == 0,
        f"/healthz p95 < {HEALTHZ_P95_MS} ms": len(hz) > 1 and float(ms(hz, 95)) < HEALTHZ_P95_MS,
        f"RSS growth over the second half < {SOAK_GROWTH:.0%}": mem["growth"] < SOAK_GROWTH,
        "RSS <= 1 GB per server process": mem["max_process"] <= RSS_LIMIT,
    }
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(run["status"].items(), key=str))
    before, after = run["load"]
    command = " ".join(sys.argv[1:])
    template = run["template"].split("/months/", 1)[1]
    body = f"""Command: `.venv/bin/python bench/load_bench.py {command}` on commit {commit()}: {CLIENTS} keep-alive
clients ({args.client_processes} processes of asyncio httpx clients, on the same 2-core machine as the server, shared
with other engineers: load average {before:.1f} at the start, {after:.1f} at the end) for {seconds:.0f} s on the
true-colour tiles that /api/months -> TileJSON advertise (`{template}`), random tiles at zooms
{args.zooms} over the regions of {", ".join(MONTHS)} in `{args.data}`; /healthz asked every 50 ms by a
separate process; the server's RSS sampled every {sample:.0f} s, with GDAL's block caches and the readers kept
open from its /metrics; default settings.

{table(rows, header)}

Statuses: {statuses}. Checks: {"; ".join(f"{name} {'yes' if ok else 'NO'}" for name, ok in checks.items())}
(RSS: max {mem["max_process"] / 1e6:.0f} MB per process; total {mem["first"] / 1e6:.0f} MB at the start,
{mem["half"] / 1e6:.0f} MB half-way, {mem["end"] / 1e6:.0f} MB at the end: {mem["growth"]:+.1%} over the second half).
"""
    if comparison:
        body += f"""
Warm, through nginx (scripts/nginx/run.sh, Debian's nginx) and directly, same run, same server: {args.warm_tiles}
random tiles fetched once through nginx, then {CLIENTS} clients asking for them for {args.compare_seconds:.0f} s
each way (the clients, not nginx, are the limit of the nginx row on this machine):

{table(comparison, header)}
"""
    body += f"\nRSS curve:\n\n{curve}\n"
    print(body)
    write_section("Load: soak" if args.soak else "Load", body)


def commit() -> str:
    """The current commit (short)."""
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    main()
