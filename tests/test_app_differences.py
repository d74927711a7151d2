"""Difference tiles between two months (through the app, in process)."""

from __future__ import annotations

from pathlib import Path

import morecantile
import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient
from rio_tiler.colormap import cmap
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.models import ImageData
from titiler.core.resources.enums import ImageType

from app.differences import DIFFERENCES, difference
from app.main import create_app
from app.readers import MonthLayer, MonthLayerReader
from app.rendering import render_tile
from app.settings import Settings
from mosaic.catalog import Catalog
from mosaic.layers import REFLECTANCE
from mosaic.select import RANK
from tests.helpers import rgba

TILE = (7, 64, 46)  # the region tile at zoom 7: its COGs are exactly this tile


@pytest.fixture(scope="module")
def client(france: Path) -> TestClient:
    app = create_app(Settings(data_dir=france))
    app.state.data = france
    return TestClient(app)


def month_layer(data: Path, month: str, layer: str) -> np.ndarray:
    with rasterio.open(Catalog(data).get(month).source(layer, *TILE)) as cog:
        return cog.read().astype(np.float32)


def test_ndvi_difference_is_transparent_where_either_month_is_invalid(client: TestClient) -> None:
    z, x, y = TILE
    r = client.get(f"/diff/2018-07/2018-08/tiles/WebMercatorQuad/{z}/{x}/{y}.png?kind=ndvi")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    img = rgba(r.content)
    data = client.app.state.data
    fa, fb = month_layer(data, "2018-07", "flags")[0], month_layer(data, "2018-08", "flags")[0]
    valid = np.isin(fa, (2, 3, 4)) & np.isin(fb, (2, 3, 4))
    assert ((img[3] > 0) == valid).all()
    # Where NDVI did not change the colour is the colormap's middle; where it dropped, brown.
    a, b = month_layer(data, "2018-07", "reflectance"), month_layer(data, "2018-08", "reflectance")
    delta = (b[3] - b[2]) / (b[3] + b[2]) - (a[3] - a[2]) / (a[3] + a[2])
    drop, gain = valid & (delta < -0.3), valid & (delta > 0.3)
    if drop.any():
        assert (img[0][drop].astype(int) > img[2][drop]).mean() > 0.9  # brown: red > blue
    if gain.any():
        assert (img[2][gain].astype(int) > img[0][gain]).mean() > 0.9  # blue-green
    assert drop.any() or gain.any()


def test_magnitude_and_errors(client: TestClient) -> None:
    z, x, y = TILE
    r = client.get(f"/diff/2018-07/2018-08/tiles/WebMercatorQuad/{z}/{x}/{y}.webp?kind=magnitude")
    assert r.status_code == 200 and r.headers["content-type"] == "image/webp"
    same = rgba(client.get(f"/diff/2018-07/2018-07/tiles/WebMercatorQuad/{z}/{x}/{y}.png?kind=magnitude").content)
    opaque = same[3] > 0
    assert opaque.any() and len({tuple(p) for p in same[:3, opaque].T}) == 1  # zero change: one colour
    assert client.get(f"/diff/2018-07/2019-08/tiles/WebMercatorQuad/{z}/{x}/{y}.png").status_code == 404
    assert client.get(f"/diff/2018-07/2018-08/tiles/WebMercatorQuad/{z}/{x}/{y}.png?kind=nope").status_code == 422
    assert client.get(f"/diff/2018-07/2018-08/tiles/WebMercatorQuad/{z}/{x}/{y}.jpg").status_code == 422
    assert client.get("/diff/2018-07/2018-08/tiles/WebMercatorQuad/7/999/46.png").status_code == 400  # off the grid
    assert client.get("/diff/2018-07/2018-08/tiles/WebMercatorQuad/7/0/0.png").status_code == 204


def test_point_series_has_one_entry_per_month_with_the_layers_values(client: TestClient) -> None:
    data = client.app.state.data
    series = client.get("/api/point/1.2,43.8").json()["months"]
    assert [m["month"] for m in series] == ["2018-07", "2018-08"]
    for entry in series:
        month = Catalog(data).get(entry["month"])
        with rasterio.open(month.vrt("reflectance")) as refl, rasterio.open(month.vrt("flags")) as flg, \
                rasterio.open(month.vrt("dates")) as dts:
            (px,), (py,) = rasterio.warp.transform("EPSG:4326", refl.crs, [1.2], [43.8])
            b = [int(v) for v in next(refl.sample([(px, py)]))]
            assert entry["flag"] == int(next(flg.sample([(px, py)]))[0])
            assert entry["day_of_year"] == int(next(dts.sample([(px, py)]))[0])
        assert entry["reflectance"] == {"B2": b[0] / 1e4, "B3": b[1] / 1e4, "B4": b[2] / 1e4, "B8": b[3] / 1e4}
        assert entry["ndvi"] == pytest.approx((b[3] - b[2]) / (b[3] + b[2]), abs=1e-4)
    outside = client.get("/api/point/-30,43.8").json()["months"]
    assert all(m["flag"] is None and m["ndvi"] is None for m in outside)
    assert client.get("/api/point/200,43.8").status_code == 400


def test_legends_give_the_scales_the_tiles_are_drawn_with(client: TestClient) -> None:
    legends = client.get("/api/legends").json()
    assert legends["ndvi"]["range"] == [-0.5, 0.5] and legends["ndvi"]["signed"]
    assert legends["magnitude"]["range"] == [0.0, 0.3] and not legends["magnitude"]["signed"]
    z, x, y = TILE
    same = rgba(client.get(f"/diff/2018-07/2018-07/tiles/WebMercatorQuad/{z}/{x}/{y}.png?kind=magnitude").content)
    drawn = same[:3, same[3] > 0][:, 0]
    assert legends["magnitude"]["colors"][0] == "#{:02x}{:02x}{:02x}".format(*drawn)  # no change: the low end


def reference_difference(catalog: Catalog, a: str, b: str, z: int, x: int, y: int, size: int, kind: str,
                         format: str) -> tuple[bytes, str]:
    """A difference tile as it is specified (and was first computed): both months read through rio-tiler's reader,
    float32 arithmetic in plain expressions, encoded by ``render_tile``."""
    indexes = REFLECTANCE.indexes("B4", "B8") if kind == "ndvi" else REFLECTANCE.indexes(*REFLECTANCE.bands)

    def read(month: str) -> tuple[np.ndarray, np.ndarray, ImageData]:
        m = catalog.get(month)
        refl = MonthLayerReader(MonthLayer(m, "reflectance")).tile(x, y, z, tilesize=size, indexes=indexes)
        flags = MonthLayerReader(MonthLayer(m, "flags")).tile(x, y, z, tilesize=size)
        valid = (RANK[flags.array.data[0]] == 2) & ~flags.array.mask[0] & ~refl.array.mask.any(axis=0)
        return refl.array.data.astype(np.float32) / 10000.0, valid, refl

    (one, valid_a, img), (two, valid_b, _) = read(a), read(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "ndvi":
            value = (two[1] - two[0]) / (two[1] + two[0]) - (one[1] - one[0]) / (one[1] + one[0])
        else:
            value = np.sqrt(((two - one) ** 2).sum(axis=0))
    _, (lo, hi), colormap = DIFFERENCES[kind]
    valid = valid_a & valid_b & np.isfinite(value)
    scaled = np.clip((np.nan_to_num(value) - lo) / (hi - lo) * 255.0, 0, 255).astype(np.uint8)
    out = ImageData(np.ma.MaskedArray(scaled[None], mask=~valid[None]), bounds=img.bounds, crs=img.crs)
    return render_tile(out, colormap=cmap.get(colormap), output_format=ImageType[format])


def test_difference_tiles_are_the_specified_bytes(client: TestClient) -> None:
    """Every tile over the data at every zoom, both kinds, both formats, 256 and 512 px: the bytes of the
    reference computation (window reads, in-place arithmetic and the palette made once change nothing)."""
    catalog = Catalog(client.app.state.data)
    months = catalog.months()
    a, b = months[0], months[-1]
    tms = morecantile.tms.get("WebMercatorQuad")
    images = transparent = 0
    for z in range(b.zoom + 2):
        for i, tile in enumerate(tms.tiles(*b.bounds, [z])):
            for kind in DIFFERENCES:
                for format, size in (("png", 256), ("webp", 256), ("png", 512))[: 3 if i % 4 == 0 else 1]:
                    try:
                        want = reference_difference(catalog, a.month, b.month, tile.z, tile.x, tile.y, size, kind,
                                                    format)
                    except TileOutsideBounds:
                        with pytest.raises(TileOutsideBounds):
                            difference(catalog, (a.month, None), (b.month, None), tile.z, tile.x, tile.y, size, kind,
                                       format)
                        continue
                    got = difference(catalog, (a.month, None), (b.month, None), tile.z, tile.x, tile.y, size, kind,
                                     format)
                    assert got == want, (tile, kind, format, size)
                    images += 1
                    transparent += bool((rgba(got[0])[3] == 0).any())
    assert images >= 50 and transparent >= 10, (images, transparent)
