"""Bad L3A products for tests: one maker per kind of damage, each with the error it must raise.

Each maker writes a small sample product (the real layout, real GeoTIFFs) into a folder and
damages it; ``BAD`` maps a kind to (maker, expected error class, expected words of the reason).
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS

from processing import errors
from sample import generate_products

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


def _unlink(suffix: str) -> Callable[[Path], None]:
    return lambda p: asset(p, suffix).unlink()


def _mtd_text(text: str) -> Callable[[Path], None]:
    return lambda p: asset(p, "_MTD_ALL.xml").write_text(text)


def _resize_b8(p: Path) -> None:
    rewrite(asset(p, "_FRC_B8.tif"), data=np.ones((10, 10)), width=10, height=10)


BAD = {
    "truncated zip": (_truncate_zip, errors.UnreadableArchive, "truncated or corrupt zip"),
    "zip without product folder": (_zip_without_folder, errors.UnreadableArchive, "product folder"),
    "missing band": (_folder(_unlink("_FRC_B11.tif")), errors.MissingAsset, "_FRC_B11.tif is missing"),
    "missing mask": (_folder(_unlink("_FLG_R2.tif")), errors.MissingAsset, "_FLG_R2.tif is missing"),
    "missing metadata": (_folder(_unlink("_MTD_ALL.xml")), errors.BadMetadata, "_MTD_ALL.xml is missing"),
    "malformed metadata": (_folder(_mtd_text("<Muscate")), errors.BadMetadata, "malformed XML"),
    "metadata lies about the tile": (
        _folder(edit_mtd(">T31TCJ</GEOGRAPHICAL_ZONE>", ">T31TDJ</GEOGRAPHICAL_ZONE>")),
        errors.BadMetadata,
        "tile T31TDJ",
    ),
    "level not L3A in metadata": (
        _folder(edit_mtd("<PRODUCT_LEVEL>L3A<", "<PRODUCT_LEVEL>L2A<")), errors.WrongLevel, "L2A"
    ),
    "level not L3A in name": (
        _folder(_rename("SENTINEL2X_20180715-000000-000_L2A_T31TCJ_D_V1-1")), errors.WrongLevel, "L2A, not L3A"
    ),
    "unparsable name": (_folder(_rename("my_product")), errors.UnparsableName, "not a Theia product name"),
    "wrong data type": (
        _folder(lambda p: rewrite(asset(p, "_FRC_B4.tif"), dtype="float32")), errors.WrongDataType,
        "float32, expected int16",
    ),
    "band grids disagree": (_folder(_shift_grid), errors.GridMismatch, "differs from"),
    "band of the wrong size": (_folder(_resize_b8), errors.GridMismatch, "10x10 px"),
    "CRS not UTM north": (_folder(_set_crs(2154)), errors.WrongCRS, "not WGS 84 / UTM north"),
    "CRS of another zone": (_folder(_set_crs(32632)), errors.WrongCRS, "tile T31TCJ is in EPSG:32631"),
    "corrupt GeoTIFF bytes": (_folder(_corrupt_bytes), errors.UnreadableRaster, "_FRC_B3.tif"),
    "all no data": (_folder(_empty), errors.EmptyProduct, "no valid pixel"),
}
"""Kind -> (maker, error, words of the reason): refused when the product is opened."""


# -- damage found by the build (past validation) or around products -----------------------
def truncate_strips(tmp: Path) -> Path:
    """A product folder whose B3 file is cut in its pixel strips (the header still reads)."""
    path = make(tmp, tile="T31TDH")
    tif = asset(path, "_FRC_B3.tif")
    tif.write_bytes(tif.read_bytes()[: tif.stat().st_size * 3 // 5])
    return path


def corrupt_zip_member(tmp: Path) -> Path:
    """A zip whose B3 member has damaged compressed bytes (GDAL's /vsizip/ reads them as garbage)."""
    path = make(tmp, tile="T31TEH", as_zip=True)
    with zipfile.ZipFile(path) as zf:
        info = next(i for i in zf.infolist() if i.filename.endswith("_FRC_B3.tif"))
    raw = bytearray(path.read_bytes())
    middle = info.header_offset + 30 + len(info.filename.encode()) + info.compress_size // 2
    raw[middle : middle + 64] = b"\xaa" * 64
    path.write_bytes(bytes(raw))
    return path


def outside_france(tmp: Path) -> Path:
    """A valid product of T31UFS (Belgium, north of France's T31UFR): not a France tile."""
    src = make(tmp / "src", tile="T31UFR")
    for f in sorted(src.rglob("*T31UFR*"), key=lambda f: -len(f.parts)):
        f.rename(f.with_name(f.name.replace("T31UFR", "T31UFS")))
    path = src.with_name(src.name.replace("T31UFR", "T31UFS"))
    src.rename(path)
    mtd = asset(path, "_MTD_ALL.xml")
    mtd.write_text(mtd.read_text().replace("T31UFR", "T31UFS").replace(">5600040<", ">5700000<"))
    for tif in path.rglob("*.tif"):
        with rasterio.open(tif, "r+") as ds:  # the ESA corner of T31UFS: 99.96 km north
            ds.transform = Affine.translation(0, 99_960) @ ds.transform
    return path


def link_outside_input(tmp: Path) -> Path:
    """An input folder holding a symbolic link to a product outside it."""
    target = make(tmp / "elsewhere")
    (tmp / "in").mkdir()
    (tmp / "in" / target.name).symlink_to(target)
    return tmp / "in"


def link_loops(tmp: Path) -> Path:
    """An input folder with a link back to itself, and two product-named links to each other."""
    folder = tmp / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "up").symlink_to("..")
    a, b = (folder / f"SENTINEL2X_20180715-000000-000_L3A_{t}_D_V1-1.zip" for t in ("T31TCJ", "T31TDJ"))
    a.symlink_to(b.name)
    b.symlink_to(a.name)
    return folder


def band_linked_outside(tmp: Path) -> Path:
    """A product folder whose B4 is a symbolic link to a file outside the product."""
    path = make(tmp / "in")
    b4 = asset(path, "_FRC_B4.tif")
    outside = tmp / "outside.tif"
    b4.rename(outside)
    b4.symlink_to(outside)
    return path


def metadata_points_outside(tmp: Path) -> Path:
    """A product whose MTD_ALL.xml names a B4 file outside the product folder."""
    path = make(tmp / "in")
    b4 = asset(path, "_FRC_B4.tif")
    shutil.copy(b4, tmp / "elsewhere.tif")
    edit_mtd(f">{b4.name}<", ">../../elsewhere.tif<")(path)
    b4.unlink()
    return path


_BOMB = (  # "billion laughs": 10^9 characters from a few hundred
    '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e0 "aaaaaaaaaa">'
    + "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 9))
    + "]><Muscate_Metadata_Document>&e8;</Muscate_Metadata_Document>"
)
_XXE = (
    '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    "<Muscate_Metadata_Document><IDENTIFIER>&e;</IDENTIFIER></Muscate_Metadata_Document>"
)


def _named(tmp: Path, name: str, content: bytes | None) -> Path:
    """A file (or, without content, an empty folder) named like a product of 2018-07."""
    path = tmp / f"SENTINEL2X_20180715-000000-000_L3A_T31TCJ_D_V1-1{name}"
    if content is None:
        path.mkdir(parents=True)
    else:
        tmp.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return path


def _empty_folder(tmp: Path) -> Path:
    (tmp / "in" / "nothing here").mkdir(parents=True)
    return tmp / "in"


def _empty_input(tmp: Path) -> Path:
    (tmp / "in").mkdir(parents=True)
    return tmp / "in"


BUILD_BAD: dict[str, tuple[Callable[[Path], Path], str]] = {
    "band cut in its strips": (truncate_strips, "cannot be warped (B3"),
    "corrupt bytes in a zip member": (corrupt_zip_member, "_FRC_B3.tif (Bad CRC-32"),
    "tile outside France": (outside_france, "tile T31UFS is not one of the 95 tiles"),
    "symbolic link leaving the input": (link_outside_input, "leads outside the input"),
    "symbolic link loops": (link_loops, "broken symbolic link to SENTINEL2X_20180715-000000-000_L3A_T31TDJ"),
    "band linked outside the product": (band_linked_outside, "_FRC_B4.tif leads outside the product folder"),
    "metadata naming a file outside": (metadata_points_outside, "../../elsewhere.tif leads outside the product"),
    "metadata entity bomb": (_folder(_mtd_text(_BOMB)), "limit on input amplification factor"),
    "metadata external entity": (_folder(_mtd_text(_XXE)), "undefined entity"),
    "empty zip file": (lambda tmp: _named(tmp, ".zip", b""), "truncated or corrupt zip"),
    "text file named .zip": (lambda tmp: _named(tmp, ".zip", b"not a zip\n"), "truncated or corrupt zip"),
    "empty product folder": (lambda tmp: _named(tmp, "", None), "_MTD_ALL.xml is missing"),
    "product of another month": (lambda tmp: make(tmp, month="2018-08"), "not the requested 2018-07"),
    "folder without products": (_empty_folder, "no product found"),
    "empty input folder": (_empty_input, "no product found"),
    "input that does not exist": (lambda tmp: tmp / "missing", "no such file or directory"),
}
"""Kind -> (maker of an input path, words of the message): what a build meets beyond ``BAD``."""
