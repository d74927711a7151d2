"""Faults degrade cleanly: a data store that cannot be read, or a request that takes too long,
is answered 503 with Retry-After, never a hang or a 500.

- Reads that fail because the data are not there right now (a local data directory renamed
  away, an HTTP store answering errors, stalling past GDAL's timeout or cutting bodies short)
  answer 503 and make GDAL forget what it cached of the store, failures included, so the next
  request asks it again: service comes back as soon as the store does, without a restart.
  Other read errors (a corrupt file) stay a 500 that names nothing. (The handlers are in
  :mod:`app.errors`; :func:`forget` is what they run.)
- Every request under the bounded prefixes gets ``request_timeout`` seconds to start its answer;
  after that it is answered 503 and its work is cancelled: a read already running in its thread
  is left to finish (remote reads end within GDAL's HTTP timeout), its answer dropped.
- Each process reads pixels in ``threads`` threads at most: reads hold the GIL in turns, and
  every extra thread delays the event loop (/healthz, accepting requests) by a switch interval.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import anyio.to_thread
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import unavailable
from app.readers import close_idle_readers
from app.settings import Settings
from mosaic.catalog import Catalog
from processing.errors import describe_chain

BOUNDED = ("/months/", "/diff/", "/api/", "/wmts/")
"""Path prefixes whose requests are bounded in time (not /healthz, /metrics, the page)."""
log = logging.getLogger("mosaique.app")


def install_fault_handling(app: FastAPI, settings: Settings, catalog: Catalog) -> None:
    """Bound requests in time (the error handlers of :mod:`app.errors` answer unreadable data)."""
    app.add_middleware(RequestTimeoutMiddleware, timeout=settings.request_timeout, retry_after=settings.retry_after,
                       threads=settings.threads, after_abandoned=lambda: forget(catalog))


def forget(catalog: Catalog) -> None:
    """After a failed read: close the idle kept readers, then make GDAL forget what it cached of the store."""
    close_idle_readers()
    catalog.forget_failures()


@dataclass(frozen=True)
class RequestTimeoutMiddleware:
    """Pure-ASGI middleware answering 503 when a bounded request has not started its answer in time."""

    app: ASGIApp
    timeout: float
    retry_after: int
    threads: int = 40
    """Worker threads of the process (sync endpoints run in them), set when the server starts."""
    after_abandoned: Callable[[], None] | None = None
    """Run (in a thread) once an abandoned request's work has ended: its failure, if any, was not handled."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request as a task; past the timeout, answer 503 and drop whatever it sends later."""
        if scope["type"] == "lifespan":
            anyio.to_thread.current_default_thread_limiter().total_tokens = self.threads
        if scope["type"] != "http" or not scope["path"].startswith(BOUNDED):
            await self.app(scope, receive, send)
            return
        started = abandoned = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if abandoned:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receive, guarded_send))
        done, _ = await asyncio.wait({task}, timeout=self.timeout)
        if done or started:  # finished, or too late to answer anything else
            await task
            return
        abandoned = True
        task.add_done_callback(self._abandoned)
        task.cancel()  # work still waiting for a thread never starts; a read under way ends on its own
        log.warning("request timed out after %.1f s: %s", self.timeout, scope["path"])
        await unavailable("request timed out, retry later", self.retry_after)(scope, receive, send)

    def _abandoned(self, task: asyncio.Task) -> None:
        """Collect an abandoned request's outcome (so asyncio does not warn), then run the hook."""
        if not task.cancelled() and task.exception() is not None:
            log.warning("abandoned request failed: %s", describe_chain(task.exception()))
        if self.after_abandoned is not None:
            asyncio.get_running_loop().run_in_executor(None, self.after_abandoned)
