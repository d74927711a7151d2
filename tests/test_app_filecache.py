"""The answers' file cache: atomic files, bounded in size, least recently used removed first."""

from __future__ import annotations

import os
from pathlib import Path

from app.filecache import FileCache


def test_the_least_recently_used_answers_go_first(tmp_path: Path) -> None:
    cache = FileCache(tmp_path / "cache", max_bytes=2500)
    keys = [FileCache.key("answer", i) for i in range(3)]
    assert len(set(keys)) == 3 and keys[0] == FileCache.key("answer", 0)  # stable names
    for i, key in enumerate(keys[:2]):
        path = cache.put(key, ".bin", bytes([i]) * 1000)
        os.utime(path, ns=(i * 10**9, i * 10**9))  # put one after the other, a second apart
    assert cache.get(keys[0], ".bin") is not None  # used again: now the most recent
    cache.put(keys[2], ".bin", b"x" * 1000)  # 3000 bytes > 2500: the least recently used goes
    assert cache.get(keys[1], ".bin") is None
    assert cache.get(keys[0], ".bin").read_bytes() == bytes([0]) * 1000
    assert cache.get(keys[2], ".bin").read_bytes() == b"x" * 1000
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted(f"{k}.bin" for k in (keys[0], keys[2]))


def test_an_answer_larger_than_the_bound_is_not_kept(tmp_path: Path) -> None:
    cache = FileCache(tmp_path, max_bytes=100)
    cache.put("small", ".json", b"{}")
    cache.put("big", ".json", b"x" * 200)
    assert cache.get("big", ".json") is None and cache.get("small", ".json") is not None
    assert not list(tmp_path.glob(".tmp-*"))
