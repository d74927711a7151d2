"""Timelapse frames: one month of a view rendered with a preset, with its month, legend, scale bar
and attribution drawn on it (Pillow, with the font Pillow ships: no system font needed).

The pixels come from the month's COGs through :func:`mosaic.analysis.read_layer` (nearest, at
the view's resolution), then the preset's own rendering parameters (bands, expression, rescale,
colormap) are applied with rio-tiler's ``ImageData``, as the tile server applies them.
"""

from __future__ import annotations

import calendar
import json
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from rio_tiler.colormap import apply_cmap, cmap
from rio_tiler.models import ImageData

from app.presets import Preset
from mosaic.analysis import View, read_layer
from mosaic.catalog import Month
from mosaic.layers import LAYERS, render_truecolor

ATTRIBUTION = "Contains modified Copernicus Sentinel data, processed by Theia/CNES (Sentinel-2 L3A)"
BACKGROUND = (32, 32, 32)
"""Where the month has no data (or the preset draws nothing): frames are opaque, MP4 has no alpha."""
VALIDITY_NAMES = {0: "no data", 1: "cloud", 2: "snow", 3: "water"}


@dataclass(frozen=True)
class Legend:
    """What a preset's legend shows: a colour ramp between two values, or named colour swatches."""

    title: str
    ramp: np.ndarray | None = None
    """256 RGB colours, low to high."""
    low: str = ""
    high: str = ""
    swatches: tuple[tuple[str, tuple[int, int, int]], ...] = ()


def legend_of(preset: Preset) -> Legend | None:
    """The legend of a preset drawn with a colormap (NDVI, validity); None for plain images."""
    params = dict(preset.params)
    if "colormap_name" in params:
        ramp = np.array([cmap.get(params["colormap_name"])[i][:3] for i in range(256)], dtype=np.uint8)
        low, high = params.get("rescale", "0,1").split(",")
        return Legend(preset.title, ramp=ramp, low=low, high=high)
    if "colormap" in params:
        colours = {int(k): tuple(v[:3]) for k, v in json.loads(params["colormap"]).items()}
        return Legend(preset.title, swatches=tuple((name, colours[k]) for k, name in VALIDITY_NAMES.items()
                                                   if k in colours))
    return None


def render(month: Month, preset: Preset, view: View) -> np.ndarray:
    """The month over ``view`` as the preset renders it: RGB uint8 (height, width, 3), opaque."""
    params: dict[str, list[str]] = {}
    for name, value in preset.params:
        params.setdefault(name, []).append(value)
    if preset.layer == "truecolor":  # the same stretch as the build's JPEG COG, without its JPEG losses
        rgb, valid = render_truecolor(read_layer(month, "reflectance", view, (1, 2, 3, 4)))
        return _over_background(rgb, valid)
    layer = LAYERS[preset.layer]
    data = read_layer(month, layer.name, view, tuple(range(1, len(layer.bands) + 1)))
    nodata = float(params["nodata"][0]) if "nodata" in params else layer.nodata
    image = ImageData(np.ma.MaskedArray(data, mask=np.broadcast_to(data == nodata, data.shape)),
                      band_names=[f"b{i + 1}" for i in range(len(data))])
    if "expression" in params:
        image = image.apply_expression(params["expression"][0])
    elif "bidx" in params:
        image = ImageData(image.array[[int(i) - 1 for i in params["bidx"]]])
    if "rescale" in params:
        image.rescale([tuple(float(v) for v in r.split(",")) for r in params["rescale"]])
    rgb, alpha = image.array.data.astype(np.uint8), np.where(image.array.mask.any(axis=0), 0, 255)
    colormap = (cmap.get(params["colormap_name"][0]) if "colormap_name" in params else
                {int(k): tuple(v) for k, v in json.loads(params["colormap"][0]).items()} if "colormap" in params
                else None)
    if colormap is not None:
        rgb, cmap_alpha = apply_cmap(rgb, colormap)
        alpha = np.minimum(alpha, cmap_alpha)
    return _over_background(rgb[:3], alpha)


def _over_background(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """(3, h, w) colours with (h, w) alpha 0-255 laid over the background: (h, w, 3) uint8."""
    a = (alpha.astype(np.float32) / 255.0)[..., None]
    mixed = np.moveaxis(rgb, 0, -1).astype(np.float32) * a + np.array(BACKGROUND, dtype=np.float32) * (1 - a)
    return (mixed + 0.5).astype(np.uint8)


def decorate(pixels: np.ndarray, month: str, legend: Legend | None, metres_per_px: float) -> Image.Image:
    """The frame with its month (top left), legend (top right), scale bar and attribution (bottom)."""
    frame = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(frame, "RGBA")
    width, height = frame.size
    unit = max(10, round(min(width, height * 1.5) / 40))  # text size: legible from 64 px up to 1280 px frames
    big, small = _font(round(unit * 1.6)), _font(unit)
    _boxed_text(draw, (unit // 2, unit // 2), month_label(month), big, unit // 3)
    if legend is not None:
        _legend(draw, legend, small, width, unit)
    _scale_bar(draw, metres_per_px, small, width, height, unit)
    text_w = draw.textlength(ATTRIBUTION, font=_font(max(8, unit * 3 // 4)))
    foot = _font(max(8, min(unit * 3 // 4, round(unit * 0.75 * (width * 0.6) / max(text_w, 1)))))
    right = width - unit // 3 - draw.textlength(ATTRIBUTION, font=foot)
    _boxed_text(draw, (max(unit // 3, round(right)), height - foot.size - unit // 2), ATTRIBUTION, foot, 2)
    return frame


def month_label(month: str) -> str:
    """``2018-07`` -> ``July 2018``."""
    year, number = month.split("-")
    return f"{calendar.month_name[int(number)]} {year}"


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)  # the TrueType font bundled in Pillow itself


def _boxed_text(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, font: ImageFont.FreeTypeFont,
                pad: int) -> None:
    left, top, right, bottom = draw.textbbox(xy, text, font=font)
    draw.rectangle((left - pad, top - pad, right + pad, bottom + pad), fill=(0, 0, 0, 150))
    draw.text(xy, text, font=font, fill=(255, 255, 255))


def _legend(draw: ImageDraw.ImageDraw, legend: Legend, font: ImageFont.FreeTypeFont, width: int, unit: int) -> None:
    box_w = unit * 9
    x0, y0 = width - box_w - unit // 2, unit // 2
    rows = 2 if legend.ramp is not None else 1 + len(legend.swatches)
    draw.rectangle((x0, y0, x0 + box_w, y0 + unit * 3 // 2 * rows + unit // 2), fill=(0, 0, 0, 150))
    draw.text((x0 + unit // 3, y0 + unit // 4), legend.title, font=font, fill=(255, 255, 255))
    y = y0 + unit * 3 // 2
    if legend.ramp is not None:
        bar_w = box_w - unit * 2 // 3
        for i in range(bar_w):
            colour = tuple(int(c) for c in legend.ramp[min(255, i * 256 // bar_w)])
            draw.line((x0 + unit // 3 + i, y, x0 + unit // 3 + i, y + unit // 2), fill=colour)
        draw.text((x0 + unit // 3, y + unit // 2 + 1), legend.low, font=font, fill=(255, 255, 255))
        draw.text((x0 + box_w - unit // 3, y + unit // 2 + 1), legend.high, font=font, fill=(255, 255, 255),
                  anchor="ra")
        return
    for name, colour in legend.swatches:
        draw.rectangle((x0 + unit // 3, y, x0 + unit // 3 + unit, y + unit), fill=colour, outline=(255, 255, 255))
        draw.text((x0 + unit * 5 // 3, y), name, font=font, fill=(255, 255, 255))
        y += unit * 3 // 2


def _scale_bar(draw: ImageDraw.ImageDraw, metres_per_px: float, font: ImageFont.FreeTypeFont, width: int,
               height: int, unit: int) -> None:
    """A bar of a round length (1, 2 or 5 x 10^n m) at most a fifth of the frame wide."""
    longest = metres_per_px * width / 5
    length = max(v * 10 ** e for e in range(0, 8) for v in (1, 2, 5) if v * 10 ** e <= max(longest, 1))
    px = round(length / metres_per_px)
    label = f"{length // 1000:g} km" if length >= 1000 else f"{length:g} m"
    x0, y0 = unit // 2, height - unit * 3 - unit // 2
    draw.rectangle((x0 - 3, y0 - unit - 4, x0 + px + 3, y0 + unit // 2 + 3), fill=(0, 0, 0, 150))
    draw.rectangle((x0, y0, x0 + px, y0 + unit // 3), fill=(255, 255, 255))
    draw.text((x0, y0 - unit - 2), label, font=font, fill=(255, 255, 255))


def metres_per_pixel(view: View) -> float:
    """Ground metres of one view pixel at the view's centre latitude (Web-Mercator's scale)."""
    _, lat = view.lonlat(view.width / 2, view.height / 2)
    return view.res[0] * math.cos(math.radians(float(lat)))
