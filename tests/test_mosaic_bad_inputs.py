"""Broken L3A inputs built against a month already published.

Each kind alone (the build API): the build fails naming the product and the reason, the
published month is unchanged to the byte and nothing is left behind. All kinds at once through
`mosaique build`: exit 1, each named on stderr, the month unchanged; among good products: exit 3,
the month republished from the good products only, every bad one named in the manifest.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mosaic.build import BuildFailed, BuildOptions, build_month
from mosaic.store import DataStore
from sample import generate_products
from tests.bad_products import BAD, BUILD_BAD, PIXEL
from tests.helpers import run_cli, snapshot

MONTH = "2018-07"
PUBLISHED = ["T31TCJ", "T31TDJ"]
KINDS = {kind: maker for kind, (maker, _error, _reason) in BAD.items()} | {k: m for k, (m, _) in BUILD_BAD.items()}
NAMELESS = {"folder without products", "empty input folder"}
"""Kinds with no product to name."""
UNREPORTED = NAMELESS | {"product of another month"}
"""Kinds that are not errors when other inputs are given (nothing found; ignored, counted)."""
SYNC = BuildOptions(scheduler="sync", progress=False)
REASONS = {kind: reason for kind, (_m, _e, reason) in BAD.items()} | {k: r for k, (_, r) in BUILD_BAD.items()}


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory where MONTH is published from two products."""
    root = tmp_path_factory.mktemp("published")
    generate_products(root / "good", tiles=PUBLISHED, months=[MONTH], pixel_size=PIXEL, as_zip=True, workers=1)
    build_month(root / "data", MONTH, [root / "good"], SYNC)
    return root / "data"


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One input of each kind, by kind."""
    return {kind: maker(tmp_path_factory.mktemp("bad")) for kind, maker in KINDS.items()}


def build_args(data: Path, *inputs: Path) -> list[str]:
    """Arguments of `mosaique build` of MONTH."""
    return ["build", "--month", MONTH, "--input", *map(str, inputs), "--scheduler", "sync", "--data-dir", str(data)]


def leftovers(data: Path) -> list[Path]:
    """Temporary files of builds, and finished builds not in the catalog."""
    month = data / "months" / MONTH
    published = DataStore(data).read_catalog().months[MONTH].build_id
    builds = [p for p in (month / "builds").iterdir() if p.name != published]
    return builds + list((month / "parts").glob(".*"))


@pytest.mark.parametrize("kind", list(KINDS))
def test_bad_input_alone_fails_naming_it_and_leaves_the_month_as_it_was(
    kind: str, bad: dict[str, Path], published: Path
) -> None:
    before = snapshot(published)
    served = DataStore(published).read_catalog().months[MONTH].build_id
    path = bad[kind]
    with pytest.raises(BuildFailed) as failed:
        build_month(published, MONTH, [path], SYNC)
    message = str(failed.value)
    assert REASONS[kind] in message
    if kind not in NAMELESS:
        assert path.name.removesuffix(".zip") in message
    assert message.endswith(f"nothing was published ({MONTH} still serves build {served})")
    assert snapshot(published) == before
    assert leftovers(published) == []


def test_cli_with_only_bad_inputs_exits_1_naming_each_and_publishes_nothing(
    bad: dict[str, Path], published: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(published, data)
    done = run_cli(*build_args(data, *bad.values()))
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    for kind, path in bad.items():
        if kind not in NAMELESS:
            assert path.name.removesuffix(".zip") in done.stderr, kind
        if kind not in UNREPORTED:
            assert REASONS[kind] in done.stderr, kind
    assert snapshot(data) == snapshot(published)
    assert leftovers(data) == []


def test_bad_inputs_among_good_ones_are_skipped_and_the_month_republished(
    bad: dict[str, Path], published: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(published, data)
    good = generate_products(tmp_path / "good", tiles=[*PUBLISHED, "T31TCH"], months=[MONTH], pixel_size=PIXEL,
                             as_zip=True, workers=1)
    older = generate_products(tmp_path / "older", tiles=["T31TCH"], months=[MONTH], pixel_size=PIXEL, as_zip=True,
                              workers=1, version=(1, 0))
    first = DataStore(data).read_catalog().months[MONTH].build_id
    done = run_cli(*build_args(data, tmp_path / "good", *older, *bad.values()))
    code, err = done.returncode, done.stderr
    assert code == 3, err
    entry = DataStore(data).read_catalog().months[MONTH]
    assert entry.build_id != first and entry.products == len(good)
    manifest = json.loads((data / entry.path / "manifest.json").read_text())
    assert sorted(i["name"] for i in manifest["inputs"]) == sorted(p.name.removesuffix(".zip") for p in good)
    skipped = [f"{s['product']}: {s['reason']}" for s in manifest["skipped"]]
    assert f"{older[0].name.removesuffix('.zip')}: superseded by" in "\n".join(skipped)
    for kind, reason in REASONS.items():
        if kind not in UNREPORTED:
            assert any(reason in s for s in skipped), (kind, skipped)
            assert reason in err
    assert "ignored 1 products of other months" in err
    assert leftovers(data) == [data / "months" / MONTH / "builds" / first]  # the previous build, retained
