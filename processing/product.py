"""One Theia L3A product, opened from its unzipped folder or its distributed zip.

Zips are never extracted: rasters are read through GDAL's ``/vsizip/``. Opening a product
validates it (name, metadata, files, data types, grids, CRS, position on the tile grid, not
empty) and raises an :class:`~processing.errors.InvalidProduct` subclass naming the product and
the reason. Pixel reads are windowed: no method loads a whole 10 m band unless asked to.
"""

from __future__ import annotations

import logging
import math
import os
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from osgeo import gdal
from rasterio.crs import CRS
from rasterio.errors import RasterioError
from rasterio.transform import array_bounds
from rasterio.warp import transform_geom
from rasterio.windows import Window

from processing import errors
from processing.layout import (
    BANDS,
    FRC_DTYPE,
    GROUPS,
    MASK_DTYPES,
    MASK_KINDS,
    REQUIRED_MASKS,
    Flag,
    Group,
    band_file,
    band_group,
    mask_file,
    mtd_file,
)
from processing.metadata import ProductMetadata, parse_mtd
from processing.naming import ProductName
from processing.tiles import france_tiles, utm_epsg

log = logging.getLogger("mosaique.processing")

REQUIRED_ASSETS: tuple[str, ...] = BANDS + tuple(f"{k}_{g}" for k in REQUIRED_MASKS for g in GROUPS)
OPTIONAL_ASSETS: tuple[str, ...] = tuple(
    f"{k}_{g}" for k in MASK_KINDS if k not in REQUIRED_MASKS for g in GROUPS
)
# A raster more than this far from the ESA position of its tile id is another tile.
_MAX_TILE_OFFSET_M = 1000.0


def asset_group(asset: str) -> Group:
    """Resolution group of an asset (band id or ``FLG_R1``-style mask id)."""
    return band_group(asset) if asset in BANDS else asset.rsplit("_", 1)[1]  # type: ignore[return-value]


def asset_dtype(asset: str) -> str:
    """The data type the format prescribes for an asset."""
    return FRC_DTYPE if asset in BANDS else MASK_DTYPES[asset.split("_", 1)[0]]


def asset_file(name: str, asset: str) -> str:
    """Conventional relative path of an asset inside the product folder."""
    if asset in BANDS:
        return band_file(name, asset)
    kind, group = asset.split("_", 1)
    return mask_file(name, kind, group)


@dataclass(frozen=True)
class RasterGrid:
    """The pixel grid shared by the rasters of one resolution group."""

    crs: CRS
    transform: Affine
    width: int
    height: int

    @property
    def res(self) -> float:
        """Pixel size in metres."""
        return self.transform.a

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the grid's CRS."""
        return array_bounds(self.height, self.width, self.transform)

    def same_as(self, other: RasterGrid) -> bool:
        """Whether two grids are the same (transform equal to a millimetre)."""
        return (
            self.crs == other.crs
            and (self.width, self.height) == (other.width, other.height)
            and self.transform.almost_equals(other.transform, precision=1e-3)
        )

    def describe(self) -> str:
        """Short human description for error messages."""
        left, _, _, top = self.bounds
        return f"{self.width}x{self.height} px of {self.res:g} m at ({left:.0f}, {top:.0f})"


class _Storage:
    """Where a product's files are: a folder, or a folder inside a zip."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.is_zip = path.is_file()
        if not self.is_zip:
            self.folder = path.name
            return
        try:
            with zipfile.ZipFile(path) as zf:
                names = [i.filename for i in zf.infolist()]
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise errors.UnreadableArchive(path.name, f"truncated or corrupt zip ({exc})") from None
        tops = {n.split("/", 1)[0] for n in names if "/" in n.strip("/")}
        loose = sorted(n for n in names if "/" not in n)
        if loose or len(tops) != 1:
            found = ", ".join(sorted(tops) + loose[:3]) or "nothing"
            raise errors.UnreadableArchive(
                path.name, f"the zip must hold exactly one product folder; found: {found}"
            )
        self.folder = tops.pop()
        self._names = frozenset(names)

    def exists(self, rel: str) -> bool:
        """Whether a file exists inside the product folder.

        Raises:
            UnsafePath: in an unzipped product, ``rel`` (or a symlink on its way) leads outside
                the product folder (zip members never leave the zip).
        """
        if self.is_zip:
            return f"{self.folder}/{rel}" in self._names
        target = self.path / rel
        if not Path(os.path.realpath(target)).is_relative_to(os.path.realpath(self.path)):
            raise errors.UnsafePath(self.folder, f"{rel} leads outside the product folder")
        return target.is_file()

    def read_bytes(self, rel: str) -> bytes:
        """Read a (small) file of the product."""
        if not self.is_zip:
            return (self.path / rel).read_bytes()
        try:
            with zipfile.ZipFile(self.path) as zf:
                return zf.read(f"{self.folder}/{rel}")
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise errors.UnreadableArchive(self.path.name, f"{rel}: corrupt zip member ({exc})") from None

    def gdal_path(self, rel: str) -> str:
        """The path GDAL opens for a file of the product."""
        if self.is_zip:
            return vsizip(self.path, f"{self.folder}/{rel}")
        return str(self.path / rel)


@dataclass
class L3AProduct:
    """A validated L3A product. Use :meth:`open`."""

    path: Path
    name: ProductName
    metadata: ProductMetadata
    assets: dict[str, str]
    """Asset id (``B4``, ``FLG_R1``...) -> path GDAL opens."""
    grids: dict[str, RasterGrid]
    """``R1``/``R2`` -> grid."""
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, path: str | Path, *, month: str | None = None, check_data: bool = True) -> L3AProduct:
        """Open and validate a product folder or zip.

        Args:
            path: the product folder or its zip.
            month: if given (``YYYY-MM``), a product of another month is refused.
            check_data: also refuse a product whose FLG mask holds no valid pixel.
        """
        path = Path(path).absolute()
        if not path.exists():
            raise errors.InvalidProduct(path.name, "no such file or directory")
        storage = _Storage(path)
        name = ProductName.parse(storage.folder)
        label = str(name)
        if name.level != "L3A":
            raise errors.WrongLevel(label, f"product level is {name.level}, not L3A")
        if month is not None and name.month != month:
            raise errors.WrongMonth(label, f"synthesis month is {name.month}, not the requested {month}")
        if name.tile not in france_tiles():
            raise errors.OutsideFrance(
                label, f"tile {name.tile} is not one of the {len(france_tiles())} tiles covering metropolitan France"
            )
        warnings: list[str] = []
        if storage.is_zip and path.stem != label:
            warnings.append(f"zip file {path.name} holds product {label}")

        metadata = _read_metadata(storage, name, warnings)
        assets = _locate_assets(storage, name, metadata)
        grids = _check_rasters(label, assets, storage, warnings)
        _check_crs(label, name, grids["R1"], metadata)
        _check_position(label, name, grids, metadata, warnings)
        product = cls(path, name, metadata, assets, grids, warnings)
        if check_data and not product.has_valid_pixels():
            raise errors.EmptyProduct(label, "no valid pixel: the FLG mask is no data everywhere")
        for w in warnings:
            log.warning("%s: %s", label, w)
        return product

    def to_record(self) -> dict:
        """What :meth:`from_record` needs to stand for this product without opening it (JSON-ready)."""
        return {
            "name": str(self.name),
            "assets": {a: container_path(self.path, g) for a, g in self.assets.items()},
            "grids": {k: [g.crs.to_epsg(), g.width, g.height, *tuple(g.transform)[:6]] for k, g in self.grids.items()},
            "metadata": self.metadata.model_dump(mode="json", exclude_defaults=True),
            "warnings": self.warnings,
        }

    @classmethod
    def from_record(cls, path: str | Path, record: dict, *, month: str | None = None) -> L3AProduct:
        """The product at ``path`` as :meth:`to_record` described it when it was validated.

        Nothing is read: the caller vouches that the files are the same (their fingerprint,
        :func:`processing.identity.fingerprint`, did not change). Only the month is checked.
        """
        path = Path(path).absolute()
        parsed = ProductName.parse(record["name"])
        if month is not None and parsed.month != month:
            raise errors.WrongMonth(str(parsed), f"synthesis month is {parsed.month}, not the requested {month}")
        grids = {
            k: RasterGrid(CRS.from_epsg(epsg), Affine(*t), width, height)
            for k, (epsg, width, height, *t) in record["grids"].items()
        }
        base = vsizip(path) if path.is_file() else str(path.parent)
        assets = {a: f"{base}/{rel}" for a, rel in record["assets"].items()}
        metadata = ProductMetadata.model_validate(record["metadata"])
        return cls(path, parsed, metadata, assets, grids, list(record["warnings"]))

    # -- identity -------------------------------------------------------------------------
    @property
    def tile(self) -> str:
        """MGRS tile id, e.g. ``T31TCJ``."""
        return self.name.tile

    @property
    def month(self) -> str:
        """Synthesis month, ``YYYY-MM``."""
        return self.name.month

    @property
    def epsg(self) -> int:
        """EPSG code of the rasters' CRS (WGS 84 / UTM north)."""
        return int(self.grids["R1"].crs.to_epsg())

    @property
    def crs(self) -> CRS:
        """CRS of the rasters."""
        return self.grids["R1"].crs

    @property
    def nodata(self) -> float:
        """No-data value of the reflectance and date rasters."""
        return self.metadata.nodata

    @property
    def scale(self) -> float:
        """Factor from digital number to reflectance (1 / 10000)."""
        return 1.0 / self.metadata.quantification

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the product CRS."""
        return self.grids["R1"].bounds

    @property
    def footprint(self) -> dict:
        """The product's footprint as a GeoJSON polygon in EPSG:4326 (edges densified)."""
        left, bottom, right, top = self.bounds
        n = 16
        xs = [left + (right - left) * i / n for i in range(n)]
        ys = [top - (top - bottom) * i / n for i in range(n)]
        ring = (
            [(x, top) for x in xs]
            + [(right, y) for y in ys]
            + [(right - x + left, bottom) for x in xs]
            + [(left, bottom - y + top) for y in ys]
        )
        ring.append(ring[0])
        poly = {"type": "Polygon", "coordinates": [ring]}
        return transform_geom(self.crs, "EPSG:4326", poly, precision=6)

    @property
    def sort_key(self) -> tuple:
        """Orders duplicates of a tile and month: the greatest is the one to keep."""
        produced = self.metadata.production_date
        return (self.name.version, produced.timestamp() if produced else 0.0, self.name.synthesis)

    def size_bytes(self) -> int:
        """Bytes on disk of the product (zip or folder)."""
        if self.path.is_file():
            return self.path.stat().st_size
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())

    # -- pixels ---------------------------------------------------------------------------
    def has_valid_pixels(self) -> bool:
        """Whether any FLG_R1 pixel is not no data (reads window by window, stops early)."""
        try:
            with rasterio.open(self.assets["FLG_R1"]) as ds:
                return any(np.any(ds.read(1, window=window) != Flag.NODATA)
                           for window in row_windows(ds.width, ds.height, rows=max(1, 4_000_000 // ds.width)))
        except RasterioError as exc:
            raise errors.UnreadableRaster(str(self.name), f"FLG_R1: {exc}") from None

    def __str__(self) -> str:
        return str(self.name)


def vsizip(archive: Path | str, member: str = "") -> str:
    """The path GDAL opens for a zip (``/vsizip/archive``) or for a member inside it."""
    return f"/vsizip/{archive}/{member}" if member else f"/vsizip/{archive}"


def container_path(path: Path | str, gdal_path: str) -> str:
    """An asset's path inside its zip ``path`` (the inverse of :func:`vsizip`), or relative to the
    folder holding the product folder ``path``."""
    inside = vsizip(path) + "/"
    if gdal_path.startswith(inside):
        return gdal_path.removeprefix(inside)
    return Path(gdal_path).relative_to(Path(path).parent).as_posix()


def verify_zip(path: Path, members: Iterable[str] | None = None) -> None:
    """Check the CRC of some members (default: all) of a product's zip (GDAL's ``/vsizip/`` does not).

    A member whose bytes were damaged inflates to wrong pixel values without any error from
    GDAL. This inflates each member once (about 4 s of CPU per GB of pixels), so it belongs
    with the product's checksum, which is computed once per new product.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise errors.UnreadableArchive(path.name, f"truncated or corrupt zip ({exc})") from None
    with archive:
        for name in archive.namelist() if members is None else members:
            try:
                with archive.open(name) as member:
                    while member.read(1 << 22):
                        pass
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError) as exc:
                raise errors.UnreadableArchive(path.name, f"corrupt zip member {name} ({exc})") from None


def row_windows(width: int, height: int, rows: int) -> Iterator[Window]:
    """Full-width windows of ``rows`` rows covering a raster (the strips of the L3A GeoTIFFs)."""
    for row in range(0, height, rows):
        yield Window(0, row, width, min(rows, height - row))


def check_readable(label: str, assets: dict[str, str], names: Iterable[str], rows: int = 1024) -> None:
    """Read every pixel of some assets, window by window; raise for the first that fails.

    Raises:
        UnreadableRaster: naming the product (``label``), the asset and GDAL's reason.
    """
    for name in names:
        try:
            with rasterio.open(assets[name]) as ds:
                for window in row_windows(ds.width, ds.height, rows):
                    ds.read(1, window=window)
        except RasterioError as exc:
            detail = exc.__cause__ or exc  # GDAL's own words, rather than rasterio's "Read failed"
            raise errors.UnreadableRaster(label, f"{name}: {detail}") from None


def _read_metadata(storage: _Storage, name: ProductName, warnings: list[str]) -> ProductMetadata:
    """Read MTD_ALL.xml and cross-check it with the product name."""
    label, rel = str(name), mtd_file(str(name))
    if not storage.exists(rel):
        raise errors.BadMetadata(label, f"{rel} is missing")
    meta = parse_mtd(storage.read_bytes(rel), f"{label}: {rel}")
    if meta.product_level is not None and meta.product_level.upper() != "L3A":
        raise errors.WrongLevel(label, f"MTD_ALL.xml says PRODUCT_LEVEL {meta.product_level}, not L3A")
    if meta.tile is not None and meta.tile.lstrip("T") != name.tile.lstrip("T"):
        raise errors.BadMetadata(label, f"MTD_ALL.xml is for tile {meta.tile}, the name says {name.tile}")
    if meta.acquisition_date is not None and f"{meta.acquisition_date:%Y-%m}" != name.month:
        raise errors.BadMetadata(
            label,
            f"MTD_ALL.xml ACQUISITION_DATE {meta.acquisition_date:%Y-%m-%d} is not in the "
            f"name's month {name.month}",
        )
    if meta.product_version is not None:
        stated = meta.product_version.replace("-", ".")
        if stated != "{}.{}".format(*name.version):
            named = f"V{name.version[0]}-{name.version[1]}"
            warnings.append(f"MTD_ALL.xml PRODUCT_VERSION {stated} differs from the name's {named}")
    return meta


def _locate_assets(storage: _Storage, name: ProductName, meta: ProductMetadata) -> dict[str, str]:
    """Find each asset's file: the metadata's path if present, else the naming convention."""
    assets: dict[str, str] = {}
    for asset in REQUIRED_ASSETS + OPTIONAL_ASSETS:
        stated = meta.image_files.get(asset) if asset in BANDS else meta.mask_files.get(asset)
        conventional = asset_file(str(name), asset)
        for rel in (stated, conventional):
            if rel and storage.exists(rel):
                assets[asset] = storage.gdal_path(rel)
                break
        else:
            if asset in REQUIRED_ASSETS:
                raise errors.MissingAsset(str(name), f"{conventional} is missing")
    return assets


TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # TIFF and BigTIFF, both byte orders


def _is_geotiff(gdal_path: str) -> bool:
    """Whether the file starts like a TIFF or BigTIFF (read through GDAL's VSI, before any driver parses it).

    A missing or unreadable file passes here: opening it then reports why.
    """
    handle = gdal.VSIFOpenL(gdal_path, "rb")
    if handle is None:
        return True
    try:
        return gdal.VSIFReadL(1, 4, handle) in TIFF_SIGNATURES
    finally:
        gdal.VSIFCloseL(handle)


def _check_rasters(
    label: str, assets: dict[str, str], storage: _Storage, warnings: list[str]
) -> dict[str, RasterGrid]:
    """Open every asset: readable, one band, right data type, one grid per group."""
    grids: dict[str, RasterGrid] = {}
    first: dict[str, str] = {}
    for asset, gdal_path in assets.items():
        rel = gdal_path.rsplit(f"{storage.folder}/", 1)[-1] if storage.is_zip else Path(gdal_path).name
        if not _is_geotiff(gdal_path):
            raise errors.UnreadableRaster(label, f"{rel}: not a GeoTIFF (no TIFF signature; other formats are refused)")
        try:
            with rasterio.open(gdal_path, driver="GTiff") as ds:  # never a VRT or another format posing as one
                dtype, count = ds.dtypes[0], ds.count
                grid = RasterGrid(ds.crs, ds.transform, ds.width, ds.height)
        except RasterioError as exc:
            raise errors.UnreadableRaster(label, f"{rel}: GDAL cannot read it ({exc})") from None
        if count != 1:
            raise errors.WrongDataType(label, f"{rel}: {count} bands, expected 1")
        if dtype != asset_dtype(asset):
            raise errors.WrongDataType(label, f"{rel}: data type {dtype}, expected {asset_dtype(asset)}")
        if grid.crs is None or not grid.transform.is_rectilinear or grid.transform.e >= 0:
            raise errors.WrongCRS(label, f"{rel}: no usable georeferencing (CRS and north-up transform)")
        group = asset_group(asset)
        if group not in grids:
            grids[group], first[group] = grid, rel
        elif not grid.same_as(grids[group]):
            raise errors.GridMismatch(
                label, f"{rel}: grid {grid.describe()} differs from {first[group]}: {grids[group].describe()}"
            )
    r1, r2 = grids["R1"], grids["R2"]
    if r1.crs != r2.crs:
        raise errors.GridMismatch(label, f"R2 rasters are in {r2.crs}, R1 rasters in {r1.crs}")
    if not math.isclose(r2.res, 2 * r1.res, rel_tol=1e-6) or any(
        abs(a - b) > r2.res / 2 for a, b in zip(r1.bounds, r2.bounds, strict=True)
    ):
        raise errors.GridMismatch(
            label, f"R2 grid ({r2.describe()}) is not the R1 grid ({r1.describe()}) at half resolution"
        )
    return grids


def _check_crs(label: str, name: ProductName, grid: RasterGrid, meta: ProductMetadata) -> None:
    """The rasters must be in WGS 84 / UTM north of the tile's zone."""
    epsg = grid.crs.to_epsg()
    if epsg is None or not 32601 <= epsg <= 32660:
        raise errors.WrongCRS(label, f"CRS {grid.crs.to_string()} is not WGS 84 / UTM north (EPSG:326xx)")
    expected = utm_epsg(name.tile)
    if epsg != expected:
        raise errors.WrongCRS(label, f"CRS is EPSG:{epsg} but tile {name.tile} is in EPSG:{expected}")
    if meta.epsg is not None and meta.epsg != epsg:
        raise errors.BadMetadata(label, f"MTD_ALL.xml says EPSG:{meta.epsg}, the rasters are EPSG:{epsg}")


def _check_position(
    label: str, name: ProductName, grids: dict[str, RasterGrid], meta: ProductMetadata, warnings: list[str]
) -> None:
    """Compare the rasters' position with the ESA tile grid and the metadata (rasters win)."""
    left, _, _, top = grids["R1"].bounds
    tile = france_tiles().get(name.tile)
    if tile is not None:  # a tile outside France was refused by L3AProduct.open
        offset = math.hypot(left - tile.ulx, top - tile.uly)
        if offset > _MAX_TILE_OFFSET_M:
            raise errors.GridMismatch(
                label,
                f"rasters start at ({left:.0f}, {top:.0f}), {offset / 1000:.1f} km from tile "
                f"{name.tile}'s ESA corner ({tile.ulx:.0f}, {tile.uly:.0f})",
            )
        if offset > grids["R1"].res / 2:
            warnings.append(f"rasters are {offset:.0f} m from the ESA corner of {name.tile}")
    for group, geo in meta.geopositions.items():
        grid = grids.get(group)
        if grid is None:
            continue
        g_left, _, _, g_top = grid.bounds
        if (
            abs(geo.ulx - g_left) > grid.res / 2
            or abs(geo.uly - g_top) > grid.res / 2
            or (geo.ncols, geo.nrows) != (grid.width, grid.height)
        ):
            warnings.append(
                f"MTD_ALL.xml {group} geoposition ({geo.ncols}x{geo.nrows} at {geo.ulx:.0f}, "
                f"{geo.uly:.0f}) disagrees with the rasters ({grid.describe()}); using the rasters"
            )
