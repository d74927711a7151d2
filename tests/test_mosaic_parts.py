"""A new version of a product keeps its previous part's slabs whose sources are the same (issue 12)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

import mosaic.parts as parts
from mosaic.grid import OutputGrid
from processing.scan import scan_products
from sample import generate_products

PIXEL = 100.0  # zoom 11: a part of about 4 x 4 blocks of 512 px, so 4 slabs
TILE = "T31TCJ"


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("parts") / "in"
    (path,) = generate_products(folder, tiles=[TILE], months=["2018-07"], pixel_size=PIXEL, workers=1)
    return path


def warp(product: Path, out: Path, previous: Path | None = None) -> parts.Part:
    (p,) = scan_products([product]).products
    grid = OutputGrid.for_pixel_size(PIXEL)
    return parts.warp_part(p.tile, dict(p.assets), p.epsg, p.bounds, grid, out, previous=previous)


def changed_copy(product: Path, dst: Path, rows: slice) -> Path:
    """A new version of ``product``: its B4 plus 300 over ``rows`` (every other file the same)."""
    copy = dst / product.name
    shutil.copytree(product, copy)
    (b4,) = copy.glob("*_FRC_B4.tif")
    with rasterio.open(b4, "r+") as ds:
        window = Window(0, rows.start, ds.width, rows.stop - rows.start)
        data = ds.read(1, window=window)
        ds.write(np.where(data == -10000, data, data + 300), 1, window=window)
    return copy


def slabs_of(part: parts.Part) -> list[str]:
    return json.loads((parts.slab_folder(Path(part.path)) / parts.SLABS_FILE).read_text())["slabs"]


def inodes(part: parts.Part) -> list[int]:
    return [f.stat().st_ino for f in parts.slab_files(Path(part.path))]


def read_all(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read()


class Spy:
    """Counts the slabs warped (calls :func:`mosaic.parts._warp_slab`, the real one)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = parts._warp_slab

        def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - same signature as the real one
            self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(parts, "_warp_slab", counted)


def test_a_changed_band_rewarps_only_its_slabs(product: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = warp(product, tmp_path / "first.vrt")
    slabs = slabs_of(first)
    assert len(slabs) >= 4
    new = changed_copy(product, tmp_path / "v2", slice(400, 430))  # source rows under one or two slabs
    spy = Spy(monkeypatch)
    second = warp(new, tmp_path / "second.vrt", previous=Path(first.path))
    assert 1 <= spy.calls <= 2 < len(slabs)
    again = slabs_of(second)
    assert sum(a != b for a, b in zip(slabs, again, strict=True)) == spy.calls
    assert sum(a == b for a, b in zip(inodes(first), inodes(second), strict=True)) == len(slabs) - spy.calls
    monkeypatch.undo()
    fresh = warp(new, tmp_path / "fresh.vrt")
    np.testing.assert_array_equal(read_all(Path(second.path)), read_all(Path(fresh.path)))
    assert not np.array_equal(read_all(Path(first.path)), read_all(Path(second.path)))
    assert second.bounds == fresh.bounds and second.centre == fresh.centre


def test_same_pixels_warp_nothing(product: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = warp(product, tmp_path / "first.vrt")
    copy = shutil.copytree(product, tmp_path / "v2" / product.name)
    spy = Spy(monkeypatch)
    second = warp(copy, tmp_path / "second.vrt", previous=Path(first.path))
    assert spy.calls == 0
    assert inodes(second) == inodes(first)
    np.testing.assert_array_equal(read_all(Path(second.path)), read_all(Path(first.path)))


def test_a_previous_part_on_other_pixels_is_not_used(product: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    first = warp(product, tmp_path / "first.vrt")
    sidecar = parts.slab_folder(Path(first.path)) / parts.SLABS_FILE
    doc = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**doc, "geometry": doc["geometry"].replace("(", "(0, ", 1)}))
    spy = Spy(monkeypatch)
    second = warp(product, tmp_path / "second.vrt", previous=Path(first.path))
    assert spy.calls == len(doc["slabs"])
    np.testing.assert_array_equal(read_all(Path(second.path)), read_all(Path(first.path)))


def test_the_part_is_one_raster_on_the_grid(product: Path, tmp_path: Path) -> None:
    part = warp(product, tmp_path / "part.vrt")
    grid = OutputGrid.for_pixel_size(PIXEL)
    with rasterio.open(part.path) as ds:
        assert ds.crs.to_epsg() == 3857 and ds.count == len(parts.PART_ASSETS)
        assert ds.nodatavals == (parts.PART_NODATA,) * ds.count
        assert (ds.transform.a, ds.transform.e) == (grid.res, -grid.res)
        assert ds.bounds == pytest.approx(part.bounds, abs=grid.res / 1000)
        data = ds.read()
    files = parts.slab_files(Path(part.path))
    assert len(files) == -(-data.shape[1] // parts.CHUNK_ROWS)
    with rasterio.open(files[1]) as slab:  # the second slab is rows CHUNK_ROWS.. of the part
        np.testing.assert_array_equal(slab.read(), data[:, parts.CHUNK_ROWS: 2 * parts.CHUNK_ROWS])
    assert np.count_nonzero(data[0] != parts.PART_NODATA) > data[0].size // 2
    vrt = Path(part.path).read_text()  # the slabs do not overlap: read as they are, not masked pixel by pixel
    assert "<SimpleSource>" in vrt and "ComplexSource" not in vrt
