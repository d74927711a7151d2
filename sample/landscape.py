"""The sample landscape: flag, reflectance, date and weight as pure functions of position.

``render`` sees only lon/lat, the land/water surface rasterized from fixed polygons, the month
and the seed, never the tile: overlapping tiles therefore show the same ground.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import IntEnum
from functools import lru_cache

import numpy as np

from processing.layout import NODATA, QUANTIFICATION, Flag
from sample.geography import (
    CITIES,
    KM_PER_DEG_LAT,
    KM_PER_DEG_LON,
    base_elevation,
    to_km,
)
from sample.noise import (
    cell_hash,
    cell_hashes,
    fbm,
    fbm_above,
    key,
    on_lattice,
    ridged,
    smoothstep,
    value_noise,
)
from sample.spectra import CROPS, EM, ENDMEMBERS, calendar, phenology, spectra

LAND, INLAND_WATER = 1, 2  # surface codes; 0 is sea
MAX_DN = 15000
F32 = np.float32


@dataclass(frozen=True)
class Scene:
    """Rendered values of a set of pixels (all arrays share the input shape)."""

    flag: np.ndarray  # uint8 Flag codes (never NODATA: wedges are the writer's business)
    frc: dict[str, np.ndarray]  # int16 DN per band
    dts: np.ndarray  # int16 day of year, 0 = 1 January
    wgt: np.ndarray  # int16 total weight x 1000
    cover: np.ndarray  # uint8 Cover codes: the ground, the same in every month
    elevation: np.ndarray  # float32 m


class Cover(IntEnum):
    """Land cover of the sample landscape (what the ground is, whatever the month shows)."""

    WATER = 1
    URBAN = 2
    DECIDUOUS = 3  # broadleaf forest: bare in winter
    EVERGREEN = 4  # conifers, maritime pine, Mediterranean oak: green all year
    ALPINE = 5  # meadows and rock above the tree line
    CROPLAND = 6
    GRASSLAND = 7


def render(
    lon: np.ndarray,
    lat: np.ndarray,
    surface: np.ndarray,
    month: date,
    seed: int,
    bands: tuple[str, ...],
) -> Scene:
    """Render the landscape at the given points for one month."""
    shape = np.shape(lon)
    lon, lat, surface = np.ravel(lon), np.ravel(lat), np.ravel(surface)
    kx, ky = to_km(lon, lat)
    n = lon.size
    doy, wgt = _orbits(kx, ky, month, seed)
    # Fractional month (0 = mid-January) at each pixel's own date, for the crop calendars.
    mpos = (doy + F32(0.5)) / F32(30.44) - F32(0.5)
    base, elev = _terrain(kx, ky, seed)

    weights = np.zeros((n, len(ENDMEMBERS)), F32)
    gain = np.ones(n, F32)
    flag = np.full(n, Flag.LAND, np.uint8)
    cover = np.zeros(n, np.uint8)
    water = surface != LAND
    water[~water] = _lakes(kx[~water], ky[~water], elev[~water], seed)
    flag[water] = Flag.WATER
    cover[water] = Cover.WATER
    _water(weights, np.flatnonzero(water), kx, ky, seed)

    land = np.flatnonzero(~water)
    urban = _towns(weights, gain, land, lon, lat, kx, ky, elev, seed)
    cover[land[urban]] = Cover.URBAN
    rest = land[~urban]
    forest, evergreen = _forest(weights, gain, rest, kx, ky, elev, mpos, seed)
    cover[rest[forest]] = np.where(evergreen, Cover.EVERGREEN, Cover.DECIDUOUS)
    rest = rest[~forest]
    alpine = _alpine(weights, rest, kx, ky, elev, mpos, seed)
    cover[rest[alpine]] = Cover.ALPINE
    rest = rest[~alpine]
    crop = _fields(weights, gain, rest, lon, lat, kx, ky, elev, mpos, seed)
    cover[rest] = np.where(crop == CROPS.index("grass"), Cover.GRASSLAND, Cover.CROPLAND)
    _snow(weights, flag, land, kx, ky, elev, mpos, seed)
    relief = land[base[land] > 1]
    gain[relief] *= _hillshade(kx[relief], ky[relief], elev[relief], mpos[relief], seed)

    grain = value_noise(kx / 0.04, ky / 0.04, key(seed, "texture"))  # ~40 m
    refl = (weights @ spectra(bands)) * (gain * (F32(0.94) + F32(0.12) * grain))[:, None]
    _clouds(refl, flag, wgt, kx, ky, month, seed, bands)

    dn = np.clip(np.rint(refl * QUANTIFICATION), 1, MAX_DN).astype(np.int16)
    return Scene(
        flag=flag.reshape(shape),
        frc={b: np.ascontiguousarray(dn[:, i]).reshape(shape) for i, b in enumerate(bands)},
        dts=np.rint(doy).astype(np.int16).reshape(shape),
        wgt=wgt.astype(np.int16).reshape(shape),
        cover=cover.reshape(shape),
        elevation=elev.reshape(shape),
    )


def _orbits(kx, ky, month: date, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted average date (day of year) and total weight (x 1000) of the synthesis.

    Dates stay within +-10 days of the 15th and, like weights (higher where tracks overlap),
    vary in oblique stripes across the descending orbit tracks (heading ~192 degrees).
    """
    mid = (date(month.year, month.month, 15) - date(month.year, 1, 1)).days
    when = month.year, month.month
    phase = 2 * np.pi * key(seed, "orbit", *when) / 2**32
    passes = 2 * np.pi * key(seed, "passes", *when) / 2**32

    def fields(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        across = (0.978 * x - 0.208 * y) * (2 * np.pi)
        days = F32(7.5) * np.sin(across / 230 + phase) + F32(3) * fbm(
            x / 40, y / 40, key(seed, "dates", *when), 2)
        weight = F32(900) * np.cos(across / 115 + passes) + F32(1000) * fbm(
            x / 30, y / 30, key(seed, "weights", *when), 2)
        return np.stack([days, weight])

    days, weight = on_lattice(fields, kx, ky, 2.0)
    doy = np.clip(mid + days, mid - 10, mid + 10).astype(F32)
    return doy, np.rint(F32(2400) + weight).clip(300, 5000).astype(F32)


def _terrain(kx: np.ndarray, ky: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(mountain base, elevation) in m: hand-placed ranges given relief by ridged noise."""
    k = key(seed, "hills")

    def smooth(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.stack([base_elevation(x, y), F32(120) * fbm(x / 25, y / 25, k, 2)])

    base, hills = on_lattice(smooth, kx, ky, 0.5)
    elev = F32(150) + hills
    high = np.flatnonzero(base > 1)
    relief = ridged(kx[high] / 14, ky[high] / 14, key(seed, "relief"), 5)
    elev[high] += base[high] * (F32(0.3) + F32(1.1) * relief)
    return base, np.maximum(elev, 0)


def _hillshade(kx, ky, elev, mpos, seed: int) -> np.ndarray:
    """Illumination factor (1 on flat ground) of the mountains under a 10:30 sun from the SSE."""
    step = 0.05  # km
    dzdx = (_terrain(kx + step, ky, seed)[1] - elev) / F32(step * 1000)
    dzdy = (_terrain(kx, ky + step, seed)[1] - elev) / F32(step * 1000)
    sun_el = np.radians(F32(20) + F32(40) * _summer(mpos))
    az = np.radians(150.0)
    sx, sy = np.sin(az) * np.cos(sun_el), np.cos(az) * np.cos(sun_el)
    cos_i = (np.sin(sun_el) - dzdx * sx - dzdy * sy) / np.sqrt(1 + dzdx**2 + dzdy**2)
    return np.clip(cos_i / np.sin(sun_el), 0.15, 1.6).astype(F32)


def _lakes(kx, ky, elev, seed: int) -> np.ndarray:
    """Procedural lowland lakes: at most one small ragged lake per 9 km cell."""
    cx, cy = np.floor(kx / 9), np.floor(ky / 9)
    k = key(seed, "lakes")
    present = cell_hash(cx, cy, k) < 0.22
    jx = F32(0.3) + F32(0.4) * cell_hash(cx, cy, k + 1)
    jy = F32(0.3) + F32(0.4) * cell_hash(cx, cy, k + 2)
    radius = F32(0.2) + F32(0.6) * cell_hash(cx, cy, k + 3)
    d = np.hypot(kx / 9 - cx - jx, ky / 9 - cy - jy).astype(F32) * F32(9) / radius
    lake = present & (d < 1.4) & (elev < 1200)
    idx = np.flatnonzero(lake)
    lake[idx] = d[idx] + F32(0.5) * fbm(kx[idx] / 0.6, ky[idx] / 0.6, k + 4, 2) < 1
    return lake


def _water(weights, idx, kx, ky, seed: int) -> None:
    """Sea and lakes: clear to turbid water."""
    k = key(seed, "turbid")
    plumes = on_lattice(lambda x, y: fbm(x / 25, y / 25, k, 3), kx[idx], ky[idx], 1.0)
    turbid = np.clip(F32(0.1) + F32(0.7) * plumes, 0, 1)
    weights[idx, EM["water"]] = 1 - turbid
    weights[idx, EM["turbid"]] = turbid


def _towns(weights, gain, idx, lon, lat, kx, ky, elev, seed: int) -> np.ndarray:
    """Cities and villages: grey, bright, low NDVI. Returns the urban mask over ``idx``."""
    x, y = kx[idx], ky[idx]
    urb = np.full(idx.size, -0.6, F32)  # a floor, so cities too far to matter change nothing
    if idx.size:
        lo0, lo1, la0, la1 = lon[idx].min(), lon[idx].max(), lat[idx].min(), lat[idx].max()
        for clon, clat, radius in CITIES:
            reach = 1.7 * radius
            if (clon + reach / KM_PER_DEG_LON < lo0 or clon - reach / KM_PER_DEG_LON > lo1
                    or clat + reach / KM_PER_DEG_LAT < la0 or clat - reach / KM_PER_DEG_LAT > la1):
                continue
            d = np.hypot(x - clon * KM_PER_DEG_LON, y - clat * KM_PER_DEG_LAT) / radius
            np.maximum(urb, 1 - d, out=urb, casting="unsafe")
    # Villages: one per 6 km cell at most, well inside its cell so cells stay independent.
    cx, cy = np.floor(x / 6), np.floor(y / 6)
    k = key(seed, "villages")
    jx = F32(0.3) + F32(0.4) * cell_hash(cx, cy, k + 1)
    jy = F32(0.3) + F32(0.4) * cell_hash(cx, cy, k + 2)
    radius = F32(0.25) + F32(0.6) * cell_hash(cx, cy, k + 3)
    village = 1 - np.hypot(x / 6 - cx - jx, y / 6 - cy - jy).astype(F32) * F32(6) / radius
    np.maximum(urb, np.where(cell_hash(cx, cy, k) < 0.4, village, F32(-0.6)), out=urb)

    near = np.flatnonzero(urb > -0.56)
    urb[near] += F32(0.35) * fbm(x[near] / 2.5, y[near] / 2.5, key(seed, "sprawl"), 5, 0.6)
    urb[near] += F32(0.2) * fbm(x[near] / 0.4, y[near] / 0.4, key(seed, "lots"), 2)
    urban = (urb > 0) & (elev[idx] < 1600)
    u = idx[urban]
    core = np.clip(urb[urban] * 1.5, 0, 1)
    built, roofs, street = _streets(kx[u], ky[u], core, seed)
    weights[u, EM["urban"]] = built
    weights[u, EM["veg"]] = (1 - built) * F32(0.75)
    weights[u, EM["soil"]] = (1 - built) * F32(0.25)
    gain[u] = np.where(street, F32(0.7), roofs)
    return urban


def _streets(x, y, core, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Town fabric: (built fraction, roof brightness, street mask) of blocks ~90-170 m wide.

    Each 3 km district has its own street grid orientation; denser in the core, parks around.
    """
    dx, dy = np.floor(x / 3), np.floor(y / 3)
    district = (dx * 7919 + dy).astype(np.int64)
    angle = cell_hash(dx, dy, key(seed, "street-angle")).astype(np.float64) * (np.pi / 2)
    u = x * np.cos(angle) + y * np.sin(angle)
    v = y * np.cos(angle) - x * np.sin(angle)
    size = F32(0.09) + F32(0.08) * cell_hash(dx, dy, key(seed, "block-size"))
    fu, fv = u / size, v / size
    cu, cv = np.floor(fu), np.floor(fv)
    edge = np.minimum(np.minimum(fu - cu, cu + 1 - fu), np.minimum(fv - cv, cv + 1 - fv)) * size
    street = edge < 0.008
    block = (cv * 104729 + district).astype(np.int64)
    park = cell_hash(cu, block, key(seed, "parks")) < F32(0.06) + F32(0.2) * (1 - core)
    built = np.where(park, F32(0.15), F32(0.6) + F32(0.35) * core)
    built = np.where(street, F32(1), built)
    roof = cell_hash(np.floor(x / 0.02), np.floor(y / 0.02), key(seed, "roofs"))  # ~20 m
    roofs = F32(0.7) + F32(0.6) * roof
    return built.astype(F32), roofs, street


# Regions with more (+) or less (-) forest: (lon, lat, radius km, bias).
_FOREST_BIAS = [
    (-0.90, 44.30, 70.0, 0.45),  # Landes
    (1.90, 47.55, 35.0, 0.25),  # Sologne
    (2.70, 48.40, 15.0, 0.35),  # Fontainebleau
    (1.70, 48.30, 60.0, -0.30),  # Beauce
    (4.20, 48.90, 60.0, -0.25),  # Champagne
    (2.60, 49.80, 60.0, -0.20),  # Picardie
    (-3.00, 48.20, 100.0, -0.10),  # Brittany
    (4.60, 50.00, 40.0, 0.25),  # Ardennes
]


def _forest(weights, gain, idx, kx, ky, elev, mpos, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Large forest blobs, denser in hills and some known regions.

    Returns the forest mask over ``idx`` and, over the forest, which stands are evergreen.
    """
    x, y, e = kx[idx], ky[idx], elev[idx]
    bias = F32(0.25) * smoothstep(250, 900, e) - F32(0.6) * smoothstep(1700, 2100, e)
    for flon, flat, radius, amount in _FOREST_BIAS:
        d2 = ((x - flon * KM_PER_DEG_LON) ** 2 + (y - flat * KM_PER_DEG_LAT) ** 2) / radius**2
        bias += np.where(d2 < 9, amount * np.exp(-d2), 0).astype(F32)
    # Below 0.3 - max(bias) no point can become forest: fbm_above may skip it exactly.
    floor = 0.3 - float(bias.max()) if idx.size else 0.0
    forest = fbm_above(x / 16, y / 16, key(seed, "forest"), floor, 7) + bias > 0.3
    f = idx[forest]
    evergreen = _evergreen(kx[f], ky[f], elev[f], seed)
    # Leaf-out comes later and leaf fall earlier with altitude (~3 weeks per 1000 m), and each
    # stand (~400 m) has its own timing within about a week either way.
    stands = value_noise(kx[f] / 0.4, ky[f] / 0.4, key(seed, "stands"))
    late = elev[f] / F32(1400) + (stands - F32(0.5)) * F32(0.5)
    when = mpos[f] - np.where(mpos[f] % 12 < 6.5, late, -late)  # spring: later; autumn: earlier
    leaves, litter = phenology(evergreen.astype(np.int64), when)
    canopy = F32(0.92) * leaves
    under = F32(0.08)  # understorey, moss, ivy: some green even under bare trees
    bare = F32(1) - canopy - under
    weights[f, EM["forest"]] = canopy
    weights[f, EM["veg"]] = under
    weights[f, EM["straw"]] = bare * litter  # dead leaves, autumn colours
    weights[f, EM["soil"]] = bare * (1 - litter)  # trunks, branches, ground
    # Stands of lighter or darker trees, and crowns (~15 m).
    crowns = value_noise(kx[f] / 0.015, ky[f] / 0.015, key(seed, "crowns"))
    gain[f] = (F32(0.8) + F32(0.4) * stands) * (F32(0.8) + F32(0.4) * crowns)
    return forest, evergreen


# Regions where forests are mostly evergreen: (lon, lat, radius km, share).
_EVERGREEN_REGIONS = [
    (-0.90, 44.30, 70.0, 0.95),  # Landes: maritime pine
    (5.50, 43.60, 90.0, 0.65),  # Provence: Aleppo pine, holm oak
    (3.40, 43.60, 60.0, 0.55),  # Languedoc garrigue
    (9.10, 42.10, 70.0, 0.7),  # Corsica: maquis, laricio pine
]


def _evergreen(kx, ky, elev, seed: int) -> np.ndarray:
    """Which forest pixels are evergreen: conifers in the mountains, pines in the Landes and the
    south, plantations here and there elsewhere; the rest broadleaf. Patches of ~1 km."""
    share = F32(0.12) + F32(0.8) * smoothstep(700, 1300, elev)
    for elon, elat, radius, amount in _EVERGREEN_REGIONS:
        d2 = ((kx - elon * KM_PER_DEG_LON) ** 2 + (ky - elat * KM_PER_DEG_LAT) ** 2) / radius**2
        share = np.maximum(share, np.where(d2 < 9, amount * np.exp(-d2), 0).astype(F32))
    patches = _uniform(value_noise(kx / 1.2, ky / 1.2, key(seed, "leaf-type")), "value")
    return patches < np.minimum(share, F32(0.97))


def _alpine(weights, idx, kx, ky, elev, mpos, seed: int) -> np.ndarray:
    """Above the tree line: alpine meadows turning to bare rock. Returns the mask over ``idx``."""
    e = elev[idx]
    high = e > 1700
    h = idx[high]
    treeline = F32(1900) + F32(250) * fbm(kx[h] / 5, ky[h] / 5, key(seed, "treeline"), 2)
    high[high] = e[high] > treeline
    a = idx[high]
    rock = smoothstep(2200, 2900, elev[a])
    meadow = 1 - rock
    green = meadow * (F32(0.25) + F32(0.35) * _summer(mpos[a]))
    weights[a, EM["rock"]] = rock
    weights[a, EM["veg"]] = green
    weights[a, EM["straw"]] = meadow - green
    return high


def _fields(weights, gain, idx, lon, lat, kx, ky, elev, mpos, seed: int) -> np.ndarray:
    """Cropland and grassland parcels (~300-600 m) with crop calendars; hedges in the west.

    Returns the crop (an index of ``CROPS``) of each pixel of ``idx``.
    """
    x, y, e = kx[idx], ky[idx], elev[idx]
    # Farm regions (~12 km, wavy borders) each orient their parcels their own way.
    kw = key(seed, "farm-warp")
    wx, wy = on_lattice(lambda a, b: np.stack([fbm(a / 8, b / 8, kw + i, 3) for i in (0, 1)]),
                        x, y, 0.5)
    rx, ry = np.floor(x / 12 + wx * F32(0.3)), np.floor(y / 12 + wy * F32(0.3))
    region = (rx * 7919 + ry).astype(np.int64)
    turn, rows = cell_hashes(rx, ry, key(seed, "parcel-region"), 2)
    angle = turn.astype(np.float64) * np.pi
    u = x * np.cos(angle) + y * np.sin(angle)
    v = y * np.cos(angle) - x * np.sin(angle)
    height = F32(0.28) + F32(0.25) * rows
    fv = v / height
    row = np.floor(fv)
    cols, shift = cell_hashes(row, region, key(seed, "parcel-row"), 2)
    width = F32(0.30) + F32(0.35) * cols
    fu = u / width + shift
    col = np.floor(fu)
    parcel = (row * 104729 + region).astype(np.int64)
    # Crop choice looks at the parcel's centre only, so that no parcel is split between crops.
    cu = (col + 0.5 - shift) * width
    cv = (row + 0.5) * height
    cx, cy = cu * np.cos(angle) - cv * np.sin(angle), cu * np.sin(angle) + cv * np.cos(angle)
    pick, follow, phase, shade = cell_hashes(col, parcel, key(seed, "parcel"), 4)
    # Neighbouring parcels often share a crop (farms, rotations): 2 in 3 follow a ~1 km field.
    farm = _uniform(value_noise(cx / 1.2, cy / 1.2, key(seed, "farms")), "value")
    pick = np.where(follow < 0.65, farm, pick)

    west = smoothstep(0.5, -2.0, cx / KM_PER_DEG_LON)
    south = smoothstep(46.5, 44.5, cy / KM_PER_DEG_LAT)
    upland = smoothstep(450, 900, e)
    shares = np.stack([
        F32(0.40) * (1 - F32(0.5) * west) * (1 - F32(0.4) * south),  # wheat
        F32(0.12) * (1 - F32(0.6) * south),  # rapeseed
        F32(0.15) + F32(0.15) * west + F32(0.15) * south,  # maize
        F32(0.04) + F32(0.22) * south,  # sunflower
        F32(0.22) + F32(0.45) * west,  # grass
    ])
    shares[:4] *= 1 - upland
    cum = np.cumsum(shares, axis=0)
    crop = (pick * cum[-1] > cum[:-1]).sum(axis=0)

    green, straw = calendar(crop, mpos[idx] + (phase - F32(0.5)) * F32(0.8))
    weights[idx, EM["veg"]] = green
    weights[idx, EM["straw"]] = (1 - green) * straw
    weights[idx, EM["soil"]] = (1 - green) * (1 - straw)
    gain[idx] = F32(0.88) + F32(0.24) * shade

    # Field margins: grass strips, and hedgerows (bocage) in the west.
    edge = np.minimum(
        np.minimum(fv - row, row + 1 - fv) * height, np.minimum(fu - col, col + 1 - fu) * width
    )
    bocage = smoothstep(0.5, -2.0, lon[idx])
    hedge = edge < F32(0.006) + F32(0.010) * bocage
    h = idx[hedge]
    bocage = bocage[hedge]
    weights[h] = 0
    weights[h, EM["forest"]] = bocage
    weights[h, EM["veg"]] = (1 - bocage) * F32(0.6)
    weights[h, EM["straw"]] = (1 - bocage) * F32(0.4)
    gain[h] = 1
    return crop


def _snow(weights, flag, idx, kx, ky, elev, mpos, seed: int) -> None:
    """Snow above a snow line that drops from ~3250 m in late July to ~1050 m in late January."""
    m = mpos[idx]
    line = F32(2150) + F32(1100) * np.cos((m - F32(7.2)) * F32(2 * np.pi / 12))
    cand = elev[idx] > line - 450
    s = idx[cand]
    wobble = F32(300) * fbm(kx[s] / 4, ky[s] / 4, key(seed, "snow"), 3)
    cover = smoothstep(-150, 150, elev[s] + wobble - line[cand])
    weights[s] *= (1 - cover)[:, None]
    weights[s, EM["snow"]] += cover
    flag[s[cover >= 0.5]] = Flag.SNOW


def _cloud_field(kx, ky, k: int, floor: float) -> np.ndarray:
    """Cloud thickness: cumulus-scale blobs gathered by a weather-scale field (exact >= floor)."""
    weather = F32(0.35) * on_lattice(lambda x, y: fbm(x / 150, y / 150, k + 1, 2), kx, ky, 5.0)
    # Points whose blobs cannot reach floor - max(weather) stay below floor: skip their octaves.
    lowest = (floor - float(weather.max())) / 0.65 if weather.size else 0.0
    return F32(0.65) * fbm_above(kx / 10, ky / 10, k, lowest, 6) + weather


@lru_cache(maxsize=4)
def _percentiles(field: str) -> np.ndarray:
    """Percentiles 0..100 of a noise field, from a fixed 2500 km sample (to set coverages)."""
    g = np.mgrid[0:1000, 0:1000].astype(np.float64) * 2.5
    if field == "cloud":
        return np.percentile(_cloud_field(g[0], g[1], 12345, -np.inf), np.arange(101))
    return np.percentile(value_noise(g[0], g[1], 6789), np.arange(101))


def _uniform(values: np.ndarray, field: str) -> np.ndarray:
    """Map a noise field to about-uniform [0, 1] through its percentiles."""
    return np.interp(values, _percentiles(field), np.linspace(0, 1, 101)).astype(F32)


def _clouds(refl, flag, wgt, kx, ky, month: date, seed: int, bands) -> None:
    """All-month clouds (kept bright in FRC, flagged) and their shadows: ~3% in July, ~15% in
    January (a month of winter weather leaves more ground never seen clear)."""
    winter = 0.5 + 0.5 * np.cos((month.month - 1) * 2 * np.pi / 12)
    cover = 3 + 12 * winter  # percent, on average over months of that season
    threshold = float(np.interp(100 - cover, np.arange(101), _percentiles("cloud")))
    k = key(seed, "clouds", month.year, month.month)
    haze = 0.03
    thick = _cloud_field(kx, ky, k, threshold - haze)
    # Shadows fall north-north-west of their cloud (sun in the south-south-east at 10:30).
    shade = _cloud_field(kx + 0.6, ky - 1.5, k, threshold) >= threshold
    alpha = smoothstep(threshold - haze, threshold + haze, thick)
    cloud_dn = spectra(bands)[EM["cloud"]]
    hazy = np.flatnonzero(alpha > 0)
    a = alpha[hazy][:, None]
    refl[hazy] = refl[hazy] * (1 - a) + a * cloud_dn
    cloudy = alpha >= 0.5
    shadow = shade & ~cloudy
    refl[shadow] *= F32(0.4)
    flag[cloudy | shadow] = Flag.CLOUD
    # Few usable observations under an all-month cloud: low total weight.
    wgt[cloudy] = np.rint(wgt[cloudy] * F32(0.12) + F32(80))


def nodata_scene(scene: Scene, mask: np.ndarray) -> None:
    """Blank ``mask`` (e.g. a swath-edge wedge) in a scene: no data everywhere."""
    scene.flag[mask] = Flag.NODATA
    for a in scene.frc.values():
        a[mask] = NODATA
    scene.dts[mask] = NODATA
    scene.wgt[mask] = 0


def _summer(mpos: np.ndarray) -> np.ndarray:
    """0 in mid-January, 1 in mid-July."""
    return F32(0.5) - F32(0.5) * np.cos(mpos * F32(2 * np.pi / 12))
