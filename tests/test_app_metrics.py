"""/metrics tells what holds the memory: the process's RSS, GDAL's block caches, the readers kept open."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.main import create_app
from app.readers import close_idle_readers
from app.settings import Settings

MONTH = "2018-07"


@pytest.fixture()
def data(france: Path) -> Path:
    """The shared France sample: read only."""
    return france


def samples(client: TestClient) -> dict[tuple[str, tuple], float]:
    text = client.get("/metrics").text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_memory_gauges_follow_the_reads(data: Path) -> None:
    close_idle_readers()
    with TestClient(create_app(Settings(data_dir=data))) as client:
        before = samples(client)
        assert before[("process_resident_memory_bytes", ())] > 50e6
        assert before[("mosaique_kept_readers", ())] == 0
        for z, x, y in [(7, 64, 46), (6, 32, 23)]:
            assert client.get(f"/months/{MONTH}/reflectance/tiles/WebMercatorQuad/{z}/{x}/{y}.npy").status_code == 200
        after = samples(client)
        assert after[("mosaique_kept_readers", ())] == 2  # the region COG and the overview COG
        key = ("mosaique_gdal_block_cache_bytes", ())
        assert after[key] > before[key]  # the tiles' decoded blocks
        heap = {state: after[("mosaique_malloc_bytes", (("state", state),))] for state in ("in_use", "free", "mmapped")}
        assert heap["in_use"] + heap["mmapped"] > after[key]  # GDAL's cached blocks are malloc's
    close_idle_readers()

