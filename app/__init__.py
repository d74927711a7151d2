"""The Mosaïque application layer: the ``mosaique`` command line (and the tile server)."""
