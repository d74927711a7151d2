"""Long computations of a server process run in the background, one per key, with their progress.

A request that starts one waits a little for it (most finish within the wait), then answers 202
with the progress and ``Retry-After``; asking again returns the same task until it is done.
Reporting progress is the observer pattern: the computation calls ``task.advance()``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from app.errors import TooManyTasks


@dataclass
class Task:
    """One background computation: its progress and, once finished, its future's outcome."""

    key: str
    total: int
    done: int = 0
    started: float = field(default_factory=time.time)
    future: Future | None = None

    def advance(self, steps: int = 1) -> None:
        """Record that ``steps`` more steps of ``total`` are done."""
        self.done = min(self.total, self.done + steps)

    @property
    def state(self) -> str:
        """``running``, ``done`` or ``failed``."""
        if self.future is None or not self.future.done():
            return "running"
        return "failed" if self.future.exception() is not None else "done"

    def describe(self) -> dict:
        """Progress as JSON (no error text: that goes through the app's error mapping)."""
        return {"id": self.key, "state": self.state, "done": self.done, "total": self.total,
                "elapsed_s": round(time.time() - self.started, 1)}


class Tasks:
    """Running and recently finished tasks of one kind, at most ``limit`` running at once."""

    def __init__(self, limit: int, name: str) -> None:
        self.limit = limit
        self._pool = ThreadPoolExecutor(limit, thread_name_prefix=name)
        self._tasks: dict[str, Task] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Task | None:
        """The task of ``key`` if this process runs or ran it."""
        return self._tasks.get(key)

    def start(self, key: str, total: int, work: Callable[[Task], object]) -> Task:
        """The task of ``key``: the running or finished one, else a new one running ``work(task)``.

        A failed task is started again. Raises :class:`TooManyTasks` when ``limit`` tasks run.
        """
        with self._lock:
            task = self._tasks.get(key)
            if task is not None and task.state != "failed":
                return task
            if sum(t.state == "running" for t in self._tasks.values()) >= self.limit:
                raise TooManyTasks(f"{self.limit} computation(s) of this kind already running in this process; "
                                   "retry later")
            task = Task(key, total)
            task.future = self._pool.submit(work, task)
            self._tasks[key] = task
            for old in [k for k, t in self._tasks.items() if t.state != "running"][:-4]:
                del self._tasks[old]  # finished ones are in the file cache; a few kept for their status
            return task

    @staticmethod
    def wait(task: Task, seconds: float) -> bool:
        """Wait up to ``seconds`` for the task to finish; whether it did."""
        assert task.future is not None
        try:
            task.future.exception(timeout=seconds)
        except TimeoutError:
            return False
        return True
