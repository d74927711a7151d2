"""Region COGs of a sparse region: overviews built over the data window only, the same pixels as over the whole."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from osgeo import gdal

from mosaic import cog
from mosaic.compose import _create_scratch, _data_columns
from mosaic.layers import LAYERS, TRUECOLOR, render_truecolor
from mosaic.written import close
from processing.layout import NODATA

SIZE = 2048
"""A small region: overview factors 2-8."""
PATCH = (700, 1300, 230, 190)
"""x, y, width, height of the one data patch (not block-aligned)."""


def _scratch(folder: Path, name: str) -> Path:
    """A sparse scratch GTiff of a layer as compose_region makes it, holding data in PATCH only."""
    x, y, w, h = PATCH
    rng = np.random.default_rng(12)
    bands = rng.integers(-50, 3000, (4, h, w)).astype(np.int16)
    bands[:, rng.random((h, w)) < 0.2] = NODATA  # no-data pixels inside the patch too
    path = folder / f"{name}.tif"
    with cog.gdal_config(GDAL_TIFF_INTERNAL_MASK="YES"):  # as compose_region makes them
        ds = _create_scratch(path, name, SIZE, rasterio.Affine(10, 0, 0, 0, -10, 0))
    if name == TRUECOLOR.name:
        rgb, mask = render_truecolor(bands)
        ds.WriteArray(rgb, x, y)
        ds.GetRasterBand(1).GetMaskBand().WriteArray(mask, x, y)
    else:
        layer = LAYERS[name]
        ds.WriteArray(bands[: len(layer.bands)].astype(layer.dtype) if name != "flags" else
                      (bands[:1] % 5).astype(np.uint8), x, y)
    close(ds)
    return path


def _levels(path: Path) -> list[np.ndarray]:
    """Every band and its mask, at full resolution and every overview level."""
    ds = gdal.Open(str(path))
    arrays = []
    for index in range(1, ds.RasterCount + 1):
        band = ds.GetRasterBand(index)
        for b in [band, *(band.GetOverview(k) for k in range(band.GetOverviewCount()))]:
            arrays += [b.ReadAsArray(), b.GetMaskBand().ReadAsArray()]
    return arrays


def test_the_data_window_is_the_data_blocks_aligned(tmp_path: Path) -> None:
    ds = gdal.Open(str(_scratch(tmp_path, "reflectance")))
    assert cog.data_window(ds, 8) == (512, 1280, 512, 256)  # blocks 2-3 across, 5 down
    empty = _create_scratch(tmp_path / "empty.tif", "dates", SIZE, rasterio.Affine(10, 0, 0, 0, -10, 0))
    assert cog.data_window(empty, 8) is None


@pytest.mark.parametrize("name", list(LAYERS))
def test_windowed_overviews_equal_whole_raster_ones(tmp_path: Path, name: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Pixels and masks of every level of the COG equal those of overviews built over the whole raster."""
    windowed = cog.write_cog(_scratch(tmp_path, name), tmp_path / "windowed.tif", LAYERS[name])
    monkeypatch.setattr(cog, "SPARSE_SHARE", -1.0)  # the straightforward path: BuildOverviews on the whole
    whole = cog.write_cog(_scratch(tmp_path, name), tmp_path / "whole.tif", LAYERS[name])
    a, b = _levels(windowed), _levels(whole)
    assert len(a) == len(b) == (4 * 2 * len(LAYERS[name].bands))
    assert cog.data_window(gdal.Open(str(_scratch(tmp_path, name))), 8)[2] == 512  # the windowed path
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert (np.asarray(a[2]) != a[2].flat[0]).any()  # the first overview level holds data
    assert cog.cog_errors(windowed) == []


@pytest.mark.parametrize("name", list(LAYERS))
def test_only_reflectance_is_written_with_a_predictor(tmp_path: Path, name: str) -> None:
    """Flags and dates (runs of equal values) are smaller and faster to write without one (docs/benchmarks.md)."""
    path = cog.write_cog(_scratch(tmp_path, name), tmp_path / "cog.tif", LAYERS[name])
    predictor = gdal.Open(str(path)).GetMetadataItem("PREDICTOR", "IMAGE_STRUCTURE")
    assert predictor == ("2" if name == "reflectance" else None)


@pytest.mark.parametrize(("cols", "span"), [((300, 700), (256, 768)), ((0, 255), (0, 256)),
                                            ((256, 2047), (256, 2048)), ((512, 512), (512, 768))])
def test_true_colour_is_written_over_the_blocks_holding_valid_columns(cols: tuple[int, int],
                                                                       span: tuple[int, int]) -> None:
    valid = np.zeros((4, SIZE), dtype=bool)
    valid[1, cols[0]] = valid[3, cols[1]] = True
    assert _data_columns(valid) == span
