"""Read what is published: the months of a data directory and where each layer's pixels are.

This is the read side the server uses (the build side is :mod:`mosaic.build`). It reads
``catalog.json`` again whenever the file changes, so a newly published month or build shows up
without a restart, and never mixes two builds: a month is resolved to one build folder.

The data directory may be local, or an ``http(s)://`` or ``s3://`` prefix holding the same
files: everything is read through GDAL's virtual file systems (``/vsicurl/``, ``/vsis3/``), and
a remote catalog is looked at again at most every ``ttl`` seconds.

A store that cannot be read right now (a local data directory that is missing, an HTTP error
other than 404, a timeout, a truncated body) raises :class:`SourceUnavailable`, never a "not
found": the server answers 503 and tries again. A remote catalog that cannot be re-read keeps
the months last read. GDAL remembers failed remote reads as well as good ones, so
:meth:`Catalog.forget_failures` drops what GDAL cached of the store.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import morecantile
from osgeo import gdal

from mosaic.documents import CatalogDocument, CatalogEntry, Document, Manifest
from mosaic.gdalconfig import configure_gdal
from mosaic.grid import region_id
from mosaic.layers import LAYERS
from mosaic.store import BUILD_ID_PATTERN, CATALOG
from processing.errors import MosaiqueError


class MonthNotFound(MosaiqueError):
    """No published month has this id."""


class LayerNotFound(MosaiqueError):
    """A month has no layer of this name."""


class SourceUnavailable(MosaiqueError):
    """The data store cannot be read right now (missing, erroring, stalled); worth trying again."""


log = logging.getLogger("mosaique.catalog")
D = TypeVar("D", bound=Document)


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
    summary: CatalogEntry = field(compare=False, hash=False)
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
        region = region_id(morecantile.Tile(x >> shift, y >> shift, self.region_zoom))
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
    """A small file's text through GDAL's virtual file systems (None if it does not exist).

    Raises ``SourceUnavailable`` when a remote store fails otherwise (HTTP error, timeout, body
    shorter than announced).
    """
    gdal.VSIErrorReset()
    handle = gdal.VSIFOpenExL(path, "rb", True)
    if handle is None:
        _raise_unless_absent(path)
        return None
    try:
        gdal.VSIFSeekL(handle, 0, os.SEEK_END)
        size = gdal.VSIFTellL(handle)
        gdal.VSIFSeekL(handle, 0, os.SEEK_SET)
        chunks = []
        while chunk := gdal.VSIFReadL(1, 1 << 20, handle):
            chunks.append(chunk)
    finally:
        gdal.VSIFCloseL(handle)
    data = b"".join(chunks)
    if len(data) != size:
        raise SourceUnavailable(f"{path}: read {len(data)} of {size} bytes")
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise SourceUnavailable(f"{path}: not text") from None


def _raise_unless_absent(path: str) -> None:
    """After a failed open or stat with the error flag: absence is an answer, anything else is not."""
    if path.startswith("/vsi"):
        message = gdal.VSIGetLastErrorMsg()
        if message and "404" not in message:
            raise SourceUnavailable(f"{path}: {message}")


def _read(path: str, kind: type[D]) -> D | None:
    """A JSON document (None if the file does not exist); a cut or garbled file is a read failure."""
    text = read_text(path)
    try:
        return kind.model_validate_json(text) if text else None
    except ValueError as e:
        problem = "not valid JSON" if "json_invalid" in str(e) else f"not a valid {kind.__name__}: {e}"
        raise SourceUnavailable(f"{path}: {problem}") from None


@lru_cache(maxsize=256)
def _load_month(month: str, build_id: str, folder: str, entry_json: str) -> Month:
    """Build a Month from its catalog entry and manifest (cached by build id: builds never change)."""
    entry = CatalogEntry.model_validate_json(entry_json)
    manifest = _read(f"{folder}/manifest.json", Manifest)
    if manifest is None:
        raise MonthNotFound(f"build {build_id} of {month} has no manifest")
    return Month(
        month=month,
        build_id=build_id,
        folder=folder,
        zoom=entry.zoom,
        region_zoom=entry.region_zoom,
        bounds=tuple(entry.bounds),
        summary=entry,
        regions=frozenset(manifest.filled_regions()),
    )


def _local_stamp(path: str) -> tuple[int, int] | None:
    """Modification time and inode: a publish replaces the file, so either changes."""
    for _ in range(2):
        try:
            st = os.stat(path)
            return st.st_mtime_ns, st.st_ino
        except FileNotFoundError:
            if not os.path.isdir(os.path.dirname(path)):  # the data directory itself is gone
                raise SourceUnavailable(f"{os.path.dirname(path)} is missing") from None
            # The directory is there: either it holds no catalog (nothing published), or it was away
            # when the file was looked at and is back now; a second look tells which (never a 404 for
            # a directory that was only moved away and back).
    return None


def _remote_stamp(path: str) -> tuple[int, int] | None:
    gdal.VSIErrorReset()
    if gdal.VSIStatL(path, gdal.VSI_STAT_EXISTS_FLAG | gdal.VSI_STAT_SET_ERROR_FLAG) is None:  # (with the size
        _raise_unless_absent(path)  # flag, GDAL 3.6 sets no error: ask why first, then what)
        return None
    stat = gdal.VSIStatL(path)
    return None if stat is None else (stat.mtime, stat.size)


def configure_reads(cache_mb: int, http_timeout: float, http_retries: int) -> None:
    """Process-wide GDAL settings for reading published months (osgeo and rasterio share one GDAL).

    The block cache is set once for the process. Every HTTP request to a remote store is bounded
    by ``http_timeout`` seconds (connecting included) and retried ``http_retries`` times on
    transient errors (429, 5xx, timeouts).
    """
    timeout = str(max(1, round(http_timeout)))
    configure_gdal(cache_mb, {
        "GDAL_HTTP_TIMEOUT": timeout,
        "GDAL_HTTP_CONNECTTIMEOUT": timeout,
        "GDAL_HTTP_MAX_RETRY": str(http_retries),
        "GDAL_HTTP_RETRY_DELAY": "0.5",
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",  # no directory listing requests
    })


def forget_cached_reads(prefix: str) -> None:
    """Drop what GDAL's network file systems cached under ``prefix`` (file sizes, blocks, failures)."""
    gdal.VSICurlPartialClearCache(prefix)


class Catalog:
    """The published months of a data directory (local, HTTP(S) or S3)."""

    def __init__(self, root: str | Path, ttl: float = 10.0) -> None:
        self.root = gdal_root(root)
        self.remote = self.root.startswith("/vsi")
        self.ttl = ttl
        self._stamp: object = None
        self._checked = float("-inf")
        self._months: dict[str, Month] = {}
        self._loaded = False
        self._failure: SourceUnavailable | None = None
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        if not self.remote:
            self._reload()
            return
        # One thread looks at a remote store at a time; once months are known the others do not wait.
        if self._due() and self._lock.acquire(blocking=not self._loaded):
            try:
                if self._due():
                    self._checked = time.monotonic()  # a store that fails or stalls is not asked again at once
                    forget_cached_reads(f"{self.root}/{CATALOG}")  # else GDAL answers from its cached copy
                    try:
                        self._reload()
                        self._failure = None
                    except SourceUnavailable as e:
                        self._failure = e
                        log.warning("data store unavailable, %s: %s",
                                    "serving the months last read" if self._loaded else "no months yet", e)
            finally:
                self._lock.release()
        if not self._loaded and self._failure is not None:
            raise SourceUnavailable(str(self._failure))

    def _due(self) -> bool:
        return time.monotonic() - self._checked >= self.ttl

    def _reload(self) -> None:
        """Read the catalog again if it changed (raises ``SourceUnavailable``)."""
        path = f"{self.root}/{CATALOG}"
        stamp = _remote_stamp(path) if self.remote else _local_stamp(path)
        if stamp is None:
            self._stamp, self._months, self._loaded = None, {}, True
            return
        if stamp == self._stamp:
            return
        catalog = _read(path, CatalogDocument)
        if catalog is None:  # there a moment ago (publishing replaces it, never removes it): moved away
            raise SourceUnavailable(f"{path} vanished while it was read")
        try:
            months = {
                month: _load_month(month, e.build_id, f"{self.root}/{e.path}", e.model_dump_json())
                for month, e in catalog.months.items()
            }
        except MonthNotFound as e:  # a published build without its manifest: the store is not whole
            raise SourceUnavailable(f"{path}: {e}") from None
        if not self.remote and not os.path.isdir(self.root):  # moved away while it was read
            raise SourceUnavailable(f"{self.root} is missing")
        self._months, self._stamp, self._loaded = months, stamp, True

    def forget_failures(self) -> None:
        """After a failed read of a remote store: make GDAL ask the store again next time."""
        if self.remote:
            forget_cached_reads(self.root + "/")

    def months(self, refresh: bool = True) -> list[Month]:
        """Every published month, oldest first; ``refresh=False``: as last read, without any I/O."""
        if refresh:
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
        manifest = _read(f"{folder}/manifest.json", Manifest)
        if manifest is None or manifest.month != month:
            self._refresh()  # a data directory gone since the catalog was read is unavailable, not "not found"
            raise MonthNotFound(f"build {build_id} of {month} is not available")
        entry = current.summary.model_copy(update={
            "build_id": build_id, "zoom": manifest.grid.zoom, "region_zoom": manifest.grid.region_zoom,
            "bounds": manifest.bounds, "resolution": manifest.grid.kept})
        return _load_month(month, build_id, folder, entry.model_dump_json())
