"""Readers: aligned tiles read as whole-pixel windows give rio-tiler's pixels; kept-open readers
never outlive the file they were opened on."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.errors import RasterioIOError
from rio_tiler.constants import WEB_MERCATOR_TMS
from rio_tiler.io.rasterio import Reader

from app.readers import _aligned_tile, close_idle_readers, kept_readers, open_grid, open_reader

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
