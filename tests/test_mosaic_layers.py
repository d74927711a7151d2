"""The pre-rendered true colour's stretch: the lookup table gives what the per-pixel float formula gives."""

from __future__ import annotations

import numpy as np

from mosaic.layers import REFLECTANCE, TRUECOLOR_STRETCH, render_truecolor
from processing.layout import NODATA


def _per_pixel(band: np.ndarray) -> np.ndarray:
    """The stretch computed pixel by pixel in float32, as the build did before the table."""
    lo, hi = TRUECOLOR_STRETCH
    scaled = (band.astype(np.float32) - lo) * np.float32(255.0 / (hi - lo))
    return np.rint(np.clip(scaled, 0, 255)).astype(np.uint8)


def test_every_int16_value_is_stretched_as_the_formula_says() -> None:
    values = np.arange(-32768, 32768, dtype=np.int32).astype(np.int16)
    rng = np.random.default_rng(1)
    reflectance = np.stack([rng.permutation(values) for _ in REFLECTANCE.bands]).reshape(4, 256, 256)
    rgb, mask = render_truecolor(reflectance)
    b2, b3, b4 = (reflectance[i - 1] for i in REFLECTANCE.indexes("B2", "B3", "B4"))
    valid = (b2 != NODATA) & (b3 != NODATA) & (b4 != NODATA)
    assert (mask == np.where(valid, 255, 0)).all()
    for out, band in zip(rgb, (b4, b3, b2), strict=True):
        assert (out == np.where(valid, _per_pixel(band), 0)).all()
    assert rgb[:, valid].max() == 255 and rgb[:, valid].min() == 0  # both ends of the stretch were reached


def test_a_pixel_missing_one_band_is_black_and_masked() -> None:
    reflectance = np.full((4, 2, 2), 1000, dtype=np.int16)
    reflectance[REFLECTANCE.indexes("B3")[0] - 1, 0, 0] = NODATA
    rgb, mask = render_truecolor(reflectance)
    assert (rgb[:, 0, 0] == 0).all() and mask[0, 0] == 0
    assert (rgb[:, 1, 1] == 128).all() and mask[1, 1] == 255  # 1000 of 0-2000 -> 127.5 -> 128
