"""A rio-tiler reader for one layer of one published month.

Web tiles are read from the one COG that holds them (a region COG from the region zoom on, the
month's overview COG below it), whose 256 px blocks are the tiles themselves; points, parts and
statistics go through the month's VRT or overview (points through the region COG). The server
never sees a file path in a URL.
"""

from __future__ import annotations

import math
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Union

import attr
import numpy as np
import rasterio
from morecantile import TileMatrixSet
from osgeo import gdal, gdal_array
from rasterio.enums import Resampling
from rasterio.features import bounds as featurebounds
from rasterio.warp import transform_bounds
from rasterio.windows import Window
from rasterio.windows import bounds as window_bounds
from rio_tiler import reader as low_level
from rio_tiler.constants import WEB_MERCATOR_TMS, WGS84_CRS
from rio_tiler.errors import PointOutsideBounds, RioTilerError, TileOutsideBounds
from rio_tiler.expression import parse_expression
from rio_tiler.io.base import BaseReader
from rio_tiler.io.rasterio import Reader
from rio_tiler.models import ImageData, Info, PointData
from rio_tiler.utils import non_alpha_indexes

from app.bands import band_names, unnamed
from mosaic.catalog import Month
from mosaic.grid import TILE_PX, TMS, same_matrix, tile_window


@dataclass(frozen=True)
class MonthLayer:
    """What a request addresses: a published month and one of its layers."""

    month: Month
    layer: str


KEPT_OPEN = 16
"""Idle open readers and window-read datasets (:func:`open_grid`) of local files kept for the next request (the
least recently used closed beyond).

Each costs memory besides GDAL's block cache: about 9 MB for a region reflectance COG read at
every zoom (libtiff's per-overview buffers; measured), so 16, not more. Closing one drops its
decoded blocks from GDAL's cache: the blocks cached are those of the files kept open."""
_lock = threading.Lock()
_Handle = Union["Reader", "GridDataset"]
"""What is kept open: rio-tiler readers (the routes), GDAL datasets (window reads of tiles)."""
_idle: OrderedDict[tuple[str, str], list[tuple[_Handle, tuple[int, ...]]]] = OrderedDict()  # LRU first


@contextmanager
def open_reader(path: str, tms: TileMatrixSet = WEB_MERCATOR_TMS) -> Iterator[Reader]:
    """A rio-tiler reader of ``path``, lent to this thread alone while the block runs.

    A local file's reader is kept open for the next request (opening a COG costs about 1 ms, and
    closing it drops its decoded blocks from GDAL's cache), but only as long as nothing can make
    it stale, which is what made kept readers fail the fault tests before:
    - it is lent again only while the path still names the same file (device, inode, mtime, size
      checked by one ``stat`` per request): a data directory moved away, a build pruned or a file
      replaced means a fresh open, which fails or reads the new file;
    - a block that raises anything but a request's own error (``RioTilerError``: a tile outside
      the file...) closes the reader and every idle one (:func:`close_idle_readers`);
    - remote stores (``/vsicurl/``, ``/vsis3/``) are opened per request: GDAL's cache of them is
      cleared after failed reads, which raced with datasets left open (a crash); so are VRTs
      (parts, features), whose sources the check above does not cover.
    """
    if path.startswith("/vsi") or not path.endswith(".tif"):
        with Reader(path, tms=tms) as reader:
            yield reader
        return

    def opener(_: object) -> Reader:
        with rasterio.Env():  # else the dataset holds an Env of this thread, which it exits on close
            return Reader(path, tms=tms)  # (kept readers are closed by whichever thread finds them stale)

    with _lent((path, tms.id), path, opener) as reader:
        yield reader


@contextmanager
def _lent(key: tuple[str, str], path: str,
          opener: Callable[[tuple[int, ...] | None], _Handle]) -> Iterator[_Handle]:
    """An idle kept handle of ``key`` if one is still of the file at ``path``, else a new one from ``opener``
    (given the file's identity); kept again afterwards (see :func:`open_reader`)."""
    identity = _identity(path)
    handle, stale = None, []
    with _lock:
        idle = _idle.get(key, [])
        while idle and handle is None:
            candidate, seen = idle.pop()
            if identity is not None and seen == identity:
                handle = candidate
            else:
                stale.append(candidate)
        if not idle:
            _idle.pop(key, None)  # no empty lists: eviction takes from the first key
    for old in stale:
        old.close()
    if handle is None:
        handle = opener(identity)
    try:
        yield handle
    except RioTilerError:
        _keep(key, handle, identity)
        raise
    except BaseException:
        handle.close()
        close_idle_readers()
        raise
    _keep(key, handle, identity)


def _identity(path: str) -> tuple[int, ...] | None:
    """What tells a file from another one later found at the same path (None: no file there)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size


def _keep(key: tuple[str, str], handle: _Handle, identity: tuple[int, ...] | None) -> None:
    """Put a handle back among the idle ones, closing the least recently used beyond ``KEPT_OPEN``."""
    if identity is None:
        handle.close()
        return
    closing = []
    with _lock:
        _idle.setdefault(key, []).append((handle, identity))
        _idle.move_to_end(key)
        while sum(map(len, _idle.values())) > KEPT_OPEN:
            oldest = next(iter(_idle))
            closing.append(_idle[oldest].pop(0)[0])
            if not _idle[oldest]:
                del _idle[oldest]
    for old in closing:
        old.close()


def kept_readers() -> int:
    """How many idle readers are kept open."""
    with _lock:
        return sum(map(len, _idle.values()))


def close_idle_readers() -> None:
    """Close every idle kept reader (after a failed read; before GDAL's caches are cleared)."""
    with _lock:
        closing = [reader for idle in _idle.values() for reader, _ in idle]
        _idle.clear()
    for reader in closing:
        reader.close()


@attr.s
class MonthLayerReader(BaseReader):
    """Reads one layer of one month (``input`` is a :class:`MonthLayer`)."""

    input: MonthLayer = attr.ib()
    tms: TileMatrixSet = attr.ib(default=WEB_MERCATOR_TMS)

    def __attrs_post_init__(self) -> None:
        """Bounds and zooms come from the catalog: no file is opened to answer metadata."""
        self.bounds = self.input.month.bounds
        self.crs = WGS84_CRS
        self.minzoom = 0
        self.maxzoom = self.input.month.zoom

    def tile(self, tile_x: int, tile_y: int, tile_z: int, **kwargs: object) -> ImageData:
        """Read web tile z/x/y from the one COG holding it."""
        source = self.input.month.source(self.input.layer, tile_z, tile_x, tile_y)
        if source is None:  # the COG's own reader refuses tiles outside it
            raise TileOutsideBounds(f"tile {tile_z}/{tile_x}/{tile_y} holds no data of {self.input.month.month}")
        with open_reader(source, self.tms) as src:
            return _aligned_tile(src, tile_x, tile_y, tile_z, kwargs) or src.tile(tile_x, tile_y, tile_z, **kwargs)

    def point(self, lon: float, lat: float, **kwargs: object) -> PointData:
        """Full-resolution values at a point, from the one region COG holding it.

        Not through the VRT: GDAL reads a VRT source it cannot open (a remote read that failed)
        as zeros without an error, where the COG itself raises.
        """
        tile = self.tms.tile(lon, lat, self.input.month.zoom)
        source = self.input.month.source(self.input.layer, tile.z, tile.x, tile.y)
        if source is None:
            raise PointOutsideBounds(f"no data of {self.input.month.month} at {lon}, {lat}")
        with open_reader(source, self.tms) as src:
            point = src.point(lon, lat, **kwargs)
        if not kwargs.get("expression"):  # (see _named)
            point.band_descriptions = band_names(self.input.layer, kwargs.get("indexes"))  # type: ignore[arg-type]
        return point

    def info(self) -> Info:
        """Dataset description (of the month's overview COG, plus the month's bounds and zooms)."""
        with open_reader(self.input.month.overview(self.input.layer), self.tms) as src:
            info = src.info()
        update = {"bounds": self.bounds, "crs": WGS84_CRS.to_string(), "minzoom": self.minzoom, "maxzoom": self.maxzoom}
        if unnamed([d for _, d in info.band_descriptions]):  # a build from before band names
            update["band_descriptions"] = [(f"b{i}", n) for i, n in enumerate(band_names(self.input.layer), 1)]
        return info.model_copy(update=update)

    def statistics(self, **kwargs: object) -> dict:
        """Band statistics of the whole month (from the overview COG)."""
        with open_reader(self.input.month.overview(self.input.layer), self.tms) as src:
            stats = src.statistics(**kwargs)
        if kwargs.get("expression"):
            return stats
        names = band_names(self.input.layer)  # rio-tiler 9.4 describes every band as the last one
        return {key: s.model_copy(update={"description": names[int(key[1:]) - 1]})
                if re.fullmatch(r"b\d+", key) and int(key[1:]) <= len(names) else s for key, s in stats.items()}

    def preview(self, **kwargs: object) -> ImageData:
        """A small image of the whole month (from the overview COG)."""
        with open_reader(self.input.month.overview(self.input.layer), self.tms) as src:
            return self._named(src.preview(**kwargs), kwargs)

    def part(self, bbox: tuple[float, float, float, float], **kwargs: object) -> ImageData:
        """An area of the month (through the VRT; callers bound its size)."""
        with open_reader(self.input.month.vrt(self.input.layer), self.tms) as src:
            return self._named(src.part(bbox, **kwargs), kwargs)

    def feature(self, shape: dict, **kwargs: object) -> ImageData:
        """An area of the month under a GeoJSON feature (through the VRT)."""
        _check_shape_bounds(shape, kwargs.get("shape_crs") or WGS84_CRS)
        with open_reader(self.input.month.vrt(self.input.layer), self.tms) as src:
            return self._named(src.feature(shape, **kwargs), kwargs)

    def _named(self, image: ImageData, kwargs: dict) -> ImageData:
        """The image's bands described by the layer's band names (statistics report them), unless an expression
        made them: rio-tiler 9.4 describes every band read as the last one, and older builds name none."""
        if not kwargs.get("expression"):
            image.band_descriptions = band_names(self.input.layer, kwargs.get("indexes"))  # type: ignore[arg-type]
        return image


_READ_OPTIONS = frozenset({"nodata", "resampling_method", "reproject_method", "unscale", "post_process"})
"""Tile options that :func:`rio_tiler.reader.read` takes as they are (not buffer, padding, vrt_options)."""


def _aligned_tile(src: Reader, x: int, y: int, z: int, kwargs: dict) -> ImageData | None:
    """Tile z/x/y read as the whole-pixel window of ``src`` it is, or None to leave it to ``src.tile``.

    Our COGs lie on the tile grid, but rio-tiler derives the window from the tile's bounds in
    floating point (e.g. column 2815.9999999999227): rasterio then takes GDAL's resampling path
    for a fractional window, and a window that ends 1e-10 px past the edge becomes a boundless
    (VRT) read; together about 1 ms of a tile's 1.5 ms read. Same pixels, read as integers.
    Anything else (another CRS, a tile not on the grid or not wholly inside, buffer, padding)
    goes through rio-tiler's own ``tile``.
    """
    options = {k: v for k, v in kwargs.items() if k not in ("tilesize", "indexes", "expression")}
    if not set(options) <= _READ_OPTIONS:
        return None
    window = grid_window(src, x, y, z)
    if window is None:
        return None
    matrix = src.tms.matrix(z)
    size = kwargs.get("tilesize")
    expression = kwargs.get("expression")
    image = low_level.read(src.dataset, window=window,
                           height=size or matrix.tileHeight, width=size or matrix.tileWidth,
                           indexes=parse_expression(expression) if expression else kwargs.get("indexes"),
                           **options)
    image.assets = [src.input]
    return image.apply_expression(expression) if expression else image


def grid_window(src: Reader, x: int, y: int, z: int) -> Window | None:
    """The whole-pixel window of ``src`` that tile z/x/y of its TMS is, or None if the file is not on that grid
    (another CRS or tile matrix, a rotated file, a fractional window) or the tile is not wholly inside it
    (:func:`mosaic.grid.tile_window`)."""
    if src.crs != src.tms.rasterio_crs or not same_matrix(src.tms, z):
        return None
    t = src.dataset.transform
    if t.b or t.d:
        return None
    window = tile_window(t.c, t.a, t.f, t.e, src.dataset.width, src.dataset.height, x, y, z)
    return None if window is None else Window(*window)


class GridFile:
    """What a window read needs to know of a COG, learnt once per file (by path and ``stat`` identity): its CRS
    alone takes GDAL 0.5 ms to parse, opening the file 25 us."""

    def __init__(self, ds: gdal.Dataset) -> None:
        wkt = ds.GetProjection()
        self.x0, self.dx, rotation_x, self.y0, rotation_y, self.dy = ds.GetGeoTransform()
        self.on_tms = bool(wkt) and not rotation_x and not rotation_y and \
            rasterio.crs.CRS.from_wkt(wkt) == TMS.rasterio_crs  # (as rasterio compares them)
        """Whether the file is north up in the tile matrix set's CRS (else no tile is a window of it)."""
        self.width, self.height = ds.RasterXSize, ds.RasterYSize
        band = ds.GetRasterBand(1)
        self.nodata: float | None = band.GetNoDataValue()
        self.dtype = np.dtype(gdal_array.GDALTypeCodeToNumericTypeCode(band.DataType))
        self.indexes = tuple(i for i in range(1, ds.RasterCount + 1)  # (rio-tiler's default: all but alpha)
                             if ds.GetRasterBand(i).GetColorInterpretation() != gdal.GCI_AlphaBand)

    def window(self, x: int, y: int, z: int) -> tuple[int, int, int, int] | None:
        """Tile z/x/y of the TMS as the whole-pixel window (column, row, width, height) of the file it is, or
        None if the file is not on that grid or the tile is not wholly inside it (as :func:`grid_window`)."""
        if not self.on_tms:
            return None
        return tile_window(self.x0, self.dx, self.y0, self.dy, self.width, self.height, x, y, z)

    def bounds(self, window: tuple[int, int, int, int]) -> tuple[float, float, float, float]:
        """A window's bounds (left, bottom, right, top), computed as ``rasterio.windows.bounds`` does."""
        col, row, width, height = window
        return (col * self.dx + self.x0, (row + height) * self.dy + self.y0,
                (col + width) * self.dx + self.x0, row * self.dy + self.y0)


_FILES_KNOWN = 4096
_files: OrderedDict[tuple[str, tuple[int, ...]], GridFile] = OrderedDict()
"""What is known of the files last opened for window reads, by path and identity (a few hundred bytes each)."""


def _grid_file(path: str, identity: tuple[int, ...] | None, ds: gdal.Dataset) -> GridFile:
    """The :class:`GridFile` of the file ``ds`` is open on (learnt once per path and identity)."""
    if identity is None:
        return GridFile(ds)
    with _lock:
        known = _files.get((path, identity))
    if known is None:
        known = GridFile(ds)
        with _lock:
            _files[path, identity] = known
            while len(_files) > _FILES_KNOWN:
                _files.popitem(last=False)
    return known


class GridDataset:
    """A GDAL dataset of a local COG kept open for window reads, and what they need to know of it."""

    def __init__(self, path: str, identity: tuple[int, ...] | None) -> None:
        ds = gdal.OpenEx(path, gdal.OF_RASTER | gdal.OF_READONLY)
        if ds is None:
            raise RuntimeError(f"cannot open {path}: {gdal.GetLastErrorMsg()}")
        self.dataset: gdal.Dataset | None = ds
        self.file = _grid_file(path, identity, ds)

    def close(self) -> None:
        """Close the dataset (its decoded blocks leave GDAL's cache)."""
        self.dataset = None

    def read(self, window: tuple[int, int, int, int], indexes: Sequence[int], size: int) -> np.ndarray:
        """Bands ``indexes`` of a window, as (bands, size, size), nearest neighbour (as rasterio reads them)."""
        out = np.empty((len(indexes), size, size), dtype=self.file.dtype)
        col, row, width, height = window
        got = self.dataset.ReadAsArray(col, row, width, height, buf_obj=out, band_list=list(indexes),
                                       resample_alg=gdal.GRIORA_NearestNeighbour)
        if got is None:
            raise RuntimeError(f"cannot read {self.dataset.GetDescription()}: {gdal.GetLastErrorMsg()}")
        return out


@contextmanager
def open_grid(path: str) -> Iterator[GridDataset]:
    """A :class:`GridDataset` of ``path``, lent to this thread alone while the block runs: kept open for the
    next request as rio-tiler readers are (:func:`open_reader`, the same bound ``KEPT_OPEN``). Opening one costs
    GDAL's open only (25 us; a reader 1.4 ms: rasterio's and rio-tiler's set-up), so the window reads of preset
    and difference tiles lose little when their files are evicted."""
    if path.startswith("/vsi") or not path.endswith(".tif"):
        handle = GridDataset(path, None)
        try:
            yield handle
        finally:
            handle.close()
        return
    with _lent((path, "gdal"), path, lambda identity: GridDataset(path, identity)) as handle:
        yield handle


@dataclass(frozen=True)
class WindowRead:
    """Bands of one tile read as the window of the COG holding it."""

    data: np.ndarray
    """(bands, size, size), the file's data type."""
    indexes: Sequence[int]
    """The bands read (1-based)."""
    nodata: float | None
    """The file's no-data value (of its first band)."""
    bounds: tuple[float, float, float, float]
    source: str


def window_read(month: Month, layer: str, z: int, x: int, y: int, indexes: Sequence[int] = (),
                size: int = TILE_PX) -> WindowRead | None:
    """Tile z/x/y of a layer (``size`` px) read as the window of the COG holding it, with GDAL alone (nearest
    neighbour: the pixels ``MonthLayerReader.tile`` reads); None where the file is not on the tile's grid.

    Raises ``TileOutsideBounds`` where the month holds no data."""
    source = month.source(layer, z, x, y)
    if source is None:
        raise TileOutsideBounds(f"tile {z}/{x}/{y} holds no data of {month.month}")
    if source.startswith("/vsi"):  # through rasterio, whose errors tell a store that cannot be reached (503)
        return _remote_window_read(source, z, x, y, indexes, size)
    with open_grid(source) as src:
        window = src.file.window(x, y, z)
        if window is None:
            return None
        indexes = indexes or src.file.indexes
        return WindowRead(src.read(window, indexes, size), indexes, src.file.nodata, src.file.bounds(window), source)


def _remote_window_read(source: str, z: int, x: int, y: int, indexes: Sequence[int], size: int) -> WindowRead | None:
    """:func:`window_read` of a file in a remote store, through rasterio (its errors carry GDAL's whole chain: the
    HTTP failure behind a failed open, which :func:`app.errors.transient` recognises)."""
    with open_reader(source, TMS) as src:
        window = grid_window(src, x, y, z)
        if window is None:
            return None
        indexes = list(indexes or non_alpha_indexes(src.dataset))  # (rio-tiler's default)
        data = src.dataset.read(indexes, window=window, out_shape=(len(indexes), size, size),
                                resampling=Resampling.nearest)
        return WindowRead(data, indexes, src.dataset.nodata, window_bounds(window, src.dataset.transform), source)


def grid_tile(month: Month, layer: str, z: int, x: int, y: int, indexes: Sequence[int] = (),
              nodata: float | None = None, size: int = TILE_PX) -> ImageData | None:
    """Tile z/x/y of a layer (``size`` px) read as the window of the COG holding it, as ``MonthLayerReader.tile``
    reads it (same pixels and mask) without rio-tiler's general-purpose steps around the one ``read`` it makes;
    None where the file is not on the tile's grid or has no nodata value (read it through the reader).

    Raises ``TileOutsideBounds`` where the month holds no data."""
    read = window_read(month, layer, z, x, y, indexes, size)
    if read is None:
        return None
    nodata = nodata if nodata is not None else read.nodata
    if nodata is None or math.isnan(nodata):
        return None
    return ImageData(np.ma.MaskedArray(read.data, mask=read.data == nodata), bounds=read.bounds, crs=TMS.rasterio_crs,
                     assets=[read.source], band_names=[f"b{i}" for i in read.indexes], nodata=nodata)


def _check_shape_bounds(shape: dict, crs: object) -> None:
    """Refuse a geometry that is not on Earth (GDAL cannot even place it on the month's grid)."""
    try:
        west, south, east, north = transform_bounds(crs, WGS84_CRS, *featurebounds(shape))
    except Exception as exc:  # noqa: BLE001 - any failure to place it means the same thing to the client
        raise RioTilerError("the geometry cannot be placed on the map") from exc
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise RioTilerError("the geometry lies outside longitudes -180..180 and latitudes -90..90")
