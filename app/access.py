"""Request ids, the access log (one structured line per HTTP request) and request metrics.

Each request gets an id (the client's ``X-Request-ID`` when it is a short safe token, else a new
one), echoed in the response's ``X-Request-ID`` and attached to every log line written while the
request is answered. Headers are never logged (the admin token travels in one).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.logs import REQUEST_ID, tag_records_with_request_ids
from app.metrics import Metrics

SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
log = logging.getLogger("mosaique.access")


@dataclass(frozen=True)
class AccessLogMiddleware:
    """Pure-ASGI middleware: request id in and out, one log line and the metrics of each request."""

    app: ASGIApp
    metrics: Metrics

    def __post_init__(self) -> None:
        tag_records_with_request_ids()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the request under its id, then log method, path, status and duration."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        start = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - start
            self.metrics.observe(scope, status, seconds)
            client = scope.get("client") or ("-", 0)
            log.info("%s %s %d", scope["method"], scope["path"], status, extra={
                "method": scope["method"], "path": scope["path"], "query": scope["query_string"].decode("latin-1"),
                "status": status, "duration_ms": round(seconds * 1000, 2), "client": client[0]})
            REQUEST_ID.reset(token)
