"""Is every source pixel in a published month? Checked through a real server, at 10 m.

Random source pixels of each product (away from other products' footprints) are looked up at
their centres with the reflectance point query and in the reflectance tile of the month's finest
zoom; both must return the pixel's own B2/B3/B4/B8. The same run times the tiles a visitor loads
around those pixels (the stored true colour at zooms 13 and 14).
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import morecantile
import numpy as np
import rasterio
from common import free_port, start
from rasterio.io import MemoryFile
from rasterio.warp import transform
from rasterio.windows import Window

from mosaic.catalog import Catalog
from processing.layout import NODATA
from processing.scan import scan_products

BANDS = ("B2", "B3", "B4", "B8")
TMS = morecantile.tms.get("WebMercatorQuad")
Pixel = tuple[float, float, list]
"""Longitude, latitude of a source pixel's centre, and its B2/B3/B4/B8."""


@dataclass
class Fidelity:
    """What a month returned for random source pixels, and how fast its tiles came."""

    pixels: int = 0
    by_point: int = 0
    by_tile: int = 0
    tile_ms: dict[int, list[float]] = field(default_factory=dict)
    """Zoom -> milliseconds per stored true-colour tile (one keep-alive client)."""

    def share(self, n: int) -> float:
        """``n`` as a percentage of the pixels checked."""
        return 100 * n / self.pixels if self.pixels else 0.0

    def p50(self, zoom: int) -> float:
        """Median ms of the stored true-colour tiles at ``zoom``."""
        return statistics.median(self.tile_ms[zoom])


def source_pixels(inputs: list[Path], month: str, per_product: int, seed: int = 7) -> list[Pixel]:
    """(lon, lat, [B2, B3, B4, B8]) of random valid source pixels whose centre no other product covers."""
    products = scan_products(inputs, month=month).products
    rng = np.random.default_rng(seed)
    picked = []
    for product in products:
        sources = [rasterio.open(product.assets[b]) for b in BANDS]
        try:
            found = 0
            while found < per_product:
                row, col = (int(v) for v in rng.integers(0, sources[0].height, 2))
                values = [int(s.read(1, window=Window(col, row, 1, 1))[0, 0]) for s in sources]
                x, y = sources[0].xy(row, col)  # the pixel's centre
                (lon,), (lat,) = transform(sources[0].crs, "EPSG:4326", [x], [y])
                if NODATA in values or any(_covers(o, lon, lat) for o in products if o is not product):
                    continue
                picked.append((lon, lat, values))
                found += 1
        finally:
            for s in sources:
                s.close()
    return picked


def _covers(product: object, lon: float, lat: float) -> bool:
    (x,), (y,) = transform("EPSG:4326", f"EPSG:{product.epsg}", [lon], [lat])
    left, bottom, right, top = product.bounds
    return left <= x <= right and bottom <= y <= top


def check(data: Path, month: str, pixels: list[Pixel], zooms: tuple[int, ...] = (13, 14)) -> Fidelity:
    """Serve ``data`` and look the pixels up; time the stored true-colour tiles holding them."""
    zoom = Catalog(data).get(month).zoom
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start([sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--data-dir", str(data)],
                   f"{url}/healthz")
    result = Fidelity(pixels=len(pixels), tile_ms={z: [] for z in zooms})
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            for lon, lat, expected in pixels:
                point = client.get(f"/months/{month}/reflectance/point/{lon},{lat}").json()
                result.by_point += point["values"] == expected
                t = TMS.tile(lon, lat, zoom)
                r = client.get(f"/months/{month}/reflectance/tiles/WebMercatorQuad/{zoom}/{t.x}/{t.y}.tif")
                with MemoryFile(r.content) as mem, mem.open() as img:
                    (x,), (y,) = transform("EPSG:4326", img.crs, [lon], [lat])
                    row, col = img.index(x, y)
                    got = img.read([1, 2, 3, 4], window=((row, row + 1), (col, col + 1)))[:, 0, 0].tolist()
                result.by_tile += got == expected
            for z in zooms:
                for lon, lat, _ in pixels:
                    t = TMS.tile(lon, lat, z)
                    started = time.perf_counter()
                    client.get(f"/months/{month}/truecolor/{z}/{t.x}/{t.y}.jpg").raise_for_status()
                    result.tile_ms[z].append(1000 * (time.perf_counter() - started))
    finally:
        server.terminate()
        server.wait(timeout=10)
    return result
