"""Build seamless monthly France mosaics from L3A products and publish them atomically.

Public API (used by the CLI and the server): :func:`mosaic.build.build_month`,
:class:`mosaic.catalog.Catalog` (the published months) and :mod:`mosaic.layers` (what a build holds).
"""
