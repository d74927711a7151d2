"""The Sentinel-2 MGRS tiles covering metropolitan France (from ESA's tiling grid)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

TILE_SIZE_M = 109_800
"""Side of a Sentinel-2 tile in metres (10980 px at 10 m)."""

_TILE_ID = re.compile(r"^T?(\d{2})([C-X])([A-Z]{2})$")


@dataclass(frozen=True)
class S2Tile:
    """One MGRS tile: id, UTM EPSG code and upper-left corner in that CRS."""

    tile: str
    epsg: int
    ulx: float
    uly: float
    lonlat_bounds: tuple[float, float, float, float]

    @property
    def zone(self) -> int:
        """UTM zone number."""
        return self.epsg - 32600

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the tile's UTM CRS."""
        return (self.ulx, self.uly - TILE_SIZE_M, self.ulx + TILE_SIZE_M, self.uly)


def utm_epsg(tile_id: str) -> int:
    """EPSG code of WGS 84 / UTM north for a tile id (``T31TCJ`` -> 32631)."""
    m = _TILE_ID.match(tile_id)
    if m is None:
        raise ValueError(f"not an MGRS tile id: {tile_id!r}")
    zone, band = int(m[1]), m[2]
    if band < "N":
        raise ValueError(f"{tile_id} lies in the southern hemisphere")
    return 32600 + zone


@lru_cache(maxsize=1)
def france_tiles() -> dict[str, S2Tile]:
    """The 95 tiles touching metropolitan France and Corsica, by tile id."""
    raw = json.loads(resources.files("processing").joinpath("data/france_s2_tiles.json").read_text())
    return {
        t["tile"]: S2Tile(t["tile"], t["epsg"], t["ulx"], t["uly"], tuple(t["lonlat_bounds"]))
        for t in raw["tiles"]
    }


def france_outline() -> dict:
    """The coarse France outline (Natural Earth 1:110m) as a GeoJSON geometry in EPSG:4326."""
    raw = json.loads(
        resources.files("processing").joinpath("data/france_outline.geojson").read_text()
    )
    return raw["features"][0]["geometry"]
