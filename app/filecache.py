"""A bounded cache of computed answers (hotspots, timelapses) in a local directory.

Builds never change, so an answer keyed on the build ids it was made from is valid for good.
The data directory may be remote or read-only, so answers live in ``MOSAIQUE_CACHE_DIR``
instead, shared by the server's processes: files are written to a temporary name and renamed
into place (a reader never sees half a file), a hit refreshes the file's modification time, and
past ``max_bytes`` the least recently used files are removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path


class FileCache:
    """Files under ``root``, named by the hash of their key, at most ``max_bytes`` in all."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()

    @staticmethod
    def key(*parts: object) -> str:
        """A stable name for what an answer was made from (JSON of ``parts``, hashed)."""
        return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]

    def path(self, key: str, suffix: str) -> Path:
        """Where the answer of ``key`` is (or will be) stored."""
        return self.root / f"{key}{suffix}"

    def get(self, key: str, suffix: str) -> Path | None:
        """The stored file of ``key``, its use recorded; None if there is none."""
        path = self.path(key, suffix)
        try:
            os.utime(path)
        except FileNotFoundError:
            return None
        return path

    def put(self, key: str, suffix: str, content: bytes) -> Path:
        """Store ``content`` atomically under ``key``, then trim the cache to its bound."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.path(key, suffix)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.trim(keep=path)
        return path

    def trim(self, keep: Path | None = None) -> None:
        """Remove files until the cache fits its bound: any larger than the bound, then the least recently
        used (``keep``, the one just written, last)."""
        with self._lock:
            files = []
            for entry in os.scandir(self.root):
                if entry.is_file() and not entry.name.startswith(".tmp-"):
                    st = entry.stat()
                    order = (st.st_size <= self.max_bytes, Path(entry.path) == keep, st.st_mtime_ns)
                    files.append((order, st.st_size, entry.path))  # too big for the bound first, then oldest
            total = sum(f[1] for f in files)
            for _, size, path in sorted(files):
                if total <= self.max_bytes:
                    break
                Path(path).unlink(missing_ok=True)
                total -= size
