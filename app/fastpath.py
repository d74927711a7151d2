"""Stored true-colour tiles answered before FastAPI: the path map clients take, at static-file cost.

A stored tile costs a few tens of microseconds to find and read (:mod:`app.blocks`), and
FastAPI's routing, dependency solving and two worker-thread hops cost about a millisecond of
CPU around it: most of the server's time, and what capped one process near static-file speed.
This pure-ASGI middleware, the innermost one (the request id, access log, metrics, security and
caching headers still apply), answers the plain cases of the true-colour routes itself:
``GET /months/{month}/truecolor/{z}/{x}/{y}[.jpg]`` with at most ``build`` and ``tilesize=256``
in the query, from a local data directory, where :func:`app.prerendered.stored_tile` finds the
stored block or no data. Everything else, errors included, goes on to the FastAPI route, which
decides through the same function: the fast path never answers differently, only sooner.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from app.blocks import INDEXES
from app.prerendered import NO_DATA, ROUTE, STORED_SIZE, stored_tile
from mosaic.catalog import Catalog
from mosaic.grid import valid_tile
from mosaic.store import BUILD_ID_PATTERN

_PATH = re.compile(ROUTE.format(month=r"(\d{4}-\d{2})", z=r"(\d{1,2})", x=r"(\d{1,8})", y=r"(\d{1,8})") + r"(\.jpg)?")
_BUILD = re.compile(BUILD_ID_PATTERN)
log = logging.getLogger("mosaique.app")


Answer = tuple[int, list[tuple[bytes, bytes]], bytes]
"""Status, headers, body."""


@dataclass(frozen=True)
class FastPath:
    """Pure-ASGI middleware answering some GET requests of a local data directory itself, before FastAPI, and
    handing every other request on (subclasses say which, in :meth:`respond`)."""

    app: ASGIApp
    catalog: Catalog
    routes: dict[str, object]
    """The FastAPI routes that answer these requests otherwise, by the keys :meth:`respond` names: metrics count
    answers under them."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the request, or hand it on."""
        if scope["type"] == "http" and scope["method"] == "GET" and not self.catalog.remote:
            found = await self.respond(scope)
            if found is not None:
                route, (status, headers, body) = found
                scope["route"] = self.routes.get(route)
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    async def respond(self, scope: Scope) -> tuple[str, Answer] | None:
        """The key in ``routes`` of the route the request is for, and its answer; or None for FastAPI to answer."""
        raise NotImplementedError


class StoredTilesFastPath(FastPath):
    """Answers stored true-colour tiles of a local data directory (``routes``: the FastAPI routes by path,
    ``ROUTE`` and ``ROUTE + ".jpg"``)."""

    async def respond(self, scope: Scope) -> tuple[str, Answer] | None:
        """A stored tile, or None."""
        match = _PATH.fullmatch(scope["path"])
        if match is None:
            return None
        body = await self._answer(match, scope["query_string"])
        if body is None:
            return None
        if body == NO_DATA:
            return ROUTE + (match[5] or ""), (204, [], body)
        return ROUTE + (match[5] or ""), (200, [(b"content-type", b"image/jpeg"),
                                               (b"content-length", str(len(body)).encode())], body)

    async def _answer(self, match: re.Match, query: bytes) -> bytes | None:
        """The stored tile's bytes (``NO_DATA``: 204), or None for the FastAPI route to answer."""
        month, z, x, y = match[1], int(match[2]), int(match[3]), int(match[4])
        if not valid_tile(x, y, z):
            return None  # the route refuses it (400)
        build = None
        for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if key == "build" and build is None and _BUILD.fullmatch(value):
                build = value
            elif not (key == "tilesize" and value == str(STORED_SIZE)):
                return None
        try:
            m = self.catalog.get(month, build)  # local: one stat of catalog.json
            source = m.source("truecolor", z, x, y)
            if source is not None and INDEXES.peek(source) is None and INDEXES.get(source, gdal=False) is None:
                # (a sidecar loads in one read, here; made through GDAL, an index opens files: not on the event loop)
                await anyio.to_thread.run_sync(INDEXES.get, source)
            return stored_tile(m, z, x, y, transparent=not match[5])
        except Exception:  # noqa: BLE001 - the route answers it again, with the error handling of every route
            return None

