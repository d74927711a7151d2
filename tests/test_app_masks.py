"""No data stays transparent at every zoom and on every route; overview levels average valid pixels only.

Two small months (500 m products: region COGs with an internal overview level, and the month's
overview COGs below the region zoom) are read back through every tile route, zoom by zoom from 0
to the month's maximum, over every tile around the data. Each answer is compared with the
month's own full-resolution pixels (the layers' VRTs), reduced to the tile's zoom: a pixel may
be opaque only where some full-resolution pixel under it holds data, must be opaque where all of
them do, and (for values) lies between the valid pixels' extremes, which no average with a
no-data or masked pixel does at the data's edges.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient

from app.main import create_app
from app.presets import PRESETS
from app.settings import Settings
from mosaic.catalog import Catalog, Month
from mosaic.layers import render_truecolor
from mosaic.select import RANK
from tests.helpers import published_months, rgba

MONTHS = ("2018-07", "2018-08")
WORLD = 20037508.342789244
TILE = 256
JPEG_BIAS = 3
"""How much darker than the valid pixels' range the JPEG-compressed true colour may be at the
data's edges, on average (measured: 0.2 to 1.8 brighter); single pixels stray by up to 64 in
both directions (JPEG's block artefacts), inside the data as well."""


@dataclass
class Footprint:
    """Full-resolution rasters of a month on the web grid of its zoom, reduced to any tile."""

    zoom: int
    col0: int
    row0: int
    _cache: dict = field(default_factory=dict)

    def reduce(self, key: str, full: np.ndarray, fill: float, func: Callable, z: int, x: int, y: int) -> np.ndarray:
        """``func`` (np.any, np.all, np.min, np.max) of the full-resolution pixels under each
        pixel of tile z/x/y (``fill`` outside the rasters)."""
        f = 2 ** (self.zoom - z)
        if (key, z) not in self._cache:
            top, left = self.row0 % f, self.col0 % f
            height = -(-(top + full.shape[0]) // f) * f
            width = -(-(left + full.shape[1]) // f) * f
            padded = np.full((height, width), fill, dtype=full.dtype)
            padded[top:top + full.shape[0], left:left + full.shape[1]] = full
            reduced = func(padded.reshape(height // f, f, width // f, f), axis=(1, 3))
            self._cache[key, z] = reduced, self.row0 // f, self.col0 // f
        reduced, r0, c0 = self._cache[key, z]
        out = np.full((TILE, TILE), fill, dtype=reduced.dtype)
        rows = slice(max(r0, y * TILE), min(r0 + reduced.shape[0], (y + 1) * TILE))
        cols = slice(max(c0, x * TILE), min(c0 + reduced.shape[1], (x + 1) * TILE))
        if rows.start < rows.stop and cols.start < cols.stop:
            out[rows.start - y * TILE:rows.stop - y * TILE, cols.start - x * TILE:cols.stop - x * TILE] = \
                reduced[rows.start - r0:rows.stop - r0, cols.start - c0:cols.stop - c0]
        return out

    def tiles(self, z: int, ring: int = 1) -> list[tuple[int, int]]:
        """(x, y) of the tiles of zoom ``z`` over the rasters, and ``ring`` tiles around them."""
        f, full = 2 ** (self.zoom - z), self._cache["extent"]
        x0, y0 = self.col0 // f // TILE, self.row0 // f // TILE
        x1, y1 = (self.col0 + full[1] - 1) // f // TILE, (self.row0 + full[0] - 1) // f // TILE
        return [(x, y) for y in range(max(0, y0 - ring), min(2**z, y1 + ring + 1))
                for x in range(max(0, x0 - ring), min(2**z, x1 + ring + 1))]


@dataclass
class MonthPixels:
    """A month's full-resolution validity and values, by layer."""

    month: Month
    where: Footprint
    valid: dict[str, np.ndarray]
    values: dict[str, np.ndarray]

    def any(self, layer: str, z: int, x: int, y: int) -> np.ndarray:
        """Pixels of tile z/x/y over at least one valid full-resolution pixel of ``layer``."""
        return self.where.reduce(f"any-{layer}", self.valid[layer], False, np.any, z, x, y)

    def all(self, layer: str, z: int, x: int, y: int) -> np.ndarray:
        """Pixels of tile z/x/y over valid full-resolution pixels of ``layer`` only."""
        return self.where.reduce(f"all-{layer}", self.valid[layer], False, np.all, z, x, y)

    def extremes(self, name: str, band: int, z: int, x: int, y: int) -> tuple[np.ndarray, np.ndarray]:
        """Lowest and highest valid full-resolution value of a band under each pixel of tile z/x/y."""
        layer = name.split(":")[0]
        values = self.values[name][band].astype(np.float64)
        lo = np.where(self.valid[layer], values, np.inf)
        hi = np.where(self.valid[layer], values, -np.inf)
        return (self.where.reduce(f"min-{name}-{band}", lo, np.inf, np.min, z, x, y),
                self.where.reduce(f"max-{name}-{band}", hi, -np.inf, np.max, z, x, y))


def month_pixels(month: Month) -> MonthPixels:
    """Read every layer of a month at full resolution through its VRTs."""
    valid, values = {}, {}
    for layer in ("reflectance", "flags", "dates", "truecolor"):
        with rasterio.open(month.vrt(layer)) as ds:
            data = ds.read()
            valid[layer] = ds.dataset_mask() > 0
            values[layer] = data
            transform, shape = ds.transform, (ds.height, ds.width)
    res = 2 * WORLD / (TILE * 2**month.zoom)
    where = Footprint(month.zoom, round((transform.c + WORLD) / res), round((WORLD - transform.f) / res))
    where._cache["extent"] = shape
    values["truecolor:exact"] = render_truecolor(values["reflectance"])[0]  # not JPEG-compressed
    return MonthPixels(month, where, valid, values)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[TestClient, list[MonthPixels]]:
    # 500 m: zoom 8 in regions of zoom 7 (one internal overview level), zooms 0-6 from the
    # month's overview COGs; two neighbouring products in two UTM zones.
    data = published_months(tmp_path_factory.mktemp("masks"), ["T31TCJ", "T30TYP"], list(MONTHS), pixel_size=500)
    catalog = Catalog(data)
    client = TestClient(create_app(Settings(data_dir=data)))
    return client, [month_pixels(catalog.get(m)) for m in MONTHS]


def get(client: TestClient, url: str, z: int, x: int, y: int) -> httpx.Response:
    """A tile by its URL template; 200 or 204."""
    r = client.get(url.replace("http://testserver", "").format(z=z, x=x, y=y))
    assert r.status_code in (200, 204), (url, r.status_code, r.text[:200])
    return r


def alpha(r: httpx.Response) -> np.ndarray:
    """Opacity (0-255) of each pixel of a tile image; 0 everywhere for a 204."""
    if r.status_code == 204:
        return np.zeros((TILE, TILE), dtype=np.uint8)
    pixels = rgba(r.content)
    return pixels[3] if pixels.shape[0] in (2, 4) else np.full(pixels.shape[1:], 255, dtype=np.uint8)


def test_sanity_the_layers_hold_data_and_no_data_and_agree_with_the_flags(
    published: tuple[TestClient, list[MonthPixels]],
) -> None:
    _, months = published
    for m in months:
        flags = m.valid["flags"]
        assert 0.1 < flags.mean() < 0.9  # data and no data around it
        for layer in ("reflectance", "dates", "truecolor"):
            assert not (m.valid[layer] & ~flags).any(), layer  # no layer holds data outside the flags
        assert m.where.zoom > m.month.region_zoom > 1  # region overview levels and month overview levels


def check_opacity(opacity: np.ndarray, m: MonthPixels, layer: str, z: int, x: int, y: int, what: str) -> None:
    """Opaque only over data, and opaque wherever all the pixels under it hold data."""
    outside = (opacity > 0) & ~m.any(layer, z, x, y)
    assert not outside.any(), f"{what} {z}/{x}/{y}: {outside.sum()} visible pixels outside the data"
    lost = (opacity < 255) & m.all(layer, z, x, y)
    assert not lost.any(), f"{what} {z}/{x}/{y}: {lost.sum()} data pixels not opaque"


def test_layers_keep_their_mask_and_average_valid_pixels_only_at_every_zoom(
    published: tuple[TestClient, list[MonthPixels]],
) -> None:
    client, months = published
    m = months[0]
    links = client.get("/api/months").json()[0]["links"]["layers"]
    edges, darker = 0, []
    for z in range(m.where.zoom + 1):
        for x, y in m.where.tiles(z):
            for layer in ("reflectance", "flags", "dates", "truecolor"):
                dynamic = links[layer]["tilejson"].replace("WebMercatorQuad/tilejson.json",  # (true colour's
                                                           "tiles/WebMercatorQuad/{z}/{x}/{y}")  # tiles: stored)
                url = dynamic.replace("{y}?", "{y}.npy?")
                r = get(client, url, z, x, y)
                if r.status_code == 204:
                    assert not m.all(layer, z, x, y).any(), f"{layer} {z}/{x}/{y}: data lost"
                    continue
                array = np.load(io.BytesIO(r.content))
                valid = array[-1] > 0
                check_opacity(array[-1], m, layer, z, x, y, layer)
                edge = valid & ~m.all(layer, z, x, y)
                edges += int(edge.sum())
                for band in range(array.shape[0] - 1):
                    values = array[band]
                    if layer == "truecolor":  # JPEG: against the exact rendering, on average
                        lo, hi = m.extremes("truecolor:exact", band, z, x, y)
                        darker += list((values - np.clip(values, lo, hi))[edge])
                        continue
                    lo, hi = m.extremes(layer, band, z, x, y)
                    stray = valid & ((values < lo) | (values > hi))
                    assert not stray.any(), (f"{layer} band {band + 1} {z}/{x}/{y}: {stray.sum()} pixels ("
                                             f"{stray[edge].sum()} at the edge) outside their valid pixels' range")
    assert edges > 100  # the edges were tested
    assert np.mean(darker) > -JPEG_BIAS, "true-colour edges darkened: no data averaged in"


def test_presets_and_stored_true_colour_are_transparent_outside_the_data_at_every_zoom(
    published: tuple[TestClient, list[MonthPixels]],
) -> None:
    client, months = published
    m = months[0]
    listing = client.get("/api/months").json()[0]["links"]
    tilejson = {name: client.get(p["tilejson"].replace("http://testserver", "")).json()["tiles"][0]
                for name, p in listing["presets"].items()}
    assert set(tilejson) == set(PRESETS)
    for z in range(m.where.zoom + 1):
        for x, y in m.where.tiles(z):
            for name in ("truecolor", "falsecolor", "ndvi"):
                layer = PRESETS[name].layer
                for what, url in ((f"{name} preset (TileJSON)", tilejson[name]),
                                  (f"{name} preset", listing["presets"][name]["tiles"])):
                    check_opacity(alpha(get(client, url, z, x, y)), m, layer, z, x, y, what)
            stored = get(client, listing["stored"], z, x, y)
            check_opacity(alpha(stored), m, "truecolor", z, x, y, "stored true colour")
            jpeg = get(client, listing["stored_jpeg"], z, x, y)  # no alpha in a JPEG: 204 where no data
            assert (jpeg.status_code == 200) == m.any("truecolor", z, x, y).any(), f"stored JPEG {z}/{x}/{y}"
            if stored.headers.get("content-type") == "image/jpeg":
                assert stored.content == jpeg.content
            validity = get(client, tilejson["validity"], z, x, y)
            if validity.status_code == 200:  # no data is never drawn, at any zoom
                pixels = rgba(validity.content)
                outside = ~m.any("flags", z, x, y)
                assert not (pixels[3] > 0)[outside].any(), f"validity {z}/{x}/{y}: drawn outside the data"
            else:
                assert not m.all("flags", z, x, y).any()


def test_differences_are_transparent_where_either_month_has_no_data_at_every_zoom(
    published: tuple[TestClient, list[MonthPixels]],
) -> None:
    client, (a, b) = published
    for m in (a, b):  # a difference shows where both months hold a valid observation
        m.valid["diff"] = m.valid["reflectance"] & (RANK[m.values["flags"][0]] == 2)
    assert (a.where.col0, a.where.row0) == (b.where.col0, b.where.row0)
    pins = f"build_a={a.month.build_id}&build_b={b.month.build_id}"
    shown = 0
    for z in range(a.where.zoom + 1):
        for x, y in a.where.tiles(z):
            for kind in ("ndvi", "magnitude"):
                r = get(client, f"/diff/{a.month.month}/{b.month.month}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png"
                                f"?kind={kind}&{pins}", z, x, y)
                opacity = alpha(r)
                outside = (opacity > 0) & ~(a.any("diff", z, x, y) & b.any("diff", z, x, y))
                assert not outside.any(), f"{kind} {z}/{x}/{y}: {outside.sum()} visible pixels outside the data"
                lost = (opacity < 255) & a.all("diff", z, x, y) & b.all("diff", z, x, y)
                assert not lost.any(), f"{kind} {z}/{x}/{y}: {lost.sum()} data pixels not opaque"
                shown += int((opacity > 0).sum())
    assert shown > 1000
