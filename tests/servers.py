"""Starting real servers on 127.0.0.1 for tests."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(cmd: list[str], probe: str, timeout: float = 30, **popen: object) -> Iterator[None]:
    """Run a server command until the block ends; wait until ``probe`` answers first."""
    proc = subprocess.Popen(cmd, **({"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL} | popen))
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                httpx.get(probe, timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{cmd[:4]} did not start") from None
                time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)
