"""The admin API against a real server: auth, builds in their own process, history, cancel."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.jobs import JobStore
from app.main import create_app
from app.settings import Settings
from mosaic.build import BuildOptions, build_month
from mosaic.catalog import Catalog
from sample import generate_products
from tests.helpers import serving

TOKEN = "s3cret-token-for-tests"
MONTH = "2018-07"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("admin") / "data"
    generate_products(data / "inputs" / "july", tiles=["T31TCJ", "T31TDJ"], months=[MONTH], pixel_size=1000,
                      workers=1)
    build_month(data, MONTH, [data / "inputs" / "july"], BuildOptions(scheduler="sync", progress=False))
    return data


@pytest.fixture(scope="module")
def server(data: Path) -> Iterator[str]:
    env = {**os.environ, "MOSAIQUE_ADMIN_TOKEN": TOKEN, "MOSAIQUE_DASK_SCHEDULER": "sync"}
    with serving(data, env=env) as url:
        yield url


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_for(client: httpx.Client, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/admin/builds/{job_id}", headers=auth()).json()
        if job["state"] not in ("queued", "running"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def test_admin_is_disabled_without_a_token(tmp_path: Path) -> None:
    client = TestClient(create_app(Settings(data_dir=tmp_path)))
    r = client.post("/api/admin/builds", json={"month": MONTH, "inputs": ["x"]}, headers=auth())
    assert r.status_code == 403 and "disabled" in r.json()["detail"]


def test_missing_or_wrong_token_is_refused(server: str) -> None:
    with httpx.Client(base_url=server) as client:
        assert client.get("/api/admin/builds").status_code == 401
        assert client.get("/api/admin/builds", headers=auth("wrong")).status_code == 403
        assert client.post("/api/admin/builds", json={"month": MONTH, "inputs": ["july"]},
                           headers=auth("wrong")).status_code == 403
        assert client.get("/api/admin/builds", headers=auth()).status_code == 200


def test_bad_build_requests_are_400_or_422(server: str) -> None:
    with httpx.Client(base_url=server, headers=auth()) as client:
        assert client.post("/api/admin/builds", json={"month": MONTH, "inputs": ["/etc"]}).status_code == 400
        assert client.post("/api/admin/builds", json={"month": MONTH, "inputs": ["../../"]}).status_code == 400
        assert client.post("/api/admin/builds", json={"month": "2018-13", "inputs": ["july"]}).status_code == 422
        assert client.post("/api/admin/builds", json={"month": MONTH, "inputs": []}).status_code == 422
        assert client.get("/api/admin/builds/000000000000").status_code == 404


def test_rebuild_through_the_api_publishes_while_tiles_keep_flowing(server: str, data: Path) -> None:
    before = Catalog(data).get(MONTH).build_id
    tile = f"/months/{MONTH}/truecolor/tiles/WebMercatorQuad/7/64/46.png"
    with httpx.Client(base_url=server) as client:
        r = client.post("/api/admin/builds", json={"month": MONTH, "inputs": ["july"], "force": True},
                        headers=auth())
        assert r.status_code == 202, r.text
        job = r.json()
        assert client.post("/api/admin/builds", json={"month": MONTH, "inputs": ["july"]},
                           headers=auth()).status_code == 409
        statuses = []
        while client.get(f"/api/admin/builds/{job['id']}", headers=auth()).json()["state"] in ("queued", "running"):
            statuses.append(client.get(tile).status_code)
        done = wait_for(client, job["id"])
        assert done["state"] == "succeeded", done
        assert statuses and set(statuses) == {200}
        (month,) = client.get("/api/months").json()
        assert month["build_id"] == done["build_id"] != before
        assert done["progress"]["done"] == done["progress"]["total"]
        assert str(data) not in str(done)
        metrics = client.get("/metrics").text
        assert 'mosaique_build_jobs{state="succeeded"}' in metrics
        assert 'mosaique_build_duration_seconds_count{outcome="succeeded"}' in metrics
    # History persists: a new server process reads the same SQLite file.
    assert [j["id"] for j in JobStore(Settings(data_dir=data).jobs_db()).list()][0] == job["id"]


def test_cancel_stops_the_build_and_keeps_the_published_month(server: str, data: Path) -> None:
    before = Catalog(data).get(MONTH).build_id
    with httpx.Client(base_url=server, headers=auth()) as client:
        job = client.post("/api/admin/builds", json={"month": MONTH, "inputs": ["july"], "force": True}).json()
        cancelled = client.post(f"/api/admin/builds/{job['id']}/cancel").json()
        assert cancelled["state"] in ("cancelled", "succeeded")
        time.sleep(0.5)
        if cancelled["state"] == "cancelled":
            assert Catalog(data).get(MONTH).build_id == before
        assert client.get(f"/api/admin/builds/{job['id']}").json()["state"] == cancelled["state"]


def test_a_build_request_can_ask_to_verify_every_input(server: str, data: Path) -> None:
    """Unchanged inputs make an up-to-date month; ``verify_inputs`` checks them all again and builds."""
    with httpx.Client(base_url=server, headers=auth()) as client:
        before = Catalog(data).get(MONTH).build_id
        asked = client.post("/api/admin/builds", json={"month": MONTH, "inputs": ["july"]})
        plain = wait_for(client, asked.json()["id"])
        assert plain["state"] == "succeeded" and not plain["verify_inputs"], plain
        assert Catalog(data).get(MONTH).build_id == before  # up to date: nothing rebuilt
        r = client.post("/api/admin/builds", json={"month": MONTH, "inputs": ["july"], "verify_inputs": True})
        assert r.status_code == 202 and r.json()["verify_inputs"] is True, r.text
        seen = []
        while (job := client.get(f"/api/admin/builds/{r.json()['id']}").json())["state"] in ("queued", "running"):
            seen.append(job["progress"])
            time.sleep(0.05)
        done = wait_for(client, r.json()["id"])
        assert done["state"] == "succeeded" and done["build_id"] != before, done
        assert Catalog(data).get(MONTH).build_id == done["build_id"]
    # Every part and region was a task (nothing is trusted unread); the runner reported each one.
    manifest = json.loads(Path(Catalog(data).get(MONTH).folder, "manifest.json").read_text())
    tasks = len(manifest["inputs"]) + len(manifest["regions"])
    assert done["progress"] == {"done": tasks, "total": tasks}, done
    reported = [p for p in seen if p is not None]
    assert reported and all(p["total"] == tasks and 0 <= p["done"] <= tasks for p in reported), seen
    assert [p["done"] for p in reported] == sorted(p["done"] for p in reported)


def test_a_job_history_from_before_verify_inputs_is_upgraded(tmp_path: Path) -> None:
    db = tmp_path / "jobs" / "jobs.sqlite"
    db.parent.mkdir()
    with sqlite3.connect(db) as old:
        old.execute("CREATE TABLE jobs (id TEXT PRIMARY KEY, month TEXT NOT NULL, inputs TEXT NOT NULL, "
                    "force INTEGER NOT NULL, state TEXT NOT NULL, created TEXT NOT NULL, started TEXT, finished TEXT, "
                    "pid INTEGER, exit_code INTEGER, build_id TEXT, error TEXT, log TEXT NOT NULL)")
        old.execute("INSERT INTO jobs VALUES ('abc', '2018-07', '[]', 0, 'succeeded', 'then', NULL, NULL, NULL, 0, "
                    "NULL, NULL, ?)", (str(tmp_path / "none.log"),))
    (job,) = JobStore(db).list()
    assert job["id"] == "abc" and job["verify_inputs"] is False


def test_failed_tokens_and_build_starts_are_rate_limited(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, admin_token=TOKEN, admin_rate_limit=2, max_builds=10)
    (tmp_path / "inputs").mkdir()
    client = TestClient(create_app(settings))
    for _ in range(10):
        assert client.get("/api/admin/builds", headers=auth("guess")).status_code == 403
    refused = client.get("/api/admin/builds", headers=auth())
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    other = TestClient(create_app(settings))  # another process: its own buckets; reads are not limited
    assert all(other.get("/api/admin/builds", headers=auth()).status_code == 200 for _ in range(20))
    starts = [other.post("/api/admin/builds", json={"month": f"2019-0{m}", "inputs": ["."]}, headers=auth())
              for m in range(1, 4)]
    assert [r.status_code for r in starts] == [202, 202, 429]
    _cancel_all(other)


def test_concurrent_builds_are_capped(tmp_path: Path) -> None:
    (tmp_path / "inputs").mkdir()
    settings = Settings(data_dir=tmp_path, admin_token=TOKEN, max_builds=1, retry_after=7)
    client = TestClient(create_app(settings))
    first = client.post("/api/admin/builds", json={"month": "2019-01", "inputs": ["."]}, headers=auth())
    assert first.status_code == 202
    busy = client.post("/api/admin/builds", json={"month": "2019-02", "inputs": ["."]}, headers=auth())
    assert busy.status_code == 429 and "MOSAIQUE_MAX_BUILDS" in busy.json()["detail"]
    assert busy.headers["retry-after"] == "7"  # the setting, as every 429 and 503 of app.errors
    again = client.post("/api/admin/builds", json={"month": "2019-01", "inputs": ["."]}, headers=auth())
    assert again.status_code == 409
    _cancel_all(client)


def _cancel_all(client: TestClient) -> None:
    for job in client.get("/api/admin/builds", headers=auth()).json():
        client.post(f"/api/admin/builds/{job['id']}/cancel", headers=auth())
