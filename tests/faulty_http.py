"""A static file server (range requests) whose faults a test switches on and off over HTTP.

    python -m tests.faulty_http DIR PORT

``GET /__fault__?mode=M&match=S&delay=D`` sets the fault for every later request whose path
contains ``S`` (all paths if empty): ``ok``, ``stall`` (never answers), ``slow`` (answers after
``D`` seconds), ``error`` (500), ``truncate`` (headers promise the whole body, half of it comes,
then the connection closes). Binds 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send


@dataclass
class Fault:
    """The fault in force."""

    mode: str = "ok"
    match: str = ""
    delay: float = 0.0


def faulty_app(directory: str):  # type: ignore[no-untyped-def]
    """The ASGI app serving ``directory`` with the switchable fault."""
    static = Starlette(routes=[Mount("/", StaticFiles(directory=directory))])  # 404s for missing files
    fault = Fault()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/__fault__":
            query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
            fault.mode, fault.match = query.get("mode", "ok"), query.get("match", "")
            fault.delay = float(query.get("delay", 0))
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        mode = fault.mode if fault.match in scope["path"] else "ok"
        if mode == "stall":
            await asyncio.sleep(3600)
        elif mode == "slow":
            await asyncio.sleep(fault.delay)
        elif mode == "error":
            await send({"type": "http.response.start", "status": 500, "headers": [(b"content-length", b"5")]})
            await send({"type": "http.response.body", "body": b"oops\n"})
            return
        elif mode == "truncate":
            async def cut(message: Message) -> None:
                if message["type"] == "http.response.body" and len(message.get("body", b"")) > 1:
                    message = {**message, "body": message["body"][: len(message["body"]) // 2], "more_body": False}
                await send(message)  # the server closes the connection: shorter than Content-Length

            await static(scope, receive, cut)
            return
        await static(scope, receive, send)

    return app


if __name__ == "__main__":
    uvicorn.run(faulty_app(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning",
                timeout_graceful_shutdown=1)  # stalled requests do not hold the exit
