"""Identity of input products: a quick-check fingerprint (file stats) and a full checksum (SHA-256).

The fingerprint is what ``make`` and ``rsync`` trust by default: a product whose files have the
same names, sizes, modification times, inodes and device as when it was last verified is taken
to be the same bytes, without reading them again. A product rewritten in place or replaced
(Theia republishing a tile, a copy, an atomic rename) changes at least one of them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def fingerprint(path: Path) -> str:
    """Quick check: relative name, size, mtime (ns), inode and device of every file of the product."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    h = hashlib.sha256(b"v2\n")
    for f in files:
        st = f.stat()
        h.update(f"{f.relative_to(path.parent)}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:{st.st_dev}\n".encode())
    return h.hexdigest()


def checksum(path: Path) -> str:
    """SHA-256 of a zip, or of a folder's files (relative names and contents, in name order)."""
    if path.is_file():
        with path.open("rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(f.relative_to(path).as_posix().encode() + b"\0")
        with f.open("rb") as fh:
            h.update(hashlib.file_digest(fh, "sha256").digest())
    return h.hexdigest()
