"""Build benchmark at real 10 m: Mosaïque's build beside the 2018 CESBIO GDAL commands and the COG one-liner.

Same inputs, same run: full-size sample products (10980 x 10980, uncompressed striped GeoTIFFs
as WASP writes them), page cache warmed before each pipeline. Measures wall time, CPU time and the
peak RSS of the whole process tree of: the 2018 commands, the COG one-liner a TiTiler user would
write, Mosaïque's full product (the default zoom, every source pixel) and its lighter product
(``--zoom 13``), a one-product build (is memory flat in the number of products?) and an
incremental rebuild after one product changed. Both Mosaïque builds are then served and checked
for random source pixels (bench/fidelity.py), and their bytes and tile times compared.

    .venv/bin/python bench/build_bench.py [--workdir bench/out/build] [--inputs DIR] [--tiles T31TCJ,T31TDJ]

Inputs are generated once (~3 min per 10 m product) and kept, as is the changed product of the
incremental rebuild (another seed, same name): rebuilds read it from its own folder, the inputs
are never moved. Prints a table and rewrites the "Build" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from common import measure, table, write_section
from fidelity import Fidelity, check, source_pixels

from mosaic.grid import OutputGrid
from mosaic.parts import part_geometry
from processing.tiles import france_tiles

BIN = Path(sys.executable).parent
MONTH = "2018-07"
FRANCE_TILES = 95


def warm(folder: Path) -> None:
    """Read every input file once so both pipelines start from the page cache."""
    for f in folder.rglob("*.tif"):
        with f.open("rb") as fh:
            while fh.read(1 << 24):
                pass


def timed(cmd: list[str], **kw: object) -> tuple[float, int, float]:
    """Wall seconds, peak RSS and CPU seconds (user + sys of the command and its children).

    CPU time is what the load of other work on the machine disturbs least.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, rss = measure(cmd, **kw)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, rss, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _band_vrts(products: list[Path], work: Path) -> list[tuple[str, list[str]]]:
    """The first steps of both baselines: one VRT per band of B4/B3/B2, stacked in rgb.vrt."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    steps = []
    for band in ("B4", "B3", "B2"):
        files = sorted(str(f) for p in products for f in p.rglob(f"*_FRC_{band}.tif"))
        steps.append((f"gdalbuildvrt {band}", ["gdalbuildvrt", "-q", str(work / f"{band}.vrt"), *files]))
    steps.append(("gdalbuildvrt -separate", ["gdalbuildvrt", "-q", "-separate", str(work / "rgb.vrt"),
                                             *(str(work / f"{b}.vrt") for b in ("B4", "B3", "B2"))]))
    return steps


def cesbio_2018(products: list[Path], work: Path, pixel: float = 10) -> list[tuple[str, float, int, float]]:
    """The 2018 commands: VRT per band, stack, scale to 8 bits, warp to Lambert-93, overviews."""
    steps = _band_vrts(products, work)
    steps += [
        ("gdal_translate -ot Byte -scale", ["gdal_translate", "-q", "-ot", "Byte", "-scale", "-50", "2000", "0",
                                            "255", "-tr", f"{pixel:g}", f"{pixel:g}", str(work / "rgb.vrt"),
                                            str(work / "rgb.tif")]),
        ("gdalwarp -t_srs EPSG:2154", ["gdalwarp", "-q", "-t_srs", "EPSG:2154", str(work / "rgb.tif"),
                                       str(work / "rgb_l93.tif")]),
        ("gdaladdo -r average", ["gdaladdo", "-q", "-r", "average", str(work / "rgb_l93.tif")]),
    ]
    return [(name, *timed(cmd)) for name, cmd in steps]


def cog_oneliner(products: list[Path], work: Path) -> list[tuple[str, float, int, float]]:
    """What a TiTiler user would write: the same scaled VRT, warped straight into a web-mercator COG."""
    steps = _band_vrts(products, work)
    steps += [
        ("gdal_translate -of VRT -ot Byte -scale", ["gdal_translate", "-q", "-of", "VRT", "-ot", "Byte", "-scale",
                                                    "-50", "2000", "0", "255", str(work / "rgb.vrt"),
                                                    str(work / "rgb8.vrt")]),
        ("gdalwarp -of COG -t_srs EPSG:3857", ["gdalwarp", "-q", "-of", "COG", "-t_srs", "EPSG:3857", "-multi",
                                               "-wo", "NUM_THREADS=ALL_CPUS", "-co", "COMPRESS=DEFLATE",
                                               "-co", "NUM_THREADS=ALL_CPUS", str(work / "rgb8.vrt"),
                                               str(work / "rgb_cog.tif")]),
    ]
    return [(name, *timed(cmd)) for name, cmd in steps]


def mosaique_build(inputs: list[Path], data: Path, force: bool = True, zoom: int | None = None
                   ) -> tuple[float, int, float]:
    """One `mosaique build` of MONTH (default scheduler: a LocalCluster sized to the machine)."""
    cmd = [str(BIN / "mosaique"), "build", "--month", MONTH, "--input", *map(str, inputs),
           "--data-dir", str(data), "--no-progress"] + (["--force"] if force else [])
    cmd += ["--zoom", str(zoom)] if zoom is not None else []
    return timed(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def published_bytes(data: Path) -> int:
    """Bytes of the month's published build folder (COGs, VRTs, overviews, manifest)."""
    build = next(data.glob("months/*/builds/*/manifest.json")).parent
    return sum(f.stat().st_size for f in build.rglob("*") if f.is_file())


def stage_seconds(manifest: dict) -> dict[str, float]:
    """Task seconds by stage, summed over the build's parts and regions (from its manifest)."""
    stages: dict[str, float] = {}
    for item in [*manifest["inputs"], *manifest["regions"].values()]:
        for k, v in item["timings"].items():
            stages[k] = stages.get(k, 0.0) + v
    stages["finalize (overview COGs, VRTs)"] = manifest["timings"]["finalize"]
    return stages


def sample(out: Path, tiles: str | None, pixel: float, *extra: str) -> list[Path]:
    """Sample products of MONTH (all France tiles by default; kept if already there), in name order."""
    which = ["--tiles", tiles] if tiles else []
    subprocess.run([str(BIN / "mosaique"), "sample", *which, "--months", MONTH, "--pixel-size", f"{pixel:g}",
                    "--out", str(out), *extra], check=True, stdout=subprocess.DEVNULL)
    return sorted(p for p in out.iterdir() if not p.name.startswith("."))


@dataclass
class Incremental:
    """A France-scale full build and a rebuild after one product changed, same inputs and run."""

    pixel: int
    full: tuple[float, int, float]
    """(wall s, peak RSS, CPU s) of the full build."""
    rebuild: tuple[float, int, float]
    manifest: dict
    """The rebuild's manifest (its timings)."""

    def ratio(self, i: int) -> float:
        """Rebuild / full, in % (0: wall, 2: CPU)."""
        return 100 * self.rebuild[i] / self.full[i]


def france_incremental(work: Path, pixel: int) -> Incremental:
    """Full France build of all 95 tiles at ``pixel`` m (zips), then a rebuild after T31TCJ changed."""
    inputs = sample(work / "inputs", None, pixel, "--zip")
    (changed,) = sample(work / "changed", "T31TCJ", pixel, "--zip", "--seed", "1")
    shutil.rmtree(work / "data", ignore_errors=True)
    full = mosaique_build(inputs, work / "data")
    others = [p for p in inputs if "T31TCJ" not in p.name]
    rebuild = mosaique_build([*others, changed], work / "data", force=False)
    catalog = json.loads((work / "data" / "catalog.json").read_text())
    manifest = json.loads((work / "data" / catalog["months"][MONTH]["path"] / "manifest.json").read_text())
    return Incremental(pixel, full, rebuild, manifest)


def france_regions(grid: OutputGrid) -> set[tuple[int, int]]:
    """Regions of ``grid`` covering the 95 France tiles."""
    france = set()
    for tile in france_tiles().values():
        bounds, _ = part_geometry(tile.bounds, tile.epsg, grid)
        france |= {(r.x, r.y) for r in grid.regions(bounds)}
    return france


def france_model(manifest: dict, workers: int) -> tuple[float, int, float, float]:
    """Extrapolate a 10 m France month from this build's per-task timings.

    Returns (minutes, France regions, mean part seconds, slowest region seconds): every one
    of the 95 products costs the mean measured part, every region of France the slowest
    measured region (the fullest), spread over the LocalCluster's workers.
    """
    parts = [sum(i["timings"].values()) for i in manifest["inputs"]]
    regions = [sum(r["timings"].values()) for r in manifest["regions"].values()]
    grid = OutputGrid(manifest["grid"]["zoom"], manifest["grid"]["region_zoom"])
    france = france_regions(grid)
    mean_part, slowest = sum(parts) / len(parts), max(regions)
    minutes = (FRANCE_TILES * mean_part + len(france) * slowest) / workers / 60
    return minutes, len(france), mean_part, slowest


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("bench/out/build"))
    parser.add_argument("--inputs", type=Path, default=None, help="10 m products [default: WORKDIR/inputs]")
    parser.add_argument("--tiles", default="T31TCJ,T31TDJ")
    parser.add_argument("--lighter-zoom", type=int, default=13, help="the lighter product compared [default: 13]")
    parser.add_argument("--pixels", type=int, default=300, help="source pixels checked per product [default: 300]")
    parser.add_argument("--pixel-size", type=float, default=10, help="of the products [default: 10; more: a smoke run]")
    parser.add_argument("--no-rebuild", action="store_true",
                        help="skip the rebuild after one product changed (and making the changed product)")
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/benchmarks.md as it is")
    parser.add_argument("--france-pixels", default="",
                        help="pixel sizes (m) of France-scale incremental builds, e.g. 200,100 [default: none]")
    args = parser.parse_args()
    tiles = args.tiles.split(",")
    load = [os.getloadavg()[0]]
    products = sample(args.inputs or args.workdir / "inputs", args.tiles, args.pixel_size)

    for p in products:
        warm(p)
    cesbio = cesbio_2018(products, args.workdir / "cesbio", args.pixel_size)
    shutil.rmtree(args.workdir / "cesbio", ignore_errors=True)
    for p in products:
        warm(p)
    oneliner = cog_oneliner(products, args.workdir / "oneliner")
    shutil.rmtree(args.workdir / "oneliner", ignore_errors=True)

    for p in products:
        warm(p)
    data = args.workdir / "data"
    shutil.rmtree(data, ignore_errors=True)
    full = mosaique_build(products, data)
    full_manifest = json.loads(next(data.glob("months/*/builds/*/manifest.json")).read_text())  # the only build
    full_bytes = published_bytes(data)
    for p in products:
        warm(p)
    light_data = args.workdir / "data-lighter"
    shutil.rmtree(light_data, ignore_errors=True)
    light = mosaique_build(products, light_data, zoom=args.lighter_zoom)
    light_manifest = json.loads(next(light_data.glob("months/*/builds/*/manifest.json")).read_text())
    light_bytes = published_bytes(light_data)
    model = france_model(full_manifest, os.cpu_count() or 1)
    builds = {"full": full, "lighter": light}
    print(f"builds (wall s, peak RSS, CPU s): {builds}; cesbio {cesbio}; one-liner {oneliner}", flush=True)

    pixels = source_pixels(products, MONTH, args.pixels)
    fidelity = {"full": check(data, MONTH, pixels), "lighter": check(light_data, MONTH, pixels)}
    shutil.rmtree(light_data, ignore_errors=True)

    print({k: (f.pixels, f.by_point, f.by_tile) for k, f in fidelity.items()}, flush=True)
    builds["one"] = mosaique_build(products[:1], args.workdir / "data-one")
    shutil.rmtree(args.workdir / "data-one", ignore_errors=True)
    if not args.no_rebuild:
        # Incremental: one product republished with new content (another seed), the others unchanged.
        (changed,) = sample(args.workdir / "changed", tiles[-1], args.pixel_size, "--seed", "1")
        warm(changed)
        builds["rebuild"] = mosaique_build([*products[:-1], changed], data, force=False)
    load.append(os.getloadavg()[0])
    france = [france_incremental(args.workdir / f"france{px}", px)
              for px in map(int, filter(None, args.france_pixels.split(",")))]
    body = report(args, tiles, load, cesbio, oneliner, builds,
                  {"full": full_manifest, "lighter": light_manifest}, {"full": full_bytes, "lighter": light_bytes},
                  fidelity, model, france)
    print(body)
    if not args.no_write:
        write_section("Build (10 m)", body)


def _rows(name: str, steps: list[tuple[str, float, int, float]], n: int) -> tuple[list[list[str]], float, float]:
    rows = [[f"{name}: {step}", f"{t:.1f}", f"{c:.1f}", f"{r / 1e9:.2f}"] for step, t, r, c in steps]
    wall, cpu, rss = sum(s[1] for s in steps), sum(s[3] for s in steps), max(s[2] for s in steps)
    rows.append([f"**{name}, total** ({n} tiles)", f"**{wall:.1f}**", f"{cpu:.1f}", f"{rss / 1e9:.2f}"])
    return rows, wall, cpu


def report(args: argparse.Namespace, tiles: list[str], load: list[float], cesbio: list, oneliner: list,
           builds: dict[str, tuple[float, int, float]], manifests: dict[str, dict], sizes: dict[str, int],
           fidelity: dict[str, Fidelity], model: tuple[float, int, float, float], france: list[Incremental]) -> str:
    """The benchmark's section of docs/benchmarks.md."""
    n = len(tiles)
    full, light = manifests["full"]["grid"], manifests["lighter"]["grid"]
    cesbio_rows, cesbio_time, cesbio_cpu = _rows("2018 CESBIO commands", cesbio, n)
    one_rows, one_time, _ = _rows("COG one-liner", oneliner, n)
    wall, rss, cpu = builds["full"]
    rows = [*cesbio_rows, *one_rows]
    for key, what in (("full", f"**Mosaïque build, full** (zoom {full['zoom']}, {n} tiles)"),
                      ("lighter", f"Mosaïque build, `--zoom {light['zoom']}` ({n} tiles)"),
                      ("one", f"Mosaïque build, 1 tile (zoom {full['zoom']})"),
                      ("rebuild", "Mosaïque rebuild, 1 tile changed")):
        if key not in builds:
            continue
        t, r, c = builds[key]
        rows.append([what, f"**{t:.1f}**" if key == "full" else f"{t:.1f}", f"{c:.1f}", f"{r / 1e9:.2f}"])
    stages = {k: stage_seconds(m) for k, m in manifests.items()}
    stage_rows = [[k, f"{stages['full'].get(k, 0):.1f}", f"{stages['lighter'].get(k, 0):.1f}"]
                  for k in stages["full"]]
    compare = []
    for key, grid, size, (t, _, c) in (("full", full, sizes["full"], builds["full"]),
                                       ("lighter", light, sizes["lighter"], builds["lighter"])):
        f = fidelity[key]
        compare.append([f"zoom {grid['zoom']}", grid["resolution"]["label"], f"{t:.1f}", f"{c:.1f}",
                        f"{size / 1e9:.2f}", f"{size / n / 1e9 * FRANCE_TILES:.0f}",
                        f"{f.share(f.by_point):.1f} %", f"{f.share(f.by_tile):.1f} %",
                        f"{f.p50(13):.1f}", f"{f.p50(14):.1f}"])
    body = f"""Command: `.venv/bin/python bench/build_bench.py [--inputs DIR]` (inputs: {n} full-size 10 m sample
products {", ".join(tiles)} of {MONTH}, uncompressed striped GeoTIFFs, page cache warm before each pipeline; peak
RSS = whole process tree, sampled every 50 ms). Load average (1 min) {load[0]:.1f} at the start, {load[1]:.1f} at the
end of the run, on 2 cores shared with other engineers' work: wall times are inflated and move with the load;
CPU time (user + sys) is what the load disturbs least.

{table(rows, ["pipeline / step", "wall s", "CPU s", "peak RSS GB"])}

- Mosaïque's full product (every source pixel, zoom {full['zoom']}) vs the 2018 commands: **{cesbio_time / wall:.2f}x**
  in wall time ({"faster" if cesbio_time >= wall else "slower"}), {cpu / cesbio_cpu:.2f}x their CPU time; vs the COG
  one-liner: **{one_time / wall:.2f}x** (target >= 3x). The 2018 commands make one 8-bit RGB picture in Lambert-93,
  the one-liner one 8-bit web-mercator COG; Mosaïque makes reflectance B2/B3/B4/B8 + FLG + DTS + true colour COGs
  with overviews on a seamless WebMercatorQuad grid.
- Peak RSS: {f"{builds['one'][1] / 1e9:.2f} GB for 1 product, " if "one" in builds else ""}{rss / 1e9:.2f} GB for {n}.
- A {FRANCE_TILES}-tile France month extrapolates to **{model[0]:.0f} min** at zoom {full['zoom']} on this machine
  ({FRANCE_TILES} parts x {model[2]:.1f} s + {model[1]} regions x {model[3]:.1f} s, the slowest region measured,
  over {os.cpu_count()} threads); 2018 commands: {cesbio_time / n * FRANCE_TILES / 60:.0f} min.
{f"- Incremental rebuild after 1 of {n} products changed: {builds['rebuild'][0]:.1f} s." if "rebuild" in builds else ""}

Full product or lighter one, same run, same inputs ({fidelity['full'].pixels} random source pixels away from the
overlap, looked up at their centres through a real server: the reflectance point query, and the pixel of the
reflectance tile of the month's finest zoom; tile times: the stored true-colour route, one keep-alive client,
the tiles holding those pixels):

{table(compare, ["grid", "label", "build wall s", "build CPU s", "published GB", f"France month GB (x 95/{n})",
                 "exact by point", "exact by tile", "z13 tile p50 ms", "z14 tile p50 ms"])}

Where the task time goes (seconds summed over the tasks, as the manifests record them; 2 threads run tasks
at once, so the sum exceeds the wall time):

{table(stage_rows, ["stage", f"zoom {full['zoom']}", f"zoom {light['zoom']}"])}
"""
    if france:
        inc_rows = [[f"{f.pixel} m", f"{f.full[0]:.1f}", f"{f.full[2]:.1f}", f"{f.rebuild[0]:.1f}",
                     f"{f.rebuild[2]:.1f}", f"**{f.ratio(0):.1f} %** wall, {f.ratio(2):.1f} % CPU"] for f in france]
        body += f"""
Incremental at France scale: all {FRANCE_TILES} tiles (zipped sample products, same run), a full build,
then a rebuild after T31TCJ was republished (new content; the other 94 unchanged):

{table(inc_rows, ["pixel", "full wall s", "full CPU s", "rebuild wall s", "rebuild CPU s", "rebuild / full"])}
"""
    return body


if __name__ == "__main__":
    main()
