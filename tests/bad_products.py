"""Bad L3A products for tests: one maker per kind of damage, each with the error it must raise.

Each maker writes a small sample product (the real layout, real GeoTIFFs) into a folder and
damages it; ``BAD`` maps a kind to (maker, expected error class, expected words of the reason).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS

from processing import errors
from processing.sample import generate_products

PIXEL = 2000.0  # 55 x 55 px on R1: the real layout, tiny rasters


def make(out: Path, tile: str = "T31TCJ", month: str = "2018-07", as_zip: bool = False, **kw: object) -> Path:
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


def edit_mtd(old: str, new: str) -> Callable[[Path], None]:
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
    "metadata lies about the tile": (_folder(edit_mtd(">T31TCJ</GEOGRAPHICAL_ZONE>", ">T31TDJ</GEOGRAPHICAL_ZONE>")), errors.BadMetadata, "tile T31TDJ"),
    "level not L3A in metadata": (_folder(edit_mtd("<PRODUCT_LEVEL>L3A<", "<PRODUCT_LEVEL>L2A<")), errors.WrongLevel, "L2A"),
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
