"""Sample months with known changes planted in the products' own bands before the build.

One tile (T31TCJ, 1 km pixels: 110 x 110) in July and August 2018. Blocks are given in the
products' pixel rows and columns; each is written into the FRC bands and FLG masks of both
months, inside a frame of unchanged land that keeps it apart from the landscape around it:
- ``loss``: vegetation in July (NDVI 0.86), bare in August (0.09): the largest NDVI loss;
- ``gain``: the reverse, smaller;
- ``cloud``: the same loss over a larger area, but all-month cloud in August: never counted;
- between ``loss`` and ``cloud``, unchanged land (the ``frame``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.warp import transform_bounds

from mosaic.build import BuildOptions, build_month
from processing.layout import Flag, band_file, mask_file
from sample import generate_products

TILE, MONTHS, PIXEL = "T31TCJ", ("2018-07", "2018-08"), 1000
VEGETATION = {"B2": 300, "B3": 600, "B4": 300, "B8": 4000}
BARE = {"B2": 1200, "B3": 1400, "B4": 1500, "B8": 1800}
UNCHANGED = {"B2": 500, "B3": 800, "B4": 800, "B8": 2000}


@dataclass(frozen=True)
class Block:
    """Rows and columns (end excluded) of the products' 1 km grid."""

    rows: tuple[int, int]
    cols: tuple[int, int]


FRAME = Block((16, 59), (16, 104))
LOSS = Block((20, 50), (20, 50))
CLOUD = Block((20, 55), (60, 100))
GAIN = Block((66, 86), (60, 85))
GAIN_FRAME = Block((63, 89), (57, 88))
PLAN = [  # (block, July values, August values, August flag), painted in this order
    (FRAME, UNCHANGED, UNCHANGED, Flag.LAND),
    (GAIN_FRAME, UNCHANGED, UNCHANGED, Flag.LAND),
    (LOSS, VEGETATION, BARE, Flag.LAND),
    (CLOUD, VEGETATION, BARE, Flag.CLOUD),
    (GAIN, BARE, VEGETATION, Flag.LAND),
]


def planted_months(root: Path) -> Path:
    """Generate, plant and build both months under ``root``; returns the data directory."""
    products = generate_products(root / "in", tiles=[TILE], months=list(MONTHS), pixel_size=PIXEL, workers=1)
    for product in products:
        august = "_201808" in product.name
        for block, july_values, august_values, august_flag in PLAN:
            values = august_values if august else july_values
            for band, value in values.items():
                _paint(product / band_file(product.name, band), block, value)
            flag = august_flag if august else Flag.LAND
            _paint(product / mask_file(product.name, "FLG", "R1"), block, int(flag))
            _paint(product / mask_file(product.name, "FLG", "R2"), block, int(flag), scale=2)
    for month in MONTHS:
        # Zoom 7 (a lighter product for 1 km pixels, whose full grid is zoom 8): the analysis pixel these tests
        # were written for.
        options = BuildOptions(zoom=7, scheduler="sync", progress=False)
        build_month(root / "data", month, [root / "in"], options)
    return root / "data"


def lonlat_bounds(root: Path, block: Block, inset: float = 0.0) -> tuple[float, float, float, float]:
    """West, south, east, north of a block (optionally shrunk by ``inset`` pixels on each side)."""
    product = next((root / "in").glob(f"*{TILE}*"))
    with rasterio.open(product / band_file(product.name, "B4")) as src:
        (r0, r1), (c0, c1) = block.rows, block.cols
        left, top = src.transform @ (c0 + inset, r0 + inset)
        right, bottom = src.transform @ (c1 - inset, r1 - inset)
        return transform_bounds(src.crs, "EPSG:4326", left, bottom, right, top)


def _paint(path: Path, block: Block, value: int, scale: int = 1) -> None:
    with rasterio.open(path, "r+") as dst:
        data = dst.read(1)
        (r0, r1), (c0, c1) = block.rows, block.cols
        data[r0 // scale:r1 // scale, c0 // scale:c1 // scale] = value
        dst.write(data.astype(np.dtype(dst.dtypes[0])), 1)
