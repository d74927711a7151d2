"""A build reports its progress as events to observers: a bar, the log and any other one."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from mosaic.build import BuildOptions, build_month
from mosaic.documents import Manifest
from mosaic.progress import BarProgress, Event, Planned, Published, TaskDone, UpToDate
from sample import generate_products

MONTH = "2018-07"


def test_a_build_reports_planned_tasks_done_and_published(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    inputs = tmp_path / "inputs"
    generate_products(inputs, tiles=["T31TCJ", "T31TDJ"], months=[MONTH], pixel_size=2000, as_zip=True, workers=1)
    events: list[Event] = []
    bar = io.StringIO()
    with caplog.at_level(logging.INFO, logger="mosaique.build"):
        report = build_month(tmp_path / "data", MONTH, [inputs], BuildOptions(scheduler="sync", progress=False),
                             observers=[events.append, BarProgress(bar)])

    planned, *done, published = events
    manifest = Manifest.read(report.build_dir)
    assert manifest is not None
    tasks = len(manifest.inputs) + len(manifest.regions)  # a first build: every part and region is a task
    assert planned == Planned(MONTH, report.build_id, 2, manifest.grid.kept.label, tasks)
    assert done == [TaskDone(n, tasks) for n in range(1, tasks + 1)]
    assert isinstance(published, Published) and published.build_id == report.build_id
    assert f"{tasks}/{tasks}" in bar.getvalue()
    logged = [r.getMessage() for r in caplog.records]
    assert f"progress {tasks}/{tasks} tasks" in logged and any(m.startswith(f"published {MONTH}") for m in logged)

    again: list[Event] = []
    build_month(tmp_path / "data", MONTH, [inputs], BuildOptions(scheduler="sync", progress=True),
                observers=[again.append])
    assert again == [UpToDate(MONTH, report.build_id)]
