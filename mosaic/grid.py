"""The common output grid: WebMercatorQuad (EPSG:3857) pixels of one zoom level.

Every UTM zone is warped onto the same pixel grid, aligned with the web map tiles, so that
parts of different products line up to the pixel, and each 256 px block of the output COGs is
exactly one XYZ tile (and each overview level one zoom level lower).

The default zoom keeps every source pixel (:func:`choose_zoom`); a coarser zoom asked for is a
lighter product, and :func:`resolution` says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache, cached_property

import morecantile
import numpy as np
import pyproj
from affine import Affine

TMS = morecantile.tms.get("WebMercatorQuad")
TILE_PX = 256
MIN_REGION_ZOOM = 7
FRANCE_LAT = 46.5
"""Latitude at which ground resolutions are reported."""
WARP_ERROR = 0.125
"""Largest error, in source pixels, of GDAL's approximate transformer (the warp's default)."""
MIN_ZOOM, MAX_ZOOM = TMS.minzoom, TMS.maxzoom
"""Zooms of the grid (0 to 24): what the server accepts and builds may use."""
MAX_LAT = math.floor(TMS.bbox.top * 100) / 100
"""Largest latitude requests may name: the grid's edge (85.0511 degrees) rounded inwards, 85.05."""
PIXEL_TOLERANCE = 1e-6
"""How far (in pixels) a computed offset may lie from a whole pixel and still be that pixel."""


@cache
def matrix(zoom: int) -> morecantile.models.TileMatrix:
    """The TMS's matrix of a zoom, kept (morecantile finds it in about 30 us: tile routes ask on every tile)."""
    return TMS.matrix(zoom)


@cache
def _terms(zoom: int) -> tuple[float, float, float, int, int, int, int]:
    """A matrix's origin, cell size, tile size and tile counts as plain numbers (fast to read)."""
    m = matrix(zoom)
    return (*m.pointOfOrigin, m.cellSize, m.tileWidth, m.tileHeight, m.matrixWidth, m.matrixHeight)


def cell_size(zoom: int) -> float:
    """Pixel size (EPSG:3857 metres) of a zoom: ``TMS.matrix(zoom).cellSize``."""
    return _terms(zoom)[2]


def valid_tile(x: int, y: int, z: int) -> bool:
    """Whether x/y/z is a tile of the grid (``TMS.is_valid``)."""
    if not MIN_ZOOM <= z <= MAX_ZOOM:
        return False
    *_, columns, rows = _terms(z)
    return 0 <= x < columns and 0 <= y < rows


def tile_corner(x: int, y: int, z: int) -> tuple[float, float]:
    """Top-left corner (EPSG:3857) of tile x/y/z: ``TMS.xy_bounds``'s left and top, computed as morecantile
    does (``xy_bounds`` costs about 60 us, a stored tile's whole answer a few tens)."""
    left, top, cell, width, height, _, _ = _terms(z)
    return left + x * cell * width, top - y * cell * height


def whole_pixels(*values: float) -> tuple[int, ...] | None:
    """Pixel offsets or sizes computed in floating point as the whole numbers they are, or None
    if one of them is not within ``PIXEL_TOLERANCE`` of a whole number (not on the grid)."""
    rounded = tuple([round(v) for v in values])
    for i, value in enumerate(values):
        if abs(value - rounded[i]) > PIXEL_TOLERANCE:
            return None
    return rounded


def tile_window(x0: float, dx: float, y0: float, dy: float, width: int, height: int,
                x: int, y: int, z: int) -> tuple[int, int, int, int] | None:
    """Tile z/x/y as the whole-pixel window (column, row, width, height) of a north-up raster of the grid's CRS
    whose top-left corner is (``x0``, ``y0``), pixel size ``dx`` by ``dy`` (north up: ``dy`` < 0) and size ``width`` by
    ``height`` pixels; None if the tile is not whole pixels of it (another grid) or not wholly inside it.

    What both window reads of tiles use: rasterio readers' (``app.readers.grid_window``) and GDAL's, from a
    cached geotransform (``app.readers.GridFile``)."""
    if not dx > 0 > dy:
        return None
    left, top = tile_corner(x, y, z)
    _, _, cell, tile_width, tile_height, _, _ = _terms(z)
    whole = whole_pixels((left - x0) / dx, (top - y0) / dy, cell * tile_width / dx, -cell * tile_height / dy)
    if whole is None:
        return None
    col, row, cols, rows = whole
    if col < 0 or row < 0 or col + cols > width or row + rows > height:
        return None
    return col, row, cols, rows


def same_matrix(tms: morecantile.TileMatrixSet, zoom: int) -> bool:
    """Whether zoom ``zoom`` of ``tms`` is that of the grid (same CRS, origin, cell and tile sizes), so that
    :func:`tile_window` places its tiles. A fast check: titiler hands each request its own copy of ``TMS``, and
    comparing whole tile matrix sets costs about 36 us."""
    if tms is TMS:
        return True
    if not MIN_ZOOM <= zoom <= MAX_ZOOM or tms.crs.root != TMS.crs.root:
        return False
    ours = matrix(zoom)
    theirs = next((m for m in tms.tileMatrices if m.id == ours.id), None)
    fields = ("pointOfOrigin", "cornerOfOrigin", "cellSize", "tileWidth", "tileHeight", "variableMatrixWidths")
    return theirs is not None and all(getattr(theirs, f) == getattr(ours, f) for f in fields)


def region_id(region: morecantile.Tile) -> str:
    """The id of a region tile, ``z-x-y``: its file names and its key in manifests."""
    return f"{region.z}-{region.x}-{region.y}"


def region_tile(rid: str) -> morecantile.Tile:
    """The region tile of an id ``z-x-y`` (the inverse of :func:`region_id`)."""
    z, x, y = (int(v) for v in rid.split("-"))
    return morecantile.Tile(x, y, z)


def ground_resolution(zoom: int, lat: float = FRANCE_LAT) -> float:
    """Ground size in metres of a WebMercatorQuad pixel at ``zoom`` and latitude ``lat``."""
    return TMS.matrix(zoom).cellSize * math.cos(math.radians(lat))


@cache
def france_stretch() -> float:
    """Largest size, in source (UTM) metres, of one EPSG:3857 metre over the 95 France tiles.

    At each point of the tiles' footprints (11 x 11 per tile): the web grid's ground scale
    (the larger of its two axes, close to cos(latitude)) times the UTM scale factor, times
    ``cos(g) + sin(g)`` for the UTM grid's rotation ``g`` against the web grid (the meridian
    convergence): a web pixel of ``c`` nominal metres then fits, whatever its position, in an
    axis-aligned square of ``c * france_stretch()`` UTM metres. Largest at the southern tiles
    near the edges of the zones (about 0.78).
    """
    from processing.tiles import france_tiles  # processing -> mosaic; tiles only describe the 95

    web = pyproj.Proj("EPSG:3857")
    worst = 0.0
    for tile in france_tiles().values():
        left, bottom, right, top = tile.bounds
        xs, ys = np.meshgrid(np.linspace(left, right, 11), np.linspace(bottom, top, 11))
        lon, lat = pyproj.Transformer.from_crs(tile.epsg, 4326, always_xy=True).transform(xs.ravel(), ys.ravel())
        utm = pyproj.Proj(f"EPSG:{tile.epsg}").get_factors(lon, lat)
        merc = web.get_factors(lon, lat)
        turn = np.radians(np.abs(utm.meridian_convergence))
        ground = 1 / np.minimum(merc.meridional_scale, merc.parallel_scale)
        worst = max(worst, float(np.max(ground * utm.meridional_scale * (np.cos(turn) + np.sin(turn)))))
    return worst


def choose_zoom(pixel_size_m: float) -> int:
    """The coarsest zoom keeping every source pixel, anywhere in the 95 France tiles.

    Every source pixel then holds the centre of the web pixel that contains its own centre,
    even after the warp's approximation error: the web pixel, turned by the UTM grid's rotation
    and at the latitude where it is largest on the ground, fits within the source pixel less
    ``WARP_ERROR`` on each side. So the pixel is kept (its value lands in at least that web
    pixel), and a point query at its centre returns it. 10 m -> zoom 14 (6.6 m at 46.5 N);
    20 m -> 13; 200 m -> 10.
    """
    if not pixel_size_m > 0:
        raise ValueError(f"pixel size must be positive, got {pixel_size_m}")
    limit = pixel_size_m * (1 - 2 * WARP_ERROR)
    return next((z for z in range(MAX_ZOOM + 1) if TMS.matrix(z).cellSize * france_stretch() <= limit), MAX_ZOOM)


def dropped_share(ground_m: float, pixel_size_m: float) -> float:
    """Share of ``pixel_size_m`` source pixels a grid of ``ground_m`` pixels drops (0 when it is finer).

    Nearest neighbour gives each web pixel one source pixel's value: a web pixel covering
    ``(ground_m / pixel_size_m) ** 2`` source pixels keeps one of them.
    """
    return max(0.0, 1 - (pixel_size_m / ground_m) ** 2)


def resolution(zoom: int, pixel_size_m: float) -> dict:
    """What a grid of ``zoom`` keeps of ``pixel_size_m`` sources: the contract of ``/api/months``.

    ``full``: every source pixel is kept (``zoom`` at least :func:`choose_zoom`'s). Otherwise the
    product is lighter; the share of source pixels it drops is estimated at 46.5 N, where a web
    pixel larger than a source pixel takes the value of one of the source pixels under it.
    """
    ground = ground_resolution(zoom)
    full = zoom >= choose_zoom(pixel_size_m)
    if full:
        label = f"{pixel_size_m:g} m, every source pixel (zoom {zoom})"
    else:
        dropped = dropped_share(ground, pixel_size_m)
        share = f"drops ~{100 * dropped:.0f} %" if dropped >= 0.01 else "may drop some"
        about = f"{ground:.0f}" if ground >= 10 else f"{ground:.1f}"
        label = f"lighter: zoom {zoom}, about {about} m, {share} of {pixel_size_m:g} m source pixels"
    return {"zoom": zoom, "ground_m": round(ground, 3), "full": full, "label": label,
            "source_pixel_m": pixel_size_m}


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

    def describe(self, pixel_size_m: float | None = None) -> dict:
        """JSON-ready description for manifests (with :func:`resolution` for sources of ``pixel_size_m``)."""
        more = {"resolution": resolution(self.zoom, pixel_size_m)} if pixel_size_m else {}
        return {
            "tms": "WebMercatorQuad",
            "crs": "EPSG:3857",
            "zoom": self.zoom,
            "region_zoom": self.region_zoom,
            "resolution": self.res,
            "ground_resolution_at_46_5N": round(ground_resolution(self.zoom), 3),
            "region_size_px": self.region_size(),
            **more,
        }
