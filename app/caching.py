"""HTTP caching of tiles: URLs that name a build are immutable, the others are short-lived.

Every tile, TileJSON and point URL the API hands out carries ``build=<build id>``: what it
returns can never change, so it is cached for a year with an ETag derived from the URL (a
matching ``If-None-Match`` is answered 304 without reading any pixel). URLs without a build
follow the latest build and are cached briefly. Empty tiles (204 No Content: no data there)
follow the same rule, so a map client does not ask again for them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

IMMUTABLE = "public, max-age=31536000, immutable"
TILE_PATHS = ("/months/", "/diff/", "/wmts/tiles/")  # /wmts/tiles/: WMTS Time layers, never pinned


@dataclass(frozen=True)
class CacheHeadersMiddleware:
    """Pure-ASGI middleware adding Cache-Control and ETag to tile (``TILE_PATHS``) responses."""

    app: ASGIApp
    latest_max_age: int = 60

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Decide the caching of a request from its URL alone."""
        tile = scope["type"] == "http" and scope["path"].startswith(TILE_PATHS)
        if not tile or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        params = parse_qs(query.decode("latin-1"))
        pinned = "build" in params or ("build_a" in params and "build_b" in params)
        etag = None
        if pinned:
            etag = '"' + hashlib.sha1(scope["path"].encode() + b"?" + query).hexdigest() + '"'
            headers = dict(scope["headers"])
            if headers.get(b"if-none-match", b"").decode("latin-1") == etag:
                await send({"type": "http.response.start", "status": 304,
                            "headers": [(b"etag", etag.encode()), (b"cache-control", IMMUTABLE.encode())]})
                await send({"type": "http.response.body", "body": b""})
                return
        cache_control = IMMUTABLE if pinned else f"public, max-age={self.latest_max_age}"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (200, 204):
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                headers.append((b"cache-control", cache_control.encode()))
                if etag and message["status"] == 200:
                    headers.append((b"etag", etag.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
