"""Faults of a build's environment (a full disk, a dead Dask worker...) as clear build failures.

A bad product is skipped and reported (the month builds without it); anything else that goes
wrong fails the whole build with a :class:`BuildFailed` that says what happened, in one line,
and the month stays as it was published. Errors raised in Dask tasks cross a process boundary
pickled, which drops their causes, and GDAL often reports a full disk only in an earlier error
message (``_tiffWriteProc: No space left on device``) before raising a vaguer one: tasks
therefore turn their errors into a ``BuildFailed`` carrying the whole story (:func:`task`).
"""

from __future__ import annotations

import errno
import functools
import logging
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from osgeo import gdal

from mosaic.store import DataStore
from processing.errors import MosaiqueError, describe_chain, exception_chain

log = logging.getLogger("mosaique.build")
P = ParamSpec("P")
R = TypeVar("R")

_NO_SPACE_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_NO_SPACE_TEXTS = ("no space left on device", "disk quota exceeded", "free disk space available")


class BuildFailed(MosaiqueError):
    """The month could not be built; what was published before is untouched."""


class TaskFailed(BuildFailed):
    """A build task failed for a reason that is not a bad product (disk, worker, bug)."""


@contextmanager
def gdal_errors() -> Iterator[list[str]]:
    """Collect the error messages osgeo GDAL emits in this thread (exceptions still raise).

    Warnings go to the log, as GDAL's default handler would have printed them.
    """
    messages: list[str] = []

    def handler(err_class: int, _err_no: int, message: str) -> None:
        if err_class >= gdal.CE_Failure:
            messages.append(message)
        elif err_class == gdal.CE_Warning:
            log.warning("GDAL: %s", message)

    gdal.PushErrorHandler(handler)
    try:
        yield messages
    finally:
        gdal.PopErrorHandler()


def explain(exc: BaseException, gdal_messages: Sequence[str] = ()) -> str:
    """One line naming an exception, its causes and GDAL's messages; a full disk says ENOSPC."""
    line = describe_chain(exc)
    line = " <- ".join([line, *(m for m in dict.fromkeys(gdal_messages) if m not in line)])
    no_space = any(getattr(e, "errno", None) in _NO_SPACE_ERRNOS for e in exception_chain(exc))
    no_space |= any(t in line.lower() for t in _NO_SPACE_TEXTS)
    return f"no space left on device (ENOSPC): {line}" if no_space else line


def task(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a build task: an unexpected error becomes a ``BuildFailed`` that explains it."""

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with gdal_errors() as messages:
            try:
                return func(*args, **kwargs)
            except MosaiqueError:
                raise
            except Exception as exc:
                raise TaskFailed(f"{func.__name__}: {explain(exc, messages)}") from exc

    return run


@contextmanager
def failing_cleanly(store: DataStore, month: str) -> Iterator[None]:
    """Wrap a build, inside its month lock: on any error, remove what it wrote, raise ``BuildFailed``.

    The message says what went wrong and what the month still serves; when the fault is not a
    bad input, it also gives the free space of the data directory (a full disk is the usual one).
    """
    before = store.read_catalog().build_id(month)
    with gdal_errors() as messages:
        try:
            yield
        except Exception as exc:
            space = _free_space(store)
            store.clean_leftovers(month)
            after = store.read_catalog().build_id(month)
            if isinstance(exc, TaskFailed) or not isinstance(exc, MosaiqueError):
                reason = f"{exc if isinstance(exc, TaskFailed) else explain(exc, messages)} ({space})"
            else:
                reason = str(exc)
            if after != before:
                raise BuildFailed(f"{month}: published build {after}, then failed: {reason}") from exc
            state = f"{month} still serves build {before}" if before else f"{month} stays unpublished"
            raise BuildFailed(f"{reason}; nothing was published ({state})") from exc


def _free_space(store: DataStore) -> str:
    """Free space of the data directory, for failure messages."""
    try:
        return f"{shutil.disk_usage(store.root).free / 1e6:.1f} MB free in {store.root}"
    except OSError as exc:
        return f"{store.root}: {exc.strerror}"
