"""Seasons of the sample landscape, measured on real products at tiny pixel sizes.

Each claim of ``sample``'s docstring about the months is measured on the files ``write_product``
writes (FLG, FRC); ``render_tile`` supplies what files do not hold (land cover, elevation) on
the same grid, and is itself checked against the files.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from app.cli import main
from processing.layout import Flag, band_file, mask_file
from sample import generate_products, render_tile, write_product
from sample.landscape import Cover
from sample.months import expand_months

PX = 1000.0  # m: 110 x 110 px per product


@dataclass(frozen=True)
class Product:
    """A written product's R1 FLG and reflectance (0-1), with the ground truth of its pixels."""

    flag: np.ndarray
    refl: dict[str, np.ndarray]
    cover: np.ndarray
    elevation: np.ndarray

    @property
    def clear(self) -> np.ndarray:
        """Pixels seen: neither all-month cloud nor no data."""
        return (self.flag != Flag.CLOUD) & (self.flag != Flag.NODATA)

    def ndvi(self) -> np.ndarray:
        b4, b8 = self.refl["B4"], self.refl["B8"]
        return (b8 - b4) / (b8 + b4)


def product(root: Path, tile: str, month: str, pixel_size: float = PX) -> Product:
    """Write one product (folder) and read it back."""
    path, _ = write_product(root, tile, month, pixel_size)
    stem = path.name
    with rasterio.open(path / mask_file(stem, "FLG", "R1")) as src:
        flag = src.read(1)
    refl = {}
    for band in ("B3", "B4", "B8"):
        with rasterio.open(path / band_file(stem, band)) as src:
            refl[band] = src.read(1).astype(np.float64) / 10000
    truth = render_tile(tile, month, pixel_size)
    assert np.array_equal(truth.flag, flag), "render_tile describes the very pixels written"
    assert np.array_equal(truth.frc["B8"], (refl["B8"] * 10000).round().astype(np.int16))
    return Product(flag, refl, truth.cover, truth.elevation)


@pytest.mark.parametrize("tile", ["T32TLR", "T31TCH"])  # Alps (Vanoise), Pyrenees (Ariège, Andorra)
def test_snow_follows_the_seasons_and_the_altitude(tmp_path: Path, tile: str) -> None:
    months = {m: product(tmp_path, tile, f"2018-{m:02d}") for m in (1, 4, 7)}
    high = {m: p.clear & (p.elevation > 1800) for m, p in months.items()}
    middle = {m: p.clear & (p.elevation > 1200) & (p.elevation < 1700) for m, p in months.items()}
    low = {m: p.clear & (p.elevation < 800) for m, p in months.items()}
    assert all(high[m].sum() > 30 and middle[m].sum() > 30 for m in months)

    def snow_share(m: int, where: dict[int, np.ndarray]) -> float:
        return float((months[m].flag[where[m]] == Flag.SNOW).mean())

    assert snow_share(1, high) > 0.8 and snow_share(7, high) < 0.15
    assert snow_share(1, middle) > snow_share(4, middle) + 0.1 > snow_share(7, middle) + 0.2
    assert snow_share(1, low) < 0.02  # valleys and foothills stay green
    # The snow line climbs: July's snow lies far higher than January's.
    snow_jan, snow_jul = (months[m].flag == Flag.SNOW for m in (1, 7))
    if snow_jul.any():
        assert np.median(months[7].elevation[snow_jul]) > np.median(months[1].elevation[snow_jan]) + 600
    # Snow looks like snow: bright in the visible, NDVI about zero.
    jan = months[1]
    assert np.median(jan.refl["B3"][snow_jan]) > 0.5
    assert abs(np.median(jan.ndvi()[snow_jan])) < 0.1


def test_crops_green_up_in_spring_and_are_harvested_in_summer(tmp_path: Path) -> None:
    beauce = {m: product(tmp_path, "T31UCP", f"2018-{m:02d}") for m in (3, 5, 8)}
    crops = beauce[3].cover == Cover.CROPLAND
    seen = crops & beauce[3].clear & beauce[5].clear & beauce[8].clear
    assert seen.sum() > 2000
    ndvi = {m: p.ndvi()[seen] for m, p in beauce.items()}
    assert ndvi[5].mean() > ndvi[3].mean() + 0.05  # green-up
    assert ndvi[5].mean() > ndvi[8].mean() + 0.1
    harvested = ndvi[5] - ndvi[8] > 0.3
    assert harvested.mean() > 0.3  # winter crops cut in July
    assert (ndvi[8] - ndvi[5] > 0.1).mean() > 0.05  # maize and sunflower: at their greenest in August


def test_deciduous_forests_lose_their_leaves_evergreen_do_not(tmp_path: Path) -> None:
    landes = {m: product(tmp_path, "T30TXQ", f"2018-{m:02d}") for m in (1, 7)}
    jan, jul = landes[1], landes[7]
    mean = {}
    for kind in (Cover.DECIDUOUS, Cover.EVERGREEN):
        seen = (jan.cover == kind) & jan.clear & jul.clear
        assert seen.sum() > 100, kind
        mean[kind] = jan.ndvi()[seen].mean(), jul.ndvi()[seen].mean()
    (dec_jan, dec_jul), (eve_jan, eve_jul) = mean[Cover.DECIDUOUS], mean[Cover.EVERGREEN]
    assert dec_jul - dec_jan > 0.3
    assert abs(eve_jul - eve_jan) < 0.12
    assert eve_jan > dec_jan + 0.2
    assert min(dec_jul, eve_jul) > 0.75


def test_more_all_month_cloud_in_winter(tmp_path: Path) -> None:
    tiles = ["T30UVU", "T30TXS", "T31UDQ", "T31TCJ", "T31TEL", "T31UFP", "T31TFJ", "T30UXV"]
    share = {}
    for season, months in (("winter", ["2018-01", "2018-02", "2018-12"]),
                           ("summer", ["2018-06", "2018-07", "2018-08"])):
        paths = generate_products(tmp_path, tiles, months, 2000.0, workers=1)
        flags = np.concatenate([_read(p / mask_file(p.name, "FLG", "R1")).ravel() for p in paths])
        share[season] = (flags == Flag.CLOUD).sum() / (flags != Flag.NODATA).sum()
    assert share["winter"] > 2 * share["summer"]
    assert 0.01 < share["summer"] < 0.1 and share["winter"] < 0.35


def test_the_landscape_is_the_same_every_month(tmp_path: Path) -> None:
    year = [render_tile("T31TGL", f"2018-{m:02d}", 2000.0) for m in range(1, 13)]
    for scene in year[1:]:
        assert np.array_equal(scene.cover, year[0].cover)
        assert np.array_equal(scene.elevation, year[0].elevation)
    assert set(np.unique(year[0].cover)) >= {c.value for c in Cover}  # every kind of ground
    # In the files: where two months are clear, water is water in both and land land in both.
    jan, jul = product(tmp_path, "T31TGL", "2018-01", 2000.0), product(tmp_path, "T31TGL", "2018-07", 2000.0)
    both = jan.clear & jul.clear
    assert np.array_equal(jan.flag[both] == Flag.WATER, jul.flag[both] == Flag.WATER)
    assert np.array_equal(jan.flag[both] == Flag.WATER, jan.cover[both] == Cover.WATER)


def test_overlapping_tiles_agree_in_winter_too(tmp_path: Path) -> None:
    # T31TFL and T31TGL (Prealps): ulx 600000 and 699960, same uly; at 840 m their R1 grids
    # coincide (99960 = 119 x 840). January: snow, bare broadleaf and green conifers overlap.
    west, east = (product(tmp_path, t, "2018-01", 840.0) for t in ("T31TFL", "T31TGL"))
    shift = 119

    def overlap(p: Product, a: np.ndarray) -> np.ndarray:
        return a[:, shift:] if p is west else a[:, : a.shape[1] - shift]

    both = overlap(west, west.flag != Flag.NODATA) & overlap(east, east.flag != Flag.NODATA)
    assert both.sum() > 1000
    flags = overlap(west, west.flag)[both]
    assert np.array_equal(flags, overlap(east, east.flag)[both])
    cover = overlap(west, west.cover)[both]
    assert (flags == Flag.SNOW).any() and (cover == Cover.DECIDUOUS).any() and (cover == Cover.EVERGREEN).any()
    for band in ("B3", "B4", "B8"):
        assert np.array_equal(overlap(west, west.refl[band])[both], overlap(east, east.refl[band])[both]), band


def test_month_lists_and_ranges() -> None:
    assert expand_months("2018-01..2018-12") == [f"2018-{m:02d}" for m in range(1, 13)]
    assert expand_months("2018-11..2019-02, 2018-07,2018-07") == [
        "2018-07", "2018-11", "2018-12", "2019-01", "2019-02"]
    for bad, reason in (("2018-12..2018-01", "before"), ("2018-7", "2018-7"), (" , ", "no month"),
                        ("2000-01..2099-12", "too many")):
        with pytest.raises(ValueError, match=reason):
            expand_months(bad)


def test_the_makefile_expands_months_with_sample_months() -> None:
    ok = subprocess.run([sys.executable, "-m", "sample.months", "2018-11..2019-01"], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.split() == ["2018-11", "2018-12", "2019-01"]
    bad = subprocess.run([sys.executable, "-m", "sample.months", "2018-1..2018-3"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stdout == "" and "MONTHS: invalid month '2018-1'" in bad.stderr
    assert "python -m sample.months '$(MONTHS)'" in (Path(__file__).parents[1] / "Makefile").read_text()


def test_cli_sample_takes_a_range(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["sample", "--tiles", "T31TCJ", "--months", "2018-11..2019-01,2018-07", "--pixel-size", "4000",
            "--workers", "1", "--out", str(tmp_path)]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name[11:17] for p in tmp_path.iterdir()) == ["201807", "201811", "201812", "201901"]
    bad = runner.invoke(main, ["sample", "--months", "2018-09..2018-02", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "2018-09..2018-02" in bad.output


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(1)
