"""Tile encoding: TiTiler's ``render_image`` with cheaper encoders for the images we serve.

Measured on a 256 px tile (docs/benchmarks.md): rio-tiler's ``render`` goes through a rasterio
``MemoryFile`` (about 3 ms of overhead per JPEG), and an RGBA PNG costs 6-60 ms of zlib and
filtering at zlib level 6. So 8-bit images are written by GDAL directly (MEM dataset -> ``CreateCopy`` into
``/vsimem/``), and a one-band image with a colormap (NDVI, differences, validity) becomes a
paletted PNG: one byte per pixel, the colormap as its palette, masked pixels on an index the
tile does not use, made transparent. Anything else goes to TiTiler's own ``render_image``.

Data of a type the format cannot hold (int16 reflectance asked as PNG) is stretched to bytes
here, band by band over the type's range (or the dataset statistics), valid pixels only:
TiTiler's own stretch indexes the 2-D mask by band number, which fails (a 500) on any tile with
fewer rows than bands (``tilesize=1``). An image the request made that no encoder takes (band
count, shape) is a 400 that says why, never a 500.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
from osgeo import gdal
from rio_tiler.models import ImageData, rescale_image
from rio_tiler.types import ColorMapType
from rio_tiler.utils import linear_rescale
from titiler.core.resources.enums import ImageType
from titiler.core.utils import render_image

from app.errors import RenderError

_DRIVERS = {ImageType.png: "PNG", ImageType.jpeg: "JPEG", ImageType.jpg: "JPEG", ImageType.webp: "WEBP"}
# rio-tiler's quality defaults; PNG at zlib level 2, not 6: 3-6x faster, 7-17 % larger (measured).
_OPTIONS = {"PNG": ["ZLEVEL=2"], "JPEG": ["QUALITY=85"], "WEBP": ["QUALITY=75"]}
_BANDS = {"PNG": (1, 3), "JPEG": (1, 3), "WEBP": (3,)}  # colour bands each driver takes (PNG, WEBP: + alpha)
_BYTE_FORMATS = {ImageType.png: ("uint8", "uint16"), ImageType.jpeg: ("uint8",), ImageType.jpg: ("uint8",),
                 ImageType.webp: ("uint8",), None: ("uint8",)}
"""Data types each image format holds (None: JPEG or PNG as the mask decides)."""


def encode(bands: np.ndarray, driver: str, alpha: np.ndarray | None = None,
           palette: np.ndarray | None = None) -> bytes:
    """Encode uint8 bands (count, height, width) with a GDAL driver, optionally with an alpha
    band or (one band only) an RGBA palette of 256 entries."""
    if alpha is not None:
        bands = np.concatenate([bands, alpha[None].astype(np.uint8)])
    count, height, width = bands.shape
    mem = gdal.GetDriverByName("MEM").Create("", width, height, count, gdal.GDT_Byte)
    mem.WriteRaster(0, 0, width, height, np.ascontiguousarray(bands, dtype=np.uint8).tobytes())
    if alpha is not None:
        mem.GetRasterBand(count).SetColorInterpretation(gdal.GCI_AlphaBand)
    if palette is not None:
        mem.GetRasterBand(1).SetColorTable(_color_table(palette.tobytes()))
    path = f"/vsimem/mosaique-{uuid.uuid4().hex}"
    try:
        gdal.GetDriverByName(driver).CreateCopy(path, mem, strict=0, options=_OPTIONS[driver])
        handle = gdal.VSIFOpenL(path, "rb")
        try:
            return bytes(gdal.VSIFReadL(1, gdal.VSIStatL(path).size, handle))
        finally:
            gdal.VSIFCloseL(handle)
    finally:
        gdal.Unlink(path)  # the copy is closed at once: no side-car file is left


@functools.lru_cache(maxsize=64)
def _color_table(rgba: bytes) -> gdal.ColorTable:
    """A GDAL colour table of 256 RGBA entries (made once per palette: 256 calls into GDAL; bands copy it)."""
    table = gdal.ColorTable()
    for i in range(256):
        table.SetColorEntry(i, tuple(rgba[4 * i:4 * i + 4]))
    return table


def palette_of(colormap: ColorMapType) -> np.ndarray | None:
    """The colormap as 256 RGBA entries (missing values transparent), or None if it is not one
    value -> colour per byte (intervals, float or out-of-range keys)."""
    if isinstance(colormap, Sequence) or not all(isinstance(k, int) and 0 <= k < 256 for k in colormap):
        return None
    lut = np.zeros((256, 4), dtype=np.uint8)
    for value, color in colormap.items():
        lut[value] = (*color, 255)[:4] if len(color) == 3 else color
    return lut


def encode_paletted(data: np.ndarray, mask: np.ndarray, palette: np.ndarray) -> bytes | None:
    """A paletted PNG of one band of bytes, transparent where ``mask`` is 0; None when every
    one of the 256 values is used by a visible pixel (no index left for transparency)."""
    hidden = mask == 0
    if hidden.any():
        used = np.bincount(data[~hidden], minlength=256)
        free = np.flatnonzero(used == 0)
        if not free.size:
            return None
        data = np.where(hidden, np.uint8(free[0]), data)
        palette = palette.copy()
        palette[free[0]] = 0
    return encode(data[None], "PNG", palette=palette)


def render_tile(
    image: ImageData,
    colormap: ColorMapType | None = None,
    output_format: ImageType | None = None,
    add_mask: bool = True,
    rescale: Sequence[tuple[float, float]] | None = None,
    color_formula: str | None = None,
    **kwargs: Any,
) -> tuple[bytes, str]:
    """Drop-in for TiTiler's ``render_image`` (the factory's ``render_func``)."""
    try:
        return _render(image, colormap, output_format, add_mask, rescale, color_formula, **kwargs)
    except (ValueError, IndexError, TypeError, ZeroDivisionError) as exc:  # shaped by the request's parameters
        raise RenderError(f"cannot encode this image as {output_format.value if output_format else 'an image'} "
                          f"({image.count} band(s) of {image.data.dtype}, {image.width}x{image.height}): "
                          f"choose other bands, expression, rescale or format") from exc


def _render(
    image: ImageData,
    colormap: ColorMapType | None,
    output_format: ImageType | None,
    add_mask: bool,
    rescale: Sequence[tuple[float, float]] | None,
    color_formula: str | None,
    **kwargs: Any,
) -> tuple[bytes, str]:
    """``render_tile`` itself."""
    if not kwargs and (output_format is None or output_format in _DRIVERS):
        if rescale:
            rescale_bytes(image, rescale)
        if color_formula:
            image.apply_color_formula(color_formula)
        rescale = color_formula = None  # applied
        if output_format is None and image.data.dtype == np.uint8:  # TiTiler's choice (after rescaling), made here
            output_format = ImageType.jpeg if image.mask.all() and not colormap else ImageType.png
        driver = _DRIVERS.get(output_format)  # type: ignore[arg-type]
        content = _encode_fast(image, driver, colormap, add_mask) if driver else None
        if content is not None:
            return content, output_format.mediatype  # type: ignore[union-attr]
    if rescale:
        image.rescale(rescale)
    if color_formula:
        image.apply_color_formula(color_formula)
    if not colormap and output_format in _BYTE_FORMATS and str(image.data.dtype) not in _BYTE_FORMATS[output_format]:
        image = _stretch_to_bytes(image)
    return render_image(image, colormap=colormap, output_format=output_format, add_mask=add_mask, **kwargs)


def rescale_bytes(image: ImageData, ranges: Sequence[tuple[float, float]]) -> None:
    """``image.rescale(ranges)`` (to bytes, masked pixels 0), through a lookup table for integer data of 8 or 16
    bits: each table is made once by rio-tiler's own ``rescale_image`` over every value of the type, so the pixels
    are the same, at a fraction of the float64 arithmetic per pixel (2.6 ms for three 256 px bands)."""
    data = np.ascontiguousarray(image.array.data)
    if data.dtype.kind not in "iu" or data.dtype.itemsize > 2 or image.alpha_mask is not None or not ranges:
        image.rescale(ranges)
        return
    bands = data.shape[0]
    ranges = [tuple(r) for r in ranges] if len(ranges) == bands else [tuple(ranges[0])] * bands  # as rio-tiler
    out = np.empty(data.shape, dtype=np.uint8)
    unsigned = data.view(f"u{data.dtype.itemsize}")  # the table's index: each value's bits
    mask = np.ma.getmaskarray(image.array)
    for band, (lo, hi) in enumerate(ranges):
        np.take(_rescale_table(data.dtype.str, float(lo), float(hi)), unsigned[band], out=out[band])
        out[band][mask[band]] = 0
    image.array = np.ma.MaskedArray(out, mask=mask)
    image.scales, image.offsets = [1.0] * bands, [0.0] * bands


@functools.lru_cache(maxsize=64)
def _rescale_table(dtype: str, lo: float, hi: float) -> np.ndarray:
    """Bytes of every value of an integer type (indexed by its bits) as rio-tiler's ``rescale_image`` makes them."""
    size = np.dtype(dtype).itemsize
    values = np.arange(2 ** (8 * size), dtype=f"u{size}").view(dtype)
    return rescale_image(np.ma.MaskedArray(values[None, None, :], mask=False), in_range=[(lo, hi)]).data[0, 0]


def _stretch_to_bytes(image: ImageData) -> ImageData:
    """Each band stretched from its type's range (or the dataset statistics) to 0-255, masked pixels 0."""
    data = image.array.data
    if np.issubdtype(data.dtype, np.integer):
        info = np.iinfo(data.dtype)
        ranges = image.dataset_statistics or [(info.min, info.max)] * image.count
    else:
        ranges = image.dataset_statistics or [(float(np.nanmin(data)), float(np.nanmax(data)))] * image.count
    out = np.zeros(data.shape, dtype=np.uint8)
    for band, (lo, hi) in enumerate(ranges[: image.count] if len(ranges) >= image.count else ranges * image.count):
        valid = ~image.array.mask[band]
        if hi > lo:
            out[band][valid] = np.clip(linear_rescale(data[band][valid].astype("float64"), (lo, hi)), 0, 255)
    return ImageData(np.ma.MaskedArray(out, mask=image.array.mask), assets=image.assets, bounds=image.bounds,
                     crs=image.crs, band_names=image.band_names)


def _encode_fast(image: ImageData, driver: str, colormap: ColorMapType | None, add_mask: bool) -> bytes | None:
    """The image encoded by GDAL directly, or None for what only ``render_image`` handles."""
    data, mask = image.data, image.mask
    if data.dtype != np.uint8 or not add_mask:
        return None
    if colormap is not None:
        palette = palette_of(colormap) if data.shape[0] == 1 else None
        return None if palette is None else encode_with_palette(data[0], mask, palette, driver)
    if data.shape[0] not in _BANDS[driver]:
        return None
    return encode(data, driver, alpha=None if driver == "JPEG" else mask)


def encode_with_palette(data: np.ndarray, mask: np.ndarray, palette: np.ndarray, driver: str) -> bytes:
    """One band of bytes (height, width) through a palette of 256 RGBA entries, transparent where ``mask`` is 0,
    as ``render_tile`` encodes an image with a colormap: a paletted PNG where an index is free for transparency,
    else RGB and alpha (PNG, WEBP) or RGB (JPEG)."""
    if driver == "PNG" and (content := encode_paletted(data, mask, palette)) is not None:
        return content
    rgba = palette[data]
    rgb, alpha = np.moveaxis(rgba[..., :3], -1, 0), np.where(mask != 0, rgba[..., 3], 0).astype(np.uint8)
    return encode(rgb, driver, alpha=None if driver == "JPEG" else alpha)
