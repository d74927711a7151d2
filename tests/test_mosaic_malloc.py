"""glibc's malloc bounded (mosaic.malloc): arenas per process, and freed memory handed back after a build task."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ARENAS = """
import ctypes, sys, threading
from mosaic.malloc import limit_malloc_arenas
limit_malloc_arenas(int(sys.argv[1]))
together = threading.Barrier(8)
def work():
    kept = bytearray(100_000)  # allocated while the 8 threads all live: each takes an arena if it may
    together.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
ctypes.CDLL(None).malloc_stats()
"""


@pytest.mark.parametrize("arenas", [2, 0])
def test_malloc_arenas_are_bounded(arenas: int) -> None:
    """Each thread that allocates gets an arena of its own, unless they are bounded."""
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run([sys.executable, "-c", ARENAS, str(arenas)], capture_output=True, text=True, env=env,
                          check=True)
    count = done.stderr.count("Arena ")
    assert count == 2 if arenas else count > 4, done.stderr


TRIM = """
import ctypes, os
from mosaic.malloc import trim_heap
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
blocks = [libc.malloc(100_000) for _ in range(3000)]  # 300 MB below the mmap threshold: the heap's own
for b in blocks:
    ctypes.memset(b, 1, 100_000)
for b in blocks[:-1]:  # the last block pins the top of the heap: free() alone cannot shrink it
    libc.free(b)
before = rss()
trimmed = trim_heap()
print(before, rss(), trimmed)
"""


def test_trim_heap_hands_freed_memory_back() -> None:
    """Memory a task freed in the middle of the heap stays in the RSS until trimmed: then it is handed back."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    done = subprocess.run([sys.executable, "-c", TRIM], capture_output=True, text=True, env=env, check=True)
    before, after, trimmed = done.stdout.split()
    assert trimmed == "True"
    assert int(before) - int(after) > 250e6, done.stdout
