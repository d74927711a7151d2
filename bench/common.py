"""Helpers shared by the benchmarks: timing a command with the peak RSS of its process tree,
starting servers on 127.0.0.1, and writing one section of docs/benchmarks.md."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

import httpx
import psutil

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def measure(cmd: list[str], **kw: object) -> tuple[float, int]:
    """Run a command; return (wall seconds, peak RSS in bytes summed over its process tree)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, **kw)  # noqa: S603 - benchmark commands are ours
    peak = 0
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 3):
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}")
    return elapsed, peak


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], url: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.Popen:
    """Start a server (with ``env`` as its environment and in ``cwd`` if given) and wait until it answers.

    ``python -m`` imports from its working directory first (before ``PYTHONPATH``): a server of another
    checkout must be started in it."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd)
    for _ in range(300):
        try:
            httpx.get(url, timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{cmd} did not start")


def rss(proc: subprocess.Popen) -> int:
    """RSS of a server process tree."""
    p = psutil.Process(proc.pid)
    return sum(q.memory_info().rss for q in [p, *p.children(recursive=True)])


def write_section(title: str, body: str) -> None:
    """Replace (or append) the ``## title`` section of docs/benchmarks.md."""
    DOCS.parent.mkdir(exist_ok=True)
    fresh = "# Benchmarks\n\nFigures measured on the project's 2-core, 24 GB machine.\n"
    text = DOCS.read_text() if DOCS.exists() else fresh
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    DOCS.write_text(text)


def table(rows: list[list[str]], header: list[str]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)
