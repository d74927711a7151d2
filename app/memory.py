"""What the server's memory is made of, and a bound on glibc's malloc arenas.

Reads run in up to ``threads`` threads; glibc gives each new thread a malloc arena of its own (up
to 8 per core), and memory freed in one arena is not reused by the others, so the RSS of a busy
server creeps up. Two arenas keep it flat at the same throughput (bench/load_bench.py --soak,
docs/benchmarks.md "Load: soak"); one keeps its plateau lower still ("Serving: memory").

What the heap holds is exported (:func:`malloc_heap`, /metrics): freed memory stays in the RSS
up to the heap's high-water mark, which GDAL's block cache sets once it has been full.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

from osgeo import gdal

M_ARENA_MAX = -8  # glibc's malloc.h


class _Mallinfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (2.33+)."""

    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c"))
    except OSError:
        return None


_LIBC = _libc()


def limit_malloc_arenas(arenas: int) -> bool:
    """At most ``arenas`` malloc arenas in this process and the worker processes it starts (0: glibc's
    default); False where the C library is not glibc."""
    if arenas <= 0:
        return False
    os.environ["MALLOC_ARENA_MAX"] = str(arenas)  # read by glibc as each worker process starts
    try:
        return bool(_LIBC.mallopt(M_ARENA_MAX, arenas))
    except AttributeError:  # (not glibc, or no C library found)
        return False


def malloc_heap() -> dict[str, int] | None:
    """Bytes of glibc's malloc: ``in_use`` (allocated), ``free`` (freed but kept by malloc, counted in the RSS where
    its pages were touched), ``mmapped`` (large blocks, each its own mapping: returned when freed); None where the
    C library is not glibc 2.33+."""
    try:
        mallinfo2 = _LIBC.mallinfo2
    except AttributeError:
        return None
    mallinfo2.restype = _Mallinfo2
    info = mallinfo2()
    return {"in_use": info.uordblks, "free": info.fordblks, "mmapped": info.hblkhd}


def block_cache_used() -> int:
    """Bytes in GDAL's raster block cache (one GDAL library per process: osgeo and rasterio share it)."""
    return gdal.GetCacheUsed()
