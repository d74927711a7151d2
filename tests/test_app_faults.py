"""Faults under a real server on 127.0.0.1: a month republished under it, the data directory
briefly missing, an HTTP data store that fails, cuts bodies short, stalls or crawls.

Each answer is a clean 200/204, 404 or 503 with Retry-After (never another 5xx), within bounded
time; /healthz keeps answering quickly throughout (a probe asks it every 20 ms); service comes
back once the fault ends, without a restart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import anyio
import anyio.to_thread
import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from mosaic.build import BuildOptions, build_month
from tests.helpers import free_port, published_months, running

MONTH = "2018-07"
Z, X, Y = 7, 64, 46  # a region tile over Toulouse: data in every layer
HEALTHZ_P95_S, HEALTHZ_MAX_S = 0.5, 2.5  # "not held up" on a busy shared machine: a stall is 1-3 s


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 2000 m: zoom 7, one 256 px block per region file, as the fault cases below were written for.
    return published_months(tmp_path_factory.mktemp("faults"), ["T31TCJ", "T31TDJ"], [MONTH], pixel_size=2000)


@contextmanager
def serve(data_dir: str, **settings: object) -> Iterator[str]:
    """`mosaique serve` on a free port, with MOSAIQUE_* settings; yields its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, **{f"MOSAIQUE_{k.upper()}": str(v) for k, v in settings.items()}}
    with running([sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--data-dir", data_dir],
                 f"{url}/healthz", env=env):
        yield url


class Loop(threading.Thread):
    """A keep-alive client asking for URLs in a loop until stopped; records (url, status, retry-after, seconds)."""

    def __init__(self, base: str, paths: list[str]) -> None:
        super().__init__(daemon=True)
        self.base, self.paths = base, paths
        self.results: list[tuple[str, int, str | None, float]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as client:
            while not self.stopping.is_set():
                for path in self.paths:
                    start = time.perf_counter()
                    r = client.get(path)
                    seconds = time.perf_counter() - start
                    self.results.append((path, r.status_code, r.headers.get("retry-after"), seconds))

    def stop(self) -> list[tuple[str, int, str | None, float]]:
        self.stopping.set()
        self.join(timeout=60)
        return self.results


PROBE = """
import json, signal, sys, time, httpx
stopping = []
signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
seconds = []
with httpx.Client(timeout=30) as client:
    while not stopping:
        start = time.perf_counter()
        client.get(sys.argv[1]).raise_for_status()
        seconds.append(time.perf_counter() - start)
        if len(seconds) == 1:
            print("ready", flush=True)
        time.sleep(0.02)
print(json.dumps(seconds))
"""


@contextmanager
def load(base: str, paths: list[str], clients: int = 3) -> Iterator[list[Loop]]:
    """Clients fetching ``paths`` in a loop, and a /healthz probe in a process of its own, during the block."""
    probe = subprocess.Popen([sys.executable, "-c", PROBE, f"{base}/healthz"], stdout=subprocess.PIPE, text=True)
    assert probe.stdout.readline() == "ready\n"
    loops = [Loop(base, paths) for _ in range(clients)]
    for loop in loops:
        loop.start()
    try:
        yield loops
    finally:
        for loop in loops:
            loop.stop()
        probe.terminate()
        out, _ = probe.communicate(timeout=30)
    assert probe.returncode == 0, "a /healthz request failed"
    seconds = sorted(json.loads(out))
    assert seconds[int(len(seconds) * 0.95)] < HEALTHZ_P95_S and seconds[-1] < HEALTHZ_MAX_S, "healthz was held up"


def tile_paths(month: dict, pinned: bool) -> dict[str, str]:
    """One URL of each kind, pinned to the month's build or following the latest."""
    pin = f"build={month['build_id']}" if pinned else ""
    ndvi = month["links"]["presets"]["ndvi"]["tiles"].format(z=Z, x=X, y=Y).split("/months/", 1)[1]
    return {
        "tile": f"/months/{MONTH}/truecolor/tiles/WebMercatorQuad/{Z}/{X}/{Y}.png?{pin}",
        "overview": f"/months/{MONTH}/flags/tiles/WebMercatorQuad/5/16/11.png?{pin}",
        "ndvi": "/months/" + (ndvi if pinned else ndvi.replace(f"build={month['build_id']}&", "")),
        "stored": f"/months/{MONTH}/truecolor/{Z}/{X}/{Y}.jpg?{pin}",
        "point": f"/months/{MONTH}/reflectance/point/1.2,43.8?{pin}",
        "diff": f"/diff/{MONTH}/{MONTH}/tiles/WebMercatorQuad/{Z}/{X}/{Y}.png?kind=magnitude"
                + (f"&build_a={month['build_id']}&build_b={month['build_id']}" if pinned else ""),
    }


def assert_unavailable(r: httpx.Response, data: object = None) -> None:
    """A clean 503: Retry-After, a short JSON reason, no path or trace."""
    assert r.status_code == 503, (r.request.url, r.status_code, r.text)
    assert int(r.headers["retry-after"]) > 0
    assert set(r.json()) == {"detail"} and "Traceback" not in r.text
    if data is not None:
        assert str(data) not in r.text and "/vsicurl/" not in r.text


def test_a_month_republished_under_load_loses_nothing(data: Path) -> None:
    with serve(str(data)) as url, httpx.Client(base_url=url) as client:
        (before,) = client.get("/api/months").json()
        pinned = tile_paths(before, pinned=True)
        expected = {name: client.get(path).content for name, path in pinned.items()}
        paths = [*pinned.values(), *tile_paths(before, pinned=False).values(), "/api/months", "/api/point/1.2,43.8"]
        with load(url, paths) as loops:
            rebuilt = [build_month(data, MONTH, [data.parent / "in"], BuildOptions(scheduler="sync", force=True))
                       for _ in range(2)]
        results = [r for loop in loops for r in loop.results]
        assert len(results) > len(paths) and {status for _, status, _, _ in results} == {200}
        (after,) = client.get("/api/months").json()
        assert after["build_id"] == rebuilt[-1].build_id != before["build_id"]
        for name, path in pinned.items():  # the old build is retained: its URLs answer the same bytes
            r = client.get(path)
            assert r.status_code == 200 and r.content == expected[name], name
        # Once the old build is pruned, its pinned URLs are a plain 404 (the latest ones still work).
        build_month(data, MONTH, [data.parent / "in"], BuildOptions(scheduler="sync", force=True, keep_builds=1))
        for name, path in pinned.items():
            assert client.get(path).status_code == 404, name
        for name, path in tile_paths(after, pinned=False).items():
            assert client.get(path).status_code == 200, name


def test_a_briefly_missing_data_dir_is_a_503_then_service_resumes(data: Path) -> None:
    away = data.with_name("data-away")
    with serve(str(data)) as url, httpx.Client(base_url=url) as client:
        (month,) = client.get("/api/months").json()
        paths = {**tile_paths(month, pinned=True), **{f"latest {k}": v for k, v in tile_paths(month, False).items()},
                 "months": "/api/months", "series": "/api/point/1.2,43.8", "wmts": "/wmts/WMTSCapabilities.xml"}
        expected = {name: client.get(path).content for name, path in paths.items() if name != "months"}
        with load(url, list(paths.values())) as loops:
            time.sleep(0.3)
            data.rename(away)
            try:
                time.sleep(0.5)
                for path in paths.values():
                    assert_unavailable(client.get(path), data)
            finally:
                away.rename(data)
            time.sleep(0.3)
        statuses = [(status, retry) for loop in loops for _, status, retry, _ in loop.results]
        others = sorted({(p, s) for loop in loops for p, s, _, _ in loop.results if s not in (200, 503)})
        assert {s for s, _ in statuses} == {200, 503}, others
        assert all(retry for s, retry in statuses if s == 503)
        for name, path in paths.items():  # back without a restart
            r = client.get(path)
            assert r.status_code == 200, (name, r.text)
            if name != "months":
                assert r.content == expected[name], name


@pytest.fixture(scope="module")
def store(data: Path) -> Iterator[str]:
    """The data directory on a faulty HTTP server (range requests) on 127.0.0.1."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running([sys.executable, "-m", "tests.faulty_http", str(data), str(port)], f"{url}/catalog.json"):
        yield url


def fault(store: str, mode: str, match: str = "", delay: float = 0) -> None:
    httpx.get(f"{store}/__fault__", params={"mode": mode, "match": match, "delay": delay}).raise_for_status()


REMOTE = {"request_timeout": 3, "http_timeout": 1, "http_retries": 0, "catalog_ttl": 1, "retry_after": 3}


def fetch_all(client: httpx.Client, paths: dict[str, str]) -> dict[str, tuple[httpx.Response, float]]:
    """Every path at once (each on its own connection); answers and their times."""
    def timed(path: str) -> tuple[httpx.Response, float]:
        start = time.perf_counter()
        return client.get(path), time.perf_counter() - start

    with ThreadPoolExecutor(len(paths)) as pool:
        return dict(zip(paths, pool.map(timed, paths.values()), strict=True))


def test_a_failing_or_stalling_http_store_is_a_bounded_503_and_heals(data: Path, store: str) -> None:
    fault(store, "error")  # the store is down when the server starts
    limits = httpx.Limits(max_connections=100)
    with serve(store, **REMOTE) as url, httpx.Client(base_url=url, timeout=30, limits=limits) as client:
        assert_unavailable(client.get("/api/months"))
        assert_unavailable(client.get(f"/months/{MONTH}/truecolor/tiles/WebMercatorQuad/{Z}/{X}/{Y}.png"))
        fault(store, "ok")
        time.sleep(REMOTE["catalog_ttl"])
        (month,) = client.get("/api/months").json()
        local = TestClient(create_app(Settings(data_dir=data)))  # the same files, read from disk
        expected = {name: local.get(path).content for name, path in tile_paths(month, pinned=True).items()}
        with load(url, []):  # the /healthz probe only
            for mode in ("error", "truncate", "stall"):
                if mode != "error":  # files the server has not read yet (GDAL rightly serves blocks it cached)
                    month = republished(data, client)
                paths = tile_paths(month, pinned=True)
                fault(store, mode, match=".tif")
                # Stalled reads: more at once than the server has threads, none answered late.
                copies = 10 if mode == "stall" else 1
                many = {f"{name} {i}": path for name, path in paths.items() for i in range(copies)}
                for name, (r, seconds) in fetch_all(client, many).items():
                    assert_unavailable(r, data)
                    # Bounded (a stalled store never answers); seen up to 8.3 s here with 60 at once and
                    # a 3 s request timeout, on a loaded 2-core machine (why not ~3 s is an open question):
                    # see test_a_slow_http_store_is_cut_by_the_request_timeout for the timeout itself.
                    assert seconds < 12, (mode, name, seconds)
                fault(store, "ok")
                for name, path in paths.items():  # the next request reads the store again
                    r = _get(client, path)
                    if r.status_code == 503:  # a failed (or stalled) read that ended after the last forgetting
                        r = _get(client, path)  # left one cached failure behind: met once, then forgotten
                    assert r.status_code == 200 and r.content == expected[name], (mode, name, r.text)
            # A catalog that cannot be re-read: the months last read are still served.
            fault(store, "error", match="catalog.json")
            time.sleep(REMOTE["catalog_ttl"] + 0.2)
            assert client.get("/api/months").json()[0]["build_id"] == month["build_id"]
            assert client.get(paths["tile"]).status_code == 200
            fault(store, "ok")


def _get(client: httpx.Client, path: str) -> httpx.Response:
    """GET, once more if the server closed the kept-alive connection as the request went out (a
    race of keep-alive timeouts after the stall, not a failure: a dead server fails the retry too)."""
    try:
        return client.get(path)
    except httpx.RemoteProtocolError:
        return client.get(path)


def test_a_slow_http_store_is_cut_by_the_request_timeout(data: Path, store: str) -> None:
    settings = {**REMOTE, "request_timeout": 1, "http_timeout": 10}  # each read would succeed, too late
    with serve(store, **settings) as url, httpx.Client(base_url=url, timeout=30) as client:
        (month,) = client.get("/api/months").json()  # a new server: nothing cached yet
        paths = tile_paths(month, pinned=True)
        with load(url, []):
            fault(store, "slow", match=".tif", delay=1.5)
            try:
                for name, (r, seconds) in fetch_all(client, paths).items():
                    assert_unavailable(r, data)
                    assert r.json()["detail"].startswith("request timed out")
                    assert seconds < settings["request_timeout"] + 2, (name, seconds)
            finally:
                fault(store, "ok")
        # Reads left running finish on their own (later readers of the same blocks wait for them).
        deadline = time.monotonic() + 20
        for name, path in paths.items():
            while (r := client.get(path)).status_code != 200:
                assert r.status_code == 503 and time.monotonic() < deadline, (name, r.status_code)
                time.sleep(0.2)


def republished(data: Path, client: httpx.Client) -> dict:
    """Publish a new build of the month and wait until the server lists it."""
    build_id = build_month(data, MONTH, [data.parent / "in"], BuildOptions(scheduler="sync", force=True)).build_id
    deadline = time.monotonic() + 10
    while (month := client.get("/api/months").json()[0])["build_id"] != build_id:
        assert time.monotonic() < deadline, "the new build never showed up"
        time.sleep(0.1)
    return month


def test_healthz_needs_no_worker_thread(data: Path) -> None:
    app = create_app(Settings(data_dir=data))

    async def healthz_while_every_thread_is_busy() -> httpx.Response:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 1
        release = threading.Event()
        async with anyio.create_task_group() as group:
            group.start_soon(anyio.to_thread.run_sync, release.wait)  # the one thread: busy
            await anyio.sleep(0.1)
            try:
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
                    with anyio.fail_after(5):
                        return await client.get("/healthz")
            finally:
                release.set()

    assert anyio.run(healthz_while_every_thread_is_busy).status_code == 200
