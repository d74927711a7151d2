"""Coarse hand-made geography around France: neighbouring land, lakes, towns and mountains.

All of it is deliberately coarse (a few dozen lon/lat vertices per polygon, Gaussian ridges for
mountains): it only has to make sample products look like the right place, consistently across
overlapping tiles. France itself is the Natural Earth 1:110m outline of ``processing.tiles``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from rasterio.crs import CRS
from rasterio.warp import transform_geom

from processing.tiles import france_outline
from sample.noise import fbm, key

KM_PER_DEG_LON = 77.0
KM_PER_DEG_LAT = 111.0

Ring = list[tuple[float, float]]

# Neighbouring land (lon, lat). Each polygon reaches some kilometres into France along the land
# borders so that its union with the France outline leaves no gap; coasts are rough.
NEIGHBOUR_LAND: dict[str, Ring] = {
    "Spain and Andorra (north of ~40.5N)": [
        (3.20, 42.43), (3.32, 42.30), (3.20, 41.95), (2.80, 41.65), (2.20, 41.35), (1.60, 41.18),
        (1.00, 41.05), (0.70, 40.75), (0.35, 40.40), (-9.00, 40.40), (-8.90, 42.00),
        (-9.30, 43.00), (-8.30, 43.60), (-7.00, 43.55), (-5.80, 43.60), (-4.50, 43.40),
        (-3.80, 43.47), (-3.00, 43.37), (-2.00, 43.32), (-1.79, 43.37), (-1.55, 43.30),
        (-0.50, 43.10), (0.50, 42.90), (1.80, 42.60), (2.95, 42.55),
    ],
    "Belgium, Luxembourg, Germany, Switzerland, north-west Italy": [
        (2.45, 51.00), (2.55, 51.08), (2.90, 51.22), (3.37, 51.37), (3.60, 51.60), (4.05, 51.95),
        (12.00, 52.50), (12.00, 42.50), (10.75, 42.80), (10.50, 43.00), (10.30, 43.55),
        (10.20, 43.90), (9.85, 44.05), (9.40, 44.25), (8.93, 44.40), (8.45, 44.30),
        (8.25, 44.05), (8.00, 43.88), (7.53, 43.78), (7.35, 43.75), (7.45, 44.08), (6.92, 44.25),
        (6.65, 45.03), (7.00, 45.33), (6.72, 45.70), (6.75, 45.98), (6.45, 46.35), (5.95, 46.25),
        (5.95, 46.72), (6.65, 47.25), (6.65, 47.60), (7.15, 47.52), (7.38, 47.62), (7.50, 48.33),
        (7.90, 48.95), (6.60, 49.12), (6.20, 49.38), (5.60, 49.45), (4.80, 49.90), (4.20, 49.85),
        (3.50, 50.30), (3.10, 50.68), (2.60, 50.70),
    ],
    "south-east England (Sussex, Kent, Essex)": [
        (-1.00, 50.78), (0.25, 50.73), (0.60, 50.85), (0.97, 50.91), (1.05, 51.00), (1.31, 51.12),
        (1.40, 51.22), (1.44, 51.38), (1.00, 51.45), (0.70, 51.47), (0.90, 51.55), (1.30, 51.85),
        (1.80, 52.10), (-1.00, 52.10),
    ],
    "northern Sardinia": [
        (8.15, 40.20), (8.15, 40.60), (8.20, 40.97), (8.35, 40.85), (8.70, 40.92), (9.00, 41.05),
        (9.20, 41.25), (9.45, 41.18), (9.60, 41.00), (9.55, 40.90), (9.70, 40.60), (9.80, 40.20),
    ],
    "Elba": [(10.10, 42.76), (10.28, 42.83), (10.44, 42.82), (10.43, 42.73), (10.25, 42.73)],
    "Jersey": [(-2.25, 49.17), (-2.02, 49.17), (-2.02, 49.26), (-2.25, 49.26)],
    "Guernsey": [(-2.67, 49.42), (-2.55, 49.42), (-2.52, 49.50), (-2.62, 49.49)],
}

# Inland water drawn over land: a few real lakes and the Gironde estuary.
LAKES: dict[str, Ring] = {
    "Lac Léman": [
        (6.15, 46.20), (6.30, 46.30), (6.48, 46.37), (6.60, 46.39), (6.80, 46.38), (6.93, 46.39),
        (6.90, 46.44), (6.80, 46.47), (6.63, 46.51), (6.50, 46.50), (6.34, 46.46), (6.24, 46.38),
        (6.16, 46.23),
    ],
    "Lac du Bourget": [(5.86, 45.80), (5.89, 45.78), (5.92, 45.68), (5.89, 45.63), (5.86, 45.66),
                       (5.84, 45.74)],
    "Lac d'Annecy": [(6.13, 45.91), (6.16, 45.90), (6.24, 45.79), (6.22, 45.78), (6.15, 45.86)],
    "Lac de Neuchâtel": [(6.63, 46.78), (6.75, 46.82), (6.97, 46.93), (7.05, 47.00),
                         (6.95, 47.01), (6.73, 46.88)],
    "Lac de Serre-Ponçon": [(6.25, 44.50), (6.33, 44.52), (6.40, 44.53), (6.40, 44.50),
                            (6.28, 44.47)],
    "Étang de Berre": [(5.05, 43.43), (5.20, 43.44), (5.22, 43.52), (5.10, 43.55), (5.00, 43.50)],
    "Gironde estuary": [(-1.25, 45.65), (-1.05, 45.55), (-0.80, 45.35), (-0.60, 45.05),
                        (-0.55, 45.06), (-0.72, 45.33), (-0.95, 45.60), (-1.10, 45.70)],
}

# Towns: (lon, lat, radius in km). A pixel is urban near one of them, with a ragged edge.
CITIES: list[tuple[float, float, float]] = [
    (2.35, 48.86, 14), (4.84, 45.76, 8), (5.37, 43.30, 8), (1.44, 43.60, 7), (-0.58, 44.84, 7),
    (3.06, 50.63, 7), (-1.55, 47.22, 6), (7.75, 48.58, 6), (7.26, 43.70, 5), (-1.68, 48.11, 5),
    (3.88, 43.61, 5), (5.72, 45.19, 5), (1.10, 49.44, 5), (5.93, 43.12, 4), (4.39, 45.44, 4),
    (3.09, 45.78, 4), (5.04, 47.32, 4), (0.69, 47.39, 4), (1.91, 47.90, 4), (4.03, 49.26, 4),
    (0.11, 49.49, 4), (-4.49, 48.39, 4), (6.18, 49.12, 4), (6.18, 48.69, 4), (-0.37, 49.18, 4),
    (1.26, 45.83, 4), (-0.55, 47.47, 4), (0.20, 48.00, 4), (2.90, 42.70, 3.5), (-0.37, 43.30, 3),
    (-1.47, 43.49, 3), (8.74, 41.93, 2.5), (9.45, 42.70, 2), (7.34, 47.75, 3.5),
    (4.81, 43.95, 3.5), (0.34, 46.58, 3), (6.02, 47.24, 3), (2.30, 49.89, 3.5), (6.14, 46.20, 5),
    (6.63, 46.52, 3.5), (7.59, 47.56, 5), (7.68, 45.07, 8), (8.93, 44.41, 5), (4.35, 50.85, 8),
    (6.13, 49.61, 3.5), (2.17, 41.39, 8), (-2.93, 43.26, 5), (-1.98, 43.32, 3), (8.40, 49.01, 4),
    (7.85, 47.99, 3.5), (7.00, 49.23, 3.5), (3.72, 51.05, 4), (-1.15, 46.16, 3),
    (-2.76, 47.66, 2.5), (2.40, 48.00, 2.5), (5.93, 45.57, 2.5), (6.13, 45.90, 2.5),
]

# Mountain ridges: (polyline of lon/lat, crest height in m, half-width in km).
RIDGES: list[tuple[Ring, float, float]] = [
    ([(7.60, 44.10), (6.90, 44.50), (6.40, 44.90), (6.80, 45.40), (6.90, 45.85), (7.80, 45.95),
      (8.50, 46.50), (9.50, 46.60)], 2700.0, 55.0),  # Alps
    ([(5.90, 44.20), (5.80, 45.00), (6.10, 45.60), (6.70, 46.20)], 1400.0, 30.0),  # Prealps
    ([(-1.80, 43.10), (-0.50, 42.85), (0.60, 42.65), (1.50, 42.55), (2.50, 42.45),
      (3.10, 42.45)], 2300.0, 35.0),  # Pyrenees
    ([(6.85, 47.80), (7.20, 48.40), (7.30, 48.70)], 1000.0, 20.0),  # Vosges
    ([(8.10, 47.70), (8.30, 48.70)], 1000.0, 20.0),  # Black Forest
    ([(5.70, 46.10), (6.10, 46.60), (6.70, 47.00), (7.30, 47.40)], 1200.0, 25.0),  # Jura
    ([(8.90, 42.70), (9.10, 42.10), (9.20, 41.70)], 1900.0, 25.0),  # Corsica
    ([(8.50, 44.50), (9.80, 44.30)], 1100.0, 20.0),  # Ligurian Apennines
    ([(3.50, 44.20), (4.00, 44.80)], 1100.0, 25.0),  # Cévennes
]
# Isolated highs: (lon, lat, extra height in m, radius in km).
PEAKS: list[tuple[float, float, float, float]] = [
    (2.90, 45.20, 900.0, 110.0),  # Massif Central plateau
    (2.82, 45.53, 700.0, 15.0),  # Monts Dore
    (2.72, 45.10, 700.0, 18.0),  # Cantal
    (6.87, 45.83, 1500.0, 8.0),  # Mont Blanc
    (6.30, 44.92, 1100.0, 9.0),  # Écrins
    (6.85, 45.38, 900.0, 10.0),  # Vanoise
    (7.27, 45.52, 1000.0, 8.0),  # Gran Paradiso
    (7.87, 45.93, 1500.0, 8.0),  # Monte Rosa
    (8.00, 46.55, 1100.0, 10.0),  # Bernese Oberland
    (0.65, 42.63, 700.0, 8.0),  # Aneto
    (-0.14, 42.77, 600.0, 7.0),  # Vignemale
]


def to_km(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A metric-ish plane (km) in which the noise is evaluated."""
    return lon * KM_PER_DEG_LON, lat * KM_PER_DEG_LAT


def _segment_distance(kx: np.ndarray, ky: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Distance in km from each point to a polyline given in km."""
    best = np.full(np.shape(kx), np.inf, np.float32)
    for (ax, ay), (bx, by) in zip(line[:-1], line[1:], strict=True):
        dx, dy = bx - ax, by - ay
        t = np.clip(((kx - ax) * dx + (ky - ay) * dy) / (dx * dx + dy * dy), 0, 1)
        d2 = (kx - ax - t * dx) ** 2 + (ky - ay - t * dy) ** 2
        np.minimum(best, d2, out=best, casting="unsafe")
    return np.sqrt(best)


def _km_line(line: Ring) -> np.ndarray:
    """A lon/lat polyline in the km plane."""
    lon, lat = np.asarray(line, np.float64).T
    return np.stack(to_km(lon, lat), axis=1)


_RIDGES_KM = [(_km_line(line), height, width) for line, height, width in RIDGES]


def base_elevation(kx: np.ndarray, ky: np.ndarray) -> np.ndarray:
    """Smooth elevation proxy in metres from the ridges and peaks (no texture), float32."""
    elev = np.zeros(np.shape(kx), np.float32)
    if elev.size == 0:
        return elev
    x0, x1, y0, y1 = float(kx.min()), float(kx.max()), float(ky.min()), float(ky.max())
    for line, height, width in _RIDGES_KM:
        # Contributions are cut to exactly 0 beyond 3 widths, so skipping far blocks is exact.
        reach = 3.0 * width
        if (line[:, 0].min() - reach > x1 or line[:, 0].max() + reach < x0
                or line[:, 1].min() - reach > y1 or line[:, 1].max() + reach < y0):
            continue
        d = _segment_distance(kx, ky, line) / np.float32(width)
        ridge = np.where(d < 3, height * np.exp(-(d**2)), 0)
        np.maximum(elev, ridge, out=elev, casting="unsafe")
    for plon, plat, height, radius in PEAKS:
        d2 = ((kx - plon * KM_PER_DEG_LON) ** 2 + (ky - plat * KM_PER_DEG_LAT) ** 2) / radius**2
        if np.min(d2) < 9:
            elev += np.where(d2 < 9, height * np.exp(-d2), 0).astype(np.float32)
    return elev


@lru_cache(maxsize=8)
def _shapes_lonlat(seed: int) -> tuple[list[dict], list[dict]]:
    """Land and inland-water polygons (GeoJSON, lon/lat), densified, with a seeded rough coast."""
    outline = france_outline()
    land = [[list(map(tuple, poly[0]))] for poly in outline["coordinates"]]
    land += [[ring] for ring in NEIGHBOUR_LAND.values()]
    lakes = [[ring] for ring in LAKES.values()]
    return (
        [_roughen(p, seed, amp_km=10.0, scale_km=60.0) for p in land],
        [_roughen(p, seed, amp_km=0.25, scale_km=4.0) for p in lakes],
    )


def _roughen(rings: list[Ring], seed: int, amp_km: float, scale_km: float) -> dict:
    """Densify a polygon to ~1 km steps and displace its vertices by smooth noise of position."""
    out = []
    for ring in rings:
        pts = np.asarray(list(ring) + ([ring[0]] if tuple(ring[0]) != tuple(ring[-1]) else []))
        dense = [pts[:1]]
        for a, b in zip(pts[:-1], pts[1:], strict=True):
            n = max(1, int(np.ceil(np.hypot(*((b - a) * (KM_PER_DEG_LON, KM_PER_DEG_LAT))))))
            t = np.arange(1, n + 1)[:, None] / n
            dense.append(a + t * (b - a))
        lon, lat = np.concatenate(dense).T
        kx, ky = to_km(lon, lat)
        dx = amp_km * (fbm(kx / scale_km, ky / scale_km, key(seed, "coast-x"), 6, 0.65))
        dy = amp_km * (fbm(kx / scale_km, ky / scale_km, key(seed, "coast-y"), 6, 0.65))
        lon = lon + dx / KM_PER_DEG_LON
        lat = lat + dy / KM_PER_DEG_LAT
        lon[-1], lat[-1] = lon[0], lat[0]
        out.append(list(zip(lon.tolist(), lat.tolist(), strict=True)))
    return {"type": "Polygon", "coordinates": out}


@lru_cache(maxsize=16)
def surface_shapes(epsg: int, seed: int) -> tuple[tuple[dict, int], ...]:
    """(geometry in the tile CRS, value) to rasterize in order: 1 land, then 2 inland water."""
    land, lakes = _shapes_lonlat(seed)
    src, dst = CRS.from_epsg(4326), CRS.from_epsg(epsg)
    return tuple(
        [(transform_geom(src, dst, g), 1) for g in land]
        + [(transform_geom(src, dst, g), 2) for g in lakes]
    )
