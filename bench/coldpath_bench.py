"""Where a cold stored true-colour tile's CPU goes: block index made, block located, bytes read, or rendered.

Usage: .venv/bin/python bench/coldpath_bench.py [--data bench/out/data] [--tiles 700] [--repeat 20]

Takes the random z8-14 tiles of bench/serve_bench.py inside the latest month's bounds, counts
what each one is (no data / overzoom or not a block / EMPTY / FULL / PARTIAL) and times, per COG
it reads, each step of a cold answer: the block index made from the file (``gdal.Open`` and the
mask directories: the GDAL path) or loaded from its build-time sidecar, a block's first lookup
(data and mask offsets and the mask block inflated, GDAL path only), the ``pread`` of the block,
and the PNG rendering of partial tiles. The whole cold answer (index not kept: a thrashed LRU)
is timed both ways on the same files.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from serve_bench import tiles_for  # noqa: E402

from app.blocks import INDEXES  # noqa: E402
from app.prerendered import RENDERED, rendered_tile, stored_tile  # noqa: E402
from mosaic import blockindex as blocks  # noqa: E402
from mosaic.catalog import Catalog  # noqa: E402


def best(fn, repeat: int) -> float:  # noqa: ANN001
    """Median of ``repeat`` timings of ``fn()``, in microseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def first_lookup(template: blocks.BlockIndex, z: int, x: int, y: int) -> float:
    """Seconds to look up tile z/x/y's block in a fresh copy of ``template`` (nothing located yet)."""
    index = blocks.BlockIndex.__new__(blocks.BlockIndex)
    index.__dict__.update(template.__dict__)
    index.levels = [blocks._Level.of(lv.band, lv.mask) for lv in template.levels]  # noqa: SLF001
    start = time.perf_counter()
    index.block(*index.position(z, x, y))
    return time.perf_counter() - start


def main() -> None:
    """Count the tiles' cases, time each step, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "bench/out/data")
    parser.add_argument("--tiles", type=int, default=700)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    month = Catalog(args.data).months()[-1]
    tiles = tiles_for(month.bounds, range(8, 15), args.tiles // 7)
    kinds: dict[str, list[tuple[int, int, int, str]]] = {}
    for z, x, y in tiles:
        source = month.source("truecolor", z, x, y)
        if source is None:
            kind = "no region (204)"
        elif z > month.zoom:
            kind = "overzoom (rendered)"
        else:
            index = blocks.BlockIndex(source)
            where = index.position(z, x, y)
            if where is None:
                kind = "not a block (rendered)"
            else:
                block = index.block(*where)
                kind = {blocks.EMPTY: "EMPTY (204)", blocks.FULL: "FULL (stored JPEG)",
                        blocks.PARTIAL: "PARTIAL (PNG rendered)"}[block.state]
        kinds.setdefault(kind, []).append((z, x, y, source))
    print(f"month {month.month} zoom {month.zoom} region zoom {month.region_zoom}, {len(tiles)} tiles z8-14; "
          f"load {os.getloadavg()[0]:.2f}")
    for kind, found in sorted(kinds.items()):
        print(f"  {kind:28s} {len(found):4d}  ({100 * len(found) / len(tiles):.0f} %)")

    sources = sorted({s for found in kinds.values() for *_, s in found if s})
    print(f"{len(sources)} COGs read; per COG (median of {args.repeat}):")
    stored = [t for k in ("FULL (stored JPEG)", "EMPTY (204)", "PARTIAL (PNG rendered)") for t in kinds.get(k, [])]
    rows = []
    for source in sources:
        size = os.path.getsize(source)
        open_us = best(lambda: blocks.gdal.Open(source), args.repeat)  # noqa: B023
        ds = blocks.gdal.Open(source)
        masks_us = best(lambda: blocks._mask_directories(source, ds), args.repeat)  # noqa: B023,SLF001
        index_us = best(lambda: blocks.BlockIndex(source), args.repeat)  # noqa: B023
        sidecar_us = (best(lambda: blocks.BlockIndex.stored(source), args.repeat)  # noqa: B023
                      if blocks.BlockIndex.stored(source) else float("nan"))
        mine = [(z, x, y) for z, x, y, s in stored if s == source]
        lookups, reads = [], []
        template = blocks.BlockIndex(source)
        for z, x, y in mine:
            lookups += [first_lookup(template, z, x, y) for _ in range(5)]
            block = template.block(*template.position(z, x, y))
            if block.offset:
                reads.append(best(lambda: template.jpeg(block), 5))  # noqa: B023
        rows.append((source, size, open_us, masks_us, index_us, sidecar_us,
                     statistics.median(lookups) * 1e6 if lookups else float("nan"),
                     statistics.median(reads) if reads else float("nan"), len(mine)))
    print(f"{'COG':40s} {'bytes':>9s} {'Open':>7s} {'masks':>7s} {'index':>7s} {'sidecar':>8s} "
          f"{'lookup':>7s} {'pread':>6s} tiles  (us)")
    for source, size, *t, n in rows:
        print(f"{'/'.join(source.split('/')[-2:]):40s} {size:9d} " + " ".join(f"{v:7.0f}" for v in t) + f" {n:4d}")

    partial = kinds.get("PARTIAL (PNG rendered)", []) + kinds.get("overzoom (rendered)", [])
    renders = []
    for z, x, y, _ in partial[:40]:
        RENDERED._tiles.clear()  # noqa: SLF001
        RENDERED.size = 0
        start = time.perf_counter()
        try:
            rendered_tile(month, z, x, y, 256, True)
        except Exception:  # noqa: BLE001,S110 - a 204 (no data) is a rendering too
            pass
        renders.append(time.perf_counter() - start)
    if renders:
        print(f"rendered (PARTIAL + overzoom, {len(renders)} tiles): median {statistics.median(renders) * 1e3:.2f} ms")

    stored_index = blocks.BlockIndex.stored
    for label, use in (("GDAL path", False), ("sidecar", True), ("GDAL path", False), ("sidecar", True)):
        blocks.BlockIndex.stored = stored_index if use else classmethod(lambda cls, path: None)
        cold, warm = [], []
        for z, x, y, _ in stored:
            INDEXES.clear()
            start = time.perf_counter()
            stored_tile(month, z, x, y, True)
            cold.append(time.perf_counter() - start)
            start = time.perf_counter()
            stored_tile(month, z, x, y, True)
            warm.append(time.perf_counter() - start)
        print(f"{label}: stored_tile of {len(stored)} block tiles, index not kept (cold): median "
              f"{statistics.median(cold) * 1e6:.0f} us; kept (warm): {statistics.median(warm) * 1e6:.0f} us; "
              f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
