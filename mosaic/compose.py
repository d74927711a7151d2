"""Composite the parts covering one region into that region's layer COGs.

A region is one tile of the grid's ``region_zoom`` (8192 px square); it is processed in bands
of rows so memory stays bounded, whatever the number of products.
"""

from __future__ import annotations

import shutil
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import morecantile
import numpy as np
import rasterio
from osgeo import gdal, gdal_array
from rasterio.crs import CRS
from rasterio.features import geometry_mask
from rasterio.warp import transform_geom
from rasterio.windows import Window

from mosaic.blockindex import BLOCKS_FILE, write_block_index
from mosaic.cog import BLOCK, gdal_config, write_cog
from mosaic.grid import OutputGrid, region_id
from mosaic.layers import DATES, FLAGS, LAYERS, REFLECTANCE, TRUECOLOR, render_truecolor
from mosaic.parts import Part
from mosaic.select import Compositor, flag_counts
from mosaic.written import flushed, written
from processing.layout import NODATA, Flag
from processing.tiles import france_outline

CHUNK_ROWS = 512


@dataclass
class RegionResult:
    """What compositing a region produced."""

    region: str
    files: dict[str, str] = field(default_factory=dict)
    """Layer name -> COG path (empty when no pixel of the region holds data)."""
    france_flags: list[int] = field(default_factory=lambda: [0] * 5)
    """Pixel counts inside the France outline by FLG code 0-4."""
    part_flags: dict[str, list[int]] = field(default_factory=dict)
    """Tile id -> its own pixel counts by FLG code inside its footprint (region share)."""
    part_wins: dict[str, int] = field(default_factory=dict)
    """Tile id -> mosaic pixels it supplied."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent compositing and writing COGs."""


def _create_scratch(path: Path, layer_name: str, size: int, transform: rasterio.Affine) -> gdal.Dataset:
    """An empty scratch GTiff of a layer over a region (tiled, pixel-interleaved, sparse), open for writing."""
    layer = LAYERS[layer_name]
    options = [f"BLOCKXSIZE={BLOCK}", f"BLOCKYSIZE={BLOCK}", "TILED=YES", "INTERLEAVE=PIXEL", "SPARSE_OK=TRUE"]
    ds = gdal.GetDriverByName("GTiff").Create(str(path), size, size, len(layer.bands),
                                              gdal_array.NumericTypeCodeToGDALTypeCode(np.dtype(layer.dtype)), options)
    ds.SetGeoTransform(transform.to_gdal())
    ds.SetProjection(CRS.from_epsg(3857).to_wkt())
    if layer.nodata is not None:
        for index in range(1, len(layer.bands) + 1):
            ds.GetRasterBand(index).SetNoDataValue(layer.nodata)
    else:  # masked by an internal mask band (GDAL_TIFF_INTERNAL_MASK)
        ds.CreateMaskBand(gdal.GMF_PER_DATASET)
    return ds


def compose_region(
    region: morecantile.Tile,
    parts: list[Part],
    grid: OutputGrid,
    out_dir: Path,
    work_dir: Path,
    threads: int = 1,
) -> RegionResult:
    """Composite ``parts`` over ``region`` and write one COG per layer into ``out_dir``."""
    rid = region_id(region)
    result = RegionResult(region=rid)
    size = grid.region_size()
    transform = grid.region_transform(region)
    reg_col, reg_row = grid.offset(transform.c, transform.f)
    parts = sorted(parts, key=lambda p: p.tile)  # the overlap rule's order, not the input's
    france = transform_geom("EPSG:4326", "EPSG:3857", france_outline())
    tmp = work_dir / f"{rid}.{uuid.uuid4().hex}"
    tmp.mkdir(parents=True)
    try:
        with gdal_config(GDAL_NUM_THREADS=str(threads), GDAL_TIFF_INTERNAL_MASK="YES"), ExitStack() as stack:
            outs = _scratch_files(stack, tmp, size, transform)
            sources = [stack.enter_context(rasterio.open(p.path)) for p in parts]
            any_valid = False
            started = time.perf_counter()
            for row0 in range(0, size, CHUNK_ROWS):
                h = min(CHUNK_ROWS, size - row0)
                comp = _composite_chunk(parts, sources, grid, reg_col, reg_row + row0, size, h, result)
                chunk_transform = rasterio.windows.transform(Window(0, row0, size, h), transform)
                in_france = ~geometry_mask([france], (h, size), chunk_transform)
                counts = flag_counts(comp.flags, in_france)
                result.france_flags = [a + int(b) for a, b in zip(result.france_flags, counts, strict=True)]
                if not comp.valid.any():
                    continue
                any_valid = True
                outs[REFLECTANCE.name].WriteArray(comp.bands, 0, row0)
                outs[FLAGS.name].WriteArray(comp.flags[None], 0, row0)
                outs[DATES.name].WriteArray(comp.dates[None], 0, row0)
                c0, c1 = _data_columns(comp.valid)
                rgb, mask = render_truecolor(comp.bands[:, :, c0:c1])
                outs[TRUECOLOR.name].WriteArray(rgb, c0, row0)
                outs[TRUECOLOR.name].GetRasterBand(1).GetMaskBand().WriteArray(mask, c0, row0)
        result.timings["composite"] = time.perf_counter() - started
        started = time.perf_counter()
        if any_valid:
            out_dir.mkdir(parents=True, exist_ok=True)
            for name in LAYERS:
                dst = out_dir / f"{name}.tif"
                write_cog(tmp / f"{name}.tif", dst, LAYERS[name], threads)
                result.files[name] = str(dst)
            result.files[BLOCKS_FILE] = str(write_block_index(result.files[TRUECOLOR.name]))  # stored tiles' index
        result.timings["cogs"] = time.perf_counter() - started
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def _data_columns(valid: np.ndarray) -> tuple[int, int]:
    """The columns of whole blocks holding the valid pixels of a chunk: the true colour is written there only.

    Outside, its pixels and mask are 0, what an absent block of the sparse scratch reads as; the mask
    (no no-data value) would be written as blocks of zeros, and its overviews built over them (:func:`write_cog`
    builds them over the blocks holding data only)."""
    cols = np.flatnonzero(valid.any(axis=0))
    return int(cols[0]) // BLOCK * BLOCK, min(valid.shape[1], -(-(int(cols[-1]) + 1) // BLOCK) * BLOCK)


def _scratch_files(stack: ExitStack, folder: Path, size: int, transform: rasterio.Affine) -> dict[str, gdal.Dataset]:
    """One scratch GTiff per layer, open for writing until ``stack`` closes: then flushed, closed and read back
    (:mod:`mosaic.written`), or closed quietly if the stack unwinds on an error."""
    outs = {}
    for name in LAYERS:
        path = folder / f"{name}.tif"
        stack.enter_context(written(path))
        outs[name] = stack.enter_context(flushed(_create_scratch(path, name, size, transform)))
    return outs


def _composite_chunk(
    parts: list[Part],
    sources: list[rasterio.io.DatasetReader],
    grid: OutputGrid,
    col0: int,
    row0: int,
    width: int,
    height: int,
    result: RegionResult,
) -> Compositor:
    """Composite the rows ``row0``..``row0+height`` (whole-grid coordinates) of a region."""
    comp = Compositor((height, width), len(REFLECTANCE.bands))
    ox, oy = grid.origin
    xs = ox + (col0 + np.arange(width) + 0.5) * grid.res
    ys = oy - (row0 + np.arange(height) + 0.5) * grid.res
    for index, (part, src) in enumerate(zip(parts, sources, strict=True)):
        p_col, p_row = grid.offset(part.bounds[0], part.bounds[3])
        c0, c1 = max(col0, p_col), min(col0 + width, p_col + src.width)
        r0, r1 = max(row0, p_row), min(row0 + height, p_row + src.height)
        if c0 >= c1 or r0 >= r1:
            continue
        data = src.read(window=Window(c0 - p_col, r0 - p_row, c1 - c0, r1 - r0))
        flags = np.where(data[4] == NODATA, Flag.NODATA, data[4]).astype(np.uint8)
        counts = flag_counts(flags)
        prev = result.part_flags.setdefault(part.tile, [0] * 5)
        result.part_flags[part.tile] = [a + int(b) for a, b in zip(prev, counts, strict=True)]
        rows, cols = slice(r0 - row0, r1 - row0), slice(c0 - col0, c1 - col0)
        dy2 = np.square(ys[rows] - part.centre[1], dtype=np.float64).astype(np.float32)
        dx2 = np.square(xs[cols] - part.centre[0], dtype=np.float64).astype(np.float32)
        d2 = dy2[:, None] + dx2[None, :]
        comp.feed_window(data[:4], flags, data[5], d2, index, rows, cols)
    for index, part in enumerate(parts):
        wins = int(np.count_nonzero(comp.source == index))
        if wins:
            result.part_wins[part.tile] = result.part_wins.get(part.tile, 0) + wins
    return comp
