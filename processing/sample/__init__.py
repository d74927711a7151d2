"""Sample Theia L3A products for France: a deterministic synthetic landscape in the real layout.

``generate_products`` writes tiles x months (processes in parallel), ``write_product`` one
product. Values are functions of geographic position, month and seed, never of the tile, so
overlapping tiles agree; only the swath-edge wedges (see ``grid.wedge_for``) differ per tile.
"""

from processing.sample.writer import (
    DEFAULT_MONTHS,
    generate_products,
    product_name,
    resolve_tile,
    write_product,
)

__all__ = ["DEFAULT_MONTHS", "generate_products", "product_name", "resolve_tile", "write_product"]
