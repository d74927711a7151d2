"""Readers: aligned tiles read as whole-pixel windows give rio-tiler's pixels; kept-open readers
never outlive the file they were opened on."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from osgeo import gdal
from rasterio.errors import RasterioIOError
from rasterio.windows import from_bounds
from rio_tiler.constants import WEB_MERCATOR_TMS
from rio_tiler.io.rasterio import Reader

from app.readers import GridFile, _aligned_tile, close_idle_readers, grid_window, kept_readers, open_grid, open_reader
from mosaic.catalog import Catalog
from tests.helpers import FRANCE_MONTHS

Z, X, Y = 10, 512, 340  # the COG below is this tile's 2 x 2 children at zoom 11


def write_cog(path: Path, value: int) -> None:
    """A 512 px int16 GeoTIFF (256 px blocks, one overview) on the web-mercator grid, nodata in a corner."""
    west, south, east, north = WEB_MERCATOR_TMS.xy_bounds(X, Y, Z)
    data = np.arange(4 * 512 * 512, dtype=np.int16).reshape(4, 512, 512) % 3000 + value
    data[:, :30, :70] = -10000
    profile = {"driver": "GTiff", "width": 512, "height": 512, "count": 4, "dtype": "int16", "crs": "EPSG:3857",
               "nodata": -10000, "tiled": True, "blockxsize": 256, "blockysize": 256,
               "transform": rasterio.transform.from_bounds(west, south, east, north, 512, 512)}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        dst.build_overviews([2], rasterio.enums.Resampling.nearest)


def first_value(path: Path) -> int:
    with open_reader(str(path)) as src:
        return int(src.tile(2 * X, 2 * Y, Z + 1, indexes=1).array[0, 40, 80])


def test_aligned_tiles_are_rio_tilers_tiles(tmp_path: Path) -> None:
    write_cog(tmp_path / "a.tif", 100)
    with Reader(str(tmp_path / "a.tif")) as src:
        for z, x, y in [(Z, X, Y), (Z + 1, 2 * X, 2 * Y), (Z + 1, 2 * X + 1, 2 * Y + 1), (Z + 2, 4 * X + 1, 4 * Y)]:
            for kwargs in ({}, {"indexes": (3, 4)}, {"expression": "(b4-b3)/(b4+b3)"}, {"tilesize": 512}):
                ours, theirs = _aligned_tile(src, x, y, z, kwargs), src.tile(x, y, z, **kwargs)
                assert ours is not None, (z, x, y, kwargs)
                np.testing.assert_array_equal(ours.array.data, theirs.array.data)
                np.testing.assert_array_equal(ours.array.mask, theirs.array.mask)
                assert ours.band_names == theirs.band_names and np.allclose(ours.bounds, theirs.bounds)
        # Beyond the file, buffers and padding: rio-tiler's own path.
        assert _aligned_tile(src, X + 1, Y, Z, {}) is None
        assert _aligned_tile(src, X, Y, Z, {"buffer": 1.0}) is None
        assert _aligned_tile(src, X, Y, Z, {"padding": 2}) is None


def test_a_kept_reader_is_not_reused_once_its_file_is_replaced_or_gone(tmp_path: Path) -> None:
    folder = tmp_path / "build"
    folder.mkdir()
    path = folder / "layer.tif"
    write_cog(path, 100)
    assert first_value(path) == first_value(path)  # the second read is served by the kept reader
    before = first_value(path)
    write_cog(tmp_path / "new.tif", 1000)
    (tmp_path / "new.tif").replace(path)
    assert first_value(path) == before + 900
    folder.rename(tmp_path / "away")
    with pytest.raises(RasterioIOError):
        first_value(path)


def test_kept_readers_opened_in_one_thread_are_closed_from_another(tmp_path: Path) -> None:
    write_cog(tmp_path / "a.tif", 100)
    errors: list[BaseException] = []

    def read() -> None:  # a thread without a rasterio environment, like the difference pool
        try:
            first_value(tmp_path / "a.tif")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    close_idle_readers()  # raised "No GDAL environment exists" when the dataset held the thread's Env
    assert not errors
    assert first_value(tmp_path / "a.tif") == 100 + (40 * 512 + 80) % 3000


def test_readers_beyond_the_limit_are_closed_while_others_are_lent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in "ab":
        write_cog(tmp_path / f"{name}.tif", 100)
    first_value(tmp_path / "a.tif")  # a kept reader of a
    monkeypatch.setattr("app.readers.KEPT_OPEN", 0)
    with open_reader(str(tmp_path / "a.tif")):  # a's reader lent: none of a left idle
        assert first_value(tmp_path / "b.tif") == first_value(tmp_path / "a.tif")  # b's closed, not kept
    close_idle_readers()


def grid_value(path: Path) -> int:
    with open_grid(str(path)) as src:
        window = src.file.window(2 * X, 2 * Y, Z + 1)
        assert window == (0, 0, 256, 256)
        return int(src.read(window, (1,), 256)[0, 40, 80])


def test_a_kept_grid_dataset_is_not_reused_once_its_file_is_replaced_or_gone(tmp_path: Path) -> None:
    close_idle_readers()
    folder = tmp_path / "build"
    folder.mkdir()
    path = folder / "layer.tif"
    write_cog(path, 100)
    assert grid_value(path) == first_value(path)  # GDAL's window read is rio-tiler's pixel
    assert kept_readers() == 2  # a grid dataset and a reader of the file, both kept
    before = grid_value(path)
    write_cog(tmp_path / "new.tif", 1000)
    (tmp_path / "new.tif").replace(path)
    assert grid_value(path) == before + 900
    folder.rename(tmp_path / "away")
    with pytest.raises(RuntimeError):
        grid_value(path)


def independent_window(path: str, x: int, y: int, z: int) -> tuple[int, int, int, int] | None:
    """Tile z/x/y as a whole-pixel window of a file, computed apart from mosaic.grid: rasterio's ``from_bounds``
    of morecantile's tile bounds, rounded where within 1e-6 px of whole numbers, and wholly inside the file."""
    with rasterio.open(path) as src:
        if src.crs != WEB_MERCATOR_TMS.rasterio_crs:
            return None
        exact = from_bounds(*WEB_MERCATOR_TMS.xy_bounds(x, y, z), transform=src.transform)
        values = (exact.col_off, exact.row_off, exact.width, exact.height)
        if any(abs(v - round(v)) > 1e-6 for v in values):
            return None
        col, row, width, height = (round(v) for v in values)
        inside = col >= 0 and row >= 0 and col + width <= src.width and row + height <= src.height
        return (col, row, width, height) if inside else None


def edges_and_middle(first: int, last: int) -> list[int]:
    """Tile columns or rows from ``first`` to ``last``: all of them if few, else both ends and the middle."""
    if last - first < 12:
        return list(range(first, last + 1))
    middle = (first + last) // 2
    return [*range(first, first + 4), *range(middle - 1, middle + 2), *range(last - 3, last + 1)]


def test_both_window_reads_find_the_windows_of_every_tile(france: Path, tmp_path: Path) -> None:
    """rasterio readers' windows (grid_window, rio-tiler tiles) and GDAL's (GridFile, difference and preset
    tiles) are the same, and those computed apart, for the tiles of every zoom of a month's files: inside, on
    their edges, partly or wholly outside, and too fine to be whole pixels; and none of a file off the grid."""
    month = Catalog(france).get(FRANCE_MONTHS[0])
    shifted = tmp_path / "shifted.tif"  # half a pixel off the grid: no tile is a window of it
    write_cog(shifted, 100)
    with rasterio.open(shifted, "r+") as dst:
        dst.transform = dst.transform @ Affine.translation(0.5, 0)
    paths = [month.overview("reflectance"), month.vrt("flags"), str(shifted),
             *(f"{month.folder}/regions/{rid}/reflectance.tif" for rid in sorted(month.regions))]
    found, outside, fractional = 0, 0, 0
    for path in paths:
        with rasterio.open(path) as src:
            west, south, east, north = src.bounds
        ds = gdal.Open(path)
        grid_file = GridFile(ds)
        with Reader(path) as reader:
            for z in range(0, month.zoom + 10):
                top_left = WEB_MERCATOR_TMS._tile(west + 1e-3, north - 1e-3, z)
                bottom_right = WEB_MERCATOR_TMS._tile(east - 1e-3, south + 1e-3, z)
                for x in edges_and_middle(max(top_left.x - 1, 0), bottom_right.x + 1):
                    for y in edges_and_middle(max(top_left.y - 1, 0), bottom_right.y + 1):
                        expected = independent_window(path, x, y, z)
                        assert grid_file.window(x, y, z) == expected, (path, z, x, y)
                        window = grid_window(reader, x, y, z)
                        assert (window and tuple(map(int, window.flatten()))) == expected, (path, z, x, y)
                        found += expected is not None
                        outside += expected is None and (x < top_left.x or x > bottom_right.x
                                                         or y < top_left.y or y > bottom_right.y)
                        fractional += expected is None and 256 / 2 ** (z - month.zoom) < 1
        if path == str(shifted):
            assert all(grid_file.window(2 * X + i, 2 * Y + j, Z + 1) is None for i in (0, 1) for j in (0, 1))
    assert found > 500 and outside > 500 and fractional > 100, (found, outside, fractional)
