"""The L3A product layout: band groups, file names, value conventions.

Every file of a product carries the full product name, e.g.
``SENTINEL2X_20180815-000000-000_L3A_T31TCJ_D_V1-1_FRC_B8.tif``.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Literal

Group = Literal["R1", "R2"]
MaskKind = Literal["FLG", "DTS", "WGT"]

R1_BANDS: tuple[str, ...] = ("B2", "B3", "B4", "B8")
R2_BANDS: tuple[str, ...] = ("B5", "B6", "B7", "B8A", "B11", "B12")
BANDS: tuple[str, ...] = R1_BANDS + R2_BANDS
GROUPS: tuple[Group, ...] = ("R1", "R2")
MASK_KINDS: tuple[MaskKind, ...] = ("FLG", "DTS", "WGT")
REQUIRED_MASKS: tuple[MaskKind, ...] = ("FLG", "DTS")

NODATA = -10000
QUANTIFICATION = 10000
QUICKLOOK_SIZE = 1000
QUICKLOOK_STRETCH = (0, 3000)

# The data type each file kind must have (numpy names).
FRC_DTYPE = "int16"
MASK_DTYPES: dict[str, str] = {"FLG": "uint8", "DTS": "int16", "WGT": "int16"}
# MTD_ALL.xml NATURE of each mask kind.
MASK_NATURES: dict[str, str] = {
    "FLG": "Pixel_Status_Flag",
    "DTS": "Weighted_Average_Dates",
    "WGT": "Pixel_Weight",
}


class Flag(IntEnum):
    """Pixel status codes of the FLG masks (codes, not bits)."""

    NODATA = 0
    CLOUD = 1
    SNOW = 2
    WATER = 3
    LAND = 4


def band_group(band: str) -> Group:
    """Return the resolution group (R1 10 m, R2 20 m) of a band."""
    if band in R1_BANDS:
        return "R1"
    if band in R2_BANDS:
        return "R2"
    raise KeyError(f"not an L3A band: {band}")


def group_bands(group: Group) -> tuple[str, ...]:
    """Return the bands of one resolution group."""
    return R1_BANDS if group == "R1" else R2_BANDS


def band_file(name: str, band: str) -> str:
    """Relative path of a flat reflectance composite band."""
    return f"{name}_FRC_{band}.tif"


def mask_file(name: str, kind: str, group: str) -> str:
    """Relative path of a mask (FLG, DTS or WGT) of one group."""
    return f"MASKS/{name}_{kind}_{group}.tif"


def mtd_file(name: str) -> str:
    """Relative path of the Muscate metadata document."""
    return f"{name}_MTD_ALL.xml"


def quicklook_file(name: str) -> str:
    """Relative path of the quicklook JPEG."""
    return f"{name}_QKL_ALL.jpg"
