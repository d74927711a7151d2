"""Stored true-colour tiles: JPEG blocks answered as stored, PNG only where a tile has no data."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from mosaic.catalog import Catalog, Month
from tests.helpers import published_months, rgba

MONTH = "2018-07"


@pytest.fixture(scope="module")
def month_client(tmp_path_factory: pytest.TempPathFactory) -> tuple[Month, TestClient]:
    # 200 m: zoom 9, whose 256 px tiles (about 56 km here) fit inside one 110 km product.
    data = published_months(tmp_path_factory.mktemp("stored"), ["T31TCJ"], [MONTH], pixel_size=200)
    return Catalog(data).get(MONTH), TestClient(create_app(Settings(data_dir=data)))


def stored_tiles(month: Month) -> dict[tuple[int, int, int], np.ndarray]:
    """The no-data mask of every tile of the month's zoom, from its one region COG."""
    (region,) = month.regions
    rz, rx, ry = map(int, region.split("-"))
    with rasterio.open(f"{month.folder}/regions/{region}/truecolor.tif") as cog:
        mask = cog.dataset_mask()
    shift = month.zoom - rz
    return {(month.zoom, (rx << shift) + col, (ry << shift) + row): mask[row * 256:(row + 1) * 256,
                                                                        col * 256:(col + 1) * 256]
            for row in range(mask.shape[0] // 256) for col in range(mask.shape[1] // 256)}


def test_full_tiles_are_the_stored_jpeg_partial_ones_png_with_transparent_no_data(
    month_client: tuple[Month, TestClient],
) -> None:
    month, client = month_client
    masks = stored_tiles(month)
    full = [tile for tile, mask in masks.items() if mask.all()]
    partial = [tile for tile, mask in masks.items() if mask.any() and not mask.all()]
    assert full and partial
    pin = f"?build={month.build_id}"
    for z, x, y in full:
        r = client.get(f"/months/{MONTH}/truecolor/{z}/{x}/{y}{pin}")
        assert r.headers["content-type"] == "image/jpeg"
        assert r.content == client.get(f"/months/{MONTH}/truecolor/{z}/{x}/{y}.jpg{pin}").content
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    for z, x, y in partial:
        r = client.get(f"/months/{MONTH}/truecolor/{z}/{x}/{y}{pin}")
        assert r.headers["content-type"] == "image/png"
        np.testing.assert_array_equal(rgba(r.content)[3] > 0, masks[z, x, y] > 0)
    z, x, y = full[0]
    over = client.get(f"/months/{MONTH}/truecolor/{z + 1}/{2 * x}/{2 * y}{pin}")
    assert over.status_code == 200 and over.headers["content-type"] == "image/jpeg"  # not stored: rendered, all valid
    metrics = client.get("/metrics").text.splitlines()
    served = [line for line in metrics if line.startswith("mosaique_tiles_served_total")]
    assert float(served[0].split()[-1]) >= 2 * len(full) + len(partial) + 1  # stored tiles count as served
    assert client.get(f"/months/{MONTH}/truecolor/9/1/1").status_code == 204
    assert client.get(f"/months/{MONTH}/truecolor/9/1/1.png").status_code == 400  # y must be an integer
