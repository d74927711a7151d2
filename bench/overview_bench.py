"""The month's true-colour overview with and without its mask (issue 12), timed in the same run.

Usage: .venv/bin/python bench/overview_bench.py --inputs DIR [--workdir DIR] [--repeats N]

Builds the month once from DIR (e.g. ``mosaique sample --months 2018-07 --pixel-size 200 --zip``:
all of France), then makes its true-colour overview COG from the build's VRT, alternately as
before issue 12 (a plain average warp: no mask, no data black) and as now
(:func:`mosaic.overview.warp_overview`: warped with an alpha band kept as the internal mask),
each followed by :func:`mosaic.cog.write_cog` (overview levels and COG). The reflectance
overview, whose step did not change, is timed alongside for scale.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

from osgeo import gdal

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import table, write_section  # noqa: E402

from mosaic.build import BuildOptions, build_month  # noqa: E402
from mosaic.cog import write_cog  # noqa: E402
from mosaic.grid import OutputGrid  # noqa: E402
from mosaic.layers import LAYERS  # noqa: E402
from mosaic.overview import warp_overview  # noqa: E402

MONTH = "2018-07"


def unmasked(vrt: Path, dst: Path, grid: OutputGrid) -> None:
    """The true-colour overview as it was made before issue 12 (its mask lost)."""
    res = grid.res * 2 ** (grid.zoom - grid.region_zoom)
    gdal.Warp(str(dst), str(vrt), format="GTiff", xRes=res, yRes=res, resampleAlg="average",
              creationOptions=["TILED=YES"])


def timed(make: object, vrt: Path, work: Path, layer: str, grid: OutputGrid) -> float:
    """Seconds to make one overview raster and write it as a COG."""
    scratch, cog = work / f"{layer}-overview.tif", work / f"{layer}.tif"
    start = time.perf_counter()
    make(vrt, scratch, grid)
    write_cog(scratch, cog, LAYERS[layer])
    elapsed = time.perf_counter() - start
    scratch.unlink()
    cog.unlink()
    return elapsed


def main() -> None:
    """Build once, time the variants alternately, write docs/benchmarks.md's section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=Path, required=True)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/mosaique-overview-bench"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    report = build_month(args.workdir / "data", MONTH, [args.inputs], BuildOptions(progress=False))
    manifest = json.loads((report.build_dir / "manifest.json").read_text())
    grid = OutputGrid(manifest["grid"]["zoom"], manifest["grid"]["region_zoom"])
    work = args.workdir / "work"
    work.mkdir()
    variants = {
        "truecolor, before (no mask)": (lambda v, d, g: unmasked(v, d, g), "truecolor"),
        "truecolor, now (alpha -> mask)": (lambda v, d, g: warp_overview(v, d, g, LAYERS["truecolor"]), "truecolor"),
        "reflectance (unchanged)": (lambda v, d, g: warp_overview(v, d, g, LAYERS["reflectance"]), "reflectance"),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    load = [os.getloadavg()[0]]
    for _ in range(args.repeats):
        for name, (make, layer) in variants.items():
            times[name].append(timed(make, report.build_dir / f"{layer}.vrt", work, layer, grid))
    load.append(os.getloadavg()[0])
    shutil.rmtree(args.workdir, ignore_errors=True)
    before = statistics.median(times["truecolor, before (no mask)"])
    extra = statistics.median(times["truecolor, now (alpha -> mask)"]) - before
    total, finalize = manifest["timings"]["total"], manifest["timings"]["finalize"]
    rows = [[name, f"{statistics.median(t):.2f}", f"{min(t):.2f}", f"{statistics.median(t) / before:.2f}x"]
            for name, t in times.items()]
    body = f"""Command: `.venv/bin/python bench/overview_bench.py --inputs DIR` (DIR: `mosaique sample --months
{MONTH} --pixel-size 200 --zip`, {len(manifest["inputs"])} products, zoom {grid.zoom}, overview at zoom
{grid.region_zoom}). The month is built once; then each variant makes the month's overview raster from
the build's VRT and writes it as a COG (`write_cog`: overview levels + COG), {args.repeats} times,
alternately. Before issue 12 the true-colour overview lost its mask (no data black); now it is warped
with an alpha band that the copy keeps as the internal mask, so its levels average valid pixels only.
The mask costs {extra:+.2f} s, {100 * extra / total:.1f} % of that build ({total:.1f} s, of which {finalize:.2f} s
for the VRTs and the 4 overview COGs).
Load average (1 min) {load[0]:.1f} at the start, {load[1]:.1f} at the end.

{table(rows, ["overview step", "median s", "min s", "vs before"])}
"""
    write_section("Month overview masks", body)
    print(body)


if __name__ == "__main__":
    main()
