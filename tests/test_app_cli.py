"""The command line: check, logging, option validation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sample import generate_products

CLI = [sys.executable, "-m", "app.cli"]


def run(*args: str) -> subprocess.CompletedProcess:
    """Run the CLI."""
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300)


def test_check_reports_each_product_and_exits_3_on_refusals(tmp_path: Path) -> None:
    good, bad = (Path(p) for p in generate_products(tmp_path, tiles=["T31TCJ", "T32TLP"], months=["2018-07"],
                                                    pixel_size=2000, as_zip=True, workers=1))
    bad.write_bytes(b"PK\x03\x04 truncated")
    done = run("check", str(tmp_path))
    assert done.returncode == 3
    assert f"ok       {good.stem}" in done.stdout
    assert f"refused  {bad.name}: truncated or corrupt zip" in done.stdout
    assert "1 valid, 1 refused" in done.stdout
    assert run("check", str(good)).returncode == 0


def test_logs_are_json_lines_when_not_on_a_terminal(tmp_path: Path) -> None:
    generate_products(tmp_path / "in", tiles=["T31TCJ"], months=["2018-07"], pixel_size=2000, workers=1)
    done = run("build", "--month", "2018-07", "--input", str(tmp_path / "in"), "--scheduler", "sync",
               "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert any(r["logger"] == "mosaique.build" and "published" in r["message"] for r in records)
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)


def test_invalid_month_is_a_usage_error(tmp_path: Path) -> None:
    done = run("build", "--month", "2018-13", "--input", str(tmp_path), "--data-dir", str(tmp_path))
    assert done.returncode == 2 and "invalid month" in done.stderr
