"""Sample Theia L3A products for France: a deterministic synthetic landscape in the real layout.

``generate_products`` writes tiles x months (processes in parallel), ``write_product`` one
product, ``render_tile`` returns what a product holds as arrays, with the ground truth (land
cover, elevation) besides. Values are functions of geographic position, month and seed, never of the tile, so
overlapping tiles agree (bit for bit where pixel centres coincide); only the swath-edge wedges
(``grid.wedge_for``: a third of products, west edge, <= 8 km) differ per tile.

What a reader can rely on, beyond ``processing.layout``:
- FRC int16 with nodata tag -10000; DTS int16 with nodata tag -10000; FLG uint8 and WGT int16
  without nodata tag (FLG 0 = no data, WGT 0 there). All no-data masks agree pixel for pixel.
- GeoTIFFs are uncompressed and striped; CRS EPSG:326zz; origin at the ESA corner (ulx, uly).
- R1 is round(109800 / M) pixels wide, R2 round(109800 / 2M): when 109800 / 2M is not whole
  (M = 200: 549 and 274 px) R2 covers up to one R2 pixel less than R1, as rounding dictates.
- Any month can be made, with its season (``tests/test_sample_seasons.py`` measures each):
  snow above a snow line between ~1050 m (late February) and ~3250 m (late July) in the Alps,
  Pyrenees and Corsica and on the highest summits of the Jura, Vosges and Massif Central (FLG
  snow, bright in the visible and dark in the SWIR); crops on their calendars (winter wheat and
  rapeseed green in April-May and harvested in July, maize and sunflower green in summer, grass
  greenest in May); broadleaf forest bare from November to March, evergreen forest (mountains
  above ~1000 m, the Landes, the Mediterranean south, Corsica) green all year; all-month cloud
  on ~4% of the ground in July, ~15-20% in winter. The ground itself (``Scene.cover``: water,
  towns, forests, fields, alpine; elevation) is the same in every month.
- Zips hold ``<NAME>/`` (with directory entries) and nothing else; writes are atomic (hidden
  ``.<NAME>*.tmp-<pid>`` staging, then rename), so a listed product is always complete.
"""

from sample.writer import (
    DEFAULT_MONTHS,
    generate_products,
    product_name,
    render_tile,
    resolve_tile,
    write_product,
)

__all__ = ["DEFAULT_MONTHS", "generate_products", "product_name", "render_tile", "resolve_tile",
           "write_product"]
