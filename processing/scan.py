"""Find and validate the L3A products under some paths; report bad ones and carry on."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from processing import errors
from processing.naming import ProductName
from processing.product import L3AProduct

log = logging.getLogger("mosaique.processing")


@dataclass
class ScanResult:
    """Good products (one per tile and month) and the problems met on the way."""

    products: list[L3AProduct] = field(default_factory=list)
    problems: list[errors.InvalidProduct] = field(default_factory=list)

    @property
    def superseded(self) -> list[errors.DuplicateProduct]:
        """Products dropped because a newer one of the same tile and month was kept."""
        return [p for p in self.problems if isinstance(p, errors.DuplicateProduct)]


def _looks_like_product(path: Path) -> bool:
    try:
        ProductName.parse(path.name)
        return True
    except errors.UnparsableName:
        return path.is_dir() and any(path.glob("*_MTD_ALL.xml"))


def find_candidates(root: Path) -> Iterator[Path | errors.InvalidProduct]:
    """Yield every product folder and zip under ``root`` in name order, or a problem for bad links."""
    if root.is_file() or _looks_like_product(root):
        yield root
    else:
        yield from _walk(root, real_path(root), set())


def real_path(path: Path) -> Path:
    """Where a path leads through its symbolic links (never raises on a link loop)."""
    return Path(os.path.realpath(path))


def _walk(folder: Path, real_root: Path, walked: set[Path]) -> Iterator[Path | errors.InvalidProduct]:
    if real_path(folder) in walked:
        return  # reached again through a link: walked already
    walked.add(real_path(folder))
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        yield errors.InvalidProduct(str(folder), f"cannot list folder ({exc.strerror})")
        return
    for entry in entries:
        path = Path(entry.path)
        if entry.name.startswith("."):
            continue  # hidden files and the temporary folders of unfinished writes
        if entry.is_symlink() and not real_path(path).is_relative_to(real_root):
            yield errors.UnsafePath(entry.name, f"symbolic link to {os.readlink(path)} leads outside the input")
        elif entry.is_symlink() and not path.exists():
            if entry.name.lower().endswith(".zip") or _looks_like_product(path):
                reason = f"broken symbolic link to {os.readlink(path)} (missing, or a loop)"
                yield errors.InvalidProduct(entry.name, reason)
        elif entry.is_file() and entry.name.lower().endswith(".zip"):
            yield path
        elif entry.is_dir():
            if _looks_like_product(path):
                yield path
            else:
                yield from _walk(path, real_root, walked)


def scan_products(
    paths: Iterable[str | Path],
    *,
    month: str | None = None,
    check_data: bool = True,
    trusted: Callable[[Path], L3AProduct | None] | None = None,
) -> ScanResult:
    """Open every product under ``paths``; keep the newest version of each tile and month.

    Bad products become ``problems`` (each names the product and the reason); so do products
    superseded by a newer version of the same tile and month. ``trusted`` may stand for a
    product already validated (it returns it without reading it, or None to open it).
    """
    result = ScanResult()
    found: list[L3AProduct] = []
    seen: set[Path] = set()
    for root in map(Path, paths):
        if not root.exists():
            result.problems.append(errors.InvalidProduct(str(root), "no such file or directory"))
            continue
        for candidate in find_candidates(root):
            if isinstance(candidate, errors.InvalidProduct):
                result.problems.append(candidate)
                continue
            if real_path(candidate) in seen:
                continue
            seen.add(real_path(candidate))
            try:
                product = trusted(candidate) if trusted else None
                found.append(product or L3AProduct.open(candidate, month=month, check_data=check_data))
            except errors.InvalidProduct as exc:
                result.problems.append(exc)
    by_key: dict[tuple[str, str], list[L3AProduct]] = {}
    for product in found:
        by_key.setdefault((product.tile, product.month), []).append(product)
    for (tile, month_id), group in sorted(by_key.items()):
        group.sort(key=lambda p: (p.sort_key, str(p.path)), reverse=True)
        kept, *dropped = group
        result.products.append(kept)
        for other in dropped:
            result.problems.append(
                errors.DuplicateProduct(
                    str(other.name), f"superseded by {kept.name} for {tile} {month_id} (the newest version is kept)"
                )
            )
    for problem in result.problems:
        if isinstance(problem, errors.WrongMonth):
            log.info("ignored %s", problem)
        else:
            log.warning("skipped %s", problem)
    return result
