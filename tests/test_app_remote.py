"""A data directory served over HTTP (range requests) by a plain static file server."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.helpers import free_port, running

MONTH = "2018-07"
STATIC = "import sys, uvicorn; from starlette.applications import Starlette; " \
         "from starlette.staticfiles import StaticFiles; app = Starlette(); " \
         "app.mount('/', StaticFiles(directory=sys.argv[1])); uvicorn.run(app, host='127.0.0.1', port=int(sys.argv[2]))"


@pytest.fixture(scope="module")
def data(france: Path) -> Path:
    """The shared France sample: read only."""
    return france


@pytest.fixture(scope="module")
def static(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    port = free_port()
    log = tmp_path_factory.mktemp("static") / "access.log"
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as out, running([sys.executable, "-c", STATIC, str(data), str(port)], f"{url}/catalog.json",
                                       stdout=out, stderr=out):
        yield url, log


def test_http_data_dir_serves_the_same_months_tiles_and_points(data: Path, static: tuple[str, Path]) -> None:
    url, log = static
    assert httpx.get(f"{url}/catalog.json", headers={"Range": "bytes=0-9"}).status_code == 206
    local = TestClient(create_app(Settings(data_dir=data)))
    remote = TestClient(create_app(Settings(data_dir=url)))
    assert remote.get("/api/months").json()[0]["build_id"] == local.get("/api/months").json()[0]["build_id"]
    for path in (
        f"/months/{MONTH}/truecolor/tiles/WebMercatorQuad/7/64/46.png",
        f"/months/{MONTH}/reflectance/tiles/WebMercatorQuad/9/259/187.png?bidx=4&bidx=3&bidx=2&rescale=0,5000",
        f"/months/{MONTH}/flags/tiles/WebMercatorQuad/4/8/5.png",
        f"/months/{MONTH}/truecolor/7/64/46.jpg",
        "/api/point/1.2,43.8",
    ):
        a, b = local.get(path), remote.get(path)
        assert a.status_code == b.status_code == 200, (path, b.text)
        assert a.content == b.content, path
    assert remote.get(f"/months/{MONTH}/truecolor/tiles/WebMercatorQuad/7/1/1.png").status_code == 204
    assert remote.post("/api/admin/builds", json={}).status_code == 404  # no admin on a read-only store
    assert " 206 " in log.read_text()  # COGs were read by ranges, not downloaded whole
