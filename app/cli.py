"""The ``mosaique`` command line."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="mosaique")
def main() -> None:
    """Mosaïque: monthly France mosaics from Theia Sentinel-2 Level-3A products."""
