"""The server's errors and their HTTP answers, in one place (TiTiler's ``errors.py`` pattern).

Endpoints and readers raise domain errors; :func:`add_error_handlers`, called once by
``create_app``, maps each class to its status. Bodies are ``{"detail": ...}``; a 500 never says
more than "internal server error" (the exception chain goes to the log, on one line); a 429 or
503 says when to try again (``Retry-After``: the ``retry_after`` setting). Input checks that
refuse a parameter still raise FastAPI's ``HTTPException`` with the parameter's name.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from rasterio._err import CPLE_BaseError
from rasterio.errors import RasterioIOError
from rio_tiler.errors import PointOutsideBounds, RioTilerError, TileOutsideBounds
from starlette.concurrency import run_in_threadpool
from titiler.core.errors import DEFAULT_STATUS_CODES

from mosaic.catalog import LayerNotFound, MonthNotFound, SourceUnavailable
from processing.errors import MosaiqueError, describe_chain

log = logging.getLogger("mosaique.app")
_TRANSIENT = re.compile(r"does not exist|No such file|HTTP response code|CURL error|timed out|Read failed|"
                        r"IReadBlock failed|IO error|short read", re.IGNORECASE)
_PATH_LIKE = re.compile(r"(/vsi\w+/|(?<![\w.])/[\w.-]+/[\w./-]+|\.py\b)")
INTERNAL_ERROR = {"detail": "internal server error"}
"""The one body of every 500: nothing about files or code."""


class AlgorithmError(RioTilerError):
    """A post-processing algorithm that cannot apply to what the request read."""


class RenderError(RioTilerError):
    """An image the request asked for cannot be encoded in the requested format (bands, type, shape)."""


class JobConflict(MosaiqueError):
    """A build of this month is already queued or running."""


class TooManyJobs(MosaiqueError):
    """As many builds as allowed are already queued or running."""


class JobNotFound(MosaiqueError):
    """No job has this id."""


class TooManyTasks(MosaiqueError):
    """Another computation of this kind is running in the process."""


STATUS_CODES: dict[type[Exception], int] = {
    **DEFAULT_STATUS_CODES,
    MonthNotFound: 404,
    LayerNotFound: 404,
    TileOutsideBounds: 204,  # no data there: an empty tile, which map clients skip quietly
    PointOutsideBounds: 404,
    JobNotFound: 404,
    JobConflict: 409,
    TooManyJobs: 429,
    TooManyTasks: 429,
}
READ_ERRORS = (SourceUnavailable, RasterioIOError, CPLE_BaseError, OSError, RuntimeError)
"""Errors of reading the data: 503 when the store could not be reached (:func:`transient`), else 500."""


def add_error_handlers(app: FastAPI, retry_after: int, forget: Callable[[], None]) -> None:
    """Register every exception handler of the application (once).

    ``forget`` runs (in a thread) after a read failed because the store could not be reached, so
    that the next request asks the store again.
    """
    for cls, status in STATUS_CODES.items():
        app.add_exception_handler(cls, _status_handler(status, retry_after))
    app.add_exception_handler(RioTilerError, client_error)  # reads refused for the request's sake

    async def read_failed(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, SourceUnavailable) and not transient(exc):
            return internal_error(request, exc)
        log.warning("data unavailable on %s: %s", request.url.path, describe_chain(exc))
        await run_in_threadpool(forget)  # may wait on GDAL's locks: not on the event loop
        return unavailable("data temporarily unavailable, retry later", retry_after)

    for cls in READ_ERRORS:
        app.add_exception_handler(cls, read_failed)


def _status_handler(status: int, retry_after: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    """The handler answering ``status`` with the exception's message (or the 500 body)."""

    async def handler(request: Request, exc: Exception) -> JSONResponse:
        if status >= 500:  # TiTiler's handlers would echo str(exc): file paths
            return internal_error(request, exc)
        if status == 204:
            return Response(status_code=204)
        headers = {"Retry-After": str(retry_after)} if status in (429, 503) else None
        return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)

    return handler


def internal_error(request: Request, exc: Exception) -> JSONResponse:
    """A 500 that says nothing about files or code; the details go to the log."""
    log.error("internal error on %s: %s", request.url.path, describe_chain(exc), exc_info=exc)
    return JSONResponse(INTERNAL_ERROR, status_code=500)


async def client_error(request: Request, exc: Exception) -> JSONResponse:
    """A 400 for a read refused because of the request; its text never shows a server path."""
    message = str(exc)
    if not message or _PATH_LIKE.search(message):
        message = "the request cannot be answered for this layer (check its parameters)"
    return JSONResponse({"detail": message}, status_code=400)


def unavailable(detail: str, retry_after: int) -> JSONResponse:
    """A 503 telling the client when to try again."""
    return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": str(retry_after)})


def transient(exc: BaseException) -> bool:
    """Whether a read error says the data could not be reached (rather than that they are broken)."""
    return bool(_TRANSIENT.search(describe_chain(exc)))
