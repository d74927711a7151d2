"""The L3A reader on good products (folders and zips) and on every kind of bad product."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window

from processing import errors
from processing.layout import BANDS, Flag
from processing.product import L3AProduct
from processing.sample import generate_products

PIXEL = 2000.0  # 55 x 55 px on R1: the real layout, tiny rasters


def make(out: Path, tile: str = "T31TCJ", month: str = "2018-07", as_zip: bool = False, **kw) -> Path:
    """Generate one sample product and return its path."""
    (path,) = generate_products(
        out, tiles=[tile], months=[month], pixel_size=PIXEL, as_zip=as_zip, workers=1, **kw
    )
    return Path(path)


def rewrite(tif: Path, data: np.ndarray | None = None, **profile: object) -> None:
    """Rewrite a GeoTIFF in place with some profile fields (and optionally the data) changed."""
    with rasterio.open(tif) as src:
        new_profile = {**src.profile, **profile}
        array = src.read(1) if data is None else data
    tif.unlink()
    with rasterio.open(tif, "w", **new_profile) as dst:
        dst.write(array.astype(new_profile["dtype"]), 1)


def asset(product_dir: Path, suffix: str) -> Path:
    """The file of a product folder whose name ends with ``suffix`` (e.g. ``_FRC_B4.tif``)."""
    (found,) = [p for p in product_dir.rglob(f"*{suffix}")]
    return found


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
        np.testing.assert_array_equal(folder.read(name), archive.read(name))


def test_windowed_reads_match_full_reads(pair: tuple[Path, Path]) -> None:
    product = L3AProduct.open(pair[1])
    full = product.read("B8")
    windows = list(product.block_windows("R1", rows=10))
    assert sum(w.height for w in windows) == full.shape[0]
    stacked = np.vstack([product.read("B8", window=w) for w in windows])
    np.testing.assert_array_equal(stacked, full)
    np.testing.assert_array_equal(product.read("B8", window=Window(5, 7, 11, 13)), full[7:20, 5:16])


def test_values_follow_the_format(pair: tuple[Path, Path]) -> None:
    product = L3AProduct.open(pair[0])
    flags = product.read("FLG_R1")
    assert set(np.unique(flags)) <= {int(f) for f in Flag}
    b4 = product.read("B4")
    assert b4.dtype == np.int16
    assert np.all((b4 == -10000) == (flags == Flag.NODATA))


def test_footprint_is_lonlat_and_covers_the_tile(pair: tuple[Path, Path]) -> None:
    ring = L3AProduct.open(pair[0]).footprint["coordinates"][0]
    lons, lats = zip(*ring, strict=True)
    # T31TCJ: around Toulouse, ESA lon/lat bounds about 0.5-1.9 E, 43.3-44.3 N.
    assert 0.4 < min(lons) < 0.6 and 1.8 < max(lons) < 2.0
    assert 43.2 < min(lats) < 43.4 and 44.2 < max(lats) < 44.3


# -- bad products ------------------------------------------------------------------------
def _truncate_zip(tmp: Path) -> Path:
    path = make(tmp, as_zip=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _zip_without_folder(tmp: Path) -> Path:
    folder = make(tmp / "src")
    path = tmp / f"{folder.name}.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for f in folder.rglob("*"):
            zf.write(f, f.relative_to(folder).as_posix())
    return path


def _folder(mutate: Callable[[Path], object]) -> Callable[[Path], Path]:
    """Build a product folder and mutate it (the mutation may return the folder's new path)."""

    def build(tmp: Path) -> Path:
        path = make(tmp)
        moved = mutate(path)
        return moved if isinstance(moved, Path) else path

    return build


def _rename(new: str) -> Callable[[Path], Path]:
    def mutate(p: Path) -> Path:
        return p.rename(p.with_name(new))

    return mutate


def _set_crs(epsg: int) -> Callable[[Path], None]:
    def mutate(p: Path) -> None:
        for tif in p.rglob("*.tif"):
            with rasterio.open(tif, "r+") as ds:
                ds.crs = CRS.from_epsg(epsg)

    return mutate


def _edit_mtd(old: str, new: str) -> Callable[[Path], None]:
    def mutate(p: Path) -> None:
        mtd = asset(p, "_MTD_ALL.xml")
        text = mtd.read_text()
        assert old in text
        mtd.write_text(text.replace(old, new))

    return mutate


def _corrupt_bytes(p: Path) -> None:
    tif = asset(p, "_FRC_B3.tif")
    tif.write_bytes(b"\x00garbage" * 64 + tif.read_bytes()[512:])


def _shift_grid(p: Path) -> None:
    tif = asset(p, "_FRC_B3.tif")
    with rasterio.open(tif) as src:
        t = src.transform
    rewrite(tif, transform=Affine(t.a, 0, t.c + 5 * PIXEL, 0, t.e, t.f))


def _empty(p: Path) -> None:
    tif = asset(p, "_FLG_R1.tif")
    with rasterio.open(tif) as src:
        shape = (src.height, src.width)
    rewrite(tif, data=np.zeros(shape, np.uint8))


BAD = {
    "truncated zip": (_truncate_zip, errors.UnreadableArchive, "truncated or corrupt zip"),
    "zip without product folder": (_zip_without_folder, errors.UnreadableArchive, "product folder"),
    "missing band": (_folder(lambda p: asset(p, "_FRC_B11.tif").unlink()), errors.MissingAsset, "_FRC_B11.tif is missing"),
    "missing mask": (_folder(lambda p: asset(p, "_FLG_R2.tif").unlink()), errors.MissingAsset, "_FLG_R2.tif is missing"),
    "missing metadata": (_folder(lambda p: asset(p, "_MTD_ALL.xml").unlink()), errors.BadMetadata, "_MTD_ALL.xml is missing"),
    "malformed metadata": (_folder(lambda p: asset(p, "_MTD_ALL.xml").write_text("<Muscate")), errors.BadMetadata, "malformed XML"),
    "metadata lies about the tile": (_folder(_edit_mtd(">T31TCJ</GEOGRAPHICAL_ZONE>", ">T31TDJ</GEOGRAPHICAL_ZONE>")), errors.BadMetadata, "tile T31TDJ"),
    "level not L3A in metadata": (_folder(_edit_mtd("<PRODUCT_LEVEL>L3A<", "<PRODUCT_LEVEL>L2A<")), errors.WrongLevel, "L2A"),
    "level not L3A in name": (_folder(_rename("SENTINEL2X_20180715-000000-000_L2A_T31TCJ_D_V1-1")), errors.WrongLevel, "L2A, not L3A"),
    "unparsable name": (_folder(_rename("my_product")), errors.UnparsableName, "not a Theia product name"),
    "wrong data type": (_folder(lambda p: rewrite(asset(p, "_FRC_B4.tif"), dtype="float32")), errors.WrongDataType, "float32, expected int16"),
    "band grids disagree": (_folder(_shift_grid), errors.GridMismatch, "differs from"),
    "band of the wrong size": (_folder(lambda p: rewrite(asset(p, "_FRC_B8.tif"), data=np.ones((10, 10)), width=10, height=10)), errors.GridMismatch, "10x10 px"),
    "CRS not UTM north": (_folder(_set_crs(2154)), errors.WrongCRS, "not WGS 84 / UTM north"),
    "CRS of another zone": (_folder(_set_crs(32632)), errors.WrongCRS, "tile T31TCJ is in EPSG:32631"),
    "corrupt GeoTIFF bytes": (_folder(_corrupt_bytes), errors.UnreadableRaster, "_FRC_B3.tif"),
    "all no data": (_folder(_empty), errors.EmptyProduct, "no valid pixel"),
}


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
    _edit_mtd("<ULX>300000", "<ULX>310000")(path)
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
