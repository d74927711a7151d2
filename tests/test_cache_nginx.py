"""nginx in front of the server, as deployed (scripts/nginx/): real nginx and `mosaique serve` on 127.0.0.1.

Build-pinned URLs are served from nginx's cache with the server's bytes; latest-build URLs show a
republished month within their max-age (+1 s); a 503 (data unreadable), a 502 (server down) or a
404 is passed on and never stored, and service comes back without touching nginx. Tile URLs are
followed from /api/months and TileJSON, as a map client does, whatever route they name.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest

from mosaic.build import BuildOptions, build_month
from sample import generate_products
from tests.helpers import free_port, published_months, running

RUN = Path(__file__).resolve().parent.parent / "scripts" / "nginx" / "run.sh"
MONTH = "2018-07"
MAX_AGE = 2  # MOSAIQUE_CACHE_MAX_AGE of latest-build URLs here, in seconds
TILES = [(7, 64, 46), (8, 128, 92), (8, 129, 92), (8, 128, 93), (8, 129, 93), (6, 32, 23)]  # over the data


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return published_months(tmp_path_factory.mktemp("nginx"), ["T31TCJ", "T31TDJ"], [MONTH])


@contextmanager
def serve(data: Path, port: int) -> Iterator[str]:
    """`mosaique serve` on ``port`` with a short max-age for latest-build URLs; yields its base URL."""
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MOSAIQUE_CACHE_MAX_AGE": str(MAX_AGE)}
    with running([sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--data-dir", str(data)],
                 f"{url}/healthz", env=env):
        yield url


@contextmanager
def nginx(upstream: int, prefix: Path) -> Iterator[str]:
    """scripts/nginx/run.sh in front of 127.0.0.1:``upstream``, under ``prefix``; yields its base URL."""
    assert shutil.which("nginx") or Path("/usr/sbin/nginx").exists(), "nginx is missing: run scripts/setup.sh"
    port = free_port()
    env = {**os.environ, "MOSAIQUE_UPSTREAM": f"127.0.0.1:{upstream}", "MOSAIQUE_NGINX_LISTEN": f"127.0.0.1:{port}"}
    with running([str(RUN), str(prefix)], f"http://127.0.0.1:{port}/healthz", stderr=None, env=env):
        yield f"http://127.0.0.1:{port}"


def advertised_tiles(client: httpx.Client, base: str) -> tuple[dict, str]:
    """The month and its true-colour tile template, followed from /api/months through TileJSON."""
    (month,) = client.get(f"{base}/api/months").json()
    tilejson = client.get(month["links"]["layers"]["truecolor"]["tilejson"])
    assert tilejson.status_code == 200, tilejson.text
    return month, tilejson.json()["tiles"][0]


def latest(url: str) -> str:
    """The same URL following the latest build (no ``build`` parameter)."""
    parts = urlsplit(url)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "build"])
    return parts._replace(query=query).geturl()


def tile(template: str, z: int, x: int, y: int) -> str:
    return template.format(z=z, x=x, y=y)


def cache_status(r: httpx.Response) -> str:
    return r.headers["x-cache-status"]


def test_a_pinned_tile_is_a_hit_the_second_time_with_the_same_bytes(data: Path, tmp_path: Path) -> None:
    port = free_port()
    with serve(data, port) as direct, nginx(port, tmp_path) as proxy, httpx.Client() as client:
        month, template = advertised_tiles(client, proxy)
        assert template.startswith(proxy) and f"build={month['build_id']}" in template  # links name the proxy
        url = tile(template, *TILES[0])
        first, second = client.get(url), client.get(url)
        assert first.status_code == second.status_code == 200
        assert (cache_status(first), cache_status(second)) == ("MISS", "HIT")
        assert second.content == first.content == client.get(url.replace(proxy, direct)).content
        assert second.headers["cache-control"] == "public, max-age=31536000, immutable"
        # A conditional request is answered 304 by nginx itself.
        again = client.get(url, headers={"If-None-Match": second.headers["etag"]})
        assert again.status_code == 304 and cache_status(again) == "HIT"
        # An empty tile (no data there) is cached like the others; the list of months never is.
        empty = tile(template, 9, 1, 1)
        assert [(r.status_code, cache_status(r)) for r in (client.get(empty), client.get(empty))] == [
            (204, "MISS"), (204, "HIT")]
        assert {cache_status(client.get(f"{proxy}/api/months")) for _ in range(2)} == {"MISS"}


def test_a_republished_month_shows_through_latest_urls_within_max_age(data: Path, tmp_path: Path) -> None:
    port = free_port()
    with serve(data, port) as direct, nginx(port, tmp_path / "nginx") as proxy, httpx.Client() as client:
        before, template = advertised_tiles(client, proxy)
        pinned = tile(template, *TILES[0])
        url = latest(pinned)
        old = client.get(url)
        assert old.status_code == 200 and old.headers["cache-control"] == f"public, max-age={MAX_AGE}"
        assert cache_status(client.get(url)) == "HIT"
        assert client.get(pinned).content == old.content
        # Republish the month from other products (other pixels) while the old tile is cached.
        generate_products(tmp_path / "in2", tiles=["T31TCJ", "T31TDJ"], months=[MONTH], pixel_size=1000, seed=1,
                          workers=1)
        build_month(data, MONTH, [tmp_path / "in2"], BuildOptions(scheduler="sync", progress=False))
        published = time.monotonic()
        new = client.get(url.replace(proxy, direct)).content
        assert new != old.content, "the republished tile should differ"
        while (r := client.get(url)).content != new:
            assert r.status_code == 200 and r.content == old.content
            assert time.monotonic() - published < MAX_AGE + 1, "the latest URL still serves the old month"
            time.sleep(0.05)
        assert time.monotonic() - published <= MAX_AGE + 1
        assert cache_status(client.get(url)) == "HIT"
        # The old build's pinned URL still answers the old bytes from the cache.
        r = client.get(pinned)
        assert r.content == old.content and cache_status(r) == "HIT"


def test_errors_and_503s_are_never_cached_and_service_resumes(data: Path, tmp_path: Path) -> None:
    port = free_port()
    away = data.with_name("data-away")
    with nginx(port, tmp_path) as proxy, httpx.Client(timeout=30) as client:
        with serve(data, port):
            _, template = advertised_tiles(client, proxy)
            cached = latest(tile(template, *TILES[0]))
            good = client.get(cached)
            assert good.status_code == 200 and cache_status(good) == "MISS"
            missing = tile(template, *TILES[0]).replace(f"/{MONTH}/", "/2099-01/")
            assert [(r.status_code, cache_status(r)) for r in (client.get(missing), client.get(missing))] == [
                (404, "MISS"), (404, "MISS")]
            data.rename(away)  # the data cannot be read: the server answers 503
            try:
                for url in (tile(template, *TILES[1]), latest(tile(template, *TILES[2]))):
                    answers = [client.get(url) for _ in range(3)]
                    assert [(r.status_code, cache_status(r)) for r in answers] == [(503, "MISS")] * 3, url
                    assert all(r.headers["retry-after"] for r in answers)
                # Expired (nginx counts whole seconds: fresh up to max-age + 1 s), and served stale while
                # the data are away.
                time.sleep(MAX_AGE + 1.2)
                stale = client.get(cached)
                assert stale.status_code == 200 and stale.content == good.content
                assert cache_status(stale) in ("STALE", "UPDATING")
            finally:
                away.rename(data)
            for url in (tile(template, *TILES[1]), latest(tile(template, *TILES[2]))):  # back, and now cached
                assert [(r.status_code, cache_status(r)) for r in (client.get(url), client.get(url))] == [
                    (200, "MISS"), (200, "HIT")], url
        # The server is down: nginx's own 502, never stored either.
        down = tile(template, *TILES[3])
        assert [(r.status_code, cache_status(r)) for r in (client.get(down), client.get(down))] == [
            (502, "MISS"), (502, "MISS")]
        assert cache_status(client.get(tile(template, *TILES[1]))) == "HIT"  # pinned tiles still served
        with serve(data, port):  # back up on the same port: nginx finds it again by itself
            assert [(r.status_code, cache_status(r)) for r in (client.get(down), client.get(down))] == [
                (200, "MISS"), (200, "HIT")]
