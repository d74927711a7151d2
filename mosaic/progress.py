"""A build's progress as events, for observers: the log, a progress bar, the server's job store.

:func:`mosaic.build.build_month` hands each event to its observers as the build goes:
:class:`Planned` once the tasks are known, :class:`TaskDone` as each finishes, then
:class:`Published` (or :class:`UpToDate` when nothing had to be built). An observer is any
callable taking an event; it must not raise (that would fail the build).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO


@dataclass(frozen=True)
class Planned:
    """What a build is about to do."""

    month: str
    build_id: str
    products: int
    resolution: str
    """The grid's resolution label."""
    tasks: int
    """Tasks to run (parts to warp, regions to composite); what is cached needs none."""


@dataclass(frozen=True)
class TaskDone:
    """``done`` of the ``total`` tasks are finished."""

    done: int
    total: int


@dataclass(frozen=True)
class Published:
    """The build is in the catalog."""

    month: str
    build_id: str
    seconds: float


@dataclass(frozen=True)
class UpToDate:
    """Nothing was built: the published build has the same inputs."""

    month: str
    build_id: str


Event = Planned | TaskDone | Published | UpToDate
Observer = Callable[[Event], None]


class LogProgress:
    """Events as log lines (``progress 3/12 tasks``); ``tasks=False`` logs only the milestones."""

    def __init__(self, tasks: bool = True, logger: logging.Logger | None = None) -> None:
        self.tasks = tasks
        self.log = logger or logging.getLogger("mosaique.build")

    def __call__(self, event: Event) -> None:
        """Log the event."""
        match event:
            case Planned():
                self.log.info("building %s (build %s): %d products, %s, %d tasks", event.month, event.build_id,
                              event.products, event.resolution, event.tasks)
            case TaskDone() if self.tasks:
                self.log.info("progress %d/%d tasks", event.done, event.total)
            case Published():
                self.log.info("published %s build %s in %.1f s", event.month, event.build_id, event.seconds)
            case UpToDate():
                self.log.info("%s is up to date (build %s)", event.month, event.build_id)


class BarProgress:
    """A tqdm progress bar of the tasks, on ``file`` (stderr)."""

    def __init__(self, file: TextIO | None = None) -> None:
        self.file = file or sys.stderr
        self._bar = None

    def __call__(self, event: Event) -> None:
        """Open the bar when the tasks are known, advance it as they finish."""
        from tqdm import tqdm

        if isinstance(event, Planned) and event.tasks:
            self._bar = tqdm(total=event.tasks, desc="build", unit="task", file=self.file)
        elif isinstance(event, TaskDone) and self._bar is not None:
            self._bar.update(event.done - self._bar.n)
            if event.done == event.total:
                self._bar.close()
                self._bar = None


def broadcast(observers: Sequence[Observer]) -> Observer:
    """One observer handing each event to ``observers``, in order."""

    def notify(event: Event) -> None:
        for observer in observers:
            observer(event)

    return notify
