"""Build cost at scale, measured: 1, 2, 4 and 8 contiguous full-size 10 m products, then a rebuild.

The products (a block across the UTM 30/31 boundary by default) are built with the default grid
(every source pixel kept) into a fresh data directory each time; wall time, CPU time and peak
RSS of the whole process tree are measured, with the disk each product takes: its inputs, the
intermediate files a month keeps (parts, overview rasters) and the published build. At the
largest count, one product is then republished with new content and the month rebuilt. The
France-month figures are re-derived from the per-product costs.

    .venv/bin/python bench/scale_bench.py --inputs DIR --changed PRODUCT [--redelivered PRODUCT] [--reprocessed PRODUCT]
        [--counts 1,2,4,8]

Deletes its outputs when done (not the inputs). Rewrites the "Build at scale (10 m)" section of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

from build_bench import FRANCE_TILES, MONTH, mosaique_build
from common import table, write_section

from processing.scan import scan_products

ORDER = ["T31TCJ", "T31TDJ", "T30TYP", "T31TEJ", "T30TYQ", "T31TCK", "T31TDK", "T31TEK"]
"""Build order: each count's products are a contiguous block (2: one zone; 4: a row across the
30/31 boundary; 8: two rows)."""


def size(*paths: Path) -> int:
    """Bytes of files under ``paths`` (hard links counted once)."""
    seen, total = set(), 0
    for root in paths:
        for f in [root] if root.is_file() else root.rglob("*"):
            st = f.lstat()
            if f.is_file() and (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total


def published_manifest(data: Path) -> dict:
    """The manifest of the month's published build."""
    entry = json.loads((data / "catalog.json").read_text())["months"][MONTH]
    return json.loads((data / entry["path"] / "manifest.json").read_text())


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", type=Path, required=True, help="folder holding the 10 m products")
    parser.add_argument("--changed", type=Path, required=True, help="a new version of one of them (same name)")
    parser.add_argument("--redelivered", type=Path, default=None,
                        help="the changed product again, same pixels, other files (e.g. its metadata edited)")
    parser.add_argument("--reprocessed", type=Path, default=None,
                        help="the product again with every pixel of a band changed (built after --redelivered)")
    parser.add_argument("--workdir", type=Path, default=Path("bench/out/scale"))
    parser.add_argument("--counts", default="1,2,4,8")
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/benchmarks.md as it is")
    args = parser.parse_args()
    scanned = scan_products([args.inputs], month=MONTH).products
    found = {p.tile: p.path for p in scanned}
    pixel = min(p.grids["R1"].res for p in scanned)
    order = [found[t] for t in ORDER if t in found]
    load = [os.getloadavg()[0]]
    rows: list[list[str]] = []
    per: dict[int, dict[str, float]] = {}
    data = args.workdir / "data"
    for n in map(int, args.counts.split(",")):
        shutil.rmtree(args.workdir, ignore_errors=True)
        wall, rss, cpu = mosaique_build(order[:n], data)
        manifest = published_manifest(data)
        disk = {"inputs": size(*order[:n]), "intermediate": size(data / "months" / MONTH / "parts"),
                "published": size(data / "months" / MONTH / "builds" / manifest["build_id"])}
        per[n] = {"wall": wall / n, "cpu": cpu / n, **{k: v / n for k, v in disk.items()}}
        rows.append([str(n), ", ".join(Path(p).name.split("_")[3] for p in order[:n]), f"{wall:.0f}", f"{cpu:.0f}",
                     f"{rss / 1e9:.2f}", f"{wall / n:.1f}", f"{cpu / n:.1f}", f"{len(manifest['regions'])}",
                     f"{max(len(r['inputs']) for r in manifest['regions'].values())}",
                     f"{disk['inputs'] / n / 1e9:.2f}", f"{disk['intermediate'] / n / 1e9:.2f}",
                     f"{disk['published'] / n / 1e9:.2f}"])
        print(rows[-1], flush=True)
    n = max(per)
    replaced = [p for p in order[:n] if Path(p).name != args.changed.name]
    rebuild_wall, rebuild_rss, rebuild_cpu = mosaique_build([*replaced, args.changed], data, force=False)
    rebuild = published_manifest(data)
    built = sum(1 for r in rebuild["regions"].values() if not r.get("reused"))  # composited, not kept
    again = ""
    for path, what in ((args.redelivered, "The changed product re-delivered with the same pixels (other files: its "
                                           "metadata edited)"),
                       (args.reprocessed, "Then a reprocessing of it (every pixel of a band changed)")):
        if not path:
            continue
        again_wall, again_rss, again_cpu = mosaique_build([*replaced, path], data, force=False)
        kept = published_manifest(data)
        again_built = sum(1 for r in kept["regions"].values() if not r.get("reused"))
        again += f"""
- {what}, after the rebuild above:
  {again_wall:.1f} s wall, {again_cpu:.1f} s CPU, peak RSS {again_rss / 1e9:.2f} GB, {again_built} of
  {len(kept["regions"])} regions recomposited = **{100 * again_wall / (per[n]["wall"] * n):.1f} %** of the full
  build's wall time ({100 * again_cpu / (per[n]["cpu"] * n):.1f} % of its CPU time)."""
    shutil.rmtree(args.workdir, ignore_errors=True)
    load.append(os.getloadavg()[0])
    full_wall = per[n]["wall"] * n
    walls = [v["wall"] for v in per.values()]
    cpus = [v["cpu"] for v in per.values()]
    year = 12 * FRANCE_TILES * (per[n]["published"] + per[n]["intermediate"])
    body = f"""Command: `.venv/bin/python bench/scale_bench.py --inputs DIR --changed PRODUCT` ({pixel:g} m
sample products of {MONTH}, a contiguous block across the UTM 30/31 boundary, built in this order; default grid,
every source pixel kept: zoom {manifest["grid"]["zoom"]}; each count a fresh build of a fresh data directory, `--force`,
LocalCluster of 2 threads).
Load average (1 min) {load[0]:.1f} at the start, {load[1]:.1f} at the end, on 2 cores shared with other
engineers' work.

{table(rows, ["products", "tiles", "wall s", "CPU s", "peak RSS GB", "wall s / product", "CPU s / product",
              "regions", "most parts in a region", "inputs GB / product", "intermediate GB / product",
              "published GB / product"])}

- Cost per product: wall {min(walls):.1f}-{max(walls):.1f} s ({100 * (max(walls) / min(walls) - 1):.0f} % spread),
  CPU {min(cpus):.1f}-{max(cpus):.1f} s ({100 * (max(cpus) / min(cpus) - 1):.0f} % spread) from 1 to {n} products.
- One-product rebuild at {n} products (one product republished with new content, the others unchanged):
  {rebuild_wall:.1f} s wall, {rebuild_cpu:.1f} s CPU, peak RSS {rebuild_rss / 1e9:.2f} GB, {built} of
  {len(rebuild["regions"])} regions recomposited = **{100 * rebuild_wall / full_wall:.1f} %** of the full {n}-product
  build's wall time ({100 * rebuild_cpu / (per[n]["cpu"] * n):.1f} % of its CPU time).{again}
- France month re-derived from the {n}-product per-product costs: {FRANCE_TILES} x {per[n]["wall"]:.1f} s =
  **{FRANCE_TILES * per[n]["wall"] / 60:.0f} min** wall on this machine
  (CPU {FRANCE_TILES * per[n]["cpu"] / 60:.0f} min);
  published **{FRANCE_TILES * per[n]["published"] / 1e9:.0f} GB** per month, intermediate files kept for rebuilds
  {FRANCE_TILES * per[n]["intermediate"] / 1e9:.0f} GB per month, inputs {FRANCE_TILES * per[n]["inputs"] / 1e9:.0f} GB
  per month (uncompressed sample products); a year of months (published + intermediate, one build kept per
  month): **{year / 1e12:.1f} TB**, plus {12 * FRANCE_TILES * per[n]["inputs"] / 1e12:.1f} TB of inputs if kept.
  Tiles overlapping at the edges of the block are counted as the block's: France's 95 tiles overlap each other as
  these do.
"""
    print(body)
    if not args.no_write:
        write_section("Build at scale (10 m)", body)


if __name__ == "__main__":
    main()
