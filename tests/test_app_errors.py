"""Bad requests and broken files: clear 4xx, and 500s that reveal no path or stack trace."""

from __future__ import annotations

from pathlib import Path

import pytest
import rasterio.env
from fastapi.testclient import TestClient
from osgeo import gdal

from app.main import create_app
from app.settings import Settings
from mosaic.catalog import Catalog

MONTH = "2018-07"


@pytest.fixture()
def data(france: Path) -> Path:
    """The shared France sample: read only."""
    return france


@pytest.mark.parametrize("query", ["tilesize=4096", "tilesize=0", "tilesize=abc", "tilesize=-5"])
def test_tile_size_is_capped(data: Path, query: str) -> None:
    client = TestClient(create_app(Settings(data_dir=data)))
    r = client.get(f"/months/{MONTH}/truecolor/tiles/WebMercatorQuad/6/32/23.png?{query}")
    assert r.status_code == 400 and "tilesize" in r.json()["detail"]


def test_one_gdal_and_its_block_cache_is_set_once_in_megabytes(data: Path) -> None:
    client = TestClient(create_app(Settings(data_dir=data, gdal_cachemax=64)))
    assert client.get(f"/months/{MONTH}/flags/tiles/WebMercatorQuad/5/16/11.png").status_code == 200
    libraries = {line.split()[-1] for line in Path("/proc/self/maps").read_text().splitlines() if "libgdal" in line}
    assert len(libraries) == 1, libraries  # osgeo and rasterio share the system GDAL
    assert rasterio.env.get_gdal_config("GDAL_CACHEMAX") == gdal.GetCacheMax() == 64 * 2**20  # not 5 % of RAM


def test_a_corrupt_cog_gives_a_500_without_paths(france_copy: Path) -> None:
    data = france_copy  # a COG is broken below
    month = Catalog(data).get(MONTH)
    z, x, y = map(int, sorted(month.regions)[0].split("-"))
    cog = Path(month.source("truecolor", z, x, y))
    cog.write_bytes(b"II*\x00" + b"\x00" * 64)
    client = TestClient(create_app(Settings(data_dir=data)), raise_server_exceptions=False)
    r = client.get(f"/months/{MONTH}/truecolor/tiles/WebMercatorQuad/{z}/{x}/{y}.png")
    assert r.status_code == 500
    assert r.json() == {"detail": "internal server error"}
    assert str(data) not in r.text and "Traceback" not in r.text


def test_cors_is_off_by_default_and_on_for_configured_origins(data: Path) -> None:
    path = "/api/months"
    plain = TestClient(create_app(Settings(data_dir=data)))
    assert "access-control-allow-origin" not in plain.get(path, headers={"Origin": "https://example.org"}).headers
    open_ = TestClient(create_app(Settings(data_dir=data, cors_origins=["https://maps.example.org"])))
    r = open_.get(path, headers={"Origin": "https://maps.example.org"})
    assert r.headers["access-control-allow-origin"] == "https://maps.example.org"
    assert "access-control-allow-origin" not in open_.get(path, headers={"Origin": "https://evil.example"}).headers
