"""The one place that sets GDAL's process-wide settings: block cache and configuration options.

osgeo and rasterio are both built against the system GDAL (scripts/setup.sh, the Dockerfile), so
a process holds one libgdal: one block cache, one set of configuration options, one cache of
remote reads. Settings that belong to one operation are given to that operation instead
(``gdal.Warp``/``Translate`` options, ``rasterio.Env`` or :func:`mosaic.cog.gdal_config` around
it).
"""

from __future__ import annotations

import logging
from functools import lru_cache

import rasterio.env
from osgeo import gdal

log = logging.getLogger("mosaique.gdal")


def configure_gdal(cache_mb: int, options: dict[str, str] | None = None) -> None:
    """Set the block cache (MB) and global configuration options of this process's GDAL."""
    if not shares_gdal():
        log.warning("rasterio uses a GDAL of its own (%s, osgeo %s): two block caches and configurations; "
                    "build rasterio against the system GDAL (scripts/setup.sh)",
                    rasterio.__gdal_version__, gdal.__version__)
    gdal.SetCacheMax(cache_mb * 2**20)
    for key, value in (options or {}).items():
        gdal.SetConfigOption(key, value)


@lru_cache(maxsize=1)
def shares_gdal() -> bool:
    """Whether rasterio and osgeo use the same libgdal (a setting made through one shows in the other)."""
    key, probe = "MOSAIQUE_GDAL_PROBE", "osgeo"
    gdal.SetConfigOption(key, probe)
    try:
        return rasterio.env.get_gdal_config(key, normalize=False) == probe
    finally:
        gdal.SetConfigOption(key, None)
