"""Endmember spectra, crop calendars and forest phenology of the sample landscape."""

from __future__ import annotations

import numpy as np

from processing.layout import BANDS

SPECTRAL_BANDS = ("B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12")

# Surface reflectance of each endmember, in SPECTRAL_BANDS order (typical Sentinel-2 values).
_SPECTRA: dict[str, tuple[float, ...]] = {
    "veg": (0.025, 0.055, 0.030, 0.085, 0.280, 0.380, 0.420, 0.440, 0.200, 0.100),
    "forest": (0.020, 0.040, 0.022, 0.060, 0.200, 0.260, 0.290, 0.310, 0.140, 0.065),
    "straw": (0.070, 0.100, 0.140, 0.180, 0.220, 0.250, 0.270, 0.290, 0.380, 0.280),
    "soil": (0.060, 0.085, 0.110, 0.140, 0.170, 0.190, 0.210, 0.230, 0.300, 0.240),
    "urban": (0.115, 0.125, 0.135, 0.150, 0.165, 0.175, 0.185, 0.195, 0.225, 0.200),
    "water": (0.040, 0.035, 0.018, 0.012, 0.008, 0.007, 0.006, 0.005, 0.003, 0.002),
    "turbid": (0.050, 0.062, 0.048, 0.036, 0.020, 0.016, 0.014, 0.012, 0.005, 0.003),
    "snow": (0.880, 0.860, 0.830, 0.800, 0.770, 0.740, 0.710, 0.680, 0.070, 0.050),
    "rock": (0.130, 0.150, 0.170, 0.190, 0.210, 0.220, 0.230, 0.240, 0.280, 0.240),
    "cloud": (0.500, 0.500, 0.510, 0.520, 0.530, 0.530, 0.540, 0.540, 0.420, 0.320),
}
ENDMEMBERS: tuple[str, ...] = tuple(_SPECTRA)
EM = {name: i for i, name in enumerate(ENDMEMBERS)}

CROPS: tuple[str, ...] = ("wheat", "rapeseed", "maize", "sunflower", "grass")
# Green cover (fv) and straw share of the bare part, mid-month January..December.
_CALENDAR: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "wheat": ((0.35, 0.40, 0.55, 0.80, 0.85, 0.55, 0.10, 0.05, 0.05, 0.10, 0.20, 0.30),
              (0.0, 0.0, 0.0, 0.0, 0.0, 0.6, 0.9, 0.7, 0.2, 0.0, 0.0, 0.0)),
    "rapeseed": ((0.50, 0.50, 0.70, 0.80, 0.60, 0.30, 0.05, 0.05, 0.25, 0.45, 0.50, 0.50),
                 (0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.8, 0.4, 0.0, 0.0, 0.0, 0.0)),
    "maize": ((0.00, 0.00, 0.00, 0.02, 0.15, 0.55, 0.88, 0.85, 0.55, 0.15, 0.05, 0.02),
              (0.3, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 0.5, 0.4, 0.3)),
    "sunflower": ((0.00, 0.00, 0.00, 0.05, 0.30, 0.75, 0.75, 0.30, 0.10, 0.02, 0.00, 0.00),
                  (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.4, 0.6, 0.3, 0.0, 0.0)),
    "grass": ((0.60, 0.62, 0.70, 0.85, 0.90, 0.80, 0.62, 0.48, 0.58, 0.66, 0.65, 0.62),
              (0.2, 0.2, 0.1, 0.0, 0.0, 0.2, 0.5, 0.7, 0.4, 0.2, 0.2, 0.2)),
}
FOREST_TYPES: tuple[str, ...] = ("deciduous", "evergreen")
# Forests in the same table: leaf cover of the canopy and litter share (dead leaves, autumn
# colours) of what the leaves leave bare. Broadleaf trees leaf out in April-May and turn in
# October-November; conifers and evergreen oaks stay green, a little less so in winter.
_CALENDAR |= {
    "deciduous": ((0.08, 0.08, 0.14, 0.45, 0.85, 0.95, 0.95, 0.92, 0.82, 0.55, 0.20, 0.08),
                  (0.50, 0.45, 0.40, 0.30, 0.0, 0.0, 0.0, 0.0, 0.20, 0.70, 0.75, 0.60)),
    "evergreen": ((0.80, 0.80, 0.82, 0.86, 0.90, 0.92, 0.92, 0.91, 0.89, 0.86, 0.83, 0.80),
                  (0.10, 0.10, 0.10, 0.10, 0.10, 0.10, 0.10, 0.10, 0.10, 0.15, 0.15, 0.10)),
}
GREEN = np.array([_CALENDAR[c][0] for c in CROPS + FOREST_TYPES], np.float32)
STRAW = np.array([_CALENDAR[c][1] for c in CROPS + FOREST_TYPES], np.float32)


def spectra(bands: tuple[str, ...]) -> np.ndarray:
    """Endmember x band reflectance matrix for the given bands (float32)."""
    for b in bands:
        if b not in BANDS:
            raise KeyError(f"not an L3A band: {b}")
    cols = [SPECTRAL_BANDS.index(b) for b in bands]
    return np.array([_SPECTRA[e] for e in ENDMEMBERS], np.float32)[:, cols]


def calendar(crop: np.ndarray, month_pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Green cover and straw share for crop indices at fractional month positions (0 = mid-Jan)."""
    i0 = np.floor(month_pos)
    frac = (month_pos - i0).astype(np.float32)
    i0 = i0.astype(np.int64) % 12
    i1 = (i0 + 1) % 12
    green = GREEN[crop, i0] * (1 - frac) + GREEN[crop, i1] * frac
    straw = STRAW[crop, i0] * (1 - frac) + STRAW[crop, i1] * frac
    return green, straw


def phenology(kind: np.ndarray, month_pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Leaf cover and litter share for ``FOREST_TYPES`` indices at fractional month positions."""
    return calendar(len(CROPS) + kind, month_pos)
