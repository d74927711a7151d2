"""The locked dependencies have no known vulnerability (pip-audit over both locks: runtime and dev).

pip-audit asks PyPI's per-release JSON API (or OSV) for advisories. Where neither answers (this
build machine reaches PyPI's package index only), every dependency comes back "could not be
audited" and the test is skipped with that reason; anywhere the service answers, a vulnerability
that is not listed in ``ACCEPTED`` (with its reason, also in SECURITY.md) fails the suite.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

LOCKS = [Path(__file__).resolve().parent.parent / name for name in ("requirements.lock", "requirements-dev.lock")]
ACCEPTED: dict[str, str] = {}
"""Advisory id -> why it does not affect Mosaïque (reviewed; see SECURITY.md)."""


def test_locked_dependencies_have_no_known_vulnerability() -> None:
    try:
        run = subprocess.run(
            [sys.executable, "-m", "pip_audit", *(f"-r{lock}" for lock in LOCKS), "--no-deps", "--disable-pip",
             "-f", "json", "--progress-spinner", "off"], capture_output=True, text=True, timeout=180, check=False)
    except subprocess.TimeoutExpired:
        pytest.skip("pip-audit: the vulnerability service did not answer within 180 s")
    report = json.loads(run.stdout or "{}")
    dependencies = report.get("dependencies", [])
    assert dependencies, f"pip-audit produced no report: {run.stderr[-500:]}"
    audited = [d for d in dependencies if "skip_reason" not in d]
    if not audited:
        pytest.skip(f"pip-audit could not reach a vulnerability service: {dependencies[0]['skip_reason']}")
    found = [f"{d['name']} {d['version']}: {v['id']} (fixed in {', '.join(v.get('fix_versions', [])) or 'nothing yet'})"
             for d in audited for v in d.get("vulns", []) if v["id"] not in ACCEPTED]
    assert not found, "known vulnerabilities in the locked dependencies:\n" + "\n".join(found)
