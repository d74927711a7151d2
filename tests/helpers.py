"""Test helpers: small published months, and real servers on 127.0.0.1."""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import rasterio
from rasterio.io import MemoryFile
from rasterio.windows import Window

from mosaic.build import BuildOptions, build_month
from processing.product import L3AProduct
from sample import generate_products

CLI = [sys.executable, "-m", "app.cli"]

# The shared samples of conftest.py (session fixtures `france` and `year`).
FRANCE_TILES = ["T31TCJ", "T31TDJ"]  # Toulouse and east of it: tile 7/64/46 is one region
FRANCE_MONTHS = ["2018-07", "2018-08"]
YEAR_TILE = "T32TLP"  # the Mercantour: snow in winter, none in July
YEAR_MONTHS = [f"2018-{m:02d}" for m in range(1, 13)]
PIXEL = 2000  # zoom 7 (the rule keeping every pixel): a region COG is one tile


def published_months(root: Path, tiles: list[str], months: list[str], pixel_size: float = 1000) -> Path:
    """Sample products under ``root/in``, each month built and published into ``root/data``."""
    generate_products(root / "in", tiles=tiles, months=months, pixel_size=pixel_size, workers=1)
    for month in months:
        build_month(root / "data", month, [root / "in"], BuildOptions(scheduler="sync", progress=False))
    return root / "data"


def copy_published(data: Path, root: Path) -> Path:
    """A copy of ``published_months``' data dir and its inputs, as ``root/data`` and ``root/in``."""
    shutil.copytree(data.parent / "in", root / "in")
    return Path(shutil.copytree(data, root / "data"))


def read_asset(product: L3AProduct, asset: str, window: Window | None = None) -> np.ndarray:
    """One asset of a validated product as an array (optionally a window of it)."""
    with rasterio.open(product.assets[asset]) as ds:
        return ds.read(1, window=window)


def rgba(content: bytes) -> np.ndarray:
    """An image's pixels as (bands, rows, cols); a paletted PNG expanded through its own palette to RGBA."""
    with MemoryFile(content) as mem, mem.open() as img:
        data = img.read()
        if img.count == 1 and img.colorinterp[0].name == "palette":
            palette = img.colormap(1)
            lut = np.array([palette.get(i, (0, 0, 0, 0)) for i in range(256)], dtype=np.uint8)
            data = np.moveaxis(lut[data[0]], -1, 0)
        return data


def run_cli(*args: str, **kw: object) -> subprocess.CompletedProcess:
    """Run the mosaique CLI in a subprocess."""
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=600, **kw)


def snapshot(data: Path) -> dict[str, str]:
    """SHA-256 of every published file (catalog and builds), by relative path."""
    files = [data / "catalog.json", *(data / "months").rglob("builds/*/**/*")]
    return {
        str(f.relative_to(data)): hashlib.sha256(f.read_bytes()).hexdigest()
        for f in files
        if f.is_file() and "/.tmp-" not in str(f)
    }


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(cmd: list[str], probe: str, timeout: float = 30, **popen: object) -> Iterator[None]:
    """Run a server command until the block ends; wait until ``probe`` answers first."""
    proc = subprocess.Popen(cmd, **({"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL} | popen))
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                httpx.get(probe, timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{cmd[:4]} did not start") from None
                time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def serving(data: Path | str, **popen: object) -> Iterator[str]:
    """`mosaique serve` on ``data`` at a free port of 127.0.0.1 until the block ends; yields its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running([*CLI, "serve", "--port", str(port), "--data-dir", str(data)], f"{url}/healthz", **popen):
        yield url


def cog_pixels(path: Path) -> list[bytes]:
    """Every band and mask (no-data value or mask band) of a COG at every level, as bytes."""
    out = []
    with rasterio.open(path) as ds:
        for factor in [1, *ds.overviews(1)]:
            shape = (ds.count, ds.height // factor, ds.width // factor)
            out += [ds.read(out_shape=shape).tobytes(), ds.read_masks(out_shape=shape).tobytes()]
    return out
