"""The L3A reader on good products (folders and zips) and on every kind of bad product."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from rasterio.windows import Window

from processing import errors
from processing.layout import BANDS, Flag
from processing.product import L3AProduct, container_path, row_windows, vsizip
from tests.bad_products import BAD, PIXEL, asset, edit_mtd, make
from tests.helpers import read_asset


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same product as a folder and as a zip."""
    root = tmp_path_factory.mktemp("good")
    return make(root / "dirs"), make(root / "zips", as_zip=True)


def test_folder_and_zip_open_with_the_same_content(pair: tuple[Path, Path]) -> None:
    folder, archive = (L3AProduct.open(p) for p in pair)
    assert archive.path.suffix == ".zip"
    assert all(v.startswith("/vsizip/") for v in archive.assets.values())
    for product in (folder, archive):
        assert product.tile == "T31TCJ"
        assert product.month == "2018-07"
        assert product.epsg == 32631
        assert product.nodata == -10000
        assert product.scale == pytest.approx(1e-4)
        assert set(BANDS) <= set(product.assets)
        assert {"FLG_R1", "FLG_R2", "DTS_R1", "DTS_R2"} <= set(product.assets)
        r1, r2 = product.grids["R1"], product.grids["R2"]
        assert r1.res == PIXEL and r2.res == 2 * PIXEL
        assert r1.bounds[0] == 300000 and r1.bounds[3] == 4900020
        assert not product.warnings
    for name in ("B4", "FLG_R1", "DTS_R2", "B11"):
        np.testing.assert_array_equal(read_asset(folder, name), read_asset(archive, name))


def test_a_record_stands_for_the_validated_product_without_reading_it(pair: tuple[Path, Path], tmp_path: Path) -> None:
    import json

    for path in pair:
        product = L3AProduct.open(path)
        record = json.loads(json.dumps(product.to_record()))
        again = L3AProduct.from_record(path, record, month="2018-07")
        assert (again.path, again.name, again.assets, again.grids) == (product.path, product.name, product.assets,
                                                                      product.grids)
        assert again.metadata == product.metadata and again.sort_key == product.sort_key
        np.testing.assert_array_equal(read_asset(again, "B4"), read_asset(product, "B4"))
        with pytest.raises(errors.WrongMonth, match="not the requested 2018-08"):
            L3AProduct.from_record(path, record, month="2018-08")
    moved = tmp_path / "elsewhere"  # a folder moved with its product keeps working from its new place
    shutil.copytree(pair[0].parent, moved)
    again = L3AProduct.from_record(moved / pair[0].name, L3AProduct.open(pair[0]).to_record())
    assert again.assets == L3AProduct.open(moved / pair[0].name).assets


def test_row_windows_cover_the_raster_once(pair: tuple[Path, Path]) -> None:
    product = L3AProduct.open(pair[1])
    full = read_asset(product, "B8")
    windows = list(row_windows(full.shape[1], full.shape[0], rows=10))
    assert sum(w.height for w in windows) == full.shape[0] and len(windows) > 1
    stacked = np.vstack([read_asset(product, "B8", window=w) for w in windows])
    np.testing.assert_array_equal(stacked, full)
    np.testing.assert_array_equal(read_asset(product, "B8", window=Window(5, 7, 11, 13)), full[7:20, 5:16])


def test_values_follow_the_format(pair: tuple[Path, Path]) -> None:
    product = L3AProduct.open(pair[0])
    flags = read_asset(product, "FLG_R1")
    assert set(np.unique(flags)) <= {int(f) for f in Flag}
    b4 = read_asset(product, "B4")
    assert b4.dtype == np.int16
    assert np.all((b4 == -10000) == (flags == Flag.NODATA))


def test_footprint_is_lonlat_and_covers_the_tile(pair: tuple[Path, Path]) -> None:
    ring = L3AProduct.open(pair[0]).footprint["coordinates"][0]
    lons, lats = zip(*ring, strict=True)
    # T31TCJ: around Toulouse, ESA lon/lat bounds about 0.5-1.9 E, 43.3-44.3 N.
    assert 0.4 < min(lons) < 0.6 and 1.8 < max(lons) < 2.0
    assert 43.2 < min(lats) < 43.4 and 44.2 < max(lats) < 44.3


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_product_is_refused_with_its_name_and_reason(kind: str, tmp_path: Path) -> None:
    build, error, reason = BAD[kind]
    path = build(tmp_path)
    with pytest.raises(error) as info:
        L3AProduct.open(path)
    message = str(info.value)
    assert reason in message
    assert message.startswith(path.name.removesuffix(".zip") + ":") or message.startswith(
        "SENTINEL2X_2018071"
    )


def test_product_of_another_month_is_refused(pair: tuple[Path, Path]) -> None:
    with pytest.raises(errors.WrongMonth, match="2018-07, not the requested 2018-08"):
        L3AProduct.open(pair[0], month="2018-08")
    assert L3AProduct.open(pair[0], month="2018-07").month == "2018-07"


def test_metadata_position_disagreeing_with_rasters_warns_and_rasters_win(tmp_path: Path) -> None:
    path = make(tmp_path)
    edit_mtd("<ULX>300000", "<ULX>310000")(path)
    product = L3AProduct.open(path)
    assert product.bounds[0] == 300000
    assert any("disagrees with the rasters" in w for w in product.warnings)


def test_missing_optional_weight_mask_is_accepted(tmp_path: Path) -> None:
    path = make(tmp_path)
    asset(path, "_WGT_R1.tif").unlink()
    product = L3AProduct.open(path)
    assert "WGT_R1" not in product.assets and "WGT_R2" in product.assets


def test_renamed_zip_is_read_by_its_inner_folder(tmp_path: Path) -> None:
    path = make(tmp_path, as_zip=True)
    renamed = path.rename(path.with_name("download (1).zip"))
    product = L3AProduct.open(renamed)
    assert product.tile == "T31TCJ"
    assert any("holds product" in w for w in product.warnings)
    shutil.rmtree(tmp_path)


def test_assets_are_members_of_their_zip(pair: tuple[Path, Path]) -> None:
    """``container_path`` undoes ``vsizip``: each asset is a member the zip holds (what its CRC check reads)."""
    archive = L3AProduct.open(pair[1])
    members = set(zipfile.ZipFile(archive.path).namelist())
    for gdal_path in archive.assets.values():
        member = container_path(archive.path, gdal_path)
        assert member in members and vsizip(archive.path, member) == gdal_path
    folder = L3AProduct.open(pair[0])
    assert container_path(folder.path, folder.assets["B4"]).startswith(f"{folder.path.name}/")
