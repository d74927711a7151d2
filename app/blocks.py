"""The block indexes of the true-colour COGs the server read lately (:mod:`mosaic.blockindex`).

An index loaded from its build-time sidecar costs tens of microseconds and a few tens of KB; one
made through GDAL (older builds) about 2 ms and open file handles. The LRU keeps indexes up to a
budget of bytes, counting those made through GDAL heavier (their datasets), so a map client's
random tiles over thousands of region COGs stay cheap while the open files stay few.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from mosaic.blockindex import Block, BlockIndex


class Indexes:
    """Block indexes of the files read lately, up to ``max_bytes`` of their weights (builds are immutable: an
    index never goes stale). An index made through GDAL weighs 512 KB: 64 of them at most, as before sidecars."""

    def __init__(self, max_bytes: int = 32 * 2**20) -> None:
        self.max_bytes, self.size = max_bytes, 0
        self._indexes: OrderedDict[str, BlockIndex] = OrderedDict()
        self._lock = threading.Lock()

    def peek(self, path: str) -> BlockIndex | None:
        """The index of ``path`` if it is made already (never opens a file)."""
        return self._indexes.get(path)

    def get(self, path: str, gdal: bool = True) -> BlockIndex | None:
        """The index of ``path``: kept, else loaded from its sidecar, else (``gdal``) made through GDAL;
        None only when ``gdal`` is False and there is no valid sidecar."""
        index = self._indexes.get(path)
        if index is None:
            index = BlockIndex.stored(path)
            if index is None:
                if not gdal:
                    return None
                index = BlockIndex(path)
            with self._lock:
                if path not in self._indexes:
                    self._indexes[path] = index
                    self.size += index.weight
                while self.size > self.max_bytes and len(self._indexes) > 1:
                    self.size -= self._indexes.popitem(last=False)[1].weight
        return index

    def clear(self) -> None:
        """Forget every index (after a read error: one may hold a half-read block table)."""
        with self._lock:
            self._indexes.clear()
            self.size = 0


INDEXES = Indexes()


def stored_block(path: str, z: int, x: int, y: int) -> tuple[BlockIndex, Block] | None:
    """The stored block of web tile z/x/y in ``path`` with its index (None: the file does not store that tile)."""
    index = INDEXES.get(path)
    where = index.position(z, x, y)
    return None if where is None else (index, index.block(*where))
