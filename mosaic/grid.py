"""The common output grid: WebMercatorQuad (EPSG:3857) pixels of one zoom level.

Every UTM zone is warped onto the same pixel grid, aligned with the web map tiles, so that
parts of different products line up to the pixel, and each 256 px block of the output COGs is
exactly one XYZ tile (and each overview level one zoom level lower).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import morecantile
from affine import Affine

TMS = morecantile.tms.get("WebMercatorQuad")
TILE_PX = 256
MIN_REGION_ZOOM = 7
FRANCE_LAT = 46.5
"""Latitude at which ground resolutions are compared when choosing the zoom."""


def ground_resolution(zoom: int, lat: float = FRANCE_LAT) -> float:
    """Ground size in metres of a WebMercatorQuad pixel at ``zoom`` and latitude ``lat``."""
    return TMS.matrix(zoom).cellSize * math.cos(math.radians(lat))


def choose_zoom(pixel_size_m: float, lat: float = FRANCE_LAT) -> int:
    """The zoom whose ground resolution is nearest the input's (on a log scale).

    10 m input -> zoom 13 (13 m at 46.5 N); 20 m -> 12; 200 m -> 9.
    """
    return min(range(0, 25), key=lambda z: abs(math.log(ground_resolution(z, lat) / pixel_size_m)))


@dataclass(frozen=True)
class OutputGrid:
    """Pixels of zoom ``zoom``; output files are cut along the tiles of ``region_zoom``."""

    zoom: int
    region_zoom: int

    @classmethod
    def for_pixel_size(cls, pixel_size_m: float, zoom: int | None = None) -> OutputGrid:
        """The grid for inputs of a given pixel size.

        Regions are tiles of zoom ``zoom - 5`` (8192 px square) but never larger than a zoom-7
        tile (about 220 km at France's latitude), so coarse grids still split into several files.
        """
        z = choose_zoom(pixel_size_m) if zoom is None else zoom
        return cls(zoom=z, region_zoom=min(z, max(z - 5, MIN_REGION_ZOOM)))

    @cached_property
    def res(self) -> float:
        """Pixel size in EPSG:3857 metres."""
        return TMS.matrix(self.zoom).cellSize

    @property
    def origin(self) -> tuple[float, float]:
        """Top-left corner of the whole grid (of the TMS)."""
        return TMS.matrix(self.zoom).pointOfOrigin

    def snap(self, bounds: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """Grow EPSG:3857 bounds outwards to whole pixels of the grid."""
        ox, oy = self.origin
        left, bottom, right, top = bounds
        col0 = math.floor((left - ox) / self.res)
        col1 = math.ceil((right - ox) / self.res)
        row0 = math.floor((oy - top) / self.res)
        row1 = math.ceil((oy - bottom) / self.res)
        return (ox + col0 * self.res, oy - row1 * self.res, ox + col1 * self.res, oy - row0 * self.res)

    def offset(self, left: float, top: float) -> tuple[int, int]:
        """(col, row) of a grid-aligned corner in the whole grid."""
        ox, oy = self.origin
        return round((left - ox) / self.res), round((oy - top) / self.res)

    def regions(self, bounds: tuple[float, float, float, float]) -> list[morecantile.Tile]:
        """Region tiles (at ``region_zoom``) intersecting EPSG:3857 bounds."""
        ox, oy = self.origin
        size = TMS.matrix(self.region_zoom).cellSize * TILE_PX
        eps = self.res / 1000
        cols = range(math.floor((bounds[0] - ox) / size), math.floor((bounds[2] - ox - eps) / size) + 1)
        rows = range(math.floor((oy - bounds[3]) / size), math.floor((oy - bounds[1] - eps) / size) + 1)
        return [morecantile.Tile(x, y, self.region_zoom) for y in rows for x in cols]

    def region_size(self) -> int:
        """Width and height of a region in pixels."""
        return TILE_PX * 2 ** (self.zoom - self.region_zoom)

    def region_transform(self, region: morecantile.Tile) -> Affine:
        """Affine transform of a region's pixels."""
        b = TMS.xy_bounds(region)
        return Affine(self.res, 0.0, b.left, 0.0, -self.res, b.top)

    def describe(self) -> dict:
        """JSON-ready description for manifests."""
        return {
            "tms": "WebMercatorQuad",
            "crs": "EPSG:3857",
            "zoom": self.zoom,
            "region_zoom": self.region_zoom,
            "resolution": self.res,
            "ground_resolution_at_46_5N": round(ground_resolution(self.zoom), 3),
            "region_size_px": self.region_size(),
        }
