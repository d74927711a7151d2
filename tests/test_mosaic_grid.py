"""The grid's facts that the build and the server share: whole pixels, region ids, limits."""

from __future__ import annotations

from pathlib import Path

import morecantile
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from mosaic.grid import (
    MAX_LAT,
    MAX_ZOOM,
    TMS,
    OutputGrid,
    cell_size,
    region_id,
    region_tile,
    tile_corner,
    valid_tile,
    whole_pixels,
)


def test_whole_pixels_takes_float_noise_and_refuses_fractions() -> None:
    assert whole_pixels(2815.9999999999227, 12.0000000001) == (2816, 12)
    assert whole_pixels(2815.5, 12.0) is None
    assert whole_pixels(-3.0000000002) == (-3,)


def test_the_kept_matrices_give_what_morecantile_gives() -> None:
    for z in (0, 1, 7, 14, 20, MAX_ZOOM):
        last = 2**z - 1
        for x, y in ((0, 0), (last, last), (last // 3, last // 2)):
            bounds = TMS.xy_bounds(x, y, z)
            assert tile_corner(x, y, z) == (bounds.left, bounds.top)  # exactly: the same operations
        assert cell_size(z) == TMS.matrix(z).cellSize
        for x, y in ((0, 0), (last, last), (last + 1, 0), (0, last + 1), (-1, 0)):
            assert valid_tile(x, y, z) == TMS.is_valid(x, y, z)
    assert not valid_tile(0, 0, MAX_ZOOM + 1) and not valid_tile(0, 0, -1)


@pytest.mark.parametrize("zoom", [9, 14])
def test_region_ids_round_trip_and_regions_lie_on_whole_pixels(zoom: int) -> None:
    grid = OutputGrid.for_pixel_size(10, zoom)
    region = TMS.tile(2.35, 48.85, grid.region_zoom)
    assert region_id(region) == f"{region.z}-{region.x}-{region.y}" and region_tile(region_id(region)) == region
    transform = grid.region_transform(region)
    left, top = TMS.xy_bounds(region).left, TMS.xy_bounds(region).top
    assert whole_pixels((transform.c - TMS.xy_bounds(morecantile.Tile(0, 0, 0)).left) / grid.res) is not None
    assert (transform.c, transform.f) == (left, top)


def test_latitude_and_zoom_limits_are_the_grids(tmp_path: Path) -> None:
    assert MAX_LAT <= TMS.bbox.top < MAX_LAT + 0.01 and MAX_ZOOM == TMS.maxzoom
    client = TestClient(create_app(Settings(data_dir=tmp_path)))
    assert client.get(f"/api/point/0,{MAX_LAT}").status_code == 200
    for url in (f"/api/point/0,{MAX_LAT + 0.005}", f"/months/2018-07/flags/point/0,{MAX_LAT + 0.005}",
                f"/api/valid/2018-07/2018-08?bbox=0,0,1,{MAX_LAT + 0.005}"):
        assert client.get(url).status_code in (400, 422), url
    assert client.get(f"/months/2018-07/truecolor/{MAX_ZOOM + 1}/0/0").status_code in (400, 422)
    assert client.get(f"/months/2018-07/truecolor/2/{2**2}/0").status_code == 400
