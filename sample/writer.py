"""Write sample L3A products (one tile, one month each) in the real layout, atomically."""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import shutil
import warnings
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import ExitStack
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import psutil
import rasterio
from affine import Affine
from rasterio.errors import NotGeoreferencedWarning
from rasterio.features import rasterize
from rasterio.windows import Window

from processing.layout import (
    FRC_DTYPE,
    MASK_DTYPES,
    MASK_KINDS,
    NODATA,
    QUICKLOOK_SIZE,
    QUICKLOOK_STRETCH,
    Flag,
    Group,
    band_file,
    group_bands,
    mask_file,
    mtd_file,
    quicklook_file,
)
from processing.naming import ProductName, parse_month
from processing.tiles import TILE_SIZE_M, S2Tile, france_tiles
from sample.geography import surface_shapes
from sample.grid import Grid, Wedge, lonlat, tile_grids, wedge_for
from sample.landscape import Scene, nodata_scene, render
from sample.mtd import build_mtd, write_mtd
from sample.noise import key

log = logging.getLogger(__name__)

PLATFORM = "SENTINEL2X"
BLOCK_PIXELS = 1 << 20  # ~1 Mpx per block: ~300 MB of temporaries at most, whatever the size
DEFAULT_MONTHS = ("2018-07", "2018-08")
# The nodata tag of each mask: DTS uses -10000 like FRC; FLG 0 and WGT 0 need no tag.
MASK_NODATA: dict[str, int | None] = {"FLG": None, "DTS": NODATA, "WGT": None}
OnProduct = Callable[[Path, bool], None]


def product_name(tile: str, month: date, version: tuple[int, int] = (1, 1)) -> ProductName:
    """Name of the sample product of a tile and month: day 12-18 and C/D vary per tile."""
    day = 12 + key("synthesis-day", tile, month.year, month.month) % 7
    return ProductName(
        platform=PLATFORM,
        synthesis=datetime(month.year, month.month, day),
        level="L3A",
        tile=tile,
        variant="CD"[key("variant", tile) % 2],
        version=version,
    )


def resolve_tile(tile_id: str) -> S2Tile:
    """The France tile of an id (``T31TCJ`` or ``31TCJ``); ValueError naming unknown ids."""
    tid = tile_id.strip().upper()
    tid = tid if tid.startswith("T") else f"T{tid}"
    tiles = france_tiles()
    if tid not in tiles:
        raise ValueError(f"unknown tile {tile_id!r}: not one of the {len(tiles)} France tiles")
    return tiles[tid]


def write_product(
    out: Path,
    tile: str,
    month: str,
    pixel_size: float = 200.0,
    as_zip: bool = False,
    seed: int = 0,
    version: tuple[int, int] = (1, 1),
) -> tuple[Path, bool]:
    """Write one product into ``out`` unless it is there; return (path, whether written)."""
    s2 = resolve_tile(tile)
    first = parse_month(month)
    _check_pixel_size(pixel_size)
    name = product_name(s2.tile, first, version)
    stem = str(name)
    final = Path(out) / (f"{stem}.zip" if as_zip else stem)
    if final.exists():
        return final, False
    _remove_stale(final.parent, stem)
    pid = os.getpid()
    staging = final.parent / f".{stem}.tmp-{pid}"
    staged_zip = final.parent / f".{stem}.zip.tmp-{pid}"
    try:
        (staging / "MASKS").mkdir(parents=True)
        _write_content(staging, name, s2, first, pixel_size, seed)
        if as_zip:
            _zip_product(staging, stem, staged_zip, name.synthesis + _production_delay(name))
            os.replace(staged_zip, final)
        else:
            try:
                os.rename(staging, final)
            except OSError:
                if final.exists():  # another writer finished it first
                    return final, False
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        staged_zip.unlink(missing_ok=True)
    return final, True


def generate_products(
    out: Path,
    tiles: Sequence[str] | None = None,
    months: Sequence[str] = DEFAULT_MONTHS,
    pixel_size: float = 200.0,
    as_zip: bool = False,
    seed: int = 0,
    workers: int | None = None,
    version: tuple[int, int] = (1, 1),
    on_product: OnProduct | None = None,
) -> list[Path]:
    """Write the products of ``tiles`` (default: all France) x ``months``; skip existing ones.

    Returns every product's path (written or already there), tile-major within each month.
    ``on_product(path, written)`` is called once per product as it completes.
    """
    ids = [resolve_tile(t).tile for t in (tiles or sorted(france_tiles()))]
    firsts = [parse_month(m) for m in months]
    _check_pixel_size(pixel_size)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(t, f"{m:%Y-%m}") for m in firsts for t in ids]
    paths, todo = [], []
    for t, m in jobs:
        stem = str(product_name(t, parse_month(m), version))
        path = out / (f"{stem}.zip" if as_zip else stem)
        paths.append(path)
        if path.exists():
            if on_product:
                on_product(path, False)
        else:
            todo.append((t, m))
    args = dict(pixel_size=pixel_size, as_zip=as_zip, seed=seed, version=version)
    workers = min(workers or os.cpu_count() or 1, len(todo))
    if workers <= 1:
        for t, m in todo:
            path, written = write_product(out, t, m, **args)
            if on_product:
                on_product(path, written)
    else:
        # spawn, not fork: the parent may hold GDAL state or threads (dask) a fork would copy.
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_tune_malloc) as pool:
            futures = [pool.submit(write_product, out, t, m, **args) for t, m in todo]
            try:
                for fut in as_completed(futures):
                    path, written = fut.result()
                    if on_product:
                        on_product(path, written)
            except BaseException:  # a failure or Ctrl-C: do not start the remaining products
                for fut in futures:
                    fut.cancel()
                raise
    log.info("sample: %d products written, %d already there, in %s",
             len(todo), len(jobs) - len(todo), out)
    return paths


def _tune_malloc() -> None:
    """Keep freed memory in worker processes instead of returning it to the system.

    glibc serves each large numpy temporary with a fresh mmap, page-faulted on every use: here
    that costs ~12% of the run time. Only our own workers are tuned; elsewhere this is a no-op.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 1 << 28)  # M_MMAP_THRESHOLD: 256 MB
        libc.mallopt(-1, 1 << 29)  # M_TRIM_THRESHOLD: 512 MB
    except (OSError, AttributeError):
        pass


def _remove_stale(out: Path, stem: str) -> None:
    """Remove the staging files of this product left by writers that died (kill -9)."""
    for path in out.glob(f".{stem}*.tmp-*"):
        pid = path.name.rpartition("-")[2]
        if not pid.isdigit() or psutil.pid_exists(int(pid)):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)




def _check_pixel_size(pixel_size: float) -> None:
    if not 0 < pixel_size <= TILE_SIZE_M / 4:
        raise ValueError(f"pixel size must be in (0, {TILE_SIZE_M / 4:g}] m, got {pixel_size}")


def _production_delay(name: ProductName) -> timedelta:
    """Products were made about a month after their synthesis date."""
    h = key("production", str(name))
    return timedelta(days=28 + h % 8, seconds=(h >> 3) % 86400, milliseconds=(h >> 20) % 1000)


def _write_content(
    root: Path, name: ProductName, tile: S2Tile, month: date, pixel_size: float, seed: int
) -> None:
    """All rasters, the quicklook and the metadata of one product, into ``root``."""
    stem = str(name)
    grids = tile_grids(tile, pixel_size)
    wedge = wedge_for(tile.tile, month, seed)
    counts = {g: _write_group(root, stem, grid, g, month, seed, wedge) for g, grid in grids.items()}
    _write_quicklook(root, stem)
    flags = counts["R1"]
    valid = max(1, int(flags.sum() - flags[Flag.NODATA]))
    tree = build_mtd(
        name,
        grids,
        production=name.synthesis + _production_delay(name),
        cloud_percent=round(100 * flags[Flag.CLOUD] / valid),
        snow_percent=round(100 * flags[Flag.SNOW] / valid),
    )
    write_mtd(root / mtd_file(stem), tree)


def _profile(grid: Grid, dtype: str, nodata: int | None) -> dict:
    """Single-band GeoTIFF, GDAL defaults: uncompressed, striped (as WASP writes them)."""
    return dict(driver="GTiff", width=grid.size, height=grid.size, count=1, dtype=dtype,
                crs=f"EPSG:{grid.epsg}", transform=grid.transform, nodata=nodata)


def _write_group(
    root: Path, stem: str, grid: Grid, group: Group, month: date, seed: int, wedge: Wedge | None
) -> np.ndarray:
    """Render and write the bands and masks of one group, block by block; return FLG counts."""
    bands = group_bands(group)
    counts = np.zeros(len(Flag), np.int64)
    shapes = surface_shapes(grid.epsg, seed)
    with ExitStack() as stack:
        def create(rel: str, dtype: str, nodata: int | None) -> rasterio.io.DatasetWriter:
            profile = _profile(grid, dtype, nodata)
            return stack.enter_context(rasterio.open(root / rel, "w", **profile))

        frc = {b: create(band_file(stem, b), FRC_DTYPE, NODATA) for b in bands}
        masks = {
            k: create(mask_file(stem, k, group), MASK_DTYPES[k], MASK_NODATA[k]) for k in MASK_KINDS
        }
        for r0, r1 in grid.row_blocks(BLOCK_PIXELS):
            scene = _render_rows(grid, shapes, r0, r1, month, seed, bands, wedge)
            window = Window(0, r0, grid.size, r1 - r0)
            for b, dst in frc.items():
                dst.write(scene.frc[b], 1, window=window)
            for k, arr in (("FLG", scene.flag), ("DTS", scene.dts), ("WGT", scene.wgt)):
                masks[k].write(arr, 1, window=window)
            counts += np.bincount(scene.flag.ravel(), minlength=len(Flag))
    return counts


def _render_rows(
    grid: Grid, shapes: tuple, r0: int, r1: int, month: date, seed: int, bands: tuple[str, ...],
    wedge: Wedge | None,
) -> Scene:
    """The scene of rows r0..r1-1 of a product grid, wedge included."""
    xs, ys = grid.xs(), grid.ys(r0, r1)
    lon, lat = lonlat(grid.epsg, xs, ys)
    surface = rasterize(shapes, out_shape=lon.shape, fill=0, dtype="uint8",
                        transform=grid.transform @ Affine.translation(0, r0))
    scene = render(lon, lat, surface, month, seed, bands)
    if wedge is not None:
        nodata_scene(scene, wedge.mask(grid, xs, ys))
    return scene


def render_tile(
    tile: str, month: str, pixel_size: float = 200.0, seed: int = 0, group: Group = "R1"
) -> Scene:
    """What ``write_product`` writes for one group of a tile, as arrays, with the ground truth
    the files do not hold (``Scene.cover``, ``Scene.elevation``); in one block, so for small
    grids (tests, checks)."""
    s2 = resolve_tile(tile)
    first = parse_month(month)
    _check_pixel_size(pixel_size)
    grid = tile_grids(s2, pixel_size)[group]
    wedge = wedge_for(s2.tile, first, seed)
    return _render_rows(grid, surface_shapes(grid.epsg, seed), 0, grid.size, first, seed,
                        group_bands(group), wedge)


def _write_quicklook(root: Path, stem: str) -> None:
    """1000 x 1000 RGB JPEG of B4/B3/B2 stretched 0-3000 -> 0-255, read back decimated."""
    lo, hi = QUICKLOOK_STRETCH
    # A lookup table over all int16 values: the stretch, with no data (and below lo) black.
    dn = np.arange(-(2**15), 2**15, dtype=np.float64)
    lut = np.clip(np.rint((dn - lo) * (255.0 / (hi - lo))), 0, 255).astype(np.uint8)
    lut[NODATA + 2**15] = 0
    rgb = np.zeros((3, QUICKLOOK_SIZE, QUICKLOOK_SIZE), np.uint8)
    for i, band in enumerate(("B4", "B3", "B2")):
        with rasterio.open(root / band_file(stem, band)) as src:
            data = src.read(1, out_shape=(QUICKLOOK_SIZE, QUICKLOOK_SIZE))
        rgb[i] = lut[data.astype(np.int32) + 2**15]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(
            root / quicklook_file(stem), "w", driver="JPEG", width=QUICKLOOK_SIZE,
            height=QUICKLOOK_SIZE, count=3, dtype="uint8", QUALITY=85,
        ) as dst:
            dst.write(rgb)


def _zip_product(root: Path, stem: str, dest: Path, when: datetime) -> None:
    """Zip ``root`` as ``<stem>/...`` with fixed timestamps, so re-runs give identical zips."""
    stamp = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    entries = sorted(p for p in root.rglob("*"))
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for path in [root, *entries]:
            rel = path.relative_to(root).as_posix()
            arcname = f"{stem}/{rel}" if rel != "." else stem
            if path.is_dir():
                info = zipfile.ZipInfo(f"{arcname}/", stamp)
                info.external_attr = (0o40755 << 16) | 0x10
                zf.writestr(info, b"")
                continue
            info = zipfile.ZipInfo(arcname, stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.file_size = path.stat().st_size
            with path.open("rb") as src, zf.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
