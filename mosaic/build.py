"""Build one month: scan inputs, warp parts, composite regions on Dask, publish atomically.

The Dask graph has one task per product (checksum + warp onto the grid, or reuse of the cached
part, then its per-region digests: :mod:`mosaic.digests`) and one task per region (composite +
COGs, or reuse of the previous build's files when its parts, or what it reads of them, did not
change); ``compute`` is called once. :func:`build_month` reads as plan (scan the inputs, make the
tasks), compute, publish (:mod:`mosaic.publish`); its progress goes to observers
(:mod:`mosaic.progress`).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import dask
import morecantile
from dask.callbacks import Callback
from dask.delayed import Delayed, delayed
from osgeo import gdal

from mosaic import manifest as mf
from mosaic.blockindex import BLOCKS_FILE, write_block_index
from mosaic.cog import write_cog
from mosaic.compose import compose_region
from mosaic.digests import part_digests
from mosaic.documents import GridInfo, LayerRecord, Manifest, RegionRecord
from mosaic.faults import BuildFailed, failing_cleanly, task
from mosaic.gdalconfig import configure_gdal
from mosaic.grid import OutputGrid, region_id
from mosaic.layers import LAYERS, TRUECOLOR
from mosaic.malloc import trim_heap
from mosaic.overview import paste_regions, warp_overview
from mosaic.parts import PART_ASSETS, Part, part_geometry, part_key, part_path, warp_part
from mosaic.progress import BarProgress, LogProgress, Observer, Planned, Published, TaskDone, UpToDate, broadcast
from mosaic.publish import overview_name, publish_build
from mosaic.results import PartMade, PartOutcome, PartSkipped, RegionMade, made
from mosaic.store import DataStore, new_build_id
from mosaic.written import close, written
from processing.errors import InvalidProduct, WrongMonth
from processing.identity import checksum, fingerprint
from processing.naming import parse_month
from processing.product import L3AProduct, check_readable, container_path, verify_zip
from processing.scan import ScanResult, scan_products

if TYPE_CHECKING:
    from distributed import LocalCluster

log = logging.getLogger("mosaique.build")
gdal.UseExceptions()

EXIT_OK = 0
EXIT_SKIPPED = 3
"""Exit codes: success, success with bad products skipped (a failure exits 1: app/cli.py)."""


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
    """A progress bar (:class:`mosaic.progress.BarProgress`) instead of a log line per task; None:
    only when stderr is a terminal."""
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
    previous_part: str | None = None
    """Key of the part the published build made of this tile (an earlier version of the product), if any:
    a new part starts from it and warps again only the slabs whose source pixels changed."""


GDAL_CACHE_MB = 256
"""GDAL's block cache in a build process; its default, 5 % of the RAM, let a 10 m build grow to
2 GB per worker."""


@contextmanager
def _task_env() -> Iterator[None]:
    """Bound GDAL's block cache in the process running the task (a Dask worker may be another one), and hand
    the task's freed memory back when it ends: else the next task allocates on top of it (:mod:`mosaic.malloc`)."""
    configure_gdal(GDAL_CACHE_MB)
    try:
        yield
    finally:
        trim_heap()


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


def _reused_part(job: _ProductJob, grid: OutputGrid, parts_dir: str) -> PartMade | None:
    """The result of :func:`make_part` for a product whose part is cached, found without a task."""
    if job.known_checksum is None:
        return None
    key = part_key(job.known_checksum, grid)
    out = part_path(parts_dir, key)
    if not out.exists():
        return None
    bounds, centre = part_geometry(job.bounds, job.epsg, grid)
    part = Part(tile=job.tile, path=str(out), bounds=bounds, centre=centre)
    return PartMade(job.tile, job.known_checksum, key, part, reused=True, timings={"checksum": 0.0, "warp": 0.0})


@task
def make_part(job: _ProductJob, grid: OutputGrid, parts_dir: str) -> PartOutcome:
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
        out = part_path(parts_dir, key)
        reused = out.exists()
        with _task_env():
            previous = part_path(parts_dir, job.previous_part) if job.previous_part else None
            part = warp_part(job.tile, job.assets, job.epsg, job.bounds, grid, out, _spare_threads(), previous)
            t2 = time.perf_counter()
            digests = part_digests(part, grid)
        timings = {"checksum": t1 - t0, "warp": t2 - t1, "digests": time.perf_counter() - t2}
        return PartMade(job.tile, digest, key, part, reused, timings, digests)
    except InvalidProduct as exc:
        return PartSkipped(job.tile, job.name, exc.reason)
    except Exception:
        try:
            check_readable(job.name, job.assets, PART_ASSETS)
        except InvalidProduct as exc:
            return PartSkipped(job.tile, job.name, f"cannot be warped ({exc.reason})")
        raise  # the product reads fine: the fault is the build's own


@task
def make_region(
    region: tuple[int, int, int],
    part_results: list[PartOutcome],
    grid: OutputGrid,
    out_dir: str,
    work_dir: str,
    previous: RegionRecord | None,
    previous_dir: str | None,
) -> RegionMade:
    """Task: composite a region, or link the previous build's files if what it reads of its parts is unchanged.

    The digests of parts found cached without a task, that the previous build did not record, are made here.
    """
    tile = morecantile.Tile(*region)
    good = made(part_results)
    digests = _known_digests(good, region_id(tile), previous)
    for r in good:
        if r.key not in digests:
            digests[r.key] = part_digests(r.part, grid, [tile])[region_id(tile)]
    reused = _reused_region(good, digests, out_dir, previous, previous_dir)
    if reused:
        return reused
    with _task_env():
        result = compose_region(tile, [r.part for r in good], grid, Path(out_dir), Path(work_dir), _spare_threads())
    return RegionMade(result, sorted(r.key for r in good), digests=digests)


def _known_digests(good: list[PartMade], rid: str, previous: RegionRecord | None) -> dict[str, str]:
    """Part key -> digest for region ``rid``: made by the part's task, or recorded by the previous build."""
    known = previous.digests if previous else {}
    digests = {r.key: r.digests.get(rid) or known.get(r.key) for r in good}
    return {k: d for k, d in digests.items() if d}


def _same_inputs(good: list[PartMade], digests: dict[str, str], previous: RegionRecord) -> bool:
    """The region's parts are the previous build's, or read the same there (same digests, tile and geometry
    included); a previous record without every part's digest is compared by keys only."""
    keys = sorted(r.key for r in good)
    if previous.inputs == keys:
        return True
    complete = len(digests) == len(set(keys)) == len(keys) and set(previous.digests) == set(previous.inputs)
    return complete and sorted(digests.values()) == sorted(previous.digests.values())


def _reused_region(
    good: list[PartMade], digests: dict[str, str], out_dir: str, previous: RegionRecord | None,
    previous_dir: str | None,
) -> RegionMade | None:
    """The previous build's region, linked into ``out_dir``, if it reads the same of its parts."""
    out = Path(out_dir)
    if previous and previous_dir and _same_inputs(good, digests, previous) and _link_files(previous, previous_dir, out):
        region = RegionMade.relinked(previous, out, sorted(r.key for r in good), digests)
        if region.files and BLOCKS_FILE not in region.files:  # linked from a build older than block indexes
            region.files[BLOCKS_FILE] = str(write_block_index(region.files[TRUECOLOR.name]))
        return region
    return None


def _link_files(previous: RegionRecord, previous_dir: str, out: Path) -> bool:
    """Hard-link a region's files from the previous build (copy across file systems)."""
    sources = [Path(previous_dir) / "regions" / previous.region / Path(f).name for f in previous.files.values()]
    if not all(s.exists() for s in sources):
        return False
    out.mkdir(parents=True, exist_ok=True)
    for src in sources:
        try:
            os.link(src, out / src.name)
        except OSError:
            shutil.copy2(src, out / src.name)
    return True


@dataclass
class _Inputs:
    """The scanned inputs of a month and what the published build knows of them."""

    scan: ScanResult
    grid: OutputGrid
    pixel: float
    previous: Manifest | None
    """The published build's manifest, when it is on the same grid."""
    previous_dir: Path | None
    prints: dict[Path, str]
    """Product path -> fingerprint of its files, taken before any read."""
    known: dict[str, str]
    """Fingerprint -> checksum, of the products the published build recorded (trusted unread)."""

    @property
    def skipped(self) -> list[InvalidProduct]:
        """Bad products found by the scan (products of other months are not errors)."""
        return [p for p in self.scan.problems if not isinstance(p, WrongMonth)]

    @property
    def other_months(self) -> int:
        return len(self.scan.problems) - len(self.skipped)

    @property
    def grid_info(self) -> GridInfo:
        """The grid as the manifest describes it."""
        return GridInfo.model_validate(self.grid.describe(self.pixel))

    @property
    def label(self) -> str:
        """What the grid keeps of the sources, in words."""
        kept = self.grid_info.kept
        return kept.label if kept else f"zoom {self.grid.zoom}"

    def up_to_date(self) -> bool:
        """The published build was made from exactly these inputs, unchanged."""
        return sorted(self.prints[p.path] for p in self.scan.products) == sorted(self.known)


@dataclass
class _Plan:
    """A build's tasks: one per product and per region, or its result when it is reused without a task."""

    month: str
    build_id: str
    tmp: Path
    jobs: list[_ProductJob]
    parts: dict[str, PartOutcome | Delayed]
    regions: list[RegionMade | Delayed]

    @property
    def tasks(self) -> int:
        return sum(isinstance(t, Delayed) for t in [*self.parts.values(), *self.regions])


def build_month(
    data_dir: str | Path,
    month: str,
    inputs: list[str | Path],
    options: BuildOptions | None = None,
    observers: Sequence[Observer] = (),
) -> BuildReport:
    """Build and publish ``month`` from the L3A products found under ``inputs``: plan, compute, publish.

    ``observers`` receive the build's progress events (:mod:`mosaic.progress`), besides the log
    (and the bar, see ``options.progress``).

    Raises:
        BuildFailed: nothing could be built (no valid product, a full disk, dead workers...);
            nothing was published and the files this build wrote are removed.
        BuildAlreadyRunning: another build of the month is running.
    """
    options = options or BuildOptions()
    parse_month(month)
    store = DataStore(data_dir)
    show = sys.stderr.isatty() if options.progress is None else options.progress
    progress = broadcast([LogProgress(tasks=not show), *([BarProgress()] if show else []), *observers])
    started = time.perf_counter()
    timings: dict[str, float] = {}
    with store.month_lock(month), failing_cleanly(store, month):
        for leftover in store.clean_leftovers(month):
            log.info("removed leftover of an interrupted build: %s", leftover)
        found = _scan(store, month, inputs, options)
        timings["scan"] = time.perf_counter() - started
        if found.previous and not options.force and not options.verify_inputs and found.up_to_date():
            progress(UpToDate(month, found.previous.build_id))
            return BuildReport(month, found.previous.build_id, found.previous_dir, up_to_date=True,
                               other_months=found.other_months, skipped=found.skipped,
                               timings={"total": time.perf_counter() - started})
        plan = _plan(store, month, found)
        timings["reuse"] = time.perf_counter() - started - timings["scan"]
        progress(Planned(month, plan.build_id, len(found.scan.products), found.label, plan.tasks))
        parts, regions, skipped = _run(plan, found, options, progress, timings)
        manifest, overviews = _assemble(store, found, plan, parts, regions, skipped, timings, started)
        final = publish_build(store, plan.tmp, manifest, overviews, options.keep_builds)

    progress(Published(month, plan.build_id, timings["total"]))
    return BuildReport(
        month=month, build_id=plan.build_id, build_dir=final, skipped=skipped, other_months=found.other_months,
        timings=timings,
        reused_parts=sum(1 for r in parts if isinstance(r, PartMade) and r.reused),
        reused_regions=sum(1 for r in regions if r.reused),
        built_regions=sum(1 for r in regions if not r.reused),
    )


def _scan(store: DataStore, month: str, inputs: list[str | Path], options: BuildOptions) -> _Inputs:
    """Scan the inputs; products the published build recorded with unchanged files are trusted unread."""
    entry = store.read_catalog().months.get(month)
    previous_dir = store.build_dir(month, entry.build_id) if entry else None
    previous = Manifest.read(previous_dir)
    verified = {} if options.verify_inputs else {i.fingerprint: i for i in (previous.inputs if previous else [])
                                                  if i.fingerprint}
    prints: dict[Path, str] = {}

    def quick_check(path: Path) -> L3AProduct | None:
        """The product as the published build recorded it, if its files' stats did not change."""
        fp = prints[path.absolute()] = fingerprint(path)  # taken before any read
        record = verified[fp].product if fp in verified else None
        return L3AProduct.from_record(path, record, month=month) if record else None

    scan = scan_products(inputs, month=month, trusted=quick_check)
    if not scan.products:
        reasons = "; ".join(str(p) for p in scan.problems[:5]) or "no product found"
        raise BuildFailed(f"no valid L3A product for {month} in the inputs ({reasons})")
    pixel = min(p.grids["R1"].res for p in scan.products)
    grid = OutputGrid.for_pixel_size(pixel, options.zoom)
    if previous and previous.grid.zoom != grid.zoom:
        previous = None
    return _Inputs(scan, grid, pixel, previous, previous_dir, prints, {fp: i.sha256 for fp, i in verified.items()})


def _plan(store: DataStore, month: str, found: _Inputs) -> _Plan:
    """A new build's folder and tasks; cached parts, and the regions made only of them, are reused without one."""
    build_id = new_build_id()
    tmp = store.tmp_build_dir(month, build_id)
    (tmp / "work").mkdir(parents=True)
    grid = found.grid
    jobs = []
    previous_parts = {i.tile: i.part for i in found.previous.inputs} if found.previous else {}
    for p in found.scan.products:
        fp = found.prints[p.path]
        jobs.append(_ProductJob(p.tile, str(p.name), str(p.path), dict(p.assets), p.epsg, p.bounds, fp,
                                found.known.get(fp), previous_parts.get(p.tile)))
    parts_dir = str(store.parts_dir(month))
    part_tasks: dict[str, PartOutcome | Delayed] = {
        j.tile: _reused_part(j, grid, parts_dir) or delayed(make_part, pure=False)(j, grid, parts_dir) for j in jobs
    }
    by_region: dict[tuple[int, int, int], list[str]] = {}
    for j in jobs:
        bounds, _ = part_geometry(j.bounds, j.epsg, grid)
        for r in grid.regions(bounds):
            by_region.setdefault((r.x, r.y, r.z), []).append(j.tile)
    prev_regions = found.previous.regions if found.previous else {}
    prev_dir = str(found.previous_dir) if found.previous_dir else None
    region_tasks: list[RegionMade | Delayed] = []
    for (x, y, z), tiles in sorted(by_region.items()):
        rid = region_id(morecantile.Tile(x, y, z))
        parts = [part_tasks[t] for t in sorted(tiles)]
        out_dir = str(tmp / "regions" / rid)
        reused = None
        if not any(isinstance(p, Delayed) for p in parts):  # all cached: digests only as the previous build has them
            good, previous = made(parts), prev_regions.get(rid)
            reused = _reused_region(good, _known_digests(good, rid, previous), out_dir, previous, prev_dir)
        region_tasks.append(reused or delayed(make_region, pure=False)(
            (x, y, z), parts, grid, out_dir, str(tmp / "work"), prev_regions.get(rid), prev_dir,
        ))
    return _Plan(month, build_id, tmp, jobs, part_tasks, region_tasks)


def _run(
    plan: _Plan, found: _Inputs, options: BuildOptions, progress: Observer, timings: dict[str, float]
) -> tuple[list[PartOutcome], list[RegionMade], list[InvalidProduct]]:
    """Compute the plan's tasks: the parts, the regions, and every product skipped (scan and tasks)."""
    t = time.perf_counter()
    results = _compute_some([*plan.parts.values(), *plan.regions], options, progress)
    timings["parts_and_regions"] = time.perf_counter() - t
    parts, regions = results[: len(plan.parts)], results[len(plan.parts):]
    skipped = found.skipped
    for r in parts:
        if isinstance(r, PartSkipped):
            skipped.append(InvalidProduct(r.product, r.reason))
            log.warning("skipped %s", skipped[-1])
    if not any(r.files for r in regions):
        reasons = "".join(f"; {s}" for s in skipped[:5])
        raise BuildFailed(f"{plan.month}: no valid pixel in any product{reasons}")
    return parts, regions, skipped


def _assemble(
    store: DataStore, found: _Inputs, plan: _Plan, parts: list[PartOutcome], regions: list[RegionMade],
    skipped: list[InvalidProduct], timings: dict[str, float], started: float,
) -> tuple[Manifest, dict[str, Path]]:
    """The month's layers (VRTs, overview COGs) and the manifest; the uncompressed overview rasters by layer.

    ``timings`` gains the finalizing and the total since ``started``.
    """
    t = time.perf_counter()
    previous_overviews = _previous_overviews(store, found.previous, found.previous_dir, regions)
    layers, overviews = _finalize_layers(plan.tmp, regions, found.grid, previous_overviews, found.label)
    timings["finalize"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started
    manifest = mf.build_manifest(plan.month, plan.build_id, found.grid_info, found.scan.products,
                                 [j.fingerprint for j in plan.jobs], parts, regions, skipped, layers, timings)
    return manifest, overviews


def _compute_some(items: list, options: BuildOptions, progress: Observer) -> list:
    """``items`` with their Delayed ones computed (in one graph; no cluster when there are none)."""
    pending = [i for i, item in enumerate(items) if isinstance(item, Delayed)]
    if not pending:
        return items
    done = _compute([items[i] for i in pending], options, progress)
    results = list(items)
    for i, value in zip(pending, done, strict=True):
        results[i] = value
    return results


class _TaskCounter(Callback):
    """Reports the build's tasks as they finish under Dask's synchronous scheduler."""

    def __init__(self, keys: set, progress: Observer) -> None:
        super().__init__()
        self.keys, self.progress, self.done = keys, progress, 0

    def _posttask(self, key, result, dsk, state, worker_id) -> None:  # noqa: ANN001 - Dask's signature
        if key in self.keys:
            self.done += 1
            self.progress(TaskDone(self.done, len(self.keys)))


def _compute(tasks: list[Delayed], options: BuildOptions, progress: Observer) -> list:
    """Run the graph once: in this process, on a LocalCluster, or on a given scheduler."""
    if options.scheduler == "sync":
        with _TaskCounter({t.key for t in tasks}, progress):
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
        for done, _ in enumerate(as_completed(futures), 1):
            progress(TaskDone(done, len(futures)))
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


def _previous_overviews(
    store: DataStore, previous: Manifest | None, previous_dir: Path | None, region_results: list[RegionMade]
) -> dict[str, tuple[Path, Path]]:
    """The previous build's (overview raster, VRT) by layer, when this build has the same regions."""
    if not previous or not previous_dir:
        return {}
    if sorted(r.region for r in region_results if r.files) != previous.filled_regions():
        return {}
    paths = {name: (store.parts_dir(previous.month) / overview_name(name, previous.build_id),
                    previous_dir / f"{name}.vrt") for name in LAYERS}
    return {name: pair for name, pair in paths.items() if pair[0].exists() and pair[1].exists()}


def _finalize_layers(
    tmp: Path, region_results: list[RegionMade], grid: OutputGrid, previous_overviews: dict[str, tuple[Path, Path]],
    resolution_label: str,
) -> tuple[dict[str, LayerRecord], dict[str, Path]]:
    """Per layer: a VRT of the region COGs and an overview COG of the whole month.

    When the previous build has the same regions, its VRT is copied (same relative sources)
    and its overview raster gets the rebuilt regions pasted in; else the VRT is built and the
    overview raster warped from it. Returns the layers' manifest entries and their uncompressed
    overview rasters (in ``tmp/work``).
    """
    layers = {}
    overviews = {}
    rebuilt = [r.files for r in region_results if r.files and not r.reused]
    (tmp / "overview").mkdir()
    for name, layer in LAYERS.items():
        files = sorted(r.files[name] for r in region_results if r.files)
        vrt_path = tmp / f"{name}.vrt"
        overview_src = overviews[name] = tmp / "work" / f"{name}-overview.tif"
        previous_raster, previous_vrt = previous_overviews.get(name, (None, None))
        if previous_vrt:
            shutil.copyfile(previous_vrt, vrt_path)
        else:  # GDAL writes the sources relative to the VRT: the build folder stays relocatable
            with written(vrt_path):  # closed raising errors and read back: a full disk raises
                close(gdal.BuildVRT(str(vrt_path), [os.path.abspath(f) for f in files]))
        if not previous_raster or not paste_regions(previous_raster, overview_src, [f[name] for f in rebuilt], grid):
            warp_overview(vrt_path, overview_src, grid, layer)
        cog = write_cog(overview_src, tmp / "overview" / f"{name}.tif", layer)
        layers[name] = LayerRecord(vrt=f"{name}.vrt", overview=f"overview/{name}.tif",
                                   overview_maxzoom=grid.region_zoom - 1, bands=list(layer.bands), dtype=layer.dtype,
                                   nodata=layer.nodata, description=f"{layer.description}; {resolution_label}")
        if layer is TRUECOLOR:  # the stored tiles' block index
            layers[name].block_index = Path(write_block_index(cog)).relative_to(tmp).as_posix()
    return layers, overviews
