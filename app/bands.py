"""Band names: what map clients show, and what expressions may say.

The COGs carry their layer's band names as band descriptions (``B2``, ``B3``, ``B4``, ``B8``
for the reflectance), so rio-tiler reports them in info, TileJSON, statistics and points. Builds
made before the names were written show ``b1``...: the reader names them from the layer here.

In expressions, ``b1``...``bN`` (lower case) are band indexes, as everywhere in TiTiler; the
layer's band names (upper case) may be used instead and are translated to indexes. So on the
reflectance layer ``B4`` is red (``b3``) and ``b4`` is near infrared (``B8``): NDVI is
``(B8-B4)/(B8+B4)`` or ``(b4-b3)/(b4+b3)``. An upper-case ``B<n>`` the layer does not have
is refused with a 400 that lists its bands (rio-tiler would read it as index n).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated

from fastapi import Depends, HTTPException, Path
from rio_tiler.expression import parse_expression
from titiler.core.dependencies import BidxExprParams

from mosaic.layers import LAYERS


def expression_with_indexes(expression: str, layer: str) -> str:
    """An expression with the layer's band names replaced by ``b<index>``; unknown ``B<n>`` names refused (400)."""
    bands = LAYERS[layer].bands
    names = re.compile(r"\b(" + "|".join(map(re.escape, bands)) + r"|B\d+)\b")

    def index(match: re.Match) -> str:
        name = match[1]
        if name in bands:
            return f"b{bands.index(name) + 1}"
        raise HTTPException(400, f"expression names band {name}, which the {layer} layer does not have: its "
                                 f"bands are {', '.join(bands)} by name, b1 to b{len(bands)} by index")

    return names.sub(index, expression)


def band_params(
    layer: Annotated[str, Path(description="Layer of the month.")],
    params: Annotated[BidxExprParams, Depends()],
) -> BidxExprParams:
    """TiTiler's ``bidx`` and ``expression``; an expression may name the layer's bands (TilerFactory's
    ``layer_dependency``)."""
    if params.expression and layer in LAYERS:
        params.expression = expression_with_indexes(params.expression, layer)
        try:
            parse_expression(params.expression)  # what rio-tiler does first: it raises ValueError on "b1b1"
        except ValueError as exc:
            raise HTTPException(400, f"expression cannot be read: {exc}") from None
    return params


def band_names(layer: str, indexes: Sequence[int] | None = None) -> list[str]:
    """The names of a layer's bands (of ``indexes``, 1-based, if given)."""
    bands = LAYERS[layer].bands
    return [bands[i - 1] for i in indexes] if indexes else list(bands)


def unnamed(descriptions: Sequence[str], keys: Sequence[str] | None = None) -> bool:
    """Whether band descriptions are rio-tiler's defaults, the bands' keys (``b1``...): the file names none."""
    keys = keys or [f"b{i}" for i in range(1, len(descriptions) + 1)]
    return list(descriptions) == list(keys)
