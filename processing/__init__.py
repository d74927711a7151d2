"""Read and validate Theia Sentinel-2 Level-3A (WASP monthly synthesis) products.

The public entry points are :class:`processing.product.L3AProduct` (one product, directory or
zip) and :func:`processing.scan.scan_products` (many products, bad ones reported, not fatal).
"""
