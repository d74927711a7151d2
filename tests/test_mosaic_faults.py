"""Faults during a build: SIGKILL at each stage, a full disk, a Dask worker killed.

The stages are recognised from what a build visibly does (its month lock, the files appearing
in its ``.tmp-*`` folder and in ``parts/``), never from sleeps; the last one is held in place by
taking the catalog's lock, which publishing waits for.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import psutil
import pytest
import rasterio
from distributed import Client, LocalCluster, Scheduler

from mosaic.build import BuildOptions, build_month
from mosaic.store import DataStore
from sample import generate_products
from tests.helpers import CLI, snapshot

PIXEL = 1000.0
MONTH = "2018-08"
PUBLISHED = ["T31TCJ", "T31TDJ", "T31TCH", "T31TDH"]
MORE = ["T31TCK", "T31TDK", "T31TEJ", "T31TEH"]
SYNC = BuildOptions(scheduler="sync", progress=False)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``in/``: 4 products, published in ``data/``; ``more/``: 4 other products."""
    root = tmp_path_factory.mktemp("world")
    for folder, tiles in (("in", PUBLISHED), ("more", MORE)):
        generate_products(root / folder, tiles=tiles, months=[MONTH], pixel_size=PIXEL, as_zip=True, workers=1)
    build_month(root / "data", MONTH, [root / "in"], SYNC)
    return root


def fresh_copy(world: Path, data: Path) -> tuple[dict[str, str], str]:
    """Copy the published data of ``world`` to ``data``; its snapshot and its published build id."""
    shutil.copytree(world / "data", data)
    return snapshot(data), DataStore(data).read_catalog().months[MONTH].build_id


def build_cmd(world: Path, data: Path, scheduler: str | None = "sync") -> list[str]:
    """`mosaique build` of the published and the other products into ``data`` (None: own LocalCluster)."""
    where = ["--scheduler", scheduler] if scheduler else ["--workers", "2"]
    return [*CLI, "build", "--month", MONTH, "--input", str(world / "in"), str(world / "more"), *where,
            "--data-dir", str(data)]


def month_dir(data: Path) -> Path:
    """The month's folder in a data directory."""
    return data / "months" / MONTH


def leftovers(data: Path) -> list[Path]:
    """What a dead build leaves: temporary files and folders, finished builds not in the catalog."""
    published = DataStore(data).read_catalog().months[MONTH].build_id
    builds = month_dir(data) / "builds"
    return [*builds.glob(".tmp-*"), *(month_dir(data) / "parts").glob(".*"),
            *(b for b in builds.iterdir() if not b.name.startswith(".") and b.name > published)]


# -- the stages of a build, as seen from outside -------------------------------------------
def _holds_month_lock(pid: int, data: Path) -> bool:
    inode = (month_dir(data) / ".lock").stat().st_ino
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "FLOCK" in fields and str(pid) in fields and fields[fields.index(str(pid)) + 1].endswith(f":{inode}"):
            return True
    return False


def _files(data: Path, pattern: str, name: str = ".*") -> bool:
    try:
        return any(re.fullmatch(name, p.name) for p in month_dir(data).glob(pattern))
    except OSError:  # a folder renamed or removed under the walk
        return False


STAGES: dict[str, Callable[[int, Path], bool]] = {
    "scanning the inputs": lambda pid, data: _holds_month_lock(pid, data) and not _files(data, "builds/.tmp-*"),
    "warping a product": lambda pid, data: _files(data, "parts/.*.tmp"),
    "compositing a region": lambda pid, data: _files(data, "builds/.tmp-*/work/*", r"\d+-\d+-\d+\.[0-9a-f]{32}"),
    "writing a region COG": lambda pid, data: _files(data, "builds/.tmp-*/regions/*/.*.tmp"),
    "writing the overview COGs": lambda pid, data: _files(data, "builds/.tmp-*/overview/.*.tmp"),
    "publishing the catalog": lambda pid, data: len(list(month_dir(data).glob("builds/2*"))) > 1,
}


@contextmanager
def catalog_held(data: Path, hold: bool) -> Iterator[None]:
    """Hold the catalog's lock (publishing waits for it) for the duration of the block."""
    if not hold:
        yield
        return
    fd = os.open(data / ".catalog.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def kill_at(stage: str, cmd: list[str], data: Path, timeout: float = 120) -> list[psutil.Process]:
    """Run a build, SIGKILL it as soon as it is seen at ``stage``; its child processes then."""
    with catalog_held(data, stage == "publishing the catalog"):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        seen = False
        while proc.poll() is None and time.monotonic() < deadline:
            seen = STAGES[stage](proc.pid, data)
            if seen:
                break
            time.sleep(0.001)
        children = psutil.Process(proc.pid).children(recursive=True)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert seen, f"the build was never seen {stage}"
    return children


def assert_intact(data: Path, before: dict[str, str]) -> None:
    """The published files are as they were; anything new is a leftover of the dead build."""
    now = snapshot(data)
    assert {k: now.get(k) for k in before} == before
    dead = [str(p.relative_to(data)) for p in leftovers(data)]
    assert all(any(k.startswith(d) for d in dead) for k in set(now) - set(before))


@pytest.mark.parametrize(("stage", "scheduler"), [*((s, "sync") for s in STAGES), ("warping a product", None)])
def test_sigkill_at_each_stage_loses_nothing_and_the_next_build_cleans_up(
    stage: str, scheduler: str | None, world: Path, tmp_path: Path
) -> None:
    """``scheduler`` None: the build's own LocalCluster (in-process by default), whose workers, if it
    starts any process, must not outlive it."""
    data = tmp_path / "data"
    before, served = fresh_copy(world, data)
    inputs = [world / "in", world / "more"]
    children = kill_at(stage, build_cmd(world, data, scheduler), data)
    _, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, f"processes of the killed build still run: {alive}"
    assert_intact(data, before)
    if stage != "scanning the inputs":
        assert leftovers(data), "the build was killed after it finished"
    after = build_month(data, MONTH, inputs, SYNC)
    assert leftovers(data) == []
    assert sorted(p.name for p in (month_dir(data) / "builds").iterdir()) == [served, after.build_id]
    assert DataStore(data).read_catalog().months[MONTH].build_id == after.build_id
    assert len(json.loads((after.build_dir / "manifest.json").read_text())["inputs"]) == len(PUBLISHED + MORE)


# -- a full disk ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A 64 MB tmpfs, mounted for the module's tests (a build at the full-resolution zoom needs more than 16)."""
    mnt = tmp_path_factory.mktemp("disk")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "--lazy", str(mnt)], check=True)


@pytest.mark.parametrize("free_kb", [0, 256, 1024])
def test_full_disk_fails_cleanly_and_the_next_build_succeeds(free_kb: int, small_disk: Path, world: Path) -> None:
    data = small_disk / "data"
    shutil.rmtree(data, ignore_errors=True)
    before, served = fresh_copy(world, data)
    inputs = [world / "in", world / "more"]
    filler = small_disk / "filler"
    with filler.open("wb") as f:
        os.posix_fallocate(f.fileno(), 0, shutil.disk_usage(small_disk).free - free_kb * 1024)
    try:
        done = subprocess.run(build_cmd(world, data), capture_output=True, text=True, timeout=300)
    finally:
        filler.unlink()
    assert done.returncode == 1, done.stderr
    message = next(line for line in done.stderr.splitlines() if line.startswith("build failed: "))
    assert f"nothing was published ({MONTH} still serves build {served})" in message
    assert f"MB free in {data}" in message
    assert "No space left on device" in done.stderr
    assert "Traceback" not in done.stderr
    assert snapshot(data) == before
    assert leftovers(data) == []  # removed by the failed build itself
    after = build_month(data, MONTH, inputs, SYNC)
    assert DataStore(data).read_catalog().months[MONTH].build_id == after.build_id
    assert leftovers(data) == []


# -- a Dask worker killed ------------------------------------------------------------------
@pytest.fixture(scope="module")
def cluster() -> Iterator[Client]:
    """A LocalCluster of 2 worker processes (with nannies, which restart killed workers)."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as local, \
            Client(local) as client:
        yield client


@pytest.mark.parametrize(("task", "allowed_failures"), [("make_part", 3), ("make_region", 3), ("make_region", 0)])
def test_dask_worker_killed_mid_build_is_retried_or_fails_cleanly(
    task: str, allowed_failures: int, cluster: Client, world: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    before, served = fresh_copy(world, data)
    inputs = [world / "in", world / "more"]
    cluster.wait_for_workers(2)
    cluster.run_on_scheduler(_set_allowed_failures, n=allowed_failures)
    proc = subprocess.Popen(build_cmd(world, data, cluster.scheduler.address), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    victim = None
    while victim is None and proc.poll() is None:
        busy = cluster.processing()
        victim = next((w for w, keys in busy.items() if any(task in str(k) for k in keys)), None)
        time.sleep(0.001)
    assert victim is not None, f"no {task} task was ever seen running"
    os.kill(cluster.run(os.getpid, workers=[victim])[victim], signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    if allowed_failures:
        assert proc.returncode == 0, err
        entry = DataStore(data).read_catalog().months[MONTH]
        assert entry.products == len(PUBLISHED + MORE)
        reference = build_month(tmp_path / "ref", MONTH, inputs, SYNC)
        for layer in ("reflectance", "flags", "dates"):
            with rasterio.open(data / entry.path / f"{layer}.vrt") as a, \
                    rasterio.open(reference.build_dir / f"{layer}.vrt") as b:
                np.testing.assert_array_equal(a.read(), b.read())
        assert not [p for p in (data / entry.path).rglob(".*")], "temporary files in the published build"
    else:
        assert proc.returncode == 1, err
        assert "KilledWorker" in err and f"nothing was published ({MONTH} still serves build {served})" in err
        assert "Traceback" not in err
        assert snapshot(data) == before
    assert leftovers(data) == []


def _set_allowed_failures(dask_scheduler: Scheduler, n: int) -> None:
    dask_scheduler.allowed_failures = n
