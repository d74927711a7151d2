"""Tile encoding: our GDAL encoders give the pixels TiTiler's own ``render_image`` gives."""

from __future__ import annotations

import copy

import numpy as np
from rio_tiler.colormap import cmap
from rio_tiler.models import ImageData
from titiler.core.resources.enums import ImageType
from titiler.core.utils import render_image

from app.rendering import render_tile
from tests.helpers import rgba

RNG = np.random.default_rng(0)


def image(bands: int, values: int = 200, dtype: str = "uint8") -> ImageData:
    """A 256 px image of ``values`` distinct levels with a masked corner."""
    data = RNG.integers(0, values, (bands, 256, 256)).astype(dtype)
    mask = np.zeros(data.shape, bool)
    mask[:, :40, :100] = True
    return ImageData(np.ma.MaskedArray(data, mask=mask))


def both(img: ImageData, **kw: object) -> tuple[tuple[bytes, str], tuple[bytes, str]]:
    return render_image(copy.deepcopy(img), **kw), render_tile(copy.deepcopy(img), **kw)


def test_colormapped_tiles_become_paletted_pngs_with_the_same_pixels() -> None:
    for values in (200, 256):  # 256: no free palette index, an RGBA PNG instead
        (theirs, _), (ours, media) = both(image(1, values), colormap=cmap.get("rdylgn"), output_format=ImageType.png)
        a, b = rgba(theirs), rgba(ours)
        assert media == "image/png" and b.shape == (4, 256, 256)
        np.testing.assert_array_equal(a[3], b[3])
        np.testing.assert_array_equal(a[:, a[3] > 0], b[:, b[3] > 0])
        assert not b[3, :40, :100].any() and b[3, 40:].all()
        assert ours[25] == (3 if values == 200 else 6)  # PNG colour type: 3 paletted, 6 RGBA


def test_discrete_colormaps_and_rescaled_floats() -> None:
    flags = image(1, 5)
    colors = {0: (40, 40, 40, 170), 1: (255, 255, 255, 220), 4: (0, 0, 0, 0)}
    (theirs, _), (ours, _) = both(flags, colormap=colors, output_format=ImageType.png)
    a, b = rgba(theirs), rgba(ours)
    np.testing.assert_array_equal(a[3], b[3])
    np.testing.assert_array_equal(a[:, a[3] > 0], b[:, b[3] > 0])
    ndvi = image(1, 1000, "float32")
    ndvi.array.data[...] = ndvi.array.data / 1000
    (theirs, _), (ours, _) = both(ndvi, rescale=[(0, 1)], colormap=cmap.get("viridis"), output_format=ImageType.png)
    a, b = rgba(theirs), rgba(ours)
    np.testing.assert_array_equal(a[:, a[3] > 0], b[:, b[3] > 0])


def test_rgb_tiles_png_exact_jpeg_close_webp_with_alpha() -> None:
    rgb = image(3)
    (theirs, _), (ours, media) = both(rgb, output_format=ImageType.png)
    assert media == "image/png"
    np.testing.assert_array_equal(rgba(theirs), rgba(ours))
    smooth = ImageData(np.ma.MaskedArray(np.broadcast_to(np.arange(256, dtype=np.uint8), (3, 256, 256))))
    (theirs, _), (ours, media) = both(smooth, output_format=ImageType.jpeg)
    assert media == "image/jpeg" and ours[:2] == b"\xff\xd8"
    assert np.abs(rgba(ours).astype(int) - smooth.data).max() <= np.abs(rgba(theirs).astype(int) - smooth.data).max()
    (_, _), (ours, media) = both(rgb, output_format=ImageType.webp)
    assert media == "image/webp" and rgba(ours).shape == (4, 256, 256)


def test_what_the_fast_path_does_not_take_goes_to_titiler() -> None:
    (theirs, _), (ours, media) = both(image(1, 3000, "uint16"), output_format=ImageType.png)
    assert media == "image/png" and theirs == ours
    (theirs, _), (ours, _) = both(image(1), output_format=ImageType.npy)
    assert theirs == ours
