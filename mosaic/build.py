"""Build one month: scan inputs, warp parts, composite regions on Dask, publish atomically.

The Dask graph has one task per product (checksum + warp onto the grid, or reuse of the cached
part) and one task per region (composite + COGs, or reuse of the previous build's files when
its parts did not change); ``compute`` is called once. The month is published by one atomic
replace of the catalog after the finished build folder is in place.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import dask
import morecantile
import rasterio
from dask.delayed import Delayed, delayed
from osgeo import gdal

from mosaic import manifest as mf
from mosaic.cog import write_cog
from mosaic.compose import RegionResult, compose_region
from mosaic.faults import BuildFailed, failing_cleanly, task
from mosaic.grid import OutputGrid, region_id
from mosaic.layers import LAYERS
from mosaic.overview import paste_regions, warp_overview
from mosaic.parts import PART_ASSETS, Part, part_geometry, part_key, warp_part
from mosaic.store import DataStore, new_build_id, remove_strays, write_json_atomic
from processing.errors import InvalidProduct, WrongMonth
from processing.identity import checksum, fingerprint
from processing.naming import parse_month
from processing.product import L3AProduct, check_readable, container_path, verify_zip
from processing.scan import scan_products
from processing.tiles import france_tiles

if TYPE_CHECKING:
    from distributed import LocalCluster

log = logging.getLogger("mosaique.build")
gdal.UseExceptions()

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_SKIPPED = 3
"""Exit codes: success, failure (nothing published), success with bad products skipped."""


@dataclass
class BuildOptions:
    """How to run a build."""

    zoom: int | None = None
    """Output zoom level; default: nearest to the inputs' pixel size."""
    scheduler: str | None = None
    """Dask scheduler address; None starts a LocalCluster; "sync" runs in this process."""
    workers: int | None = None
    """LocalCluster workers (default: the machine's cores)."""
    keep_builds: int = 3
    """Builds kept per month (the published one is always kept)."""
    progress: bool | None = None
    """Progress bar; None: only when stderr is a terminal."""
    force: bool = False
    """Build even when the published build was made from the same inputs."""
    verify_inputs: bool = False
    """Validate and checksum every input again (zip CRCs included), even those whose files'
    size, mtime, inode and device are the ones the published build recorded (the quick check)."""


@dataclass
class BuildReport:
    """What a build did."""

    month: str
    build_id: str
    build_dir: Path
    skipped: list[InvalidProduct] = field(default_factory=list)
    other_months: int = 0
    """Products of other months found in the inputs (ignored, not errors)."""
    reused_parts: int = 0
    reused_regions: int = 0
    built_regions: int = 0
    up_to_date: bool = False
    """Nothing was built: the published build already has exactly these inputs."""
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0, or 3 when bad products were skipped."""
        return EXIT_SKIPPED if self.skipped else EXIT_OK


@dataclass(frozen=True)
class _ProductJob:
    """What a part task needs to know about a product (plain, picklable)."""

    tile: str
    name: str
    path: str
    assets: dict[str, str]
    epsg: int
    bounds: tuple[float, float, float, float]
    fingerprint: str
    known_checksum: str | None


GDAL_CACHE_MB = 256
"""Block cache of each GDAL (osgeo's and rasterio's own) in a task; their default, 5 % of the
RAM each, let a 10 m build grow to 2 GB per worker."""


@contextmanager
def _task_env() -> Iterator[None]:
    """Bound the block caches of both GDALs for one task."""
    gdal.SetCacheMax(GDAL_CACHE_MB * 1024 * 1024)
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB):
        yield


def _spare_threads() -> int:
    """Threads for GDAL in a task: 1, plus the worker's threads idle when it starts.

    A task running alone (a rebuild's one part and region, the last region of a build) then
    uses the other cores for warping and COG compression (same bytes, measured: a lone 10 m
    region 11.2 -> 8.4 s, a part 10.1 -> 7.2 s, for the same CPU time).
    """
    try:
        from distributed import get_worker

        state = get_worker().state
    except (ImportError, ValueError):  # not in a Dask worker (the "sync" scheduler)
        return 1
    return max(1, state.nthreads - state.executing_count + 1)


def _reused_part(job: _ProductJob, grid: OutputGrid, parts_dir: str) -> dict | None:
    """The result of :func:`make_part` for a product whose part is cached, found without a task."""
    if job.known_checksum is None:
        return None
    key = part_key(job.known_checksum, grid)
    out = Path(parts_dir) / f"{key}.tif"
    if not out.exists():
        return None
    bounds, centre = part_geometry(job.bounds, job.epsg, grid)
    part = Part(tile=job.tile, path=str(out), bounds=bounds, centre=centre)
    return {"tile": job.tile, "checksum": job.known_checksum, "key": key, "part": part, "reused": True,
            "timings": {"checksum": 0.0, "warp": 0.0}}


@task
def make_part(job: _ProductJob, grid: OutputGrid, parts_dir: str) -> dict:
    """Task: checksum a product and warp it onto the grid (or find its cached part).

    A product that turns out unreadable is skipped (the result says why); any other failure
    (a full disk...) fails the build: the product's pixels are read again to tell which it is.
    """
    try:
        t0 = time.perf_counter()
        if job.known_checksum is None and job.path.endswith(".zip"):
            verify_zip(Path(job.path), [container_path(job.path, job.assets[a]) for a in PART_ASSETS])
        digest = job.known_checksum or checksum(Path(job.path))
        t1 = time.perf_counter()
        key = part_key(digest, grid)
        out = Path(parts_dir) / f"{key}.tif"
        reused = out.exists()
        with _task_env():
            part = warp_part(job.tile, job.assets, job.epsg, job.bounds, grid, out, _spare_threads())
        timings = {"checksum": t1 - t0, "warp": time.perf_counter() - t1}
        return {"tile": job.tile, "checksum": digest, "key": key, "part": part, "reused": reused, "timings": timings}
    except InvalidProduct as exc:
        return {"tile": job.tile, "product": job.name, "error": exc.reason}
    except Exception:
        try:
            check_readable(job.name, job.assets, PART_ASSETS)
        except InvalidProduct as exc:
            return {"tile": job.tile, "product": job.name, "error": f"cannot be warped ({exc.reason})"}
        raise  # the product reads fine: the fault is the build's own


@task
def make_region(
    region: tuple[int, int, int],
    part_results: list[dict],
    grid: OutputGrid,
    out_dir: str,
    work_dir: str,
    previous: dict | None,
    previous_dir: str | None,
) -> dict:
    """Task: composite a region, or link the previous build's files if its parts are unchanged."""
    tile = morecantile.Tile(*region)
    good = [r for r in part_results if "part" in r]
    keys = sorted(r["key"] for r in good)
    reused = _reused_region(part_results, out_dir, previous, previous_dir)
    if reused:
        return reused
    with _task_env():
        result: RegionResult = compose_region(tile, [r["part"] for r in good], grid, Path(out_dir), Path(work_dir),
                                              _spare_threads())
    return {
        "region": result.region,
        "inputs": keys,
        "files": result.files,
        "france_flags": result.france_flags,
        "part_flags": result.part_flags,
        "part_wins": result.part_wins,
        "timings": result.timings,
        "reused": False,
    }


def _reused_region(part_results: list[dict], out_dir: str, previous: dict | None, previous_dir: str | None) -> dict | None:
    """The previous build's region, linked into ``out_dir``, if it was made from the same parts."""
    keys = sorted(r["key"] for r in part_results if "part" in r)
    out = Path(out_dir)
    if previous and previous_dir and previous.get("inputs") == keys and _link_files(previous, previous_dir, out):
        return {**previous, "files": {k: str(out / Path(v).name) for k, v in previous["files"].items()}, "reused": True}
    return None


def _link_files(previous: dict, previous_dir: str, out: Path) -> bool:
    """Hard-link a region's files from the previous build (copy across file systems)."""
    sources = [Path(previous_dir) / "regions" / previous["region"] / Path(f).name for f in previous["files"].values()]
    if not all(s.exists() for s in sources):
        return False
    out.mkdir(parents=True, exist_ok=True)
    for src in sources:
        try:
            os.link(src, out / src.name)
        except OSError:
            shutil.copy2(src, out / src.name)
    return True


def build_month(
    data_dir: str | Path,
    month: str,
    inputs: list[str | Path],
    options: BuildOptions | None = None,
) -> BuildReport:
    """Build and publish ``month`` from the L3A products found under ``inputs``.

    Raises:
        BuildFailed: nothing could be built (no valid product, a full disk, dead workers...);
            nothing was published and the files this build wrote are removed.
        BuildAlreadyRunning: another build of the month is running.
    """
    options = options or BuildOptions()
    parse_month(month)
    store = DataStore(data_dir)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    with store.month_lock(month), failing_cleanly(store, month):
        for leftover in store.clean_leftovers(month):
            log.info("removed leftover of an interrupted build: %s", leftover)
        catalog_entry = store.read_catalog()["months"].get(month)
        previous_dir = store.build_dir(month, catalog_entry["build_id"]) if catalog_entry else None
        previous = _read_manifest(previous_dir)
        verified = {} if options.verify_inputs else {i["fingerprint"]: i for i in (previous or {}).get("inputs", [])}
        prints: dict[Path, str] = {}

        def quick_check(path: Path) -> L3AProduct | None:
            """The product as the published build recorded it, if its files' stats did not change."""
            fp = prints[path.absolute()] = fingerprint(path)  # taken before any read
            record = verified.get(fp, {}).get("product")
            return L3AProduct.from_record(path, record, month=month) if record else None

        scan = scan_products(inputs, month=month, trusted=quick_check)
        timings["scan"] = time.perf_counter() - started
        if not scan.products:
            reasons = "; ".join(str(p) for p in scan.problems[:5]) or "no product found"
            raise BuildFailed(f"no valid L3A product for {month} in the inputs ({reasons})")
        pixel = min(p.grids["R1"].res for p in scan.products)
        grid = OutputGrid.for_pixel_size(pixel, options.zoom)
        if previous and previous["grid"]["zoom"] != grid.zoom:
            previous = None
        known = {fp: i["sha256"] for fp, i in verified.items()}
        up_to_date = sorted(prints[p.path] for p in scan.products) == sorted(known)
        if previous and not options.force and not options.verify_inputs and up_to_date:
            log.info("%s is up to date (build %s)", month, previous["build_id"])
            return BuildReport(month, previous["build_id"], previous_dir, up_to_date=True,
                               other_months=sum(isinstance(p, WrongMonth) for p in scan.problems),
                               skipped=[p for p in scan.problems if not isinstance(p, WrongMonth)],
                               timings={"total": time.perf_counter() - started})
        build_id = new_build_id()
        tmp = store.tmp_build_dir(month, build_id)
        (tmp / "work").mkdir(parents=True)
        described = grid.describe(pixel)
        log.info("building %s (build %s): %d products, %s", month, build_id, len(scan.products),
                 described["resolution"]["label"])

        jobs = []
        for p in scan.products:
            fp = prints[p.path]
            jobs.append(_ProductJob(p.tile, str(p.name), str(p.path), dict(p.assets), p.epsg, p.bounds, fp,
                                    known.get(fp)))
        parts_dir = str(store.parts_dir(month))
        # Cached parts and the regions made only of them are reused here, without a task.
        part_tasks: dict[str, dict | Delayed] = {
            j.tile: _reused_part(j, grid, parts_dir) or delayed(make_part, pure=False)(j, grid, parts_dir) for j in jobs
        }
        by_region: dict[tuple[int, int, int], list[str]] = {}
        for j in jobs:
            bounds, _ = part_geometry(j.bounds, j.epsg, grid)
            for r in grid.regions(bounds):
                by_region.setdefault((r.x, r.y, r.z), []).append(j.tile)
        prev_regions = (previous or {}).get("regions", {})
        prev_dir = str(previous_dir) if previous_dir else None
        region_tasks: list[dict | Delayed] = []
        t = time.perf_counter()
        for (x, y, z), tiles in sorted(by_region.items()):
            rid = region_id(morecantile.Tile(x, y, z))
            parts = [part_tasks[t] for t in sorted(tiles)]
            out_dir = str(tmp / "regions" / rid)
            reused = None
            if not any(isinstance(p, Delayed) for p in parts):
                reused = _reused_region(parts, out_dir, prev_regions.get(rid), prev_dir)
            region_tasks.append(reused or delayed(make_region, pure=False)(
                (x, y, z), parts, grid, out_dir, str(tmp / "work"), prev_regions.get(rid), prev_dir,
            ))
        timings["reuse"] = time.perf_counter() - t
        t = time.perf_counter()
        results = _compute_some([*part_tasks.values(), *region_tasks], options)
        timings["parts_and_regions"] = time.perf_counter() - t
        part_results, region_results = results[: len(part_tasks)], results[len(part_tasks):]

        skipped = [p for p in scan.problems if not isinstance(p, WrongMonth)]
        other_months = len(scan.problems) - len(skipped)
        for r in part_results:
            if "error" in r:
                skipped.append(InvalidProduct(r["product"], r["error"]))
                log.warning("skipped %s", skipped[-1])
        if not any(r["files"] for r in region_results):
            reasons = "".join(f"; {s}" for s in skipped[:5])
            raise BuildFailed(f"{month}: no valid pixel in any product{reasons}")

        t = time.perf_counter()
        previous_overviews = _previous_overviews(store, previous, previous_dir, region_results)
        layers, overviews = _finalize_layers(tmp, region_results, grid, previous_overviews,
                                             described["resolution"]["label"])
        timings["finalize"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - started
        manifest = _manifest(month, build_id, described, scan.products, jobs, part_results, region_results, skipped,
                             layers, timings)
        write_json_atomic(tmp / "manifest.json", manifest)
        write_json_atomic(tmp / "item.json", mf.stac_item(manifest))
        kept = {name: store.parts_dir(month) / _overview_name(name, build_id) for name in overviews}
        for name, path in overviews.items():  # for the next rebuild; a stray until published
            os.replace(path, kept[name].with_name(f".{kept[name].name}.tmp"))
        shutil.rmtree(tmp / "work", ignore_errors=True)
        remove_strays(tmp)  # files of tasks killed with their worker (and run again by Dask)
        final = store.build_dir(month, build_id)
        os.rename(tmp, final)
        store.publish(month, _catalog_entry(manifest, final.relative_to(store.root)))
        for path in kept.values():
            os.replace(path.with_name(f".{path.name}.tmp"), path)
        remove_strays(store.parts_dir(month))
        for pruned in store.prune(month, options.keep_builds):
            log.info("pruned old build %s of %s", pruned, month)
        _prune_parts(store, month, {p.stem for p in kept.values()})

    report = BuildReport(
        month=month, build_id=build_id, build_dir=final, skipped=skipped, other_months=other_months,
        timings=timings,
        reused_parts=sum(1 for r in part_results if r.get("reused")),
        reused_regions=sum(1 for r in region_results if r.get("reused")),
        built_regions=sum(1 for r in region_results if not r.get("reused")),
    )
    log.info("published %s build %s in %.1f s", month, build_id, timings["total"])
    return report


def _read_manifest(build_dir: Path | None) -> dict | None:
    """A build's manifest, or None."""
    if build_dir is None:
        return None
    try:
        return json.loads((build_dir / "manifest.json").read_text())
    except (OSError, ValueError):
        return None


def _compute_some(items: list, options: BuildOptions) -> list:
    """``items`` with their Delayed ones computed (in one graph; no cluster when there are none)."""
    pending = [i for i, item in enumerate(items) if isinstance(item, Delayed)]
    if not pending:
        return items
    done = _compute([items[i] for i in pending], options)
    results = list(items)
    for i, value in zip(pending, done, strict=True):
        results[i] = value
    return results


def _compute(tasks: list[Delayed], options: BuildOptions) -> list:
    """Run the graph once: in this process, on a LocalCluster, or on a given scheduler."""
    show = sys.stderr.isatty() if options.progress is None else options.progress
    if options.scheduler == "sync":
        return list(dask.compute(*tasks, scheduler="synchronous"))
    from distributed import Client, as_completed

    if options.scheduler:
        client = Client(options.scheduler)
        cluster = None
    else:
        cluster = _local_cluster(options.workers or os.cpu_count() or 1)
        client = Client(cluster)
    try:
        futures = client.compute(tasks)
        bar = None
        if show:
            from tqdm import tqdm

            bar = tqdm(total=len(futures), desc="build", unit="task", file=sys.stderr)
        for done, _ in enumerate(as_completed(futures), 1):
            if bar:
                bar.update(1)
            else:
                log.info("progress %d/%d tasks", done, len(futures))
        if bar:
            bar.close()
        return client.gather(futures)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _local_cluster(threads: int) -> LocalCluster:
    """A LocalCluster of one in-process worker with ``threads`` threads.

    The heavy work (GDAL warps, reads, compression, overviews; numpy) releases the GIL, so
    threads use the cores as well as processes do, without starting worker processes (seconds,
    a fixed cost that weighed on small rebuilds), pickling results, or the worker processes'
    ``MALLOC_TRIM_THRESHOLD_`` that made their numpy allocations page-fault (measured: the same
    tasks took ~1.7x the CPU time in worker processes).
    """
    from distributed import LocalCluster

    return LocalCluster(n_workers=1, threads_per_worker=threads, processes=False, dashboard_address=None)


def _overview_name(layer: str, build_id: str) -> str:
    """File name, in the month's parts folder, of a build's uncompressed overview raster of a layer."""
    return f"overview-{layer}-{build_id}.tif"


def _previous_overviews(
    store: DataStore, previous: dict | None, previous_dir: Path | None, region_results: list[dict]
) -> dict[str, tuple[Path, Path]]:
    """The previous build's (overview raster, VRT) by layer, when this build has the same regions."""
    if not previous or not previous_dir:
        return {}
    regions = sorted(r["region"] for r in region_results if r["files"])
    if regions != sorted(rid for rid, r in previous["regions"].items() if r["files"]):
        return {}
    paths = {name: (store.parts_dir(previous["month"]) / _overview_name(name, previous["build_id"]),
                    previous_dir / f"{name}.vrt") for name in LAYERS}
    return {name: pair for name, pair in paths.items() if pair[0].exists() and pair[1].exists()}


def _finalize_layers(
    tmp: Path, region_results: list[dict], grid: OutputGrid, previous_overviews: dict[str, tuple[Path, Path]],
    resolution_label: str,
) -> tuple[dict, dict[str, Path]]:
    """Per layer: a VRT of the region COGs and an overview COG of the whole month.

    When the previous build has the same regions, its VRT is copied (same relative sources)
    and its overview raster gets the rebuilt regions pasted in; else the VRT is built and the
    overview raster warped from it. Returns the layers' manifest entries and their uncompressed
    overview rasters (in ``tmp/work``).
    """
    layers = {}
    overviews = {}
    rebuilt = [r["files"] for r in region_results if r["files"] and not r.get("reused")]
    (tmp / "overview").mkdir()
    for name, layer in LAYERS.items():
        files = sorted(r["files"][name] for r in region_results if r["files"])
        rel = [os.path.relpath(f, tmp) for f in files]
        vrt_path = tmp / f"{name}.vrt"
        overview_src = overviews[name] = tmp / "work" / f"{name}-overview.tif"
        previous_raster, previous_vrt = previous_overviews.get(name, (None, None))
        if previous_vrt:
            shutil.copyfile(previous_vrt, vrt_path)
        else:
            cwd = os.getcwd()
            os.chdir(tmp)  # relative source paths keep the build folder relocatable
            try:
                gdal.BuildVRT(vrt_path.name, rel).FlushCache()
            finally:
                os.chdir(cwd)
        if not previous_raster or not paste_regions(previous_raster, overview_src, [f[name] for f in rebuilt], grid):
            warp_overview(vrt_path, overview_src, grid, layer)
        write_cog(overview_src, tmp / "overview" / f"{name}.tif", layer)
        layers[name] = {
            "vrt": f"{name}.vrt",
            "overview": f"overview/{name}.tif",
            "overview_maxzoom": grid.region_zoom - 1,
            "bands": list(layer.bands),
            "dtype": layer.dtype,
            "nodata": layer.nodata,
            "description": f"{layer.description}; {resolution_label}",
        }
    return layers, overviews


def _manifest(
    month: str,
    build_id: str,
    grid: dict,
    products: list[L3AProduct],
    jobs: list[_ProductJob],
    part_results: list[dict],
    region_results: list[dict],
    skipped: list[InvalidProduct],
    layers: dict,
    timings: dict[str, float],
) -> dict:
    """The build's manifest: inputs, skipped products, coverage, layers, regions, timings."""
    part_flags: dict[str, list[int]] = {}
    wins: dict[str, int] = {}
    france = [0] * 5
    for r in region_results:
        france = [a + b for a, b in zip(france, r["france_flags"], strict=True)]
        for tile, counts in r["part_flags"].items():
            part_flags[tile] = [a + b for a, b in zip(part_flags.get(tile, [0] * 5), counts, strict=True)]
        for tile, n in r["part_wins"].items():
            wins[tile] = wins.get(tile, 0) + n
    by_tile = {r["tile"]: r for r in part_results}
    inputs = []
    left = bottom = float("inf")
    right = top = float("-inf")
    for product, job in zip(products, jobs, strict=True):
        res = by_tile[product.tile]
        if "part" not in res:
            continue
        part: Part = res["part"]
        left, bottom = min(left, part.bounds[0]), min(bottom, part.bounds[1])
        right, top = max(right, part.bounds[2]), max(top, part.bounds[3])
        inputs.append({
            "name": str(product.name), "tile": product.tile, "path": str(product.path),
            "size": product.size_bytes(), "sha256": res["checksum"], "fingerprint": job.fingerprint,
            "product": product.to_record(),
            "version": "{}.{}".format(*product.name.version),
            "synthesis_date": product.name.synthesis.date().isoformat(),
            "part": res["key"], "coverage": mf.percentages(part_flags.get(product.tile, [0] * 5)),
            "mosaic_pixels": wins.get(product.tile, 0), "warnings": product.warnings,
            "timings": {k: round(v, 3) for k, v in res.get("timings", {}).items()},
        })
    present = {i["tile"] for i in inputs}
    return {
        "build_id": build_id,
        "month": month,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "software": mf.software(),
        "grid": grid,
        "bounds": mf.lonlat_bounds((left, bottom, right, top)),
        "bounds_3857": [left, bottom, right, top],
        "coverage": mf.percentages(france),
        "coverage_scope": "pixels inside the France outline (Natural Earth 1:110m)",
        "missing_tiles": sorted(set(france_tiles()) - present),
        "inputs": inputs,
        "skipped": [{"product": s.product, "reason": s.reason, "kind": type(s).__name__} for s in skipped],
        "layers": layers,
        "regions": {r["region"]: {k: v for k, v in r.items() if k != "reused"} | {
            "files": {k: os.path.basename(v) for k, v in r["files"].items()}} for r in region_results},
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }


def _catalog_entry(manifest: dict, rel_dir: Path) -> dict:
    """The catalog's summary of a published build."""
    return {
        "build_id": manifest["build_id"],
        "path": rel_dir.as_posix(),
        "published": datetime.now(UTC).isoformat(timespec="seconds"),
        "bounds": manifest["bounds"],
        "zoom": manifest["grid"]["zoom"],
        "region_zoom": manifest["grid"]["region_zoom"],
        "resolution": manifest["grid"]["resolution"],
        "coverage": manifest["coverage"],
        "products": len(manifest["inputs"]),
        "missing_tiles": manifest["missing_tiles"],
    }


def _prune_parts(store: DataStore, month: str, keep: set[str]) -> None:
    """Delete cached parts no kept build uses, and overview rasters (names) not in ``keep``."""
    used = set(keep)
    for build in store.builds_dir(month).iterdir():
        m = _read_manifest(build) if not build.name.startswith(".") else None
        used |= {i["part"] for i in (m or {}).get("inputs", [])}
    for part in store.parts_dir(month).glob("*.tif"):
        if part.stem not in used:
            part.unlink(missing_ok=True)
