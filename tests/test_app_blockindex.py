"""Block indexes written by the build beside the true-colour COGs: the server answers every tile as without them,
and one that is stale or corrupt is ignored (GDAL's way), never a wrong tile or a 5xx."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.blocks import INDEXES
from app.main import create_app
from app.settings import Settings
from mosaic.blockindex import BlockIndex, sidecar_path
from mosaic.build import BuildOptions, build_month
from mosaic.catalog import Catalog, Month
from mosaic.grid import TMS
from tests.helpers import published_months

MONTH = "2018-07"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 200 m: zoom 10 below region zoom 7, two products: two region COGs and the overview COG.
    return published_months(tmp_path_factory.mktemp("blockindex"), ["T31TCJ", "T31TDJ"], [MONTH], pixel_size=200)


@pytest.fixture()
def client(data: Path) -> Iterator[TestClient]:
    INDEXES.clear()
    yield TestClient(create_app(Settings(data_dir=data)))
    INDEXES.clear()


def cogs(month: Month) -> list[str]:
    """The month's true-colour COGs: its regions' and its overview."""
    return [f"{month.folder}/regions/{r}/truecolor.tif" for r in sorted(month.regions)] + [month.overview("truecolor")]


def every_tile(month: Month) -> list[tuple[int, int, int]]:
    """Every tile of the month's bounds, zoom 0 to one past its zoom (overzoom), and one outside its data."""
    tiles = [(t.z, t.x, t.y) for z in range(month.zoom + 2) for t in TMS.tiles(*month.bounds, [z])]
    return [*tiles, (month.zoom, 0, 0)]


def answers(client: TestClient, month: Month, tiles: list[tuple[int, int, int]], query: str = "") -> dict:
    """(status, content type, bytes) of the stored-or-transparent and the .jpg route of every tile."""
    out = {}
    for z, x, y in tiles:
        for suffix in ("", ".jpg"):
            r = client.get(f"/months/{MONTH}/truecolor/{z}/{x}/{y}{suffix}?build={month.build_id}{query}")
            out[z, x, y, suffix] = (r.status_code, r.headers.get("content-type"), r.content)
    return out


def test_the_build_writes_each_true_colour_cog_an_index_equal_to_the_one_gdal_gives(data: Path) -> None:
    month = Catalog(data).get(MONTH)
    manifest = json.loads((Path(month.folder) / "manifest.json").read_text())
    assert manifest["layers"]["truecolor"]["block_index"] == "overview/truecolor.blocks.npy"
    assert all(r["files"]["truecolor.blocks"] == "truecolor.blocks.npy" for r in manifest["regions"].values()
               if r["files"])
    states = set()
    for path in cogs(month):
        stored, made = BlockIndex.stored(path), BlockIndex(path)
        assert stored is not None and not stored._datasets, path  # noqa: SLF001 - loaded without opening the COG
        assert (stored.left, stored.top, stored.res, stored.tables, stored.has_mask) == \
            (made.left, made.top, made.res, made.tables, made.has_mask)
        assert [(lv.cols, lv.rows) for lv in stored.levels] == [(lv.cols, lv.rows) for lv in made.levels]
        for level, info in enumerate(made.levels):
            for row in range(info.rows):
                for col in range(info.cols):
                    assert stored.block(level, col, row) == made.block(level, col, row), (path, level, col, row)
                    states.add(made.block(level, col, row).state)
    assert len(states) == 3  # EMPTY, FULL and PARTIAL blocks all compared


def test_every_tile_is_answered_as_without_indexes_and_as_the_route_does(data: Path, client: TestClient) -> None:
    month = Catalog(data).get(MONTH)
    tiles = every_tile(month)
    fast = answers(client, month, tiles)
    assert all(INDEXES.peek(p) is not None and not INDEXES.peek(p)._datasets for p in cogs(month))  # noqa: SLF001
    routed = answers(client, month, tiles, "&via=route")
    hidden = {p: Path(sidecar_path(p)) for p in cogs(month)}
    try:
        for side in hidden.values():
            side.rename(side.with_name(side.name + ".away"))
        INDEXES.clear()
        without = answers(client, month, tiles)
        assert all(INDEXES.peek(p)._datasets for p in cogs(month))  # noqa: SLF001 - made through GDAL
    finally:
        for side in hidden.values():
            side.with_name(side.name + ".away").rename(side)
    statuses = {a[0] for a in fast.values()}
    assert statuses == {200, 204}, statuses
    assert {a[1] for a in fast.values()} >= {"image/jpeg", "image/png"}
    for key, answer in fast.items():
        assert answer == routed[key] == without[key], key


def test_a_stale_or_corrupt_index_is_ignored(data: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(data, tmp_path / "data"))
    month = Catalog(copy).get(MONTH)
    tiles = every_tile(month)
    INDEXES.clear()
    expected = answers(TestClient(create_app(Settings(data_dir=data))), Catalog(data).get(MONTH), tiles)
    first, second, overview = cogs(month)
    own = {p: Path(sidecar_path(p)).read_bytes() for p in cogs(month)}
    good = own[first]
    damaged = {
        "another COG's": Path(sidecar_path(second)).read_bytes(),  # stale: made for another file
        "the overview's": Path(sidecar_path(overview)).read_bytes(),
        "a flipped byte": good[:-100] + bytes([good[-100] ^ 1]) + good[-99:],
        "truncated": good[: len(good) // 2],
        "empty": b"",
        "not numpy": b"offsets\n" * 50,
    }
    for what, content in damaged.items():
        for path in cogs(month):
            Path(sidecar_path(path)).write_bytes(content)
        assert all(BlockIndex.stored(p) is None for p in cogs(month) if content != own[p]), what
        INDEXES.clear()
        got = answers(TestClient(create_app(Settings(data_dir=copy))), month, tiles)
        assert got == expected, what
    # A COG that changed under its index (same name, other bytes): the index no longer matches it.
    Path(sidecar_path(first)).write_bytes(good)
    assert BlockIndex.stored(first) is not None
    shutil.copyfile(second, first)
    assert BlockIndex.stored(first) is None
    INDEXES.clear()


def test_a_rebuild_reusing_regions_of_a_build_without_indexes_gives_them_one(data: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(data, tmp_path / "data"))
    month = Catalog(copy).get(MONTH)
    manifest_path = Path(month.folder) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())  # as a build made before block indexes wrote it
    del manifest["layers"]["truecolor"]["block_index"]
    for region in manifest["regions"].values():
        region["files"].pop("truecolor.blocks", None)
    manifest_path.write_text(json.dumps(manifest))
    for path in cogs(month):
        Path(sidecar_path(path)).unlink()
    report = build_month(copy, MONTH, [data.parent / "in"], BuildOptions(scheduler="sync", progress=False, force=True))
    rebuilt = Catalog(copy).get(MONTH)
    assert rebuilt.build_id == report.build_id != month.build_id
    written = json.loads((Path(rebuilt.folder) / "manifest.json").read_text())
    assert all(r["files"]["truecolor.blocks"] == "truecolor.blocks.npy" for r in written["regions"].values()
               if r["files"])
    for path in cogs(rebuilt):
        assert BlockIndex.stored(path) is not None, path
    assert all(Path(p).stat().st_ino == Path(q).stat().st_ino  # the regions were reused (COGs linked)
               for p, q in zip(cogs(month)[:-1], cogs(rebuilt)[:-1], strict=True))
