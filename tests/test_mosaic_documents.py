"""The published documents (manifest.json, catalog.json): older ones read, new ones keep the format.

``tests/fixtures/main-format`` holds the catalog and manifest of a real build (2 tiles, 2000 m)
made by main at 6b1bc37, the last commit before the documents were typed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from mosaic.build import BuildOptions, build_month
from mosaic.catalog import Catalog
from mosaic.documents import CatalogDocument, Manifest
from mosaic.store import DataStore
from sample import generate_products

FIXTURE = Path(__file__).parent / "fixtures" / "main-format"
MONTH = "2018-07"


def _manifest_path(data: Path) -> Path:
    return next(data.glob(f"months/{MONTH}/builds/*/manifest.json"))


def _shape(value: Any) -> Any:
    """The keys of a JSON document, nested, with the type of each leaf (dicts keyed by data: one entry)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return "number" if isinstance(value, int | float) and not isinstance(value, bool) else type(value).__name__


def _data_keyed(doc: dict, *paths: str) -> dict:
    """``doc`` with the dicts at ``paths`` (keyed by region id, tile...) as one entry keyed ``*``."""
    doc = json.loads(json.dumps(doc))
    for path in paths:
        *parents, last = path.split(".")
        node: Any = doc
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[last] = {"*": next(iter(node[last].values()))}
    return doc


@pytest.fixture()
def old_data(tmp_path: Path) -> Path:
    """A data directory holding main's catalog and manifest (no rasters: reading them needs none)."""
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    return data


def test_documents_written_by_main_read_and_write_back_unchanged() -> None:
    catalog = json.loads((FIXTURE / "catalog.json").read_text())
    manifest = json.loads(_manifest_path(FIXTURE).read_text())
    assert CatalogDocument.model_validate(catalog).to_json() == catalog
    typed = Manifest.model_validate(manifest)
    assert typed.to_json() == manifest
    assert typed.grid.kept is not None and typed.grid.kept.zoom == typed.grid.zoom
    assert typed.filled_regions() and all(typed.regions[r].files for r in typed.filled_regions())
    assert [i.tile for i in typed.inputs] == ["T31TCJ", "T31TDJ"] and all(i.product for i in typed.inputs)


def test_the_catalog_serves_main_s_months_and_older_ones(old_data: Path) -> None:
    (month,) = Catalog(old_data).months()
    raw = json.loads((old_data / "catalog.json").read_text())["months"][MONTH]
    manifest = json.loads(_manifest_path(old_data).read_text())
    assert month.build_id == raw["build_id"] and month.zoom == raw["zoom"] and list(month.bounds) == raw["bounds"]
    assert month.summary.to_json() == raw
    assert month.regions == {r for r, info in manifest["regions"].items() if info["files"]}

    # Older still: before the grid's resolution, the product records and the fingerprints were written.
    path = _manifest_path(old_data)
    manifest["grid"]["resolution"] = 2445.98
    for record in manifest["inputs"]:
        del record["product"], record["fingerprint"]
    path.write_text(json.dumps(manifest))
    catalog = json.loads((old_data / "catalog.json").read_text())
    del catalog["months"][MONTH]["resolution"]
    (old_data / "catalog.json").write_text(json.dumps(catalog))
    (month,) = Catalog(old_data).months()
    assert month.summary.resolution is None and month.regions
    old = Manifest.read(path.parent)
    assert old is not None and old.grid.kept is None and old.inputs[0].fingerprint is None


def test_a_new_build_writes_main_s_format_and_keeps_other_months_entries(old_data: Path, tmp_path: Path) -> None:
    """Same keys and value types as main's documents; a publish rewrites the catalog leaving other months as read."""
    catalog = json.loads((old_data / "catalog.json").read_text())
    other = catalog["months"].pop(MONTH)
    del other["resolution"]  # an entry of a build made before the resolution was recorded
    catalog["months"]["2017-07"] = other
    (old_data / "catalog.json").write_text(json.dumps(catalog))
    inputs = tmp_path / "inputs"
    generate_products(inputs, tiles=["T31TCJ", "T31TDJ"], months=[MONTH], pixel_size=2000, as_zip=True, workers=1)
    report = build_month(old_data, MONTH, [inputs], BuildOptions(scheduler="sync", progress=False))

    written = json.loads((report.build_dir / "manifest.json").read_text())
    reference = json.loads(_manifest_path(FIXTURE).read_text())
    keyed = ("regions", "regions.*.part_flags", "regions.*.part_wins")
    # Added since (issue 13: block indexes beside the true-colour COGs); older readers ignore them.
    assert written["layers"]["truecolor"].pop("block_index") == "overview/truecolor.blocks.npy"
    assert all(r["files"].pop("truecolor.blocks") == "truecolor.blocks.npy"
               for r in written["regions"].values() if r["files"])
    # Issue 12: the parts' digests per region, whether a region was kept, the part task's digest time.
    assert all(sorted(r.pop("digests")) == r["inputs"] and r.pop("reused") is False
               for r in written["regions"].values())
    assert all(i["timings"].pop("digests") >= 0 for i in written["inputs"])
    for doc in (written, reference):
        doc["inputs"] = doc["inputs"][:1]
        doc["regions"] = {r: v for r, v in doc["regions"].items() if v["files"] and v["part_wins"]}
    assert _shape(_data_keyed(written, *keyed)) == _shape(_data_keyed(reference, *keyed))

    now = json.loads((old_data / "catalog.json").read_text())
    assert now["months"]["2017-07"] == other  # as read: no field added, none dropped
    assert _shape(now["months"][MONTH]) == _shape(json.loads((FIXTURE / "catalog.json").read_text())["months"][MONTH])
    assert DataStore(old_data).read_catalog().build_id(MONTH) == report.build_id
