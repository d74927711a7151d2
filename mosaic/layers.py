"""What a published month holds: its layers, their bands, types and the fixed true-colour stretch.

This is the contract between the build and the server: the server reads layers by these names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from processing.layout import NODATA, Flag

TRUECOLOR_STRETCH = (0, 2000)
"""Digital numbers mapped to 0-255 in the pre-rendered true colour: reflectance 0-0.2, as the
2018 France mosaics did, the same for every tile and month."""


@dataclass(frozen=True)
class Layer:
    """One raster layer of a month."""

    name: str
    bands: tuple[str, ...]
    dtype: str
    nodata: int | None
    compress: str
    overview_resampling: str
    description: str
    predictor: bool = False
    """Horizontal differencing before ZSTD: worth it for reflectance only (full 10 m region: 20 % smaller,
    +15 % COG time); flags and dates, made of runs of equal values, are smaller and faster without it
    (docs/benchmarks.md, region COGs)."""

    def indexes(self, *bands: str) -> tuple[int, ...]:
        """1-based indexes (GDAL's, rio-tiler's ``indexes``) of some of the layer's bands, by name."""
        return tuple(self.bands.index(band) + 1 for band in bands)


REFLECTANCE = Layer("reflectance", ("B2", "B3", "B4", "B8"), "int16", NODATA, "ZSTD", "AVERAGE",
                    "Surface reflectance x 10000 (Theia L3A FRC), bands B2/B3/B4/B8", predictor=True)
FLAGS = Layer("flags", ("FLG",), "uint8", int(Flag.NODATA), "ZSTD", "NEAREST",
              "Pixel status: 0 no data, 1 all-month cloud, 2 snow, 3 water, 4 land")
DATES = Layer("dates", ("DTS",), "int16", NODATA, "ZSTD", "NEAREST",
              "Weighted average date of the observations, day of year (0 = 1 January)")
TRUECOLOR = Layer("truecolor", ("red", "green", "blue"), "uint8", None, "JPEG", "AVERAGE",
                  "True colour B4/B3/B2, reflectance 0-0.2 -> 0-255, no-data pixels masked")
LAYERS: dict[str, Layer] = {layer.name: layer for layer in (REFLECTANCE, FLAGS, DATES, TRUECOLOR)}


def _stretch_table() -> np.ndarray:
    """The true-colour stretch of every int16 value, indexed by the value's uint16 bits (64 KB)."""
    lo, hi = TRUECOLOR_STRETCH
    values = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.int16)
    scaled = (values.astype(np.float32) - lo) * (255.0 / (hi - lo))
    np.clip(scaled, 0, 255, out=scaled)
    return np.rint(scaled).astype(np.uint8)


_STRETCH = _stretch_table()


def render_truecolor(reflectance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(B2, B3, B4, B8) int16 -> RGB uint8 with the fixed stretch, and the valid mask (uint8 0/255).

    One table lookup per pixel and band (the stretch of all 65536 values computed once): about 0.6x the
    time of computing it in floats for every pixel, the same bytes.
    """
    b2, b3, b4 = (reflectance[i - 1] for i in REFLECTANCE.indexes("B2", "B3", "B4"))
    valid = (b2 != NODATA) & (b3 != NODATA) & (b4 != NODATA)
    rgb = np.empty((3, *b2.shape), dtype=np.uint8)
    for out, band in zip(rgb, (b4, b3, b2), strict=True):
        out[...] = _STRETCH[band.view(np.uint16)]
    rgb *= valid  # no data: 0 in every channel
    return rgb, (valid * np.uint8(255))
