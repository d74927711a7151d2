"""Publishing, incremental rebuilds, failures and Dask clusters, through the CLI and the API."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.enums import MaskFlags

from mosaic.build import BuildOptions, build_month
from mosaic.store import DataStore
from processing.product import L3AProduct
from sample import generate_products
from tests.helpers import CLI, cog_pixels, run_cli, snapshot

PIXEL = 1000.0
MONTH = "2018-08"
TILES = ["T31TCJ", "T31TDJ", "T31TCH", "T31TDH"]
SYNC = BuildOptions(scheduler="sync", progress=False)


def sample(out: Path, tiles: list[str] = TILES, **kw: object) -> list[Path]:
    """Small zipped sample products of MONTH."""
    made = generate_products(out, tiles=tiles, months=[MONTH], pixel_size=PIXEL, as_zip=True, workers=1, **kw)
    return [Path(p) for p in made]


@pytest.fixture()
def inputs(tmp_path: Path) -> Path:
    """A folder of zipped sample products."""
    sample(tmp_path / "inputs")
    return tmp_path / "inputs"


def test_cli_builds_publishes_and_lists_months(inputs: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    done = run_cli("build", "--month", MONTH, "--input", str(inputs), "--scheduler", "sync", "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    listed = run_cli("months", "--data-dir", str(data), "--json")
    assert listed.returncode == 0
    (entry,) = json.loads(listed.stdout)
    assert entry["month"] == MONTH and entry["products"] == len(TILES)
    assert (data / entry["path"] / "manifest.json").exists()
    env_listed = run_cli("months", env={**os.environ, "MOSAIQUE_DATA_DIR": str(data)})
    assert MONTH in env_listed.stdout and entry["build_id"] in env_listed.stdout


def test_bad_product_among_good_is_skipped_and_reported(inputs: Path, tmp_path: Path) -> None:
    (bad,) = sample(tmp_path / "more", ["T31TCG"])
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 3])
    data = tmp_path / "data"
    done = run_cli("build", "--month", MONTH, "--input", str(inputs), str(bad), "--scheduler", "sync",
                   "--data-dir", str(data))
    assert done.returncode == 3, done.stderr
    assert bad.name in done.stdout + done.stderr and "truncated or corrupt zip" in done.stdout + done.stderr
    manifest = json.loads(next((data / "months").rglob("manifest.json")).read_text())
    assert [s["product"] for s in manifest["skipped"]] == [bad.name]
    assert len(manifest["inputs"]) == len(TILES)


def test_month_without_valid_products_fails_and_publishes_nothing(tmp_path: Path) -> None:
    (bad,) = sample(tmp_path / "in", ["T31TCJ"])
    bad.write_bytes(b"not a zip")
    done = run_cli("build", "--month", MONTH, "--input", str(tmp_path / "in"), "--scheduler", "sync",
                   "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 1
    assert "no valid L3A product" in done.stderr
    assert DataStore(tmp_path / "data").read_catalog().months == {}


def test_incremental_rebuild_redoes_only_the_changed_product(inputs: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = build_month(data, MONTH, [inputs], SYNC)
    total_regions = first.built_regions
    # Theia republishes one tile: same name, new content.
    changed = next(inputs.glob("*T31TCJ*.zip"))
    changed.unlink()
    sample(inputs, ["T31TCJ"], seed=7)
    second = build_month(data, MONTH, [inputs], SYNC)
    assert second.reused_parts == len(TILES) - 1
    manifest = json.loads((second.build_dir / "manifest.json").read_text())
    touched = [r for r, v in manifest["regions"].items() if any(p in v["inputs"] for p in
               [i["part"] for i in manifest["inputs"] if i["tile"] == "T31TCJ"])]
    assert second.built_regions == len(touched) < total_regions + 1
    assert second.reused_regions == total_regions - len(touched) > 0
    for region in manifest["regions"]:
        if region not in touched:
            for f in (second.build_dir / "regions" / region).iterdir():
                assert f.stat().st_ino == (first.build_dir / "regions" / region / f.name).stat().st_ino
    with rasterio.open(first.build_dir / "reflectance.vrt") as a, \
            rasterio.open(second.build_dir / "reflectance.vrt") as b:
        assert not np.array_equal(a.read(1), b.read(1))
    fresh = build_month(tmp_path / "fresh", MONTH, [inputs], SYNC)
    for layer in ("reflectance", "flags", "dates", "truecolor"):  # the pasted overview is the warped one
        assert cog_pixels(second.build_dir / "overview" / f"{layer}.tif") == cog_pixels(
            fresh.build_dir / "overview" / f"{layer}.tif"), layer
        with rasterio.open(second.build_dir / "overview" / f"{layer}.tif") as ds:  # masks that mask something
            assert ds.mask_flag_enums[0] == ([MaskFlags.per_dataset] if ds.nodata is None else [MaskFlags.nodata])
            assert 0 < np.count_nonzero(ds.dataset_mask()) < ds.width * ds.height, layer
        assert (second.build_dir / f"{layer}.vrt").read_text() == (fresh.build_dir / f"{layer}.vrt").read_text()
    parts = sorted(p.name for p in (data / "months" / MONTH / "parts").iterdir())
    assert [p for p in parts if p.startswith("overview-")] == [
        f"overview-{layer}-{second.build_id}.tif" for layer in ("dates", "flags", "reflectance", "truecolor")]
    third = build_month(data, MONTH, [inputs], SYNC)
    assert third.up_to_date and third.build_id == second.build_id
    forced = build_month(data, MONTH, [inputs], BuildOptions(scheduler="sync", force=True))
    assert forced.reused_parts == len(TILES) and forced.built_regions == 0
    assert forced.build_id != second.build_id


def test_unchanged_inputs_are_trusted_by_their_stats_and_verified_on_request(
    inputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    build_month(data, MONTH, [inputs], SYNC)
    opened: list[str] = []
    real_open = L3AProduct.open.__func__

    def spy(cls: type[L3AProduct], path: Path, **kw: object) -> L3AProduct:
        opened.append(Path(path).name)
        return real_open(cls, path, **kw)

    monkeypatch.setattr(L3AProduct, "open", classmethod(spy))
    changed = next(inputs.glob("*T31TCJ*.zip"))
    changed.unlink()
    sample(inputs, ["T31TCJ"], seed=7)
    second = build_month(data, MONTH, [inputs], SYNC)
    assert opened == [changed.name]  # only the new product is read and validated
    assert second.reused_parts == len(TILES) - 1
    # Damage that keeps the size, mtime and inode passes the quick check; --verify-inputs finds it.
    damaged = next(inputs.glob("*T31TDJ*.zip"))
    stat = damaged.stat()
    with zipfile.ZipFile(damaged) as zf:
        info = next(i for i in zf.infolist() if i.filename.endswith("_FRC_B3.tif"))
    with damaged.open("r+b") as f:
        f.seek(info.header_offset + 30 + len(info.filename.encode()) + info.compress_size // 2)
        f.write(b"\xaa" * 64)
    os.utime(damaged, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert build_month(data, MONTH, [inputs], SYNC).up_to_date
    done = run_cli("build", "--month", MONTH, "--input", str(inputs), "--scheduler", "sync", "--verify-inputs",
                   "--data-dir", str(data))
    assert done.returncode == 3, done.stderr
    assert f"{damaged.stem}: corrupt zip member" in done.stderr and "_FRC_B3.tif (Bad CRC-32" in done.stderr
    entry = DataStore(data).read_catalog().months[MONTH]
    manifest = json.loads((data / entry.path / "manifest.json").read_text())
    assert sorted(i["tile"] for i in manifest["inputs"]) == sorted(set(TILES) - {"T31TDJ"})


def test_kill_9_mid_build_leaves_the_published_month_intact(inputs: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    build_month(data, MONTH, [inputs], SYNC)
    before = snapshot(data)
    more = sample(tmp_path / "more", ["T31TCK", "T31TDK", "T31TEJ", "T31TEH"])
    builds = data / "months" / MONTH / "builds"
    proc = subprocess.Popen([*CLI, "build", "--month", MONTH, "--input", str(inputs), *map(str, more),
                             "--scheduler", "sync", "--data-dir", str(data)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not any(builds.glob(".tmp-*/regions")) and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert any(builds.glob(".tmp-*")), "the build was killed after it finished"
    assert snapshot(data) == before
    after = build_month(data, MONTH, [inputs, *more], SYNC)
    assert not any(builds.glob(".tmp-*"))
    assert DataStore(data).read_catalog().months[MONTH].build_id == after.build_id
    assert len(json.loads((after.build_dir / "manifest.json").read_text())["inputs"]) == 8


def test_retention_prunes_old_builds_but_never_the_published_one(inputs: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    options = BuildOptions(scheduler="sync", keep_builds=2, force=True)
    ids = [build_month(data, MONTH, [inputs], options).build_id for _ in range(3)]
    kept = sorted(p.name for p in (data / "months" / MONTH / "builds").iterdir())
    assert kept == ids[1:]
    assert DataStore(data).read_catalog().months[MONTH].build_id == ids[-1]


def test_build_on_a_dask_localcluster_given_by_scheduler_address(inputs: Path, tmp_path: Path) -> None:
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        done = run_cli("build", "--month", MONTH, "--input", str(inputs), "--scheduler", cluster.scheduler_address,
                       "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 0, done.stderr
    reference = build_month(tmp_path / "ref", MONTH, [inputs], SYNC)
    published = DataStore(tmp_path / "data").read_catalog().months[MONTH]
    with rasterio.open(tmp_path / "data" / published.path / "reflectance.vrt") as a, \
            rasterio.open(reference.build_dir / "reflectance.vrt") as b:
        np.testing.assert_array_equal(a.read(), b.read())
    shutil.rmtree(tmp_path / "ref")
