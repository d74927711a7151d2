"""Broken L3A inputs through `mosaique build` against a month already published.

Each kind alone: exit 1, the product and the reason on stderr, the published month unchanged to
the byte and nothing left behind. All kinds among good products: exit 3, the month republished
from the good products only, every bad one named in the manifest.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mosaic.build import BuildOptions, build_month
from mosaic.store import DataStore
from processing.sample import generate_products
from tests.bad_products import BAD, BUILD_BAD, PIXEL
from tests.helpers import run_cli, snapshot

MONTH = "2018-07"
PUBLISHED = ["T31TCJ", "T31TDJ"]
KINDS = {kind: maker for kind, (maker, _error, _reason) in BAD.items()} | {k: m for k, (m, _) in BUILD_BAD.items()}
REASONS = {kind: reason for kind, (_m, _e, reason) in BAD.items()} | {k: r for k, (_, r) in BUILD_BAD.items()}


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory where MONTH is published from two products."""
    root = tmp_path_factory.mktemp("published")
    generate_products(root / "good", tiles=PUBLISHED, months=[MONTH], pixel_size=PIXEL, as_zip=True, workers=1)
    build_month(root / "data", MONTH, [root / "good"], BuildOptions(scheduler="sync", progress=False))
    return root / "data"


def build(data: Path, *inputs: Path) -> tuple[int, str]:
    """`mosaique build` of MONTH; exit code and stderr."""
    done = run_cli("build", "--month", MONTH, "--input", *map(str, inputs), "--scheduler", "sync",
                   "--data-dir", str(data))
    return done.returncode, done.stderr


def leftovers(data: Path) -> list[Path]:
    """Temporary files of builds, and finished builds not in the catalog."""
    month = data / "months" / MONTH
    published = DataStore(data).read_catalog()["months"][MONTH]["build_id"]
    builds = [p for p in (month / "builds").iterdir() if p.name != published]
    return builds + list((month / "parts").glob(".*"))


@pytest.mark.parametrize("kind", list(KINDS))
def test_bad_input_alone_fails_naming_it_and_leaves_the_month_as_it_was(
    kind: str, published: Path, tmp_path: Path
) -> None:
    before = snapshot(published)
    served = DataStore(published).read_catalog()["months"][MONTH]["build_id"]
    path = KINDS[kind](tmp_path)
    code, err = build(published, path)
    assert code == 1, err
    assert REASONS[kind] in err
    if kind not in ("folder without products", "empty input folder"):
        assert path.name.removesuffix(".zip") in err
    assert f"nothing was published ({MONTH} still serves build {served})" in err
    assert "Traceback" not in err
    assert snapshot(published) == before
    assert leftovers(published) == []


def test_bad_inputs_among_good_ones_are_skipped_and_the_month_republished(published: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(published, data)
    good = generate_products(tmp_path / "good", tiles=[*PUBLISHED, "T31TCH"], months=[MONTH], pixel_size=PIXEL,
                             as_zip=True, workers=1)
    older = generate_products(tmp_path / "older", tiles=["T31TCH"], months=[MONTH], pixel_size=PIXEL, as_zip=True,
                              workers=1, version=(1, 0))
    bad = [maker(tmp_path / f"bad{i}") for i, maker in enumerate(KINDS.values())]
    first = DataStore(data).read_catalog()["months"][MONTH]["build_id"]
    code, err = build(data, tmp_path / "good", *older, *bad)
    assert code == 3, err
    entry = DataStore(data).read_catalog()["months"][MONTH]
    assert entry["build_id"] != first and entry["products"] == len(good)
    manifest = json.loads((data / entry["path"] / "manifest.json").read_text())
    assert sorted(i["name"] for i in manifest["inputs"]) == sorted(p.name.removesuffix(".zip") for p in good)
    skipped = [f"{s['product']}: {s['reason']}" for s in manifest["skipped"]]
    assert f"{older[0].name.removesuffix('.zip')}: superseded by" in "\n".join(skipped)
    for kind, reason in REASONS.items():
        if kind not in ("product of another month", "folder without products", "empty input folder"):
            assert any(reason in s for s in skipped), (kind, skipped)
            assert reason in err
    assert "ignored 1 products of other months" in err
    assert leftovers(data) == [data / "months" / MONTH / "builds" / first]  # the previous build, retained
