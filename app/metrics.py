"""Prometheus metrics: requests and latency by route, tiles served.

With several server processes each one keeps its own counters (scrape them per process).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MONTH_PREFIX = "/months/{month}/{layer}"
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass
class Metrics:
    """The server's metrics, in a registry of their own (one per app)."""

    jobs: object | None = None
    """A JobStore whose job counts are exported."""
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter("mosaique_http_requests", "HTTP requests by route and status.",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("mosaique_http_request_duration_seconds", "Request latency by route.",
                                 ["route"], buckets=BUCKETS, registry=self.registry)
        self.tiles = Counter("mosaique_tiles_served", "Tiles answered with an image, by kind.",
                             ["kind"], registry=self.registry)
        self.build_jobs = Gauge("mosaique_build_jobs", "Build jobs recorded, by state.", ["state"],
                                registry=self.registry)


@dataclass(frozen=True)
class MetricsMiddleware:
    """Pure-ASGI middleware timing every HTTP request under its route template."""

    app: ASGIApp
    metrics: Metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request and count it once the response has started."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            if scope["path"].startswith("/months/") and not route.startswith("/months/") and route != "unmatched":
                route = MONTH_PREFIX + route  # routes of the included tiler keep their own path
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - start)
            if status == 200 and "/tiles/" in route:
                self.metrics.tiles.labels("difference" if route.startswith("/diff/") else "month").inc()


def metrics_router(metrics: Metrics) -> APIRouter:
    """The ``/metrics`` route (Prometheus text format)."""
    router = APIRouter(tags=["Health"])

    @router.get("/metrics", summary="Prometheus metrics")
    def prometheus() -> Response:
        """Requests and latency by route, tiles served, build jobs by state."""
        if metrics.jobs is not None:
            for state, count in metrics.jobs.counts().items():
                metrics.build_jobs.labels(state).set(count)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router
