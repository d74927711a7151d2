"""What the server's memory is made of, and a bound on glibc's malloc arenas.

Reads run in up to ``threads`` threads; glibc gives each new thread a malloc arena of its own (up
to 8 per core), and memory freed in one arena is not reused by the others, so the RSS of a busy
server creeps up. Two arenas keep it flat at the same throughput (bench/load_bench.py --soak,
docs/benchmarks.md "Load: soak").
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

from osgeo import gdal

M_ARENA_MAX = -8  # glibc's malloc.h


def limit_malloc_arenas(arenas: int) -> bool:
    """At most ``arenas`` malloc arenas in this process and the worker processes it starts (0: glibc's
    default); False where the C library is not glibc."""
    if arenas <= 0:
        return False
    os.environ["MALLOC_ARENA_MAX"] = str(arenas)  # read by glibc as each worker process starts
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False


def block_cache_used() -> int:
    """Bytes in GDAL's raster block cache (one GDAL library per process: osgeo and rasterio share it)."""
    return gdal.GetCacheUsed()
