"""Reading published months onto any WebMercatorQuad raster, for analyses (changes, validity).

A :class:`View` is a north-up EPSG:3857 raster (bounds and size). :func:`read_layer` fills it
from the COGs that hold the month's pixels: the month's overview COG when the view is no finer
than the region zoom, else each region COG it overlaps, every one read by rasterio at the
view's resolution (GDAL picks the COG's nearest overview level). Not through the month's VRT:
GDAL reads a VRT source it cannot open as zeros without an error, where a COG read raises, and
a wrong answer here would be cached for good.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import rasterio
from affine import Affine
from pyproj import Geod, Transformer
from rasterio.enums import Resampling
from rasterio.windows import Window, from_bounds

from mosaic.catalog import Month
from mosaic.grid import TMS, region_tile
from mosaic.layers import LAYERS
from processing.layout import Flag

VALID_FLAGS = (int(Flag.LAND), int(Flag.WATER))
"""Flags of an observation an analysis trusts: land or water (not all-month cloud, snow, no data)."""
_GEOD = Geod(ellps="WGS84")
_TO_LONLAT = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
_TO_MERCATOR = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)


@dataclass(frozen=True)
class View:
    """A north-up raster in EPSG:3857: ``bounds`` (left, bottom, right, top) over ``width`` x ``height``."""

    bounds: tuple[float, float, float, float]
    width: int
    height: int

    @classmethod
    def at_zoom(cls, bounds: tuple[float, float, float, float], zoom: int) -> View:
        """The pixels of WebMercatorQuad zoom ``zoom`` covering EPSG:3857 ``bounds`` (grown to whole pixels)."""
        res = TMS.matrix(zoom).cellSize
        ox, oy = TMS.matrix(zoom).pointOfOrigin
        c0, c1 = math.floor((bounds[0] - ox) / res + 1e-6), math.ceil((bounds[2] - ox) / res - 1e-6)
        r0, r1 = math.floor((oy - bounds[3]) / res + 1e-6), math.ceil((oy - bounds[1]) / res - 1e-6)
        return cls((ox + c0 * res, oy - r1 * res, ox + c1 * res, oy - r0 * res), max(1, c1 - c0), max(1, r1 - r0))

    @classmethod
    def of_lonlat(cls, bbox: tuple[float, float, float, float], size: int) -> View:
        """A view of a lon/lat bbox (west, south, east, north) whose longer side is ``size`` px."""
        left, bottom = _TO_MERCATOR.transform(bbox[0], bbox[1])
        right, top = _TO_MERCATOR.transform(bbox[2], bbox[3])
        res = max(right - left, top - bottom) / size
        return cls((left, bottom, right, top), max(1, round((right - left) / res)), max(1, round((top - bottom) / res)))

    @property
    def res(self) -> tuple[float, float]:
        """Pixel width and height in EPSG:3857 metres."""
        left, bottom, right, top = self.bounds
        return (right - left) / self.width, (top - bottom) / self.height

    @property
    def transform(self) -> Affine:
        """The affine transform of the view's pixels."""
        return Affine(self.res[0], 0.0, self.bounds[0], 0.0, -self.res[1], self.bounds[3])

    def lonlat(self, cols: np.ndarray | float, rows: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Longitude and latitude of (fractional) pixel coordinates."""
        x, y = self.transform @ (cols, rows)
        return _TO_LONLAT.transform(x, y)

    def lonlat_bounds(self, rows: slice | None = None, cols: slice | None = None) -> list[float]:
        """[west, south, east, north] of the view or of a block of its pixels."""
        rows, cols = rows or slice(0, self.height), cols or slice(0, self.width)
        (west, east), (north, south) = self.lonlat(np.array([cols.start, cols.stop]), np.array([rows.start, rows.stop]))
        return [float(west), float(south), float(east), float(north)]

    @cached_property
    def row_area_km2(self) -> np.ndarray:
        """True ground area (WGS 84 ellipsoid, km²) of one pixel of each row: Web-Mercator cells shrink north."""
        lon0, lon1 = self.lonlat(np.array([0.0, 1.0]), np.array([0.0, 0.0]))[0]
        _, lats = self.lonlat(np.zeros(self.height + 1), np.arange(self.height + 1, dtype=float))
        areas = [abs(_GEOD.polygon_area_perimeter([lon0, lon1, lon1, lon0], [lat1, lat1, lat0, lat0])[0])
                 for lat0, lat1 in zip(lats[:-1], lats[1:], strict=True)]
        return np.asarray(areas) / 1e6


def read_layer(month: Month, layer: str, view: View, indexes: Sequence[int] = (1,)) -> np.ndarray:
    """Bands ``indexes`` of a month's layer on ``view`` (nearest), the layer's no data where it has none."""
    spec = LAYERS[layer]
    fill = spec.nodata if spec.nodata is not None else 0
    out = np.full((len(indexes), view.height, view.width), fill, dtype=spec.dtype)
    overview_res = TMS.matrix(month.region_zoom).cellSize
    if min(view.res) >= overview_res * (1 - 1e-6):
        sources = [(month.overview(layer), None)]
    else:
        sources = [(f"{month.folder}/regions/{r}/{layer}.tif", _tile_bounds(r)) for r in sorted(month.regions)]
    for path, bounds in sources:
        if bounds is None or _overlaps(bounds, view.bounds):
            _paste(path, view, indexes, out)
    return out


def valid_mask(flags: np.ndarray) -> np.ndarray:
    """Where a flags array says the pixel holds a trusted observation (land or water)."""
    land, water = VALID_FLAGS
    return (flags == land) | (flags == water)  # np.isin sorts: 3x slower on France


def _tile_bounds(region: str) -> tuple[float, float, float, float]:
    b = TMS.xy_bounds(region_tile(region))
    return b.left, b.bottom, b.right, b.top


def _overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _paste(path: str, view: View, indexes: Sequence[int], out: np.ndarray) -> None:
    """Read the part of one COG that falls in ``view`` at the view's resolution into ``out``."""
    with rasterio.open(path) as src:
        left, bottom, right, top = src.bounds
        vl, vb, vr, vt = view.bounds
        rx, ry = view.res
        c0, c1 = max(0, round((left - vl) / rx)), min(view.width, round((right - vl) / rx))
        r0, r1 = max(0, round((vt - top) / ry)), min(view.height, round((vt - bottom) / ry))
        if c1 <= c0 or r1 <= r0:
            return
        window = from_bounds(vl + c0 * rx, vt - r1 * ry, vl + c1 * rx, vt - r0 * ry, transform=src.transform)
        window = window.intersection(Window(0, 0, src.width, src.height))
        out[:, r0:r1, c0:c1] = src.read(list(indexes), window=window, out_shape=(len(indexes), r1 - r0, c1 - c0),
                                        resampling=Resampling.nearest)
