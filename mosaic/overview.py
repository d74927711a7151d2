"""The month's overview rasters (low zooms): every region at the region zoom's resolution.

A full build warps the month's VRT of region COGs down to the region zoom's resolution, where
each region is one 256 px block: GDAL reads each region COG's own coarsest overview, whose
pixels are exactly the output's (average of one pixel). What holds no data stays so: layers with
a no-data value keep it, the true colour (masked by a mask band, as JPEG has no no-data value)
is warped with an alpha band that becomes the raster's internal mask, so the overview COG's
levels average valid pixels only, as the region COGs' do. A rebuild starts from the previous
build's uncompressed raster instead and pastes only the regions it rebuilt, pixels and mask,
read the same way: the same pixels and masks (``tests/test_mosaic_publish.py`` compares them
with a fresh build), without opening the other regions.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from osgeo import gdal

from mosaic.cog import gdal_config
from mosaic.grid import OutputGrid, whole_pixels
from mosaic.layers import Layer
from mosaic.written import close, flushed, written

gdal.UseExceptions()


def warp_overview(vrt: Path, dst: Path, grid: OutputGrid, layer: Layer) -> None:
    """The overview raster of a layer from the month's VRT of region COGs (tiled, uncompressed)."""
    res = grid.res * 2 ** (grid.zoom - grid.region_zoom)
    resampling = "average" if layer.overview_resampling == "AVERAGE" else "near"
    with written(dst):  # flushed, closed and read back: a full disk raises
        if layer.nodata is not None:  # the no-data value goes from the sources to the output
            close(gdal.Warp(str(dst), str(vrt), format="GTiff", xRes=res, yRes=res, resampleAlg=resampling,
                            creationOptions=["TILED=YES"]))
            return
        # Masked by a mask band: the warper writes validity to an alpha band (of a virtual raster,
        # computed while copied), which the copy turns back into an internal mask.
        warped = gdal.Warp("", str(vrt), format="VRT", xRes=res, yRes=res, resampleAlg=resampling, dstAlpha=True)
        count = warped.RasterCount - 1
        with gdal_config(GDAL_TIFF_INTERNAL_MASK="YES"):
            close(gdal.Translate(str(dst), warped, format="GTiff", bandList=list(range(1, count + 1)),
                                 maskBand=count + 1, creationOptions=["TILED=YES"]))


def paste_regions(previous: Path, dst: Path, cogs: Iterable[str | Path], grid: OutputGrid) -> bool:
    """Copy ``previous`` to ``dst`` with the pixels of some region COGs replaced.

    Returns False (``dst`` unusable) when a region does not fall on whole pixels inside the
    previous raster or lacks the level of the region zoom's resolution.
    """
    shutil.copyfile(previous, dst)
    size = grid.region_size() >> (grid.zoom - grid.region_zoom)
    with written(dst), flushed(gdal.Open(str(dst), gdal.GA_Update)) as ds:  # read back: a full disk raises
        left, res, _, top, _, _ = ds.GetGeoTransform()
        for cog in cogs:
            src = gdal.Open(str(cog))
            s_left, _, _, s_top, _, _ = src.GetGeoTransform()
            where = whole_pixels((s_left - left) / res, (top - s_top) / res)
            if (where is None or min(where) < 0 or where[0] + size > ds.RasterXSize
                    or where[1] + size > ds.RasterYSize or src.RasterCount != ds.RasterCount):
                return False
            col, row = where
            masked = src.GetRasterBand(1).GetMaskFlags() == gdal.GMF_PER_DATASET
            if masked != (ds.GetRasterBand(1).GetMaskFlags() == gdal.GMF_PER_DATASET):
                return False
            for i in range(1, src.RasterCount + 1):
                pixels = _level_pixels(src.GetRasterBand(i), size)
                if pixels is None:
                    return False
                ds.GetRasterBand(i).WriteArray(pixels, col, row)
            if masked:
                mask = _level_pixels(src.GetRasterBand(1).GetMaskBand(), size)
                ds.GetRasterBand(1).GetMaskBand().WriteArray(mask, col, row)
        return True


def _level_pixels(band: gdal.Band, size: int) -> np.ndarray | None:
    """The pixels of a band's (or mask band's) level that is ``size`` px wide, 0 where its mask says no data."""
    levels = [band] + [band.GetOverview(k) for k in range(band.GetOverviewCount())]
    level = next((b for b in levels if (b.XSize, b.YSize) == (size, size)), None)
    if level is None:
        return None
    pixels = level.ReadAsArray()
    if band.GetMaskFlags() == gdal.GMF_PER_DATASET:
        pixels[level.GetMaskBand().ReadAsArray() == 0] = 0
    return pixels
