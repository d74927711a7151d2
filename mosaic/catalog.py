"""Read what is published: the months of a data directory and where each layer's pixels are.

This is the read side the server uses (the build side is :mod:`mosaic.build`). It reads
``catalog.json`` again whenever the file changes, so a newly published month or build shows up
without a restart, and never mixes two builds: a month is resolved to one build folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from mosaic.layers import LAYERS
from mosaic.store import CATALOG
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
    folder: Path
    zoom: int
    region_zoom: int
    bounds: tuple[float, float, float, float]
    """West, south, east, north in degrees."""
    summary: dict = field(compare=False, hash=False)
    """The catalog entry (coverage, products, missing tiles, publication time)."""
    regions: frozenset[str] = field(compare=False, hash=False)
    """Region ids (``z-x-y``) that hold data."""

    def vrt(self, layer: str) -> Path:
        """The layer's VRT over all regions (full resolution, whole month)."""
        _check_layer(layer)
        return self.folder / f"{layer}.vrt"

    def overview(self, layer: str) -> Path:
        """The layer's COG of the whole month at the region zoom (for zooms below it)."""
        _check_layer(layer)
        return self.folder / "overview" / f"{layer}.tif"

    def source(self, layer: str, z: int, x: int, y: int) -> Path | None:
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
        return self.folder / "regions" / region / f"{layer}.tif"


def _check_layer(layer: str) -> None:
    if layer not in LAYERS:
        raise LayerNotFound(f"no layer {layer!r}; layers: {', '.join(LAYERS)}")


@lru_cache(maxsize=256)
def _load_month(month: str, build_id: str, folder: Path, entry_json: str) -> Month:
    """Build a Month from its catalog entry and manifest (cached by build id: builds never change)."""
    entry = json.loads(entry_json)
    manifest = json.loads((folder / "manifest.json").read_text())
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


class Catalog:
    """The published months of a local data directory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).absolute()
        self._stamp: tuple[int, int] | None = None
        self._months: dict[str, Month] = {}

    def _refresh(self) -> None:
        path = self.root / CATALOG
        try:
            st = os.stat(path)
        except FileNotFoundError:
            self._stamp, self._months = None, {}
            return
        stamp = (st.st_mtime_ns, st.st_ino)  # a publish replaces the file: new inode
        if stamp == self._stamp:
            return
        raw = json.loads(path.read_text())
        self._months = {
            month: _load_month(month, e["build_id"], self.root / e["path"], json.dumps(e, sort_keys=True))
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
        folder = current.folder.parent / build_id
        if build_id.startswith(".") or "/" in build_id or not (folder / "manifest.json").is_file():
            raise MonthNotFound(f"build {build_id} of {month} is not available")
        manifest = json.loads((folder / "manifest.json").read_text())
        if manifest.get("month") != month:
            raise MonthNotFound(f"build {build_id} of {month} is not available")
        entry = {**current.summary, "build_id": build_id, "zoom": manifest["grid"]["zoom"],
                 "region_zoom": manifest["grid"]["region_zoom"], "bounds": manifest["bounds"]}
        return _load_month(month, build_id, folder, json.dumps(entry, sort_keys=True))
