"""Read what is published: the months of a data directory and where each layer's pixels are.

This is the read side the server uses (the build side is :mod:`mosaic.build`). It reads
``catalog.json`` again whenever the file changes, so a newly published month or build shows up
without a restart, and never mixes two builds: a month is resolved to one build folder.

The data directory may be local, or an ``http(s)://`` or ``s3://`` prefix holding the same
files: everything is read through GDAL's virtual file systems (``/vsicurl/``, ``/vsis3/``), and
a remote catalog is looked at again at most every ``ttl`` seconds.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from osgeo import gdal

from mosaic.layers import LAYERS
from mosaic.store import BUILD_ID_PATTERN, CATALOG
from processing.errors import MosaiqueError


class MonthNotFound(MosaiqueError):
    """No published month has this id."""


class LayerNotFound(MosaiqueError):
    """A month has no layer of this name."""


@dataclass(frozen=True)
class Month:
    """One published month: its build and the layout of its layers."""

    month: str
    build_id: str
    folder: str
    """The build folder as GDAL opens it (a local path, or a ``/vsicurl/``, ``/vsis3/`` path)."""
    zoom: int
    region_zoom: int
    bounds: tuple[float, float, float, float]
    """West, south, east, north in degrees."""
    summary: dict = field(compare=False, hash=False)
    """The catalog entry (coverage, products, missing tiles, publication time)."""
    regions: frozenset[str] = field(compare=False, hash=False)
    """Region ids (``z-x-y``) that hold data."""

    def vrt(self, layer: str) -> str:
        """The layer's VRT over all regions (full resolution, whole month)."""
        _check_layer(layer)
        return f"{self.folder}/{layer}.vrt"

    def overview(self, layer: str) -> str:
        """The layer's COG of the whole month at the region zoom (for zooms below it)."""
        _check_layer(layer)
        return f"{self.folder}/overview/{layer}.tif"

    def source(self, layer: str, z: int, x: int, y: int) -> str | None:
        """The one COG holding the pixels of web tile z/x/y, or None where there is no data.

        Below ``region_zoom`` that is the overview COG; from it on, the region COG containing the
        tile (its parent at ``region_zoom``), whose blocks are the tiles of ``zoom``.
        """
        _check_layer(layer)
        if z < self.region_zoom:
            return self.overview(layer)
        shift = z - self.region_zoom
        region = f"{self.region_zoom}-{x >> shift}-{y >> shift}"
        if region not in self.regions:
            return None
        return f"{self.folder}/regions/{region}/{layer}.tif"


def _check_layer(layer: str) -> None:
    if layer not in LAYERS:
        raise LayerNotFound(f"no layer {layer!r}; layers: {', '.join(LAYERS)}")


def gdal_root(root: str | Path) -> str:
    """A data directory as GDAL opens it: local absolute path, ``/vsicurl/`` or ``/vsis3/``."""
    root = str(root)
    if root.startswith(("http://", "https://")):
        return "/vsicurl/" + root.rstrip("/")
    if root.startswith("s3://"):
        return "/vsis3/" + root[len("s3://"):].rstrip("/")
    return str(Path(root).absolute())


def read_text(path: str) -> str | None:
    """A small file's text through GDAL's virtual file systems (None if it does not exist)."""
    handle = gdal.VSIFOpenL(path, "rb")
    if handle is None:
        return None
    try:
        chunks = []
        while chunk := gdal.VSIFReadL(1, 1 << 20, handle):
            chunks.append(chunk)
        return b"".join(chunks).decode()
    finally:
        gdal.VSIFCloseL(handle)


@lru_cache(maxsize=256)
def _load_month(month: str, build_id: str, folder: str, entry_json: str) -> Month:
    """Build a Month from its catalog entry and manifest (cached by build id: builds never change)."""
    entry = json.loads(entry_json)
    manifest = json.loads(read_text(f"{folder}/manifest.json") or "{}")
    if not manifest:
        raise MonthNotFound(f"build {build_id} of {month} has no manifest")
    regions = frozenset(r for r, info in manifest["regions"].items() if info["files"])
    return Month(
        month=month,
        build_id=build_id,
        folder=folder,
        zoom=entry["zoom"],
        region_zoom=entry["region_zoom"],
        bounds=tuple(entry["bounds"]),
        summary=entry,
        regions=regions,
    )


def _local_stamp(path: str) -> tuple[int, int] | None:
    """Modification time and inode: a publish replaces the file, so either changes."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_ino


def _remote_stamp(path: str) -> tuple[int, int] | None:
    stat = gdal.VSIStatL(path)
    return None if stat is None else (stat.mtime, stat.size)


class Catalog:
    """The published months of a data directory (local, HTTP(S) or S3)."""

    def __init__(self, root: str | Path, ttl: float = 10.0) -> None:
        self.root = gdal_root(root)
        self.remote = self.root.startswith("/vsi")
        self.ttl = ttl
        self._stamp: object = None
        self._checked = float("-inf")
        self._months: dict[str, Month] = {}

    def _refresh(self) -> None:
        path = f"{self.root}/{CATALOG}"
        if self.remote:
            if time.monotonic() - self._checked < self.ttl:
                return
            gdal.VSICurlPartialClearCache(path)  # else GDAL answers from its cache of the old file
        self._checked = time.monotonic()
        stamp = _remote_stamp(path) if self.remote else _local_stamp(path)
        if stamp is None:
            self._stamp, self._months = None, {}
            return
        if stamp == self._stamp:
            return
        raw = json.loads(read_text(path) or "{}")
        self._months = {
            month: _load_month(month, e["build_id"], f"{self.root}/{e['path']}", json.dumps(e, sort_keys=True))
            for month, e in raw.get("months", {}).items()
        }
        self._stamp = stamp

    def months(self) -> list[Month]:
        """Every published month, oldest first."""
        self._refresh()
        return [self._months[m] for m in sorted(self._months)]

    def get(self, month: str, build_id: str | None = None) -> Month:
        """A published month, or one of its retained builds; raises ``MonthNotFound``.

        Clients that hold URLs of the previous build keep being served from it while it is
        retained, so a republish never breaks a map that is open.
        """
        self._refresh()
        current = self._months.get(month)
        if current is None:
            raise MonthNotFound(f"month {month} is not published")
        if build_id is None or build_id == current.build_id:
            return current
        if not re.match(BUILD_ID_PATTERN, build_id):
            raise MonthNotFound(f"build {build_id} of {month} is not available")
        folder = f"{current.folder.rsplit('/', 1)[0]}/{build_id}"
        manifest = json.loads(read_text(f"{folder}/manifest.json") or "{}")
        if manifest.get("month") != month:
            raise MonthNotFound(f"build {build_id} of {month} is not available")
        entry = {**current.summary, "build_id": build_id, "zoom": manifest["grid"]["zoom"],
                 "region_zoom": manifest["grid"]["region_zoom"], "bounds": manifest["bounds"]}
        return _load_month(month, build_id, folder, json.dumps(entry, sort_keys=True))
