"""Timelapse export: decoded with Pillow and ffmpeg, on months with a planted change."""

from __future__ import annotations

import io
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pyproj import Transformer

from app.frames import decorate, legend_of, month_label
from app.main import create_app
from app.presets import PRESETS
from app.settings import Settings
from mosaic.analysis import TMS
from tests.planted import LOSS, lonlat_bounds

ZOOM, W, H = 9, 320, 240
RETRY_AFTER = 7


@pytest.fixture(scope="module")
def planted(planted_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TestClient]:
    """The shared planted months (read only) and a client caching its exports in this module's folder."""
    settings = Settings(data_dir=planted_sample / "data", cache_dir=tmp_path_factory.mktemp("timelapse-cache"),
                        compute_wait=0.05, retry_after=RETRY_AFTER)
    return planted_sample, TestClient(create_app(settings))


def export(client: TestClient, query: str) -> tuple[bytes, str]:
    """Follow an export as the page does: the first answer, then its job until the result is there."""
    r = client.get(f"/api/timelapse?{query}")
    deadline = time.monotonic() + 120
    while r.status_code == 202 and time.monotonic() < deadline:
        time.sleep(0.2)
        r = client.get(r.json()["result"])
    assert r.status_code == 200, r.text
    return r.content, r.headers["content-type"]


def decode(content: bytes, media_type: str, tmp_path: Path) -> list[np.ndarray]:
    """Every frame as RGB (height, width, 3)."""
    if media_type == "video/mp4":
        path = tmp_path / "out.mp4"
        path.write_bytes(content)
        reader = imageio_ffmpeg.read_frames(str(path))
        meta = next(reader)
        w, h = meta["size"]
        return [np.frombuffer(f, dtype=np.uint8).reshape(h, w, 3) for f in reader]
    with Image.open(io.BytesIO(content)) as img:
        frames = []
        for i in range(img.n_frames):
            img.seek(i)
            frames.append(np.asarray(img.convert("RGB")))
        return frames


def centre_and_offset(root: Path) -> tuple[tuple[float, float], tuple[int, int]]:
    """The loss block's centre (lon, lat), and the frame pixel of the unchanged strip east of it."""
    west, south, east, north = lonlat_bounds(root, LOSS)
    centre = ((west + east) / 2, (south + north) / 2)
    strip = lonlat_bounds(root, LOSS.__class__((34, 36), (54, 56)))  # rows 34-36, columns 54-56: the frame
    to_m = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    (cx, sx), (cy, sy) = to_m.transform([centre[0], (strip[0] + strip[2]) / 2], [centre[1], (strip[1] + strip[3]) / 2])
    res = TMS.matrix(ZOOM).cellSize
    return centre, (round(W / 2 + (sx - cx) / res), round(H / 2 - (sy - cy) / res))


def white(pixels: np.ndarray) -> np.ndarray:
    return pixels.min(axis=-1) > 150  # the dark box under text leaves the map at 105 at most


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


@pytest.mark.parametrize("fmt", ["webp", "gif", "mp4"])
def test_frames_show_each_month_and_differ_where_the_months_do(planted: tuple[Path, TestClient], fmt: str,
                                                               tmp_path: Path) -> None:
    root, client = planted
    (lon, lat), (sx, sy) = centre_and_offset(root)
    content, media_type = export(client, f"center={lon},{lat}&zoom={ZOOM}&width={W}&height={H}&format={fmt}"
                                         "&months=2018-07..2018-08&preset=truecolor")
    assert media_type == {"webp": "image/webp", "gif": "image/gif", "mp4": "video/mp4"}[fmt]
    frames = decode(content, media_type, tmp_path)
    assert len(frames) == 2 and all(f.shape == (H, W, 3) for f in frames)
    july, august = (f.astype(int) for f in frames)
    block = (slice(H // 2 - 15, H // 2 + 15), slice(W // 2 - 15, W // 2 + 15))
    assert np.abs(august[block] - july[block]).mean() > 60  # vegetation -> bare soil
    assert (august[block].mean(axis=(0, 1)) > july[block].mean(axis=(0, 1))).all()
    strip = (slice(sy - 4, sy + 5), slice(sx - 4, sx + 5))
    assert np.abs(august[strip] - july[strip]).mean() < 6  # unchanged land
    # The label, scale bar and attribution: white text where the frame drawn on black has it, for its own month.
    mpp = TMS.matrix(ZOOM).cellSize * np.cos(np.radians(lat))
    expected = {m: white(np.asarray(decorate(np.zeros((H, W, 3), np.uint8), m, None, mpp)))
                for m in ("2018-07", "2018-08")}
    areas = [(slice(0, H // 5), slice(0, W // 2)),  # the month
             (slice(H * 3 // 4, H), slice(0, W // 3)),  # the scale bar
             (slice(H * 9 // 10, H), slice(W // 3, W))]  # the attribution
    for frame, month, other in ((july, "2018-07", "2018-08"), (august, "2018-08", "2018-07")):
        seen = white(frame.astype(np.uint8))
        for i, area in enumerate(areas):
            box = text_box(expected[month], area)
            assert iou(seen[box], expected[month][box]) > 0.6, (month, i)
        label = text_box(expected[month] | expected[other], areas[0])
        assert iou(seen[label], expected[month][label]) > iou(seen[label], expected[other][label]) + 0.2


def text_box(mask: np.ndarray, area: tuple[slice, slice]) -> tuple[slice, slice]:
    """The rows and columns holding the mask's pixels inside ``area`` (where the frame draws text on a dark box)."""
    rows, cols = np.nonzero(mask[area])
    return (slice(area[0].start + rows.min(), area[0].start + rows.max() + 1),
            slice(area[1].start + cols.min(), area[1].start + cols.max() + 1))


def test_legend_is_drawn_for_presets_that_have_one(planted: tuple[Path, TestClient], tmp_path: Path) -> None:
    root, client = planted
    (lon, lat), _ = centre_and_offset(root)
    for name in ("ndvi", "validity"):
        content, media_type = export(client, f"center={lon},{lat}&zoom={ZOOM}&width={W}&height={H}&format=gif"
                                             f"&preset={name}")
        drawn = np.asarray(decorate(np.zeros((H, W, 3), np.uint8), "2018-07", legend_of(PRESETS[name]), 100.0))
        colourful = drawn.max(axis=-1).astype(int) - drawn.min(axis=-1) > 60  # ramp or swatches, opaque
        colourful[:, : W // 2] = False
        assert colourful.sum() > 50
        for frame in decode(content, media_type, tmp_path):
            assert np.abs(frame[colourful].astype(int) - drawn[colourful]).mean() < 12
    assert legend_of(PRESETS["truecolor"]) is None and legend_of(PRESETS["falsecolor"]) is None
    assert month_label("2018-07") == "July 2018"


def test_one_export_at_a_time_with_progress_and_a_cached_result(planted: tuple[Path, TestClient],
                                                                tmp_path: Path) -> None:
    root, client = planted
    (lon, lat), _ = centre_and_offset(root)
    big = f"center={lon},{lat}&zoom=10&width=1280&height=1280&format=webp&fps=2"
    first = client.get(f"/api/timelapse?{big}")
    assert first.status_code == 202, "a 1280 px export takes longer than the request's wait (0.05 s)"
    job = first.json()
    assert job["state"] == "running" and job["total"] == 3 and first.headers["location"] == job["status"]
    other = client.get(f"/api/timelapse?center={lon},{lat}&zoom=8&width=128&height=128")
    assert other.status_code == 429 and other.headers["retry-after"] == str(RETRY_AFTER)
    progress = [job["done"]]
    while (status := client.get(job["status"]).json())["state"] == "running":
        progress.append(status["done"])
        time.sleep(0.1)
    assert status["state"] == "done" and progress == sorted(progress)
    result = client.get(job["result"])
    assert result.status_code == 200 and result.headers["content-type"] == "image/webp"
    frames = decode(result.content, "image/webp", tmp_path)
    assert len(frames) == 2 and frames[0].shape == (1280, 1280, 3)
    with Image.open(io.BytesIO(result.content)) as img:
        img.load()
        assert img.info["duration"] == 500 and img.info["loop"] == 0  # fps=2, looping
    started = time.monotonic()
    again = client.get(f"/api/timelapse?{big}")  # from the cache: no waiting
    assert again.status_code == 200 and again.content == result.content and time.monotonic() - started < 0.5
    assert again.headers["x-timelapse-id"] == job["id"]


@pytest.mark.parametrize(("query", "status", "word"), [
    ("bbox=0,43,2,44&width=1281", 400, "width"),
    ("bbox=0,43,2,44&width=640&height=1300", 400, "height"),
    ("bbox=0,43,2,44&width=64", 400, "height"),  # derived from the bbox's shape: 55 px
    ("bbox=0,43,2,44&width=63", 400, "width"),
    ("bbox=0,43,2,44&center=1,43", 400, "bbox"),
    ("center=1,43", 400, "zoom"),
    ("center=1,95&zoom=8", 400, "center"),
    ("bbox=2,43,1,44", 400, "bbox"),
    ("bbox=0,43,2,44&fps=11", 400, "fps"),
    ("bbox=0,43,2,44&format=mp4&width=640&height=481", 400, "even"),
    ("bbox=0,43,2,44&months=" + ",".join(f"{2000 + i // 12}-{i % 12 + 1:02d}" for i in range(49)), 400, "months"),
    ("bbox=0,43,2,44&months=2018-7", 400, "months"),
    ("bbox=0,43,2,44&months=2018-09..2018-08", 400, "months"),
    ("bbox=0,43,2,44&months=2018-07,2019-07", 404, "2019-07"),
    ("bbox=0,43,2,44&months=2019-01..2019-12", 404, "months"),
    ("bbox=0,43,2,44&format=png", 422, "format"),
    ("bbox=0,43,2,44&preset=nope", 422, "preset"),
])
def test_limits_are_400s_naming_the_parameter(planted: tuple[Path, TestClient], query: str, status: int,
                                              word: str) -> None:
    _, client = planted
    r = client.get(f"/api/timelapse?{query}")
    assert r.status_code == status and word in r.text, r.text


def test_unknown_jobs(planted: tuple[Path, TestClient]) -> None:
    _, client = planted
    assert client.get("/api/timelapse/jobs/" + "0" * 32).status_code == 404
    assert client.get("/api/timelapse/jobs/" + "0" * 32 + "/result").status_code == 404
    assert client.get("/api/timelapse/jobs/nope").status_code == 422
