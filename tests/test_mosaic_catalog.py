"""The read side: published months, tile -> COG resolution, republishing seen at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from mosaic.build import BuildOptions, build_month
from mosaic.catalog import Catalog, LayerNotFound, MonthNotFound
from sample import generate_products

OPTS = BuildOptions(scheduler="sync", progress=False)


@pytest.fixture()
def inputs(tmp_path: Path) -> Path:
    generate_products(tmp_path / "in", tiles=["T31TCJ"], months=["2018-07", "2018-08"], pixel_size=2000, workers=1)
    return tmp_path / "in"


def test_empty_data_dir_has_no_months(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path)
    assert catalog.months() == []
    with pytest.raises(MonthNotFound):
        catalog.get("2018-07")


def test_months_and_tile_sources(inputs: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    for month in ("2018-08", "2018-07"):
        build_month(data, month, [inputs], OPTS)
    catalog = Catalog(data)
    assert [m.month for m in catalog.months()] == ["2018-07", "2018-08"]
    month = catalog.get("2018-07")
    assert month.zoom == 7 and month.region_zoom == 7  # 2000 m: zoom 7 keeps every source pixel
    region = min(month.regions)
    z, x, y = map(int, region.split("-"))
    assert month.source("flags", z, x, y) == f"{month.folder}/regions/{region}/flags.tif"
    assert month.source("flags", z + 2, 4 * x + 3, 4 * y + 1) == f"{month.folder}/regions/{region}/flags.tif"
    assert month.source("flags", z - 1, x // 2, y // 2) == month.overview("flags")
    assert month.source("flags", z, x + 5, y) is None
    for layer in ("reflectance", "flags", "dates", "truecolor"):
        assert Path(month.vrt(layer)).exists() and Path(month.overview(layer)).exists()
    with pytest.raises(LayerNotFound):
        month.source("ndvi", z, x, y)


def test_a_new_build_is_seen_without_reopening(inputs: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = build_month(data, "2018-07", [inputs], OPTS)
    catalog = Catalog(data)
    assert catalog.get("2018-07").build_id == first.build_id
    second = build_month(data, "2018-07", [inputs], BuildOptions(scheduler="sync", force=True))
    assert catalog.get("2018-07").build_id == second.build_id
    assert catalog.get("2018-07").folder == str(second.build_dir)
