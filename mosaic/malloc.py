"""glibc's malloc, bounded: what builds and servers hand back to the system, and what the heap holds.

Large numpy arrays and GDAL buffers come and go by the hundred MB in a build task, and in threads:

- glibc gives each new thread a malloc arena of its own (up to 8 per core), and memory freed in one
  arena is not reused by the others, so the RSS of a busy server creeps up. Two arenas keep it flat
  at the same throughput (bench/load_bench.py --soak, docs/benchmarks.md "Load: soak"); one keeps
  its plateau lower still ("Serving: memory").
- freed memory stays in the process (and in its RSS where its pages were touched) until malloc
  trims it; a build's next task then allocates on top of the last one's leftovers, so the peak RSS
  grew with the number of products (docs/benchmarks.md "Build at scale"). :func:`trim_heap` after
  each task hands it back.

Functions are no-ops (False / None) where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

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


def trim_heap() -> bool:
    """Hand the free memory of every malloc arena back to the system (``malloc_trim(0)``); False where it kept
    all of it or the C library is not glibc."""
    try:
        return bool(_LIBC.malloc_trim(0))
    except AttributeError:
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
