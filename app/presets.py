"""Presets: named ways to render a month, as a layer plus TiTiler rendering parameters.

A preset is not a separate tiler: it is the layer's tile URL with fixed query parameters, so
every preset is served by the same factory and cached like any tile.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import urlencode

from processing.layout import Flag

VALIDITY_COLORS = {
    int(Flag.CLOUD): (255, 255, 255, 220),
    int(Flag.SNOW): (0, 230, 255, 200),
    int(Flag.WATER): (20, 60, 255, 170),
    int(Flag.LAND): (0, 0, 0, 0),
}


@dataclass(frozen=True)
class Preset:
    """A rendering of one layer."""

    name: str
    title: str
    layer: str
    params: tuple[tuple[str, str], ...] = field(default=())
    description: str = ""
    extension: str = ".png"
    """Of the advertised tile URLs: ``.png`` (one band + colormap: a paletted PNG, cheap), or none (JPEG where
    every pixel is valid, PNG with transparency elsewhere: RGB PNGs cost several times a JPEG)."""

    def query(self) -> str:
        """The preset's query string (URL-encoded)."""
        return urlencode(self.params)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("truecolor", "True colour", "truecolor",
               description="B4/B3/B2, reflectance 0-0.2 stretched to 0-255 for every tile and month.", extension=""),
        Preset("falsecolor", "False-colour infrared", "reflectance",
               (("bidx", "4"), ("bidx", "3"), ("bidx", "2"),
                ("rescale", "0,5000"), ("rescale", "0,2500"), ("rescale", "0,2500")),
               "B8/B4/B3: vegetation red.", extension=""),
        Preset("ndvi", "NDVI", "reflectance",
               (("expression", "(b4-b3)/(b4+b3)"), ("rescale", "-0.2,0.9"), ("colormap_name", "rdylgn")),
               "(B8 - B4) / (B8 + B4), -0.2 (brown) to 0.9 (green)."),
        Preset("validity", "Validity", "flags",
               (("nodata", str(int(Flag.NODATA))),
                ("colormap", json.dumps({str(k): v for k, v in VALIDITY_COLORS.items()}))),
               "All-month cloud white, snow cyan, water blue; clear land and no data transparent."),
    )
}
