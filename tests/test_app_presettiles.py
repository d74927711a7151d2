"""Preset tiles answered before FastAPI (app.presettiles) are the TiTiler route's answers, byte for byte.

Two sampled months (200 m products in two UTM zones: region COGs of zoom 10 with overview levels,
the month's overview COGs below the region zoom) behind a real server. Every tile over the data
and a ring around it, at every zoom from 0 to one past the month's, is asked through every
template map clients are handed for each preset (``/api/months``, the preset's TileJSON, the WMTS
month layer and time layer) and through TiTiler's route (the same URL with a parameter the fast
path does not take, ``resampling=nearest``, the default): same status, type, headers and bytes.
The difference tiles read their months through the same window reads: those equal the
rio-tiler reader's pixels and masks.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Iterator

import httpx
import morecantile
import numpy as np
import pytest

from app.presets import PRESETS
from app.presettiles import answer, match
from app.readers import MonthLayer, MonthLayerReader, grid_tile
from mosaic.catalog import Catalog, Month
from tests.helpers import free_port, published_months, running

MONTHS = ["2018-07", "2018-08"]
TMS = morecantile.tms.get("WebMercatorQuad")
HEADERS = ("content-type", "content-bbox", "content-crs")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[Month], Catalog]]:
    data = published_months(tmp_path_factory.mktemp("presettiles"), ["T31TCJ", "T30TYP"], MONTHS, pixel_size=200)
    catalog = Catalog(data)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running([sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--data-dir", str(data)],
                 f"{base}/healthz"):
        yield base, catalog.months(), catalog


def tiles(month: Month, z: int) -> list[tuple[int, int]]:
    """Tiles of zoom z over the month's bounds, and one ring around them."""
    over = list(TMS.tiles(*month.bounds, [z]))
    xs, ys = [t.x for t in over], [t.y for t in over]
    return [(x, y) for x in range(max(0, min(xs) - 1), min(2**z, max(xs) + 2))
            for y in range(max(0, min(ys) - 1), min(2**z, max(ys) + 2))]


def templates(client: httpx.Client, month: Month) -> dict[str, str]:
    """Every template of the presets (but true colour) a client is handed: name -> relative URL with {z}/{x}/{y}."""
    (described,) = [m for m in client.get("/api/months").json() if m["month"] == month.month]
    wmts = client.get("/wmts/WMTSCapabilities.xml").text.replace("&amp;", "&")
    out = {}
    for name, link in described["links"]["presets"].items():
        if name == "truecolor":
            continue
        out[name] = link["tiles"]
        out[f"{name} TileJSON"] = client.get(link["tilejson"]).json()["tiles"][0]
        layer = wmts[wmts.index(f"<ows:Identifier>{month.month}_{name}</ows:Identifier>"):]
        out[f"{name} WMTS"] = layer[layer.index('template="') + 10:].split('"', 1)[0]
        out[f"{name} WMTS time"] = f"/wmts/tiles/{name}/{month.month}/WebMercatorQuad/{{z}}/{{x}}/{{y}}"
    return {name: re.sub(r"^http://[^/]+", "", url).replace("{TileMatrix}", "{z}").replace("{TileCol}", "{x}")
            .replace("{TileRow}", "{y}") for name, url in out.items()}


def test_every_advertised_preset_tile_is_the_routes_answer(server: tuple[str, list[Month], Catalog]) -> None:
    base, months, catalog = server
    month = months[-1]
    with httpx.Client(base_url=base, timeout=30) as client:
        urls = templates(client, month)
        assert len(urls) == 4 * (len(PRESETS) - 1)
        compared, images, fast, eligible = 0, 0, 0, 0
        names = list(urls)
        for z in range(month.zoom + 2):
            for i, (x, y) in enumerate(tiles(month, z)):
                for name in names[i % 4::4]:  # each template on every fourth tile, every preset on every tile
                    template = urls[name]
                    url = template.format(z=z, x=x, y=y)
                    preset = name.split()[0]
                    route = (f"/months/{month.month}/{PRESETS[preset].layer}/tiles/WebMercatorQuad/{z}/{x}/{y}"
                             f"{PRESETS[preset].extension}?build={month.build_id}&{PRESETS[preset].query()}"
                             "&resampling=nearest")  # the default, which the fast path leaves to the route
                    got, want = client.get(url), client.get(route)
                    assert got.status_code == want.status_code, (url, got.status_code, want.status_code)
                    assert got.content == want.content, f"{name} {z}/{x}/{y}: not the route's bytes"
                    for header in HEADERS:
                        assert got.headers.get(header) == want.headers.get(header), (name, z, x, y, header)
                    compared += 1
                    images += got.status_code == 200
                    if "time" not in name and z >= month.region_zoom:  # on the grid of a region COG
                        path, query = url.split("?")  # the fast path takes it (in this process, same files)
                        fast += asyncio.run(answer(catalog, path, query.encode())) is not None
                        eligible += 1
    assert images > 500 and fast == eligible > 300, (compared, images, fast, eligible)


def test_the_fast_path_takes_the_presets_exactly(server: tuple[str, list[Month], Catalog]) -> None:
    _, months, _ = server
    build = months[-1].build_id
    for preset in PRESETS.values():
        if preset.layer == "truecolor":
            continue
        query = preset.query()
        assert match(preset.layer, f"build={build}&{query}") is not None
        assert match(preset.layer, f"tilesize=256&{query}&build={build}") is not None
        assert match(preset.layer, query) is not None  # latest build
        for other in (f"{query}&tilesize=512", f"{query}&build={build}&build={build}", f"{query}&rescale=0,1",
                      f"{query}&resampling=nearest", query.rsplit("&", 1)[0], f"{query}&build=nope"):
            assert match(preset.layer, other) is None, (preset.name, other)
        assert match("dates" if preset.layer != "dates" else "flags", query) is None
    falsecolor = PRESETS["falsecolor"].query()
    swapped = falsecolor.replace("bidx=4&bidx=3", "bidx=3&bidx=4")
    assert match("reflectance", swapped) is None  # band order matters, other names' order does not
    assert match("reflectance", "&".join(reversed(falsecolor.split("&")))) is None
    interleaved = "rescale=0%2C5000&bidx=4&rescale=0%2C2500&bidx=3&bidx=2&rescale=0%2C2500"
    assert match("reflectance", interleaved) is not None


@pytest.mark.parametrize("size", [256, 512])
def test_window_reads_are_the_readers_pixels(server: tuple[str, list[Month], Catalog], size: int) -> None:
    _, months, _ = server
    read = 0
    for month in months:
        for z in range(month.zoom + 2):
            for x, y in tiles(month, z):
                for layer, indexes in (("reflectance", (1, 2, 3, 4)), ("reflectance", (3, 4)), ("flags", ())):
                    reader = MonthLayerReader(MonthLayer(month, layer))
                    try:
                        want = reader.tile(x, y, z, tilesize=size, **({"indexes": indexes} if indexes else {}))
                    except Exception as exc:  # noqa: BLE001 - the same error, or left to the reader (None)
                        try:
                            assert grid_tile(month, layer, z, x, y, indexes, size=size) is None, (layer, z, x, y)
                        except type(exc):
                            pass
                        continue
                    got = grid_tile(month, layer, z, x, y, indexes, size=size)
                    if got is None:  # the tile is not within one file's grid: only below the region zoom
                        assert z < month.region_zoom, (layer, z, x, y)
                        continue
                    assert got.array.dtype == want.array.dtype
                    assert np.array_equal(got.array.data, want.array.data), (layer, z, x, y)
                    assert np.array_equal(got.array.mask, want.array.mask), (layer, z, x, y)
                    assert tuple(got.bounds) == tuple(want.bounds) and got.crs == want.crs
                    read += 1
    assert read > 300


def test_difference_tiles_are_the_routes_answer(server: tuple[str, list[Month], Catalog]) -> None:
    base, (a, b), catalog = server
    template = f"/diff/{a.month}/{b.month}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png?kind={{kind}}" \
               f"&build_a={a.build_id}&build_b={b.build_id}"
    compared, images, fast, expected = 0, 0, 0, 0
    with httpx.Client(base_url=base, timeout=30) as client:
        for z in range(b.zoom + 2):
            for i, (x, y) in enumerate(tiles(b, z)):
                url = template.format(z=z, x=x, y=y, kind=("ndvi", "magnitude")[i % 2])
                url += "&tilesize=512" * (i % 5 == 0)  # (the route's answer: 422, as the fast path leaves it)
                got, want = client.get(url), client.get(url + "&route=1")  # a parameter the fast path leaves
                assert (got.status_code, got.headers.get("content-type"), got.content) == \
                       (want.status_code, want.headers.get("content-type"), want.content), url
                compared += 1
                images += got.status_code == 200
                path, query = url.split("?")
                fast += asyncio.run(answer(catalog, path, query.encode())) is not None
                expected += "tilesize" not in query
    assert images > 100 and fast == expected, (compared, images, fast)
