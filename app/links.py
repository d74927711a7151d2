"""Public URLs of the server's own routes, built by the router (``url_for``), never by hand.

A route renamed or moved changes its links with it, and a server behind a path prefix
(``root_path``) links under that prefix. Templates keep their placeholders as they are
(``{z}``, ``{TileMatrix}``...): the router does not escape them.
"""

from __future__ import annotations

from fastapi import Request

from mosaic.catalog import Month
from mosaic.grid import TMS

XYZ = ("{z}", "{x}", "{y}")
"""Placeholders of an XYZ template (MapLibre, TileJSON)."""
WMTS_XYZ = ("{TileMatrix}", "{TileCol}", "{TileRow}")
"""Placeholders of a WMTS ResourceURL template."""


def route_url(request: Request, name: str, query: str = "", absolute: bool = True, **params: str) -> str:
    """The URL (or, not ``absolute``, the path) of the route ``name`` with its path parameters and a query."""
    url = str(request.url_for(name, **params) if absolute else request.app.url_path_for(name, **params))
    return f"{url}?{query}" if query else url


def stored_tiles_url(request: Request, month: Month, tilesize: int = 256, jpeg: bool = False) -> str:
    """The build-pinned XYZ template of the stored true-colour tiles (``@2x``: 512 px)."""
    name = "truecolor" + ("@2x" if tilesize == 512 else "") + (".jpg" if jpeg else "")
    query = f"build={month.build_id}" + (f"&tilesize={tilesize}" if tilesize not in (256, 512) else "")
    return route_url(request, name, query, month=month.month, **dict(zip("zxy", XYZ, strict=True)))


def tiles_url(request: Request, month: str, layer: str, extension: str = "", query: str = "",
              where: tuple[str, str, str] = XYZ, absolute: bool = True) -> str:
    """A layer's tile template on TiTiler's route (``extension``: ``.png``... or none: as the tile needs)."""
    params = {"month": month, "layer": layer, "tileMatrixSetId": TMS.id, **dict(zip("zxy", where, strict=True))}
    if extension:
        params["format"] = extension.removeprefix(".")
    return route_url(request, "tile", query, absolute, **params)
