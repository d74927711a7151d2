"""Bounds on what one request may ask for, checked before any pixel is read.

TiTiler's endpoints accept any tile size, output size, buffer, zoom range or band index; each is a
way to make one request read gigabytes or crash a reader. ``check_request`` refuses them with a
400 that names the parameter. Read errors caused by the request itself (an invalid geometry, an
unknown band) become 400s whose text never shows a server path (:mod:`app.errors`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import numpy as np
from fastapi import Depends, HTTPException, Request
from pydantic import Field
from rio_tiler.models import ImageData
from titiler.core.algorithm import algorithms
from titiler.core.algorithm.base import BaseAlgorithm
from titiler.core.dependencies import PartFeatureParams

from app.errors import AlgorithmError
from mosaic.grid import MAX_LAT, MAX_ZOOM, MIN_ZOOM, matrix
from mosaic.layers import LAYERS

MAX_QUERY_LENGTH = 4096
MAX_TILESIZE = 512
MAX_IMAGE_SIZE = 2048
"""Largest output side of statistics, parts and previews (pixels)."""
MAX_PART_SIZE = 1024
"""Default output side of statistics over a GeoJSON feature (TiTiler's default reads full resolution)."""
INTEGER_BOUNDS: dict[str, tuple[int, int]] = {
    "tilesize": (1, MAX_TILESIZE),
    "max_size": (1, MAX_IMAGE_SIZE),
    "width": (1, MAX_IMAGE_SIZE),
    "height": (1, MAX_IMAGE_SIZE),
    "minzoom": (MIN_ZOOM, MAX_ZOOM),
    "maxzoom": (MIN_ZOOM, MAX_ZOOM),
    "p": (0, 100),  # percentiles of statistics
}
NUMBER_BOUNDS: dict[str, tuple[float, float]] = {
    "buffer": (0, 64),
    "padding": (0, 64),
    "lon": (-180, 180),
    "lat": (-MAX_LAT, MAX_LAT),
}
MAX_HISTOGRAM_BINS = 1000
_EXPRESSION_BAND = re.compile(r"\bb(\d+)\b")


@dataclass
class BoundedPartParams(PartFeatureParams):
    """TiTiler's part/feature sizes, but never unbounded: an area is read at most MAX_PART_SIZE wide."""

    max_size: Annotated[int | None, Field(description="Maximum image size to read onto.")] = MAX_PART_SIZE


def bounded_algorithm(
    algorithm: Annotated[BaseAlgorithm | None, Depends(algorithms.dependency)] = None,
) -> Callable[[ImageData], ImageData] | None:
    """TiTiler's ``algorithm`` parameter, whose refusal of an image (wrong band count) is a 400, not a 500."""
    if algorithm is None:
        return None

    def apply(image: ImageData) -> ImageData:
        try:
            return algorithm(image)
        except (ValueError, IndexError) as exc:
            raise AlgorithmError(f"{type(algorithm).__name__} cannot apply here: {exc}") from exc

    return apply


async def check_request(request: Request) -> None:
    """Refuse oversized or out-of-range parameters (a FastAPI dependency of every route)."""
    if len(request.url.query) > MAX_QUERY_LENGTH:
        raise HTTPException(414, f"query string longer than {MAX_QUERY_LENGTH} characters")
    def values(name: str) -> list[str]:
        return request.query_params.getlist(name) + ([request.path_params[name]] if name in request.path_params else [])

    for name, (low, high) in INTEGER_BOUNDS.items():
        if not all(_integer_within(raw, low, high) for raw in values(name)):
            raise HTTPException(400, f"{name} must be an integer from {low} to {high}")
    for name, (low, high) in NUMBER_BOUNDS.items():
        if not all(_number_within(raw, low, high) for raw in values(name)):
            raise HTTPException(400, f"{name} must be a number from {low} to {high}")
    if not all(_is_json_object(raw) for raw in values("algorithm_params")):
        raise HTTPException(400, "algorithm_params must be a JSON object")
    _check_histogram(request.query_params.get("histogram_bins"), request.query_params.get("histogram_range"))
    _check_tile_index(request.path_params)
    layer = LAYERS.get(request.path_params.get("layer", ""))
    if layer is not None:
        count = len(layer.bands)
        bands = request.query_params.getlist("bidx")
        bands += _EXPRESSION_BAND.findall(request.query_params.get("expression", ""))
        if not all(_integer_within(raw, 1, count) for raw in bands):
            raise HTTPException(400, f"bands (bidx, or bN in expression) of the {layer.name} layer are 1 to {count}")
        nodata = request.query_params.get("nodata")
        if nodata is not None and not _fits(nodata, np.dtype(layer.dtype)):
            raise HTTPException(400, f"nodata must be a value of the {layer.name} layer's type ({layer.dtype})")


def _integer_within(raw: object, low: int, high: int) -> bool:
    text = str(raw).strip()
    return text.lstrip("-").isdigit() and low <= int(text) <= high


def _number_within(raw: object, low: float, high: float) -> bool:
    try:
        value = float(str(raw))
    except ValueError:
        return True  # not a number: FastAPI's own validation answers 422
    return low <= value <= high


def _fits(raw: str, dtype: np.dtype) -> bool:
    """Whether ``raw`` is a number that ``dtype`` holds exactly (NaN only for float types)."""
    try:
        value = float(raw)
    except ValueError:
        return True  # not a number: TiTiler's own validation answers
    if np.issubdtype(dtype, np.floating):
        return not math.isinf(value)
    info = np.iinfo(dtype)
    return math.isfinite(value) and value.is_integer() and info.min <= value <= info.max


def _is_json_object(raw: str) -> bool:
    try:
        return isinstance(json.loads(raw), dict)
    except ValueError:
        return False


def _check_tile_index(path: dict[str, str]) -> None:
    """z from 0 to MAX_ZOOM, x and y inside that zoom's WebMercatorQuad matrix."""
    if "z" not in path:
        return
    if not _integer_within(path["z"], MIN_ZOOM, MAX_ZOOM):
        raise HTTPException(400, f"z must be an integer from {MIN_ZOOM} to {MAX_ZOOM}")
    last = matrix(int(path["z"])).matrixWidth - 1  # (square matrices)
    for name in ("x", "y"):
        if name in path and not _integer_within(path[name], 0, last):
            raise HTTPException(400, f"{name} must be an integer from 0 to {last} at zoom {path['z']}")


def _check_histogram(bins: str | None, span: str | None) -> None:
    """At most MAX_HISTOGRAM_BINS bins; explicit edges increasing; a range whose min is below its max."""
    if bins is not None:
        parts = bins.split(",")
        if len(parts) == 1:
            if not _integer_within(parts[0], 1, MAX_HISTOGRAM_BINS):
                raise HTTPException(400, f"histogram_bins must be a count from 1 to {MAX_HISTOGRAM_BINS}")
        elif len(parts) > MAX_HISTOGRAM_BINS + 1 or not _increasing(parts):
            raise HTTPException(400, "histogram_bins edges must be increasing numbers")
    if span is not None and (len(span.split(",")) != 2 or not _increasing(span.split(","))):
        raise HTTPException(400, "histogram_range must be two numbers, min,max, with min < max")


def _increasing(parts: list[str]) -> bool:
    try:
        values = [float(p) for p in parts]
    except ValueError:
        return False
    return all(math.isfinite(v) for v in values) and all(a < b for a, b in zip(values, values[1:], strict=False))
