"""Tests of sample (synthetic L3A products) and the ``mosaique sample`` command."""

from __future__ import annotations

import filecmp
import json
import os
import re
import xml.etree.ElementTree as ET
import zipfile
from datetime import datetime
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from osgeo import gdal
from rasterio.crs import CRS
from rasterio.warp import transform

import sample.writer as writer
from app.cli import main
from processing.layout import (
    BANDS,
    MASK_KINDS,
    NODATA,
    R1_BANDS,
    R2_BANDS,
    Flag,
    band_file,
    mask_file,
    mtd_file,
    quicklook_file,
)
from processing.naming import ProductName
from processing.tiles import france_tiles
from sample import generate_products, product_name, write_product
from sample.grid import lonlat, wedge_for

gdal.UseExceptions()

COARSE = 2000.0  # m: 55 x 55 px (R2 27 x 27), a few hundredths of a second per product
WGS84 = CRS.from_epsg(4326)
NAME = re.compile(r"^SENTINEL2X_201807(1[2-8])-000000-000_L3A_T31TCJ_[CD]_V1-1$")


def grid_json() -> dict[str, dict]:
    """The ESA grid corners, straight from the data file (independently of processing.tiles)."""
    text = resources.files("processing").joinpath("data/france_s2_tiles.json").read_text()
    raw = json.loads(text)
    return {t["tile"]: t for t in raw["tiles"]}


def expected_files(stem: str) -> set[str]:
    """Every file of a product, relative to its folder."""
    files = {band_file(stem, b) for b in BANDS} | {mtd_file(stem), quicklook_file(stem)}
    return files | {mask_file(stem, k, g) for k in MASK_KINDS for g in ("R1", "R2")}


def read(product: Path, rel: str) -> np.ndarray:
    """Band 1 of a product raster (folder or zip)."""
    with rasterio.open(_path(product, rel)) as src:
        return src.read(1)


def _path(product: Path, rel: str) -> str:
    """GDAL path of a file inside a product folder or zip."""
    if product.suffix == ".zip":
        return f"/vsizip/{product}/{product.stem}/{rel}"
    return str(product / rel)


def stem_of(product: Path) -> str:
    """The product name of a folder or zip path."""
    return product.name.removesuffix(".zip")


def sample_at(product: Path, rel: str, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Values of a product raster at lon/lat points (-1 outside the raster)."""
    with rasterio.open(_path(product, rel)) as src:
        xs, ys = transform(WGS84, src.crs, lon, lat)
        col = np.floor((np.asarray(xs) - src.transform.c) / src.transform.a).astype(int)
        row = np.floor((np.asarray(ys) - src.transform.f) / src.transform.e).astype(int)
        inside = (col >= 0) & (col < src.width) & (row >= 0) & (row < src.height)
        data = src.read(1)
    out = np.full(len(lon), -1, np.int32)
    out[inside] = data[row[inside], col[inside]]
    return out


@pytest.fixture(scope="module")
def coarse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder product of T31TCJ, July 2018, at 2 km."""
    path, written = write_product(tmp_path_factory.mktemp("coarse"), "T31TCJ", "2018-07", COARSE)
    assert written
    return path


# --- layout ------------------------------------------------------------------------------------


def test_folder_layout_names_and_nothing_else(coarse: Path) -> None:
    stem = coarse.name
    assert NAME.match(stem)
    found = {p.relative_to(coarse).as_posix() for p in coarse.rglob("*") if p.is_file()}
    assert found == expected_files(stem)
    assert [p.name for p in coarse.parent.iterdir()] == [stem]  # no staging left behind


def test_zip_layout(tmp_path: Path) -> None:
    path, written = write_product(tmp_path, "T31TCJ", "2018-07", COARSE, as_zip=True)
    stem = stem_of(path)
    assert written and path.name == f"{stem}.zip"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        files = {i.filename for i in zf.infolist() if not i.is_dir()}
        assert all(i.filename.startswith(f"{stem}/") for i in zf.infolist())
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist() if not i.is_dir())
    assert files == {f"{stem}/{f}" for f in expected_files(stem)}


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")  # the quicklook
def test_raster_types_sizes_and_nodata(coarse: Path) -> None:
    stem = coarse.name
    for band in BANDS:
        with rasterio.open(coarse / band_file(stem, band)) as src:
            size = 55 if band in R1_BANDS else 27  # round(109800 / 2000), round(109800 / 4000)
            assert (src.count, src.dtypes[0], src.nodata) == (1, "int16", NODATA)
            assert (src.width, src.height) == (size, size)
            assert src.profile.get("compress") is None and not src.profile["tiled"]
    for kind, dtype in (("FLG", "uint8"), ("DTS", "int16"), ("WGT", "int16")):
        for group in ("R1", "R2"):
            with rasterio.open(coarse / mask_file(stem, kind, group)) as src:
                assert src.dtypes[0] == dtype
    with rasterio.open(coarse / quicklook_file(stem)) as src:
        assert (src.driver, src.count, src.width, src.height, src.dtypes[0]) == (
            "JPEG", 3, 1000, 1000, "uint8")


@pytest.mark.parametrize("group", ["R1", "R2"])
def test_mask_values(coarse: Path, group: str) -> None:
    stem = coarse.name
    flg = read(coarse, mask_file(stem, "FLG", group))
    dts = read(coarse, mask_file(stem, "DTS", group))
    wgt = read(coarse, mask_file(stem, "WGT", group))
    nodata = flg == Flag.NODATA
    assert set(np.unique(flg)) <= {0, 1, 2, 3, 4}
    assert (dts[nodata] == NODATA).all() and (wgt[nodata] == 0).all()
    july15 = datetime(2018, 7, 15).timetuple().tm_yday - 1  # DTS counts 1 January as 0
    assert dts[~nodata].min() >= july15 - 10 and dts[~nodata].max() <= july15 + 10
    assert wgt[~nodata].min() > 0 and wgt[~nodata].max() <= 5000
    for band in R1_BANDS if group == "R1" else R2_BANDS:
        frc = read(coarse, band_file(stem, band))
        assert (frc[nodata] == NODATA).all()
        assert frc[~nodata].min() >= 1 and frc[~nodata].max() <= 15000


def test_mtd_fields_match_the_rasters(coarse: Path) -> None:
    stem = coarse.name
    name = ProductName.parse(stem)
    tile = grid_json()["T31TCJ"]
    root = ET.parse(coarse / mtd_file(stem)).getroot()
    assert root.tag == "Muscate_Metadata_Document"
    assert root.findtext("Metadata_Identification/METADATA_FORMAT") == "METADATA_MUSCATE"
    assert root.findtext("Dataset_Identification/IDENTIFIER") == stem
    zone = root.find("Dataset_Identification/GEOGRAPHICAL_ZONE")
    assert (zone.get("type"), zone.text) == ("Tile", "T31TCJ")
    pc = root.find("Product_Characteristics")
    assert pc.findtext("PRODUCT_ID") == stem
    assert pc.findtext("ACQUISITION_DATE") == f"{name.synthesis:%Y-%m-%d}T00:00:00.000Z"
    produced = datetime.strptime(pc.findtext("PRODUCTION_DATE"), "%Y-%m-%dT%H:%M:%S.%fZ")
    assert 25 <= (produced - name.synthesis).days <= 40
    assert [pc.findtext(t) for t in ("PRODUCT_VERSION", "PRODUCT_LEVEL", "PLATFORM")] == [
        "1.1", "L3A", "SENTINEL2X"]
    assert [b.text for b in pc.findall("Band_Global_List/BAND_ID")] == list(BANDS)
    assert pc.find("Band_Global_List").get("count") == "10"
    for group, bands in (("R1", R1_BANDS), ("R2", R2_BANDS)):
        ids = pc.findall(f"Band_Group_List/Group[@group_id='{group}']/Band_List/BAND_ID")
        assert [b.text for b in ids] == list(bands)

    product = root.find("Product_Organisation/Muscate_Product")
    assert product.findtext("QUICKLOOK") == quicklook_file(stem)
    images = product.findall("Image_List/Image/Image_File_List/IMAGE_FILE")
    assert {i.get("band_id"): i.text for i in images} == {b: band_file(stem, b) for b in BANDS}
    natures = {"Pixel_Status_Flag": "FLG", "Weighted_Average_Dates": "DTS", "Pixel_Weight": "WGT"}
    masks = product.findall("Mask_List/Mask")
    assert sorted(m.findtext("Mask_Properties/NATURE") for m in masks) == sorted(natures)
    for mask in masks:
        kind = natures[mask.findtext("Mask_Properties/NATURE")]
        files = {f.get("group_id"): f.text for f in mask.findall("Mask_File_List/MASK_FILE")}
        assert files == {g: mask_file(stem, kind, g) for g in ("R1", "R2")}
        assert all((coarse / f).is_file() for f in files.values())

    geo = root.find("Geoposition_Informations")
    cs = geo.find("Coordinate_Reference_System/Horizontal_Coordinate_System")
    assert cs.findtext("HORIZONTAL_CS_CODE") == "32631"
    assert cs.findtext("HORIZONTAL_CS_NAME") == "WGS 84 / UTM zone 31N"
    for group in ("R1", "R2"):
        gp = geo.find("Geopositioning/Group_Geopositioning_List/"
                      f"Group_Geopositioning[@group_id='{group}']")
        rel = mask_file(stem, "FLG", group)
        with rasterio.open(coarse / rel) as src:
            t = src.transform
            assert float(gp.findtext("ULX")) == t.c == tile["ulx"]
            assert float(gp.findtext("ULY")) == t.f == tile["uly"]
            assert (float(gp.findtext("XDIM")), float(gp.findtext("YDIM"))) == (t.a, t.e)
            assert (int(gp.findtext("NROWS")), int(gp.findtext("NCOLS"))) == (src.height, src.width)
    points = {p.get("name"): p for p in geo.findall("Geopositioning/Global_Geopositioning/Point")}
    assert set(points) == {"upperLeft", "upperRight", "lowerRight", "lowerLeft", "center"}
    ul = points["upperLeft"]
    assert (float(ul.findtext("X")), float(ul.findtext("Y"))) == (tile["ulx"], tile["uly"])
    lon, lat = transform(CRS.from_epsg(32631), WGS84, [tile["ulx"]], [tile["uly"]])
    assert float(ul.findtext("LON")) == pytest.approx(lon[0], abs=1e-9)
    assert float(ul.findtext("LAT")) == pytest.approx(lat[0], abs=1e-9)

    radio = root.find("Radiometric_Informations")
    assert radio.findtext("REFLECTANCE_QUANTIFICATION_VALUE") == "10000"
    assert radio.findtext("Special_Values_List/SPECIAL_VALUE[@name='nodata']") == "-10000"
    flg = read(coarse, mask_file(stem, "FLG", "R1"))
    valid = (flg != 0).sum()
    quality = {q.get("name"): int(q.text) for q in root.iter("QUALITY_INDEX")}
    assert quality == {"CloudPercent": round(100 * (flg == 1).sum() / valid),
                       "SnowPercent": round(100 * (flg == 2).sum() / valid)}


def test_version_is_configurable(tmp_path: Path) -> None:
    path, _ = write_product(tmp_path, "T31TCJ", "2018-07", COARSE, version=(2, 0))
    assert path.name.endswith("_V2-0")
    root = ET.parse(path / mtd_file(path.name)).getroot()
    assert root.findtext("Product_Characteristics/PRODUCT_VERSION") == "2.0"
    # The synthesis date does not depend on the version: a V1-1 and a V2-0 are duplicates.
    assert path.name.replace("_V2-0", "_V1-1") == str(product_name("T31TCJ", datetime(2018, 7, 1)))


# --- georeferencing in plain GDAL, all three UTM zones ------------------------------------------


@pytest.mark.parametrize("tile", ["T30TXQ", "T31TCJ", "T32TLR"])
def test_plain_gdal_reads_zip_with_esa_grid(tmp_path: Path, tile: str) -> None:
    path, _ = write_product(tmp_path, tile, "2018-08", COARSE, as_zip=True)
    stem = stem_of(path)
    esa = grid_json()[tile]
    for rel, res in ((band_file(stem, "B4"), COARSE), (band_file(stem, "B11"), 2 * COARSE),
                     (mask_file(stem, "FLG", "R1"), COARSE),
                     (mask_file(stem, "DTS", "R2"), 2 * COARSE)):
        ds = gdal.Open(f"/vsizip/{path}/{stem}/{rel}")
        assert ds.GetGeoTransform() == (esa["ulx"], res, 0.0, esa["uly"], 0.0, -res)
        srs = ds.GetSpatialRef()
        assert srs.GetAuthorityName(None) == "EPSG"
        assert int(srs.GetAuthorityCode(None)) == esa["epsg"] == int(tile[1:3]) + 32600
        assert ds.RasterCount == 1
        ds = None


# --- overlaps agree -----------------------------------------------------------------------------


def test_same_zone_neighbours_agree_exactly(tmp_path: Path) -> None:
    # T31TCJ and T31TDJ: ulx 300000 and 399960, same uly. At 120 m the R1 grids coincide
    # (99960 = 833 x 120), so overlapping pixels see the very same ground.
    month = next(m for m in ("2018-07", "2018-08", "2018-09", "2018-10")
                 if wedge_for("T31TDJ", datetime.strptime(m, "%Y-%m").date(), 0))
    west, _ = write_product(tmp_path, "T31TCJ", month, 120.0)
    east, _ = write_product(tmp_path, "T31TDJ", month, 120.0)
    shift = 833

    def overlap(product: Path, rel: str) -> np.ndarray:
        data = read(product, rel)
        return data[:, shift:] if product == west else data[:, : data.shape[1] - shift]

    fw, fe = (overlap(p, mask_file(p.name, "FLG", "R1")) for p in (west, east))
    both = (fw != 0) & (fe != 0)
    assert (fe == 0).any(), "T31TDJ was chosen for its wedge"
    assert not ((fw == 0) & (fe == 0)).any(), "a wedge is always covered by the western neighbour"
    assert np.array_equal(fw[both], fe[both])
    for band in R1_BANDS:
        a, b = overlap(west, band_file(west.name, band)), overlap(east, band_file(east.name, band))
        assert np.array_equal(a[both], b[both]), band
    a, b = (overlap(p, mask_file(p.name, "DTS", "R1")) for p in (west, east))
    assert np.array_equal(a[both], b[both])


def _overlap_points(tile_a: str, tile_b: str, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """A lon/lat grid of points inside both tiles."""
    tiles = france_tiles()
    a, b = tiles[tile_a], tiles[tile_b]
    lo0, la0 = np.maximum(a.lonlat_bounds[:2], b.lonlat_bounds[:2])
    lo1, la1 = np.minimum(a.lonlat_bounds[2:], b.lonlat_bounds[2:])
    lon, lat = (g.ravel() for g in np.meshgrid(np.linspace(lo0, lo1, n), np.linspace(la0, la1, n)))
    inside = np.ones(lon.size, bool)
    for t in (a, b):
        x, y = (np.asarray(v) for v in transform(WGS84, CRS.from_epsg(t.epsg), lon, lat))
        left, bottom, right, top = t.bounds
        inside &= (x > left) & (x < right) & (y > bottom) & (y < top)
    return lon[inside], lat[inside]


@pytest.mark.parametrize("tile_a, tile_b", [("T30TYP", "T31TCJ"), ("T31TGL", "T32TLR")])
def test_tiles_across_a_zone_boundary_agree(tmp_path: Path, tile_a: str, tile_b: str) -> None:
    pa, _ = write_product(tmp_path, tile_a, "2018-07", 500.0)
    pb, _ = write_product(tmp_path, tile_b, "2018-07", 500.0)
    lon, lat = _overlap_points(tile_a, tile_b)
    assert lon.size > 300

    def at(p: Path, rel: str) -> np.ndarray:
        return sample_at(p, rel, lon, lat)

    fa, fb = at(pa, mask_file(pa.name, "FLG", "R1")), at(pb, mask_file(pb.name, "FLG", "R1"))
    both = (fa > 0) & (fb > 0)
    assert both.mean() > 0.8
    # Pixel centres differ by up to a pixel across zones: classes differ only along borders.
    assert (fa[both] == fb[both]).mean() > 0.95
    da, db = at(pa, mask_file(pa.name, "DTS", "R1")), at(pb, mask_file(pb.name, "DTS", "R1"))
    assert (np.abs(da[both] - db[both]) <= 1).mean() > 0.98
    ra, rb = at(pa, band_file(pa.name, "B8")), at(pb, band_file(pb.name, "B8"))
    assert abs(ra[both].mean() - rb[both].mean()) < 0.05 * ra[both].mean()


def test_r1_and_r2_agree(coarse: Path) -> None:
    stem = coarse.name
    r1 = read(coarse, mask_file(stem, "FLG", "R1"))
    r2 = read(coarse, mask_file(stem, "FLG", "R2"))
    n = r2.shape[0]
    # An R2 pixel covers 2 x 2 R1 pixels; its centre is their shared corner.
    assert (r1[: 2 * n : 2, : 2 * n : 2] == r2).mean() > 0.9


# --- content ------------------------------------------------------------------------------------


@pytest.mark.parametrize("tile, box", [
    ("T30TXQ", (-1.75, 44.3, -1.55, 44.9)),  # Bay of Biscay off the Landes
    ("T31TFH", (4.5, 42.5, 5.3, 42.9)),  # Gulf of Lion
])
def test_sea_is_water(tmp_path: Path, tile: str, box: tuple[float, ...]) -> None:
    path, _ = write_product(tmp_path, tile, "2018-07", 1000.0)
    grid = np.meshgrid(np.linspace(box[0], box[2], 12), np.linspace(box[1], box[3], 12))
    lon, lat = (g.ravel() for g in grid)
    flags = sample_at(path, mask_file(path.name, "FLG", "R1"), lon, lat)
    clear = (flags > 0) & (flags != Flag.CLOUD)
    assert clear.mean() > 0.5 and (flags[clear] == Flag.WATER).all()
    b8 = sample_at(path, band_file(path.name, "B8"), lon, lat)
    assert np.median(b8[clear]) < 300  # dark in the near infrared


def test_snow_on_the_high_alps_more_in_winter(tmp_path: Path) -> None:
    counts = {}
    for month in ("2018-01", "2018-07"):
        path, _ = write_product(tmp_path, "T32TLR", month, 1000.0)
        flg = read(path, mask_file(path.name, "FLG", "R1"))
        counts[month] = (flg == Flag.SNOW).sum()
        if month == "2018-07":
            snow = flg == Flag.SNOW
            b3 = read(path, band_file(path.name, "B3")).astype(float)
            b11 = read(path, band_file(path.name, "B11")).astype(float)
            b11 = b11.repeat(2, axis=0).repeat(2, axis=1)[: snow.shape[0], : snow.shape[1]]
            ndsi = (b3 - b11) / (b3 + b11)
            assert np.median(ndsi[snow]) > 0.5
    assert counts["2018-07"] >= 20
    assert counts["2018-01"] > 3 * counts["2018-07"]


def test_clouds_are_flagged_and_bright(tmp_path: Path) -> None:
    tiles = ["T30UXU", "T31TCL", "T31UDQ", "T31TEK", "T31UFQ", "T30TXR"]
    paths = generate_products(tmp_path, tiles, ["2018-07", "2018-08"], COARSE, workers=1)
    flags = np.concatenate([read(p, mask_file(p.name, "FLG", "R1")).ravel() for p in paths])
    b2 = np.concatenate([read(p, band_file(p.name, "B2")).ravel() for p in paths])
    cloudy = flags == Flag.CLOUD
    assert 0.005 < cloudy.mean() < 0.15
    # Clouds stay in the reflectance (bright), only FLG marks them; a few shadows are dark.
    assert np.median(b2[cloudy]) > 2500 > np.median(b2[flags == Flag.LAND])


def test_july_and_august_differ(tmp_path: Path) -> None:
    ndvi = {}
    for month in ("2018-07", "2018-08"):
        path, _ = write_product(tmp_path, "T31UDQ", month, 500.0)
        flg = read(path, mask_file(path.name, "FLG", "R1"))
        b4 = read(path, band_file(path.name, "B4")).astype(float)
        b8 = read(path, band_file(path.name, "B8")).astype(float)
        ndvi[month] = ((b8 - b4) / (b8 + b4), flg == Flag.LAND)
    (jul, land_jul), (aug, land_aug) = ndvi["2018-07"], ndvi["2018-08"]
    land = land_jul & land_aug
    assert aug[land].mean() < jul[land].mean() - 0.02
    assert (aug[land] < jul[land] - 0.1).mean() > 0.1  # many fields dried up or were harvested


# --- determinism, blocks, wedges ----------------------------------------------------------------


def test_deterministic_for_a_seed(tmp_path: Path) -> None:
    a, _ = write_product(tmp_path / "a", "T31TEJ", "2018-08", COARSE, seed=3)
    b, _ = write_product(tmp_path / "b", "T31TEJ", "2018-08", COARSE, seed=3)
    c, _ = write_product(tmp_path / "c", "T31TEJ", "2018-08", COARSE, seed=4)
    assert a.name == b.name == c.name
    for rel in sorted(expected_files(a.name)):
        if rel.endswith(".tif"):
            assert filecmp.cmp(a / rel, b / rel, shallow=False), rel
            assert np.array_equal(read(a, rel), read(b, rel))
    assert not np.array_equal(read(a, band_file(a.name, "B8")), read(c, band_file(c.name, "B8")))


def test_blocks_do_not_change_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    whole, _ = write_product(tmp_path / "whole", "T32TLR", "2018-07", 1000.0)
    monkeypatch.setattr(writer, "BLOCK_PIXELS", 7 * 110)  # 7 rows per block
    blocks, _ = write_product(tmp_path / "blocks", "T32TLR", "2018-07", 1000.0)
    for rel in sorted(expected_files(whole.name)):
        if rel.endswith(".tif"):
            assert np.array_equal(read(whole, rel), read(blocks, rel)), rel


def test_lonlat_interpolation_matches_proj() -> None:
    xs = 300000 + (np.arange(0, 10980, 37) + 0.5) * 10.0
    ys = 4900020 - (np.arange(0, 10980, 41) + 0.5) * 10.0
    lon, lat = lonlat(32631, xs, ys)
    gx, gy = np.meshgrid(xs, ys)
    plon, plat = transform(CRS.from_epsg(32631), WGS84, gx.ravel(), gy.ravel())
    assert np.abs(lon.ravel() - plon).max() < 3e-7  # degrees: ~3 cm
    assert np.abs(lat.ravel() - plat).max() < 3e-7


def test_about_a_third_of_products_have_a_west_wedge(tmp_path: Path) -> None:
    months = [datetime(2018, 7, 1).date(), datetime(2018, 8, 1).date()]
    wedges = [wedge_for(t, m, 0) for t in france_tiles() for m in months]
    assert 0.2 < np.mean([w is not None for w in wedges]) < 0.45
    assert all(4000 <= w.width_m <= 8000 for w in wedges if w)
    tile = next(t for t in france_tiles() if wedge_for(t, months[0], 0))
    path, _ = write_product(tmp_path, tile, "2018-07", 500.0)
    nodata = read(path, mask_file(path.name, "FLG", "R1")) == 0
    cols = np.flatnonzero(nodata.any(axis=0))
    assert cols.max() * 500 < 8000  # only along the west edge, at most 8 km wide
    widths = nodata.sum(axis=1)
    assert abs(int(widths[0]) - int(widths[-1])) >= 6  # a triangle: wide at one end only


# --- idempotency, API errors and the command line -----------------------------------------------


def test_second_run_skips_existing_products(tmp_path: Path) -> None:
    seen: list[tuple[str, bool]] = []
    first = generate_products(tmp_path, ["T31TCJ", "31tdj"], ["2018-07"], COARSE, as_zip=True,
                              workers=2, on_product=lambda p, w: seen.append((p.name, w)))
    assert sorted(w for _, w in seen) == [True, True]
    mtimes = [p.stat().st_mtime_ns for p in first]
    seen.clear()
    again = generate_products(tmp_path, ["T31TCJ", "T31TDJ"], ["2018-07"], COARSE, as_zip=True,
                              on_product=lambda p, w: seen.append((p.name, w)))
    assert again == first and [w for _, w in seen] == [False, False]
    assert [p.stat().st_mtime_ns for p in again] == mtimes
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in first)


def test_leftovers_of_dead_writers_are_cleaned(tmp_path: Path) -> None:
    stem = str(product_name("T31TCJ", datetime(2018, 7, 1)))
    dead = 2**22 + 12345  # above the default pid_max: no such process
    (tmp_path / f".{stem}.tmp-{dead}" / "MASKS").mkdir(parents=True)
    (tmp_path / f".{stem}.zip.tmp-{dead}").write_bytes(b"partial")
    alive = tmp_path / f".{stem}.tmp-{os.getppid()}"  # someone else, still writing
    alive.mkdir()
    path, _ = write_product(tmp_path, "T31TCJ", "2018-07", COARSE, as_zip=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, path.name])


def test_api_rejects_unknown_tiles_and_bad_months(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="T99XYZ"):
        generate_products(tmp_path, ["T31TCJ", "T99XYZ"], ["2018-07"], COARSE)
    with pytest.raises(ValueError, match="2018-13"):
        generate_products(tmp_path, ["T31TCJ"], ["2018-13"], COARSE)
    with pytest.raises(ValueError, match="pixel size"):
        write_product(tmp_path, "T31TCJ", "2018-07", 0)
    assert list(tmp_path.iterdir()) == []


def test_cli_sample(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["sample", "--tiles", "T31TCJ", "--months", "2018-07,2018-08", "--pixel-size", "2000",
            "--zip", "--seed", "1", "--workers", "1", "--out", str(tmp_path)]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "2 products written, 0 already there" in result.output
    zips = sorted(p.name for p in tmp_path.iterdir())
    assert len(zips) == 2 and all(z.endswith(".zip") and "_T31TCJ_" in z for z in zips)
    again = runner.invoke(main, args)
    assert again.exit_code == 0 and "0 products written, 2 already there" in again.output

    bad = runner.invoke(main, ["sample", "--tiles", "T31XXX", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "T31XXX" in bad.output
    bad = runner.invoke(main, ["sample", "--months", "2018-7", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "2018-7" in bad.output
