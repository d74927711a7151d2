"""Parts: one product's R1 layers warped onto the common grid, cached for incremental builds.

A part is a tiled GeoTIFF in EPSG:3857 on the grid's pixels, covering the product's footprint,
with six Int16 bands: B2, B3, B4, B8, FLG, DTS, no data -10000 in all of them (nearest
neighbour, so every mosaic value is a value of a source pixel; GDAL's default approximate
transformer places pixels within 1/8 of a source pixel). Parts are written to a temporary name and renamed when complete.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from osgeo import gdal
from rasterio.crs import CRS
from rasterio.warp import transform_bounds

from mosaic.grid import OutputGrid
from processing.layout import NODATA, Flag

gdal.UseExceptions()

REFLECTANCE_BANDS: tuple[str, ...] = ("B2", "B3", "B4", "B8")
PART_ASSETS: tuple[str, ...] = (*REFLECTANCE_BANDS, "FLG_R1", "DTS_R1")
SRC_NODATA: tuple[int, ...] = (NODATA,) * len(REFLECTANCE_BANDS) + (int(Flag.NODATA), NODATA)
PART_NODATA = NODATA
"""One no-data value for all bands of a part (GeoTIFF stores one): FLG 0 becomes -10000."""
PART_FORMAT = 2
"""Bump when the content of a part changes, so cached parts are rebuilt."""

_CREATION = ["TILED=YES", "BLOCKXSIZE=512", "BLOCKYSIZE=512", "COMPRESS=ZSTD", "ZSTD_LEVEL=1",
             "PREDICTOR=2", "INTERLEAVE=BAND", "BIGTIFF=IF_SAFER"]
_WEB_MERCATOR_WKT = CRS.from_epsg(3857).to_wkt()


@dataclass(frozen=True)
class Part:
    """A product warped onto the grid."""

    tile: str
    path: str
    bounds: tuple[float, float, float, float]
    """EPSG:3857, on grid pixels."""
    centre: tuple[float, float]
    """EPSG:3857 centre of the product footprint (the overlap rule's distance reference)."""

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)


def part_key(checksum: str, grid: OutputGrid) -> str:
    """Cache key of a part: the input's checksum, the grid and the part format."""
    raw = f"{checksum}:{grid.zoom}:{PART_FORMAT}".encode()
    return hashlib.sha256(raw).hexdigest()[:24]


def part_geometry(
    src_bounds: tuple[float, float, float, float], epsg: int, grid: OutputGrid
) -> tuple[tuple[float, float, float, float], tuple[float, float]]:
    """Snapped EPSG:3857 bounds of a product's footprint, and its centre."""
    b = transform_bounds(f"EPSG:{epsg}", "EPSG:3857", *src_bounds, densify_pts=51)
    return grid.snap(b), ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)


def warp_part(
    tile: str,
    assets: dict[str, str],
    epsg: int,
    src_bounds: tuple[float, float, float, float],
    grid: OutputGrid,
    out: Path,
    threads: int = 1,
) -> Part:
    """Warp a product's R1 reflectances, FLG and DTS onto ``grid`` into ``out`` (atomically).

    Each asset is warped straight from its own file into memory, then written as one band of
    the part: reading six striped files through one ``-separate`` VRT is several times slower.
    """
    bounds, centre = part_geometry(src_bounds, epsg, grid)
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
        width = round((bounds[2] - bounds[0]) / grid.res)
        height = round((bounds[3] - bounds[1]) / grid.res)
        try:
            dst = gdal.GetDriverByName("GTiff").Create(
                str(tmp), width, height, len(PART_ASSETS), gdal.GDT_Int16, options=[*_CREATION, f"NUM_THREADS={threads}"]
            )
            dst.SetProjection(_WEB_MERCATOR_WKT)
            dst.SetGeoTransform((bounds[0], grid.res, 0.0, bounds[3], 0.0, -grid.res))
            for index, (asset, src_nodata) in enumerate(zip(PART_ASSETS, SRC_NODATA, strict=True), 1):
                warped = gdal.Warp(
                    "", assets[asset], format="MEM", dstSRS="EPSG:3857", outputBounds=bounds,
                    width=width, height=height, resampleAlg="near", outputType=gdal.GDT_Int16,
                    srcNodata=src_nodata, dstNodata=PART_NODATA, multithread=threads > 1,
                    warpOptions=[f"NUM_THREADS={threads}"], warpMemoryLimit=256 * 1024 * 1024,
                )
                band = dst.GetRasterBand(index)
                band.WriteArray(warped.GetRasterBand(1).ReadAsArray())
                band.SetNoDataValue(PART_NODATA)
                warped = None
            dst.FlushCache()
            dst = None
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
    return Part(tile=tile, path=str(out), bounds=bounds, centre=centre)
