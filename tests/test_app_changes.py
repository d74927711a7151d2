"""Change hotspots and view validity, on months with changes and cloud planted in the products."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from mosaic.catalog import Catalog
from mosaic.changes import KINDS, MIN_AREA_KM2
from tests.planted import CLOUD, GAIN, LOSS, Block, lonlat_bounds

KM = 1000  # the products' pixel, metres: the analysis pixel (zoom 7, 0.84 km) may land a pixel off the block


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("changes-cache")


@pytest.fixture(scope="module")
def planted(planted_sample: Path, cache: Path) -> tuple[Path, TestClient]:
    """The shared planted months (read only) and a client caching its answers in this module's folder."""
    return planted_sample, TestClient(create_app(Settings(data_dir=planted_sample / "data", cache_dir=cache)))


def covers(bbox: list[float], inner: tuple[float, ...]) -> bool:
    return bbox[0] <= inner[0] and bbox[1] <= inner[1] and bbox[2] >= inner[2] and bbox[3] >= inner[3]


def assert_is_block(feature: dict, root: Path, block: Block) -> None:
    """The feature's bbox covers the block (less one pixel) and lies within it (plus one pixel)."""
    assert covers(feature["bbox"], lonlat_bounds(root, block, inset=1.2))
    assert covers(list(lonlat_bounds(root, block, inset=-1.2)), feature["bbox"])
    assert feature["properties"]["bbox"] == feature["bbox"]
    west, south, east, north = feature["bbox"]
    lon, lat = feature["properties"]["centroid"]
    assert west < lon < east and south < lat < north
    (ring,) = feature["geometry"]["coordinates"]  # one polygon, no hole: the block is solid
    assert feature["geometry"]["type"] == "Polygon" and len(ring) < 12  # simplified to its corners (and steps)


def test_planted_loss_is_the_top_ndvi_loss_with_true_ground_area(planted: tuple[Path, TestClient]) -> None:
    root, client = planted
    r = client.get("/api/changes/2018-07/2018-08?kind=ndvi_loss&limit=5")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 5
    assert fc["parameters"]["threshold"] == KINDS["ndvi_loss"].threshold
    assert fc["parameters"]["min_area_km2"] == MIN_AREA_KM2 and fc["parameters"]["zoom"] == 7
    top = fc["features"][0]
    assert_is_block(top, root, LOSS)
    props = top["properties"]
    # 30 x 30 km on the ground (UTM scale within 0.1 % here): Web-Mercator area would be 1 / cos²(44°) = 1.9x.
    assert props["area_km2"] == pytest.approx(900, rel=0.03)
    assert props["mean_change"] == pytest.approx(0.09 - 0.86, abs=0.02)  # NDVI 0.86 -> 0.09 in the block
    assert props["valid_share"] == 1.0
    areas = [f["properties"]["area_km2"] for f in fc["features"]]
    assert areas == sorted(areas, reverse=True) and min(areas) >= MIN_AREA_KM2
    assert [f["properties"]["rank"] for f in fc["features"]] == [1, 2, 3, 4, 5]


def test_cloudy_change_is_excluded(planted: tuple[Path, TestClient]) -> None:
    """The larger loss under August's cloud counts nowhere: no feature reaches into it."""
    root, client = planted
    cloud = lonlat_bounds(root, CLOUD, inset=1.2)
    for kind in KINDS:
        for f in client.get(f"/api/changes/2018-07/2018-08?kind={kind}&limit=100").json()["features"]:
            w, s, e, n = f["bbox"]
            assert not (w < cloud[2] and cloud[0] < e and s < cloud[3] and cloud[1] < n), (kind, f["bbox"])


def test_planted_gain_is_the_top_gain_and_both_are_the_top_magnitudes(planted: tuple[Path, TestClient]) -> None:
    root, client = planted
    gain = client.get("/api/changes/2018-07/2018-08?kind=ndvi_gain&limit=1").json()["features"]
    assert len(gain) == 1
    assert_is_block(gain[0], root, GAIN)
    assert gain[0]["properties"]["area_km2"] == pytest.approx(20 * 25, rel=0.03)
    assert gain[0]["properties"]["mean_change"] == pytest.approx(0.86 - 0.09, abs=0.02)
    reverse = client.get("/api/changes/2018-08/2018-07?kind=ndvi_gain&limit=1").json()["features"][0]
    assert_is_block(reverse, root, LOSS)  # a loss seen backwards is a gain
    first, second = client.get("/api/changes/2018-07/2018-08?kind=magnitude&limit=2").json()["features"]
    assert_is_block(first, root, LOSS)
    assert_is_block(second, root, GAIN)
    assert first["properties"]["mean_change"] > KINDS["magnitude"].threshold


def test_answers_are_cached_per_pair_of_builds(planted: tuple[Path, TestClient], cache: Path) -> None:
    root, client = planted
    catalog = Catalog(root / "data")
    a, b = catalog.get("2018-07").build_id, catalog.get("2018-08").build_id
    url = f"/api/changes/2018-07/2018-08?kind=ndvi_loss&build_a={a}&build_b={b}"
    first = client.get(url)
    assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
    cached = list(cache.glob("*.json"))
    assert cached
    for path in cached:  # a second answer comes from the file: change it and see
        path.write_text(path.read_text().replace('"rank":1,', '"rank":1,"from_cache":true,'))
    again = client.get(url).json()
    assert again["features"][0]["properties"].get("from_cache") is True
    assert again["build_a"] == a and again["build_b"] == b
    assert client.get("/api/changes/2018-07/2018-08").headers["cache-control"] == "public, max-age=60"


def test_change_errors(planted: tuple[Path, TestClient]) -> None:
    _, client = planted
    assert client.get("/api/changes/2018-07/2019-08").status_code == 404
    assert client.get("/api/changes/2018-07/2018-08?kind=nope").status_code == 422
    assert client.get("/api/changes/2018-07/2018-08?limit=0").status_code == 422
    assert client.get("/api/changes/2018-07/2018-08?limit=101").status_code == 422
    assert client.get("/api/changes/2018-07/2018-08?build_a=20990101T000000.000000Z-abcdef").status_code == 404


def test_valid_share_of_a_view(planted: tuple[Path, TestClient]) -> None:
    root, client = planted

    def valid(block_bounds: tuple[float, ...]) -> dict:
        r = client.get("/api/valid/2018-07/2018-08?bbox=" + ",".join(map(str, block_bounds)))
        assert r.status_code == 200
        return r.json()

    cloudy = valid(lonlat_bounds(root, CLOUD, inset=1.2))
    assert cloudy["valid_share"] == 0 and cloudy["shares"]["cloud"] == 1
    assert max(cloudy["pixels"]) == 256
    assert valid(lonlat_bounds(root, LOSS, inset=1.2))["valid_share"] == 1
    # Rows 25-45 from the middle of the loss block (column 35) into the cloud (to column 75): the loss block's
    # columns 35-50 and the frame's 50-60 are valid in both months, the cloud's 60-75 are not.
    half = valid(lonlat_bounds(root, Block((25, 45), (35, 75))))
    assert half["valid_share"] == pytest.approx(25 / 40, abs=0.03)
    assert half["shares"]["cloud"] == pytest.approx(15 / 40, abs=0.03)
    assert sum(half["shares"].values()) == pytest.approx(1, abs=1e-3)
    outside = valid((-20, 44, -19, 45))  # over the Atlantic: no data in either month
    assert outside["valid_share"] == 0 and outside["shares"]["no_data"] == 1


def test_valid_errors(planted: tuple[Path, TestClient]) -> None:
    _, client = planted
    assert client.get("/api/valid/2018-07/2018-08").status_code == 422
    for bad in ("1,2,3", "a,b,c,d", "2,43,1,44", "1,44,2,43", "-200,43,1,44"):
        r = client.get(f"/api/valid/2018-07/2018-08?bbox={bad}")
        assert r.status_code == 400 and "bbox" in r.json()["detail"]
    assert client.get("/api/valid/2018-07/2019-01?bbox=1,43,2,44").status_code == 404
