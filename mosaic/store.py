"""The data directory: where builds live, the month locks, and the atomically published catalog.

Layout::

    DATA_DIR/catalog.json                       published months -> build ids (atomic replace)
    DATA_DIR/months/<month>/builds/<build_id>/  one immutable build (manifest, STAC, VRTs, COGs)
    DATA_DIR/months/<month>/builds/.tmp-<id>/   a build in progress (removed if it fails, or by the next build)
    DATA_DIR/months/<month>/parts/<key>.vrt     products warped onto the grid (VRTs over ``<key>/NNNN.tif``
                                                slabs, :mod:`mosaic.parts`), reused by rebuilds
    DATA_DIR/months/<month>/.lock               held (flock) while a build of that month runs

A reader resolves a month through ``catalog.json`` only, so it sees the previous build or the
new one, never a mix; a build killed at any moment leaves the catalog as it was.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from mosaic.documents import CatalogDocument, CatalogEntry
from processing.errors import MosaiqueError
from processing.naming import parse_month

CATALOG = "catalog.json"
BUILD_ID_PATTERN = r"^\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{6}$"
"""What :func:`new_build_id` makes."""


class BuildAlreadyRunning(MosaiqueError):
    """Another build of the same month holds its lock."""


def new_build_id(now: datetime | None = None) -> str:
    """A unique build id that sorts by creation time: UTC time (microseconds) and a random suffix."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S.%fZ}-{uuid.uuid4().hex[:6]}"


def write_json_atomic(path: Path, data: object) -> None:
    """Write JSON to a temporary sibling, fsync it, then rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with tmp.open("w") as f:
            json.dump(data, f, indent=1, sort_keys=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def remove_strays(folder: Path) -> list[Path]:
    """Delete the temporary files and folders of unfinished writes (``.*.tmp``) under ``folder``.

    A Dask task killed with its worker leaves one behind; Dask runs the task again elsewhere,
    so the finished file exists too and the stray must not be published or kept.
    """
    strays = list(folder.rglob(".*.tmp"))
    for stray in strays:
        if stray.is_dir():
            shutil.rmtree(stray, ignore_errors=True)
        else:
            stray.unlink(missing_ok=True)
    return strays


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DataStore:
    """A local data directory of published months."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).absolute()

    def month_dir(self, month: str) -> Path:
        """Folder of a month (validated month id)."""
        parse_month(month)
        return self.root / "months" / month

    def builds_dir(self, month: str) -> Path:
        """Folder of a month's builds."""
        return self.month_dir(month) / "builds"

    def parts_dir(self, month: str) -> Path:
        """Folder of a month's cached parts."""
        return self.month_dir(month) / "parts"

    @contextmanager
    def month_lock(self, month: str) -> Iterator[None]:
        """Hold the month's build lock; raise ``BuildAlreadyRunning`` if another build has it.

        ``flock`` is released by the kernel when its holder dies, so a killed build never
        leaves a stale lock behind.
        """
        folder = self.month_dir(month)
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise BuildAlreadyRunning(f"a build of {month} is already running") from None
            yield
        finally:
            os.close(fd)

    def clean_leftovers(self, month: str) -> list[Path]:
        """Remove what dead or failed builds of a month left (call with the month lock held).

        That is their temporary files and folders, and a finished build newer than the
        published one that never made it into the catalog (killed just before publishing).
        """
        removed = []
        for folder in (self.builds_dir(month), self.parts_dir(month)):
            if folder.is_dir():
                removed += folder.glob(".*tmp*")
        published = self.read_catalog().build_id(month)
        if published and self.builds_dir(month).is_dir():
            builds = self.builds_dir(month).iterdir()
            removed += [p for p in builds if not p.name.startswith(".") and p.name > published]
        for leftover in removed:
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
        return removed

    def tmp_build_dir(self, month: str, build_id: str) -> Path:
        """Folder where a build is assembled before it is renamed into place."""
        return self.builds_dir(month) / f".tmp-{build_id}"

    def build_dir(self, month: str, build_id: str) -> Path:
        """Folder of a finished build."""
        return self.builds_dir(month) / build_id

    # -- catalog ---------------------------------------------------------------------------
    def read_catalog(self) -> CatalogDocument:
        """The published catalog (empty when nothing is published)."""
        try:
            return CatalogDocument.parse((self.root / CATALOG).read_bytes())
        except FileNotFoundError:
            return CatalogDocument(version=1, months={})

    def publish(self, month: str, entry: CatalogEntry) -> None:
        """Point the catalog's ``month`` at a finished build, in one atomic replace."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / ".catalog.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # serialises publishers of different months
            catalog = self.read_catalog()
            catalog.months = dict(sorted({**catalog.months, month: entry}.items()))
            catalog.updated = datetime.now(UTC).isoformat(timespec="seconds")
            write_json_atomic(self.root / CATALOG, catalog.to_json())
        finally:
            os.close(fd)

    def prune(self, month: str, keep: int) -> list[str]:
        """Delete all but the ``keep`` newest builds of a month (never the published one)."""
        current = self.read_catalog().build_id(month)
        folder = self.builds_dir(month)
        builds = sorted((p.name for p in folder.iterdir() if not p.name.startswith(".")), reverse=True)
        kept = set(builds[: max(1, keep)]) | {current}
        removed = [b for b in builds if b not in kept]
        for build in removed:
            shutil.rmtree(folder / build, ignore_errors=True)
        return removed
