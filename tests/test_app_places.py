"""Place search, place names and borders served by the app (GeoNames, Natural Earth)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.context import EXTENT
from app.main import create_app
from app.places import MAX_QUERY, MAX_RESULTS, _places, parse_coordinates
from app.settings import Settings


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    client = TestClient(create_app(Settings(data_dir=tmp_path_factory.mktemp("places"))))
    _places()  # the first time on a machine, places are extracted (seconds): not within a request's time limit
    return client


def places(client: TestClient, q: str, **params: object) -> list[dict]:
    r = client.get("/api/places", params={"q": q, **params})
    assert r.status_code == 200, r.text
    assert "GeoNames" in r.json()["licence"]
    return r.json()["results"]


@pytest.mark.parametrize("q", ["besancon", "BESANCON", "Besançon", "besançon ", "Besan"])
def test_accents_and_case_do_not_matter(client: TestClient, q: str) -> None:
    first = places(client, q)[0]
    assert first["name"] == "Besançon" and first["kind"] == "place"
    assert abs(first["lat"] - 47.24) < 0.05 and abs(first["lon"] - 6.02) < 0.05
    assert first["population"] > 100_000 and first["region"] == "Bourgogne-Franche-Comté"


def test_names_rank_by_match_then_population(client: TestClient) -> None:
    found = places(client, "saint", limit=MAX_RESULTS)
    assert len(found) == MAX_RESULTS
    populations = [p["population"] for p in found]
    assert populations == sorted(populations, reverse=True) and populations[0] > 100_000  # Saint-Denis...
    assert places(client, "saint etienne")[0]["name"] == "Saint-Étienne"
    assert places(client, "etienne")[0]["name"] == "Saint-Étienne"  # a word of the name
    assert places(client, "Toulouse")[0]["name"] == "Toulouse"  # the exact name before larger places containing it
    small = places(client, "Peyrat-le-Chateau")
    assert small[0]["name"] == "Peyrat-le-Château" and small[0]["population"] < 5000  # communes, not only cities
    assert places(client, "xqzw") == []


@pytest.mark.parametrize(("q", "lat", "lon"), [
    ("43.6, 1.44", 43.6, 1.44), ("43.6 1.44", 43.6, 1.44), ("43,6 ; 1,44", 43.6, 1.44), ("43,6 1,44", 43.6, 1.44),
    ("43°36'N 1°26'E", 43.6, 1.43333), ("43°36′N, 1°26′E", 43.6, 1.43333), ("1°26'E 43°36'N", 43.6, 1.43333),
    ("-21.1, 55.5", -21.1, 55.5), ("48°51'24\"N 2°21'8\"E", 48.85667, 2.35222), ("43°36'N 1°26'W", 43.6, -1.43333),
])
def test_coordinates(client: TestClient, q: str, lat: float, lon: float) -> None:
    [found] = places(client, q)
    assert found["kind"] == "coordinates"
    assert abs(found["lat"] - lat) < 1e-4 and abs(found["lon"] - lon) < 1e-4


@pytest.mark.parametrize("q", ["95, 10", "45, 200", "Paris 15", "1, 2, 3", "N"])
def test_not_coordinates(q: str) -> None:
    assert parse_coordinates(q) is None


@pytest.mark.parametrize("params", [{"q": ""}, {"q": "a" * (MAX_QUERY + 1)}, {"q": "paris", "limit": MAX_RESULTS + 1},
                                    {"q": "paris", "limit": 0}, {}])
def test_query_and_result_count_are_bounded(client: TestClient, params: dict) -> None:
    r = client.get("/api/places", params=params)
    assert r.status_code == 422
    assert ("q" in r.text) or ("limit" in r.text)


def test_default_result_count(client: TestClient) -> None:
    assert len(places(client, "saint")) == 8
    assert len(places(client, "a" * MAX_QUERY)) == 0


def test_place_names_for_the_map(client: TestClient) -> None:
    r = client.get("/api/places/labels")
    assert r.status_code == 200 and "GeoNames" in r.json()["licence"]
    features = r.json()["features"]
    by_name = {f["properties"]["name"]: f for f in features}
    assert sum(f["properties"]["population"] >= 15_000 for f in features) > 400  # every city of 15,000 and more
    assert sum(f["properties"]["population"] < 5_000 for f in features) > 5_000  # and towns for closer zooms
    lon, lat = by_name["Paris"]["geometry"]["coordinates"]
    assert abs(lon - 2.35) < 0.05 and abs(lat - 48.85) < 0.05
    assert not any(name.startswith("Paris 1") for name in by_name)  # districts are searchable, not labelled


def test_borders_and_coast_around_france(client: TestClient) -> None:
    r = client.get("/api/context/borders")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    data = r.json()
    assert "Natural Earth" in data["licence"]
    w, s, e, n = EXTENT
    points = {"border": [], "coast": []}
    for f in data["features"]:
        lines = f["geometry"]["coordinates"]
        lines = [lines] if f["geometry"]["type"] == "LineString" else lines
        points[f["properties"]["kind"]] += [p for line in lines for p in line]
    assert all(w - 1e-6 <= x <= e + 1e-6 and s - 1e-6 <= y <= n + 1e-6 for x, y in points["border"] + points["coast"])
    # The Pyrenees (France-Spain) and the Rhine (France-Germany) are borders; Brest's shore is coast.
    near = lambda kind, lon, lat: any(abs(x - lon) < 0.1 and abs(y - lat) < 0.1 for x, y in points[kind])  # noqa: E731
    assert near("border", 0.0, 42.7) and near("border", 7.6, 48.3)
    assert near("coast", -4.6, 48.3) and not near("coast", 0.0, 42.7)
