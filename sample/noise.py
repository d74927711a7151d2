"""Seeded, vectorised hash noise: lattice hashes, value noise and fractal Brownian motion.

Everything here is a pure function of its inputs (coordinates and a key), so two tiles that
evaluate the same ground get the same values, whatever their grid or block layout.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np

_PX = np.uint32(0x8DA6B343)
_PY = np.uint32(0xD8163841)
_M1 = np.uint32(0x7FEB352D)
_M2 = np.uint32(0x846CA68B)
_TO_UNIT = np.float32(2.0**-24)
# A fixed rotation between octaves hides the lattice's axis-aligned artefacts.
_COS, _SIN = np.cos(0.61), np.sin(0.61)


def key(*parts: object) -> int:
    """A stable 32-bit key from any parts (Python's hash() differs between processes)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=4).digest()
    return int.from_bytes(digest, "little")


def _mix(h: np.ndarray) -> np.ndarray:
    """Avalanche a uint32 array in place (lowbias32) and return it."""
    h ^= h >> np.uint32(16)
    h *= _M1
    h ^= h >> np.uint32(15)
    h *= _M2
    h ^= h >> np.uint32(16)
    return h


def _unit(h: np.ndarray) -> np.ndarray:
    """Map hashed uint32 to float32 in [0, 1)."""
    return (h >> np.uint32(8)).astype(np.float32) * _TO_UNIT


def _cell_bits(ix: np.ndarray, iy: np.ndarray, k: int) -> np.ndarray:
    """A mixed uint32 per integer lattice cell (ix, iy) (float or int arrays of integers)."""
    hx = ix.astype(np.int64).astype(np.uint32) * _PX
    hy = iy.astype(np.int64).astype(np.uint32) * _PY
    return _mix(hx ^ hy ^ np.uint32(k))


def cell_hash(ix: np.ndarray, iy: np.ndarray, k: int) -> np.ndarray:
    """A uniform float32 in [0, 1) per integer lattice cell (ix, iy)."""
    return _unit(_cell_bits(ix, iy, k))


def cell_hashes(ix: np.ndarray, iy: np.ndarray, k: int, n: int) -> list[np.ndarray]:
    """``n`` independent uniforms in [0, 1) per cell from one hash (32 // n bits each)."""
    h = _cell_bits(ix, iy, k)
    bits = 32 // n
    scale = np.float32(2.0**-bits)
    mask = np.uint32((1 << bits) - 1)
    return [((h >> np.uint32(i * bits)) & mask).astype(np.float32) * scale for i in range(n)]


def value_noise(x: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """Smooth value noise in [0, 1) with one lattice cell per coordinate unit."""
    xf, yf = np.floor(x), np.floor(y)
    tx = (x - xf).astype(np.float32)
    ty = (y - yf).astype(np.float32)
    tx = tx * tx * (np.float32(3) - np.float32(2) * tx)
    ty = ty * ty * (np.float32(3) - np.float32(2) * ty)
    # int32 is wide enough for every coordinate used here (|x| < 2**31 lattice cells).
    hx0 = xf.astype(np.int32).view(np.uint32) * _PX
    hx1 = hx0 + _PX
    hy = yf.astype(np.int32).view(np.uint32) * _PY
    hy0 = hy ^ np.uint32(k)
    hy1 = (hy + _PY) ^ np.uint32(k)
    v00 = _unit(_mix(hx0 ^ hy0))
    v10 = _unit(_mix(hx1 ^ hy0))
    v01 = _unit(_mix(hx0 ^ hy1))
    v11 = _unit(_mix(hx1 ^ hy1))
    a = v00 + tx * (v10 - v00)
    b = v01 + tx * (v11 - v01)
    return a + ty * (b - a)


def fbm(x: np.ndarray, y: np.ndarray, k: int, octaves: int = 4, gain: float = 0.5) -> np.ndarray:
    """Fractal Brownian motion of value noise, about in [-1, 1] (std ~0.26), float32."""
    return fbm_above(x, y, k, -np.inf, octaves, gain)


def fbm_above(
    x: np.ndarray, y: np.ndarray, k: int, floor: float, octaves: int = 4, gain: float = 0.5
) -> np.ndarray:
    """``fbm`` where it can reach ``floor``; elsewhere some value below ``floor``, computed cheaper.

    Octaves stop early for points whose remaining octaves cannot lift them to ``floor``: the test
    depends on the point alone, so every tile takes the same decision for the same ground.
    """
    shape = np.shape(x)
    x, y = np.ravel(x), np.ravel(y)
    amps = [gain**o for o in range(octaves)]
    scale = np.float32(2.0 / sum(amps))
    total = np.zeros(x.size, np.float32)
    idx: np.ndarray | None = None  # None: all points still refined
    for o, amp in enumerate(amps):
        part = np.float32(amp) * (value_noise(x, y, k + 7919 * o) - np.float32(0.5))
        if idx is None:
            total += part
            part = total
        else:
            part += total[idx]
            total[idx] = part
        if o + 1 == octaves:
            break
        if floor > -np.inf:
            keep = part * scale + np.float32(sum(amps[o + 1 :])) * scale * np.float32(0.5) >= floor
            idx = np.flatnonzero(keep) if idx is None else idx[keep]
            x, y = x[keep], y[keep]
        # Rotate and double the frequency; the offset keeps octaves from sharing a lattice origin.
        x, y = 2.0 * (_COS * x - _SIN * y) + 17.31, 2.0 * (_SIN * x + _COS * y) - 9.77
    return (total * scale).reshape(shape)


def ridged(x: np.ndarray, y: np.ndarray, k: int, octaves: int = 5) -> np.ndarray:
    """Ridged multifractal in [0, 1]: sharp crests, detail on the heights, smooth valleys."""
    total = np.zeros(np.shape(x), np.float32)
    weight = np.ones(np.shape(x), np.float32)
    amp, norm = 1.0, 0.0
    for o in range(octaves):
        v = value_noise(x, y, k + 104729 * o)
        r = np.float32(1) - np.abs(np.float32(2) * v - np.float32(1))
        signal = r * r * weight
        weight = np.clip(signal * np.float32(2), 0, 1)
        total += np.float32(amp) * signal
        norm += amp
        amp *= 0.5
        x, y = 2.0 * (_COS * x - _SIN * y) + 5.13, 2.0 * (_SIN * x + _COS * y) + 11.9
    return total * np.float32(1.0 / norm)


def on_lattice(
    fn: Callable[[np.ndarray, np.ndarray], np.ndarray], x: np.ndarray, y: np.ndarray, step: float
) -> np.ndarray:
    """A smooth field ``fn`` computed on a global lattice of ``step`` units, bilinear in between.

    For fields varying over tens of km this costs a fraction of evaluating ``fn`` per pixel. The
    lattice is anchored at multiples of ``step``, so values stay a function of position alone.
    ``fn`` may return a stack of fields (fields, rows, cols): the result is then (fields, ...).
    """
    fx, fy = np.floor(x / step), np.floor(y / step)
    i0, j0 = (fx.min(), fy.min()) if fx.size else (0.0, 0.0)
    ni, nj = int(fx.max() - i0) + 2 if fx.size else 2, int(fy.max() - j0) + 2 if fy.size else 2
    gx, gy = np.meshgrid((i0 + np.arange(ni)) * step, (j0 + np.arange(nj)) * step)
    nodes = np.asarray(fn(gx, gy), np.float32)
    stacked = nodes.ndim == 3
    nodes = nodes.reshape(-1, ni * nj)
    at = (fy - j0).astype(np.intp) * ni + (fx - i0).astype(np.intp)
    tx = (x / step - fx).astype(np.float32)
    ty = (y / step - fy).astype(np.float32)
    corners = (at, at + 1, at + ni, at + ni + 1)
    out = []
    for field in nodes:
        v00, v10, v01, v11 = (field.take(c) for c in corners)  # take: 5x faster than [:, at]
        a = v00 + tx * (v10 - v00)
        b = v01 + tx * (v11 - v01)
        out.append(a + ty * (b - a))
    return np.stack(out) if stacked else out[0]


def smoothstep(edge0: float, edge1: float, v: np.ndarray) -> np.ndarray:
    """Hermite step from 0 (v <= edge0) to 1 (v >= edge1)."""
    t = np.clip((v - np.float32(edge0)) / np.float32(edge1 - edge0), 0, 1).astype(np.float32)
    return t * t * (np.float32(3) - np.float32(2) * t)
