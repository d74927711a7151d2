"""What the server's memory is made of, besides glibc's heap (:mod:`mosaic.malloc`).

What the heap holds is exported (:func:`mosaic.malloc.malloc_heap`, /metrics): freed memory stays in
the RSS up to the heap's high-water mark, which GDAL's block cache sets once it has been full.
"""

from __future__ import annotations

from osgeo import gdal


def block_cache_used() -> int:
    """Bytes in GDAL's raster block cache (one GDAL library per process: osgeo and rasterio share it)."""
    return gdal.GetCacheUsed()
