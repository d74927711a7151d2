"""Product names, month ids and the France tile grid."""

from __future__ import annotations

from datetime import datetime

import pytest

from processing.errors import UnparsableName
from processing.naming import ProductName, parse_month
from processing.tiles import france_tiles, utm_epsg


def test_parse_real_name_round_trips() -> None:
    raw = "SENTINEL2X_20180815-000000-000_L3A_T31TCJ_D_V1-1"
    name = ProductName.parse(raw)
    assert name.platform == "SENTINEL2X"
    assert name.synthesis == datetime(2018, 8, 15)
    assert (name.level, name.tile, name.variant, name.version) == ("L3A", "T31TCJ", "D", (1, 1))
    assert name.month == "2018-08"
    assert name.zone == 31
    assert str(name) == raw
    assert ProductName.parse(raw + ".zip") == name


def test_parse_keeps_time_and_version() -> None:
    name = ProductName.parse("SENTINEL2A_20180726-103021-456_L3A_T30TXQ_C_V2-0")
    assert name.synthesis == datetime(2018, 7, 26, 10, 30, 21, 456000)
    assert name.version == (2, 0)
    assert str(name) == "SENTINEL2A_20180726-103021-456_L3A_T30TXQ_C_V2-0"


@pytest.mark.parametrize(
    "raw",
    [
        "T31TCJ",
        "SENTINEL2X_20180815_L3A_T31TCJ_D_V1-1",
        "SENTINEL2X_20181315-000000-000_L3A_T31TCJ_D_V1-1",
        "LANDSAT8_20180815-000000-000_L3A_T31TCJ_D_V1-1",
        "SENTINEL2X_20180815-000000-000_L3A_T31TCJ_E_V1-1",
        "SENTINEL2X_20180815-000000-000_L3A_31TCJ_D_V1-1",
    ],
)
def test_unparsable_names_say_why(raw: str) -> None:
    with pytest.raises(UnparsableName) as info:
        ProductName.parse(raw)
    assert raw in str(info.value)


def test_parse_month() -> None:
    assert parse_month("2018-07").month == 7
    for bad in ("2018-13", "2018-7", "18-07", "2018-07-01", "../etc"):
        with pytest.raises(ValueError):
            parse_month(bad)


def test_france_grid_has_the_three_zones() -> None:
    tiles = france_tiles()
    assert len(tiles) == 95
    assert {t.epsg for t in tiles.values()} == {32630, 32631, 32632}
    for tile in tiles.values():
        assert utm_epsg(tile.tile) == tile.epsg
    tcj = tiles["T31TCJ"]
    assert (tcj.ulx, tcj.uly) == (300000, 4900020)
    assert tcj.bounds == (300000, 4900020 - 109800, 409800, 4900020)


def test_utm_epsg_refuses_south_and_garbage() -> None:
    with pytest.raises(ValueError):
        utm_epsg("T31LCJ")
    with pytest.raises(ValueError):
        utm_epsg("nope")
