"""Scanning folders of mixed products: good ones kept, bad ones reported, newest version wins."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from processing import errors
from processing.scan import scan_products
from sample import generate_products

PIXEL = 2000.0


def gen(out: Path, tiles: list[str], month: str = "2018-07", **kw) -> list[Path]:
    """Generate small sample products."""
    return [Path(p) for p in generate_products(out, tiles=tiles, months=[month], pixel_size=PIXEL, workers=1, **kw)]


def test_mixed_folder_keeps_good_and_reports_bad(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    gen(inputs / "zips", ["T31TCJ", "T30TYP"], as_zip=True)
    gen(inputs / "dirs" / "nested", ["T32TLP"])
    (bad,) = gen(inputs / "bad", ["T31TDJ"], as_zip=True)
    bad.write_bytes(bad.read_bytes()[:1000])
    (inputs / "notes.txt").write_text("not a product")
    (inputs / "empty-folder").mkdir()

    result = scan_products([inputs])
    assert sorted(p.tile for p in result.products) == ["T30TYP", "T31TCJ", "T32TLP"]
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert isinstance(problem, errors.UnreadableArchive)
    assert str(problem).startswith(bad.name)


def test_newest_version_of_a_tile_and_month_wins(tmp_path: Path) -> None:
    (old,) = gen(tmp_path / "a", ["T31TCJ"], as_zip=True)
    (new,) = gen(tmp_path / "b", ["T31TCJ"], version=(2, 0))
    for paths in ([tmp_path / "a", tmp_path / "b"], [tmp_path / "b", tmp_path / "a"]):
        result = scan_products(paths)
        assert [p.name.version for p in result.products] == [(2, 0)]
        (dup,) = result.superseded
        assert str(dup).startswith(old.name.removesuffix(".zip"))
        assert "superseded by" in str(dup) and new.name in str(dup)


def test_month_filter_reports_other_months(tmp_path: Path) -> None:
    gen(tmp_path, ["T31TCJ"], month="2018-07")
    gen(tmp_path, ["T31TCJ"], month="2018-08")
    result = scan_products([tmp_path], month="2018-08")
    assert [p.month for p in result.products] == ["2018-08"]
    (problem,) = result.problems
    assert isinstance(problem, errors.WrongMonth)


def test_same_product_given_twice_is_read_once(tmp_path: Path) -> None:
    (path,) = gen(tmp_path, ["T31TCJ"])
    result = scan_products([tmp_path, path])
    assert len(result.products) == 1 and not result.problems


def test_symlink_leading_outside_the_input_is_refused(tmp_path: Path) -> None:
    (outside,) = gen(tmp_path / "elsewhere", ["T31TCJ"], as_zip=True)
    inputs = tmp_path / "in"
    gen(inputs, ["T31TDJ"], as_zip=True)
    os.symlink(outside, inputs / outside.name)
    result = scan_products([inputs])
    assert [p.tile for p in result.products] == ["T31TDJ"]
    (problem,) = result.problems
    assert isinstance(problem, errors.UnsafePath)
    assert "outside" in str(problem)


def test_missing_input_path_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    result = scan_products([tmp_path / "nowhere"])
    assert not result.products
    assert "no such file or directory" in str(result.problems[0])


@pytest.mark.parametrize("as_zip", [False, True])
def test_scan_of_a_single_product_path(tmp_path: Path, as_zip: bool) -> None:
    (path,) = gen(tmp_path, ["T31TCJ"], as_zip=as_zip)
    assert [p.tile for p in scan_products([path]).products] == ["T31TCJ"]
