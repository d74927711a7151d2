"""Sample Theia L3A products for France: a deterministic synthetic landscape in the real layout.

``generate_products`` writes tiles x months (processes in parallel), ``write_product`` one
product. Values are functions of geographic position, month and seed, never of the tile, so
overlapping tiles agree (bit for bit where pixel centres coincide); only the swath-edge wedges
(``grid.wedge_for``: a third of products, west edge, <= 8 km) differ per tile.

What a reader can rely on, beyond ``processing.layout``:
- FRC int16 with nodata tag -10000; DTS int16 with nodata tag -10000; FLG uint8 and WGT int16
  without nodata tag (FLG 0 = no data, WGT 0 there). All no-data masks agree pixel for pixel.
- GeoTIFFs are uncompressed and striped; CRS EPSG:326zz; origin at the ESA corner (ulx, uly).
- R1 is round(109800 / M) pixels wide, R2 round(109800 / 2M): when 109800 / 2M is not whole
  (M = 200: 549 and 274 px) R2 covers up to one R2 pixel less than R1, as rounding dictates.
- Zips hold ``<NAME>/`` (with directory entries) and nothing else; writes are atomic (hidden
  ``.<NAME>*.tmp-<pid>`` staging, then rename), so a listed product is always complete.
"""

from sample.writer import (
    DEFAULT_MONTHS,
    generate_products,
    product_name,
    resolve_tile,
    write_product,
)

__all__ = ["DEFAULT_MONTHS", "generate_products", "product_name", "resolve_tile", "write_product"]
