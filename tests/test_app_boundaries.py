"""No 5xx by construction: property-based requests over the boundary values of every tile and
image parameter, on every layer, preset, stored route and difference, against a real server.

Each request draws its parameters from the edges of what the API takes and just past them
(tilesize 0/1/255/256/257/512/513, zoom 0 and the month's maximum and beyond, buffer and padding
at 0 and 64 and past, degenerate or non-numeric rescale ranges, expressions that divide by zero,
name bands that do not exist or do not parse, colormaps unknown, empty, out of range or not JSON,
every output format). No answer may be a 5xx; a 200 must be an image of the size asked for.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import morecantile
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasterio.io import MemoryFile

from app.presets import PRESETS
from mosaic.catalog import Catalog, Month
from mosaic.layers import LAYERS
from tests.helpers import FRANCE_MONTHS as MONTHS

EXAMPLES = 150

TILESIZES = [None, 0, 1, 2, 255, 256, 257, 511, 512, 513, -1]
BUFFERS = [None, 0, 0.5, 1, 63.5, 64, 64.5, 65, -1, "nan", "inf"]
PADDINGS = [None, 0, 1, 63, 64, 65, -1]
RESCALES = [None, "0,1", "0,5000", "1,0", "0,0", "-1e308,1e308", "nan,1", "0,inf", "a,b", "5", "0,1,2", ""]
EXPRESSIONS = [None, "b1", "b1/b2", "b1/0", "(b4-b3)/(b4+b3)", "(B8-B4)/(B8+B4)", "B2", "b1;b2;b3", "b99", "b0",
               "", "b1+", "sqrt(b1)", "log(b1-b1)", "where(b1>0,1,0)", "B5", "__import__('os')", "b1" * 200]
COLORMAP_NAMES = [None, "rdylgn", "viridis", "brbg", "nope", ""]
COLORMAPS = [None, json.dumps({"0": [0, 0, 0, 0], "4": [255, 0, 0, 255]}), "{}", "[]", "{",
             json.dumps({"300": [1, 2, 3]}), json.dumps({"1": [1, 2]}), json.dumps([[[0, 10], [255, 0, 0, 255]]]),
             json.dumps({"-1": [0, 0, 0]})]
FORMATS = ["", ".png", ".jpg", ".jpeg", ".webp", ".tif", ".npy", ".jp2", ".pngraw", ".gif"]
BIDX = [None, [1], [1, 2, 3], [4, 3, 2], [0], [5], [1, 1, 1, 1, 1]]
NODATA = [None, "0", "255", "-10000", "nan", "1e40", "x"]


@pytest.fixture(scope="module")
def server(france: Path, france_server: str) -> tuple[str, dict[str, Month]]:
    """The shared France sample's server, and its months."""
    months = {m.month: m for m in Catalog(france).months()}
    assert sorted(months) == MONTHS
    return france_server, months


@pytest.fixture(scope="module")
def client(server: tuple[str, dict[str, Month]]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server[0], timeout=30) as c:  # one keep-alive connection, as a map client
        yield c


def _centre(month: Month) -> tuple[float, float]:
    return (month.bounds[0] + month.bounds[2]) / 2, (month.bounds[1] + month.bounds[3]) / 2


def tile_positions(month: Month) -> st.SearchStrategy[tuple[int, int, int]]:
    """Zooms 0, the region zoom, the month's maximum and past it, up to 24; x/y at the matrix edges or on data."""
    def at(z: int) -> st.SearchStrategy[tuple[int, int, int]]:
        t = morecantile.tms.get("WebMercatorQuad").tile(*_centre(month), z)
        edges = sorted({0, 2**z - 1, 2**z})
        return st.one_of(st.just((z, t.x, t.y)), st.tuples(st.just(z), st.sampled_from(edges), st.sampled_from(edges)))

    zooms = sorted({0, 1, month.region_zoom, month.zoom - 1, month.zoom, month.zoom + 1, 24, 25})
    return st.sampled_from(zooms).flatmap(at)


TILE_PARAMS = {"tilesize": TILESIZES, "buffer": BUFFERS, "padding": PADDINGS, "rescale": RESCALES,
               "expression": EXPRESSIONS, "bidx": BIDX, "colormap_name": COLORMAP_NAMES, "colormap": COLORMAPS,
               "nodata": NODATA}


def some_params(data: st.DataObject, values: dict[str, list], most: int = 3) -> dict[str, object]:
    """A few parameters (most often none or one) at boundary values; the others left out."""
    names = data.draw(st.lists(st.sampled_from(sorted(values)), max_size=most, unique=True))
    return {name: data.draw(st.sampled_from(values[name])) for name in names}


def query(**params: object) -> list[tuple[str, str]]:
    """Query items of the parameters drawn (None: left out; lists: repeated)."""
    items = []
    for key, value in params.items():
        for v in value if isinstance(value, list) else [value]:
            if v is not None:
                items.append((key, str(v)))
    return items


STATUSES: dict[str, dict[int, int]] = {}


def check(response: httpx.Response, size: int | None) -> None:
    """No 5xx; an image of ``size`` px (when asked a size) for a 200 image."""
    text = response.text[:200] if response.status_code >= 400 else ""
    where = f"{response.request.url} -> {response.status_code} {text}"
    assert response.status_code < 500, where
    kind_of = response.request.url.path.split("/")[1]
    STATUSES.setdefault(kind_of, {}).setdefault(response.status_code, 0)
    STATUSES[kind_of][response.status_code] += 1
    kind = response.headers.get("content-type", "")
    if response.status_code == 200 and kind.startswith("image/") and kind not in ("image/jp2",):
        with MemoryFile(response.content) as mem, mem.open() as img:
            assert img.count >= 1, where
            if size is not None:
                assert (img.width, img.height) == (size, size), where


def _settings() -> settings:
    return settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                    derandomize=True)


@given(data=st.data())
@_settings()
def test_layer_tiles_never_answer_5xx(server: tuple[str, dict[str, Month]], client: httpx.Client,
                                      data: st.DataObject) -> None:
    _, months = server
    month = months[data.draw(st.sampled_from(MONTHS))]
    layer = data.draw(st.sampled_from(list(LAYERS)))
    z, x, y = data.draw(tile_positions(month))
    fmt = data.draw(st.sampled_from(FORMATS))
    drawn = some_params(data, TILE_PARAMS)
    if layer == "reflectance" and "bidx" not in drawn and "expression" not in drawn:
        drawn["bidx"] = data.draw(st.sampled_from([[3, 2, 1], [4], None]))  # (4 bands: a 400 in PNG, JPEG, WebP)
    r = client.get(f"/months/{month.month}/{layer}/tiles/WebMercatorQuad/{z}/{x}/{y}{fmt}",
                   params=query(**drawn, build=data.draw(st.sampled_from([None, month.build_id]))))
    check(r, drawn.get("tilesize") or 256 if drawn.get("buffer") in (None, 0) and fmt != ".npy" else None)


@given(data=st.data())
@_settings()
def test_presets_and_stored_true_colour_never_answer_5xx(server: tuple[str, dict[str, Month]], client: httpx.Client,
                                                         data: st.DataObject) -> None:
    _, months = server
    month = months[data.draw(st.sampled_from(MONTHS))]
    z, x, y = data.draw(tile_positions(month))
    drawn = some_params(data, {"tilesize": TILESIZES, "buffer": BUFFERS, "padding": PADDINGS}, most=2)
    tilesize = drawn.get("tilesize")
    build = data.draw(st.sampled_from([None, month.build_id, month.build_id, "20180101T000000.000000Z-abcdef", "../x"]))
    route = data.draw(st.sampled_from(["preset", "stored"]))
    if route == "preset":
        preset = PRESETS[data.draw(st.sampled_from(list(PRESETS)))]
        r = client.get(f"/months/{month.month}/{preset.layer}/tiles/WebMercatorQuad/{z}/{x}/{y}.png",
                       params=[*preset.params, *query(**drawn, build=build)])
        check(r, (tilesize or 256) if drawn.get("buffer") in (None, 0) else None)
    else:
        suffix = data.draw(st.sampled_from(["", ".jpg", "@2x", "@2x.jpg", "@3x", ".png"]))
        r = client.get(f"/months/{month.month}/truecolor/{z}/{x}/{y}{suffix}", params=query(tilesize=tilesize,
                                                                                          build=build))
        check(r, (tilesize or 256) * (2 if "@2x" in suffix else 1))


@given(data=st.data())
@_settings()
def test_differences_never_answer_5xx(server: tuple[str, dict[str, Month]], client: httpx.Client,
                                      data: st.DataObject) -> None:
    _, months = server
    a, b = (months[m] for m in data.draw(st.permutations(MONTHS)))
    z, x, y = data.draw(tile_positions(b))
    if data.draw(st.booleans()):  # half on the months' data
        z, x, y = b.zoom, *morecantile.tms.get("WebMercatorQuad").tile(*_centre(b), b.zoom)[:2]
    tilesize = data.draw(st.sampled_from([None, None, None, None, 256, 512, *TILESIZES]))
    r = client.get(f"/diff/{a.month}/{b.month}/tiles/WebMercatorQuad/{z}/{x}/{y}"
                   f"{data.draw(st.sampled_from(['.png', '.png', '.webp', '.jpg', '']))}",
                   params=query(kind=data.draw(st.sampled_from(["ndvi", "magnitude", "magnitude", "nope", None])),
                                tilesize=tilesize, build_a=data.draw(st.sampled_from([None, a.build_id])),
                                build_b=data.draw(st.sampled_from([None, b.build_id, b.build_id, "x"]))))
    check(r, tilesize or 256)


@given(data=st.data())
@_settings()
def test_tilejson_info_statistics_and_points_never_answer_5xx(
    server: tuple[str, dict[str, Month]], client: httpx.Client, data: st.DataObject,
) -> None:
    _, months = server
    month = months[data.draw(st.sampled_from(MONTHS))]
    layer = data.draw(st.sampled_from(list(LAYERS)))
    what = data.draw(st.sampled_from(["tilejson", "info", "statistics", "point"]))
    common = query(expression=data.draw(st.sampled_from(EXPRESSIONS)), bidx=data.draw(st.sampled_from(BIDX)),
                   nodata=data.draw(st.sampled_from(NODATA)))
    if what == "tilejson":
        params = query(tilesize=data.draw(st.sampled_from(TILESIZES)),
                       tile_format=data.draw(st.sampled_from([None, "png", "jpg", "webp", "npy", "x"])),
                       minzoom=data.draw(st.sampled_from([None, 0, 24, 25, -1])),
                       maxzoom=data.draw(st.sampled_from([None, 0, 24, 25])),
                       rescale=data.draw(st.sampled_from(RESCALES)))
        r = client.get(f"/months/{month.month}/{layer}/WebMercatorQuad/tilejson.json", params=params + common)
    elif what == "statistics":
        params = query(max_size=data.draw(st.sampled_from([None, 0, 1, 2048, 2049])),
                       width=data.draw(st.sampled_from([None, 1, 2048, 2049])),
                       height=data.draw(st.sampled_from([None, 1, 2048])),
                       histogram_bins=data.draw(st.sampled_from([None, "1", "1000", "1001", "0,1", "1,0"])),
                       p=data.draw(st.sampled_from([None, 0, 100, 101])))
        r = client.get(f"/months/{month.month}/{layer}/statistics", params=params + common)
    elif what == "info":
        r = client.get(f"/months/{month.month}/{layer}/info")
    else:
        lon = data.draw(st.sampled_from([-180, 180, 0, 1.2, month.bounds[0], month.bounds[2], 180.0001]))
        lat = data.draw(st.sampled_from([-85.06, 85.06, 0, 43.8, month.bounds[1], month.bounds[3], 90]))
        r = client.get(f"/months/{month.month}/{layer}/point/{lon},{lat}", params=common)
    check(r, None)
    if r.status_code == 200 and what == "tilejson":
        assert r.json()["tiles"][0].startswith("http")


@pytest.mark.parametrize("layer", list(LAYERS))
def test_every_expression_and_colormap_on_every_layer(server: tuple[str, dict[str, Month]], client: httpx.Client,
                                                      layer: str) -> None:
    """The whole cross product, not a sample of it: a handful of requests each."""
    month = server[1][MONTHS[0]]
    z, x, y = month.zoom, *morecantile.tms.get("WebMercatorQuad").tile(*_centre(month), month.zoom)[:2]
    url = f"/months/{month.month}/{layer}/tiles/WebMercatorQuad/{z}/{x}/{y}.png"
    for expression in EXPRESSIONS:
        check(client.get(url, params=query(expression=expression, rescale="0,1")), None)
        check(client.get(f"/months/{month.month}/{layer}/point/{_centre(month)[0]},{_centre(month)[1]}",
                         params=query(expression=expression)), None)
    for colormap, name in [(c, None) for c in COLORMAPS] + [(None, n) for n in COLORMAP_NAMES]:
        check(client.get(url, params=query(bidx=1, colormap=colormap, colormap_name=name)), None)


def test_the_draws_reached_images_and_refusals() -> None:
    """(Runs after the property tests.) They exercised both sides: images served and requests refused."""
    print(STATUSES)
    for kind in ("months", "diff"):
        assert STATUSES[kind].get(200, 0) >= 10 and STATUSES[kind].get(400, 0) + STATUSES[kind].get(422, 0) >= 10


def test_the_fuzzer_found_case_is_a_400(client: httpx.Client) -> None:
    for suffix in ("", ".png"):
        r = client.get(f"/months/2018-08/reflectance/tiles/WebMercatorQuad/0/0/0{suffix}", params={"tilesize": 1})
        assert r.status_code == 400 and r.json()["detail"], r.text
    r = client.get("/months/2018-08/reflectance/tiles/WebMercatorQuad/0/0/0.png", params={"tilesize": 1, "bidx": 1})
    assert r.status_code == 200
    with MemoryFile(r.content) as mem, mem.open() as img:
        assert (img.width, img.height) == (1, 1) and np.asarray(img.read()).size
