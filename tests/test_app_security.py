"""Security headers, request ids in answers and logs, CORS default."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.headers import CONTENT_SECURITY_POLICY
from app.main import create_app
from app.settings import Settings

MONTH = "2018-07"


@pytest.fixture(scope="module")
def client(france: Path) -> TestClient:
    return TestClient(create_app(Settings(data_dir=france)))


def test_the_page_is_confined_to_its_origin(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    policy = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == policy["script-src"] == policy["connect-src"] == "'self'"
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert policy["frame-ancestors"] == "'none'" and page.headers["x-frame-options"] == "DENY"
    assert "<script>" not in page.text and " on" + "click=" not in page.text  # no inline script to allow


@pytest.mark.parametrize("path", ["/", "/api/months", f"/months/{MONTH}/truecolor/tiles/WebMercatorQuad/7/64/46.png",
                                  "/healthz", "/no/such/route"])
def test_every_answer_has_the_security_headers(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "access-control-allow-origin" not in client.get(path, headers={"Origin": "https://elsewhere.example"}).headers


def test_request_ids_are_echoed_and_logged(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="mosaique"):
        mine = client.get("/api/months", headers={"X-Request-ID": "abc-123"})
        fresh = client.get("/api/months", headers={"X-Request-ID": "not safe\nid"})
    assert mine.headers["x-request-id"] == "abc-123"
    assert fresh.headers["x-request-id"] != "not safe\nid" and len(fresh.headers["x-request-id"]) == 32
    access = [r for r in caplog.records if r.name == "mosaique.access"]
    assert [(r.request_id, r.path, r.status) for r in access] == [
        ("abc-123", "/api/months", 200), (fresh.headers["x-request-id"], "/api/months", 200)]
    assert all(r.duration_ms >= 0 for r in access)


def test_a_500_is_logged_with_its_request_id(france_copy: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = france_copy  # its true-colour COGs are broken below
    for cog in (data / "months").rglob("truecolor*.tif"):
        cog.write_bytes(b"II*\x00" + b"\x00" * 64)
    client = TestClient(create_app(Settings(data_dir=data)), raise_server_exceptions=False)
    with caplog.at_level(logging.INFO, logger="mosaique"):
        url = f"/months/{MONTH}/truecolor/tiles/WebMercatorQuad/7/64/46.png"
        r = client.get(url, headers={"X-Request-ID": "r-500"})
    assert r.status_code == 500 and r.headers["x-request-id"] == "r-500"
    errors = [rec for rec in caplog.records if rec.levelno == logging.ERROR]
    assert errors and all(getattr(rec, "request_id", None) == "r-500" for rec in errors)
