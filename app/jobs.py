"""Build jobs: a SQLite history, and a runner process per job so builds never block tiles.

``start`` records a job and launches ``python -m app.jobs <db> <id>`` in its own process group;
that runner runs the build and writes its state, exit code and build id back to SQLite, so any
server process (or a restarted one) sees the same history. A runner that died without saying
so (killed) is reported failed the next time its job is read. The runner observes the build's
progress events (:mod:`mosaic.progress`) and records the tasks done and planned in the job's row.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from app.errors import JobConflict, JobNotFound, TooManyJobs
from processing.errors import MosaiqueError

if TYPE_CHECKING:
    from mosaic.progress import Event, Observer

ACTIVE = ("queued", "running")
_ADDED_COLUMNS = {"verify_inputs": "INTEGER NOT NULL DEFAULT 0", "tasks_done": "INTEGER", "tasks_total": "INTEGER"}
"""Columns added since the first histories, with their type."""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, month TEXT NOT NULL, inputs TEXT NOT NULL, force INTEGER NOT NULL, state TEXT NOT NULL,
    created TEXT NOT NULL, started TEXT, finished TEXT, pid INTEGER, exit_code INTEGER,
    build_id TEXT, error TEXT, log TEXT NOT NULL, verify_inputs INTEGER NOT NULL DEFAULT 0,
    tasks_done INTEGER, tasks_total INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS one_active_build_per_month ON jobs (month) WHERE state IN ('queued', 'running');
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class JobStore:
    """Build jobs in a SQLite database next to the data."""

    def __init__(self, path: Path, redact: dict[Path, str] | None = None) -> None:
        """``redact`` maps folders (e.g. the input roots) to the names shown instead of their paths."""
        self.path = path
        shown = {path.parent.parent: "$DATA_DIR", **(redact or {})}
        # Longest first, so a folder inside another is named by its own placeholder.
        self._redactions = sorted(((str(k), v) for k, v in shown.items()), key=lambda kv: -len(kv[0]))
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)
            columns = {row["name"] for row in db.execute("PRAGMA table_info(jobs)")}
            for column, kind in _ADDED_COLUMNS.items():  # a history written before the column existed
                if column not in columns:
                    db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        try:
            yield db
        finally:
            db.close()

    def start(self, month: str, inputs: list[str], data_dir: Path, force: bool = False, max_active: int = 1,
              verify_inputs: bool = False) -> dict:
        """Record a job and launch its runner; ``JobConflict`` if the month is busy, ``TooManyJobs``
        if ``max_active`` builds already are."""
        job_id = uuid.uuid4().hex[:12]
        log = self.path.parent / "logs" / f"{job_id}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        self.refresh()
        try:
            with self._db() as db:
                db.execute("BEGIN IMMEDIATE")  # count and insert as one step across server processes
                active = db.execute("SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')").fetchone()[0]
                if active >= max_active and not db.execute(
                        "SELECT 1 FROM jobs WHERE month = ? AND state IN ('queued', 'running')", (month,)).fetchone():
                    db.execute("ROLLBACK")
                    raise TooManyJobs(f"{active} build(s) already running (MOSAIQUE_MAX_BUILDS={max_active})")
                db.execute(
                    "INSERT INTO jobs (id, month, inputs, force, verify_inputs, state, created, log) "
                    "VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)",
                    (job_id, month, json.dumps(inputs), int(force), int(verify_inputs), _now(), str(log)),
                )
                db.execute("COMMIT")
        except sqlite3.IntegrityError:
            raise JobConflict(f"a build of {month} is already queued or running") from None
        with log.open("ab") as out:
            proc = subprocess.Popen(  # noqa: S603 - our own module, arguments from validated input
                [sys.executable, "-m", "app.jobs", str(self.path), job_id, str(data_dir)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        with self._db() as db:
            db.execute("UPDATE jobs SET pid = ? WHERE id = ?", (proc.pid, job_id))
        return self.get(job_id)

    def get(self, job_id: str) -> dict:
        """One job, with its progress and the tail of its log."""
        self.refresh()
        with self._db() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFound(f"no build job {job_id}")
        return _describe(dict(row), self._redact)

    def list(self, limit: int = 50) -> list[dict]:
        """The newest jobs first."""
        self.refresh()
        with self._db() as db:
            rows = db.execute("SELECT * FROM jobs ORDER BY created DESC, rowid DESC LIMIT ?", (limit,)).fetchall()
        return [_describe(dict(r), self._redact, tail=0) for r in rows]

    def cancel(self, job_id: str) -> dict:
        """Stop a queued or running job (its build leaves the published month untouched)."""
        job = self.get(job_id)
        if job["state"] in ACTIVE:
            if job["pid"]:
                try:
                    os.killpg(job["pid"], signal.SIGTERM)
                except ProcessLookupError:
                    pass
            self._finish(job_id, "cancelled", error="cancelled by an admin")
        return self.get(job_id)

    def counts(self) -> dict[str, int]:
        """Number of jobs by state."""
        with self._db() as db:
            return dict(db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall())

    def durations(self) -> dict[str, tuple[int, float]]:
        """Finished jobs by outcome: how many, and their total run time in seconds."""
        with self._db() as db:
            rows = db.execute(
                "SELECT state, COUNT(*), SUM((julianday(finished) - julianday(started)) * 86400) FROM jobs "
                "WHERE started IS NOT NULL AND finished IS NOT NULL GROUP BY state").fetchall()
        return {state: (count, total or 0.0) for state, count, total in rows}

    def _redact(self, text: str) -> str:
        """Server paths replaced by their placeholders (admins see no filesystem layout)."""
        for path, name in self._redactions:
            text = text.replace(path, name)
        return text

    def refresh(self) -> None:
        """Mark failed the active jobs whose runner is gone."""
        with self._db() as db:
            rows = db.execute("SELECT id, pid FROM jobs WHERE state IN ('queued', 'running')").fetchall()
        for row in rows:
            if row["pid"] and not _alive(row["pid"]):
                self._finish(row["id"], "failed", error="the build process ended without reporting (killed?)",
                             only_if_active=True)

    def _finish(self, job_id: str, state: str, exit_code: int | None = None, build_id: str | None = None,
                error: str | None = None, only_if_active: bool = False) -> None:
        guard = " AND state IN ('queued', 'running')" if only_if_active else ""
        with self._db() as db:
            db.execute(
                f"UPDATE jobs SET state = ?, finished = ?, exit_code = ?, build_id = ?, error = ? WHERE id = ?{guard}",
                (state, _now(), exit_code, build_id, error, job_id),
            )

    def run(self, job_id: str, data_dir: Path) -> int:
        """Runner side: run the job's build and record the outcome."""
        from app.logs import setup_logging
        from app.settings import Settings
        from mosaic.build import BuildOptions, build_month

        settings = Settings(data_dir=data_dir)
        setup_logging(settings.log_level, json_lines=True)
        with self._db() as db:
            row = db.execute("SELECT month, inputs, force, verify_inputs FROM jobs WHERE id = ?", (job_id,)).fetchone()
            db.execute("UPDATE jobs SET state = 'running', started = ?, pid = ? WHERE id = ? AND state = 'queued'",
                       (_now(), os.getpid(), job_id))
        options = BuildOptions(scheduler=settings.dask_scheduler, workers=settings.build_workers,
                               keep_builds=settings.keep_builds, progress=False, force=bool(row["force"]),
                               verify_inputs=bool(row["verify_inputs"]))
        try:
            report = build_month(data_dir, row["month"], json.loads(row["inputs"]), options,
                                 observers=[self._progress_of(job_id)])
        except MosaiqueError as exc:
            self._finish(job_id, "failed", exit_code=1, error=str(exc), only_if_active=True)
            return 1
        skipped = "; ".join(str(s) for s in report.skipped) or None
        self._finish(job_id, "succeeded", exit_code=report.exit_code, build_id=report.build_id, error=skipped,
                     only_if_active=True)
        return report.exit_code

    def _progress_of(self, job_id: str) -> Observer:
        """An observer of a build recording its tasks done and planned in the job's row."""
        from mosaic.progress import Planned, TaskDone

        def record(event: Event) -> None:
            if isinstance(event, Planned | TaskDone):
                done, total = (0, event.tasks) if isinstance(event, Planned) else (event.done, event.total)
                with self._db() as db:
                    db.execute("UPDATE jobs SET tasks_done = ?, tasks_total = ? WHERE id = ?", (done, total, job_id))

        return record


def _alive(pid: int) -> bool:
    """Whether a runner still runs (a dead child of this process is reaped, not counted)."""
    if not psutil.pid_exists(pid):
        return False
    # A finished child of this process stays a zombie until reaped: reap it if it is ours.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def _describe(job: dict, redact: Callable[[str], str], tail: int = 20) -> dict:
    """Admin view of a job, with server paths replaced by placeholders (``$DATA_DIR``...)."""
    log = Path(job.pop("log"))
    job["force"] = bool(job["force"])
    job["verify_inputs"] = bool(job["verify_inputs"])
    text = log.read_text(errors="replace") if log.exists() else ""
    lines = redact(text).splitlines()
    job["inputs"] = [redact(str(i)) for i in json.loads(job["inputs"])]
    done, total = job.pop("tasks_done"), job.pop("tasks_total")
    progress = None if total is None else {"done": done, "total": total}
    if job["error"]:
        job["error"] = redact(job["error"])
    if job["state"] == "succeeded":  # an up-to-date month ran no task
        progress = {"done": 1, "total": 1} if not total else {"done": total, "total": total}
    job["progress"] = progress
    if tail:
        job["log_tail"] = lines[-tail:]
    return job


if __name__ == "__main__":
    sys.exit(JobStore(Path(sys.argv[1])).run(sys.argv[2], Path(sys.argv[3])))
