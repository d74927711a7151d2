"""Prometheus metrics: requests and latency by route and status, tiles served, build jobs and durations,
and what holds the memory (the process's RSS, GDAL's block caches, the readers kept open).

With several server processes each one keeps its own counters (scrape them per process).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric, SummaryMetricFamily
from starlette.types import Scope

from app.jobs import JobStore
from app.memory import block_cache_used
from app.readers import kept_readers
from mosaic.malloc import malloc_heap

MONTH_PREFIX = "/months/{month}/{layer}"
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass
class Metrics:
    """The server's metrics, in a registry of their own (one per app)."""

    jobs: JobStore | None = None
    """A JobStore whose job counts are exported."""
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter("mosaique_http_requests", "HTTP requests by route and status.",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("mosaique_http_request_duration_seconds", "Request latency by route.",
                                 ["route"], buckets=BUCKETS, registry=self.registry)
        self.tiles = Counter("mosaique_tiles_served", "Tiles answered with an image, by kind.",
                             ["kind"], registry=self.registry)
        if self.jobs is not None:
            self.registry.register(JobsCollector(self.jobs))
        ProcessCollector(registry=self.registry)  # process_resident_memory_bytes, open fds, CPU
        self.registry.register(MemoryCollector())

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        """Count and time one answered HTTP request under its route template."""
        route = getattr(scope.get("route"), "path", "unmatched")
        if scope["path"].startswith("/months/") and not route.startswith("/months/") and route != "unmatched":
            route = MONTH_PREFIX + route  # routes of the included tiler keep their own path
        self.requests.labels(route, scope["method"], str(status)).inc()
        self.latency.labels(route).observe(seconds)
        if status == 200 and ("/tiles/" in route or route.startswith("/months/{month}/truecolor/{z}")):  # + stored
            self.tiles.labels("difference" if route.startswith("/diff/") else "month").inc()


@dataclass(frozen=True)
class JobsCollector:
    """Build jobs, read from the job store at each scrape (every server process sees the same history)."""

    jobs: JobStore

    def collect(self) -> Iterator[Metric]:
        """Jobs by state, and the run time of finished builds by outcome."""
        states = GaugeMetricFamily("mosaique_build_jobs", "Build jobs recorded, by state.", labels=["state"])
        for state, count in self.jobs.counts().items():
            states.add_metric([state], count)
        yield states
        durations = SummaryMetricFamily("mosaique_build_duration_seconds", "Run time of finished builds, by outcome.",
                                        labels=["outcome"])
        for outcome, (count, total) in self.jobs.durations().items():
            durations.add_metric([outcome], count, total)
        yield durations


class MemoryCollector:
    """GDAL's block caches, the kept readers and malloc's heap, read at each scrape: what an RSS that grows is
    made of."""

    def collect(self) -> Iterator[Metric]:
        """Bytes in GDAL's block cache (at most MOSAIQUE_GDAL_CACHEMAX), readers kept, malloc's bytes by state."""
        yield GaugeMetricFamily("mosaique_gdal_block_cache_bytes", "Bytes in GDAL's raster block cache.",
                                value=block_cache_used())
        yield GaugeMetricFamily("mosaique_kept_readers", "Idle open readers kept for the next request.",
                                value=kept_readers())
        heap = malloc_heap()
        if heap is not None:
            family = GaugeMetricFamily("mosaique_malloc_bytes", "glibc malloc's memory by state: in_use (allocated), "
                                       "free (freed, kept by malloc), mmapped (large blocks).", labels=["state"])
            for state, value in heap.items():
                family.add_metric([state], value)
            yield family


def metrics_router(metrics: Metrics) -> APIRouter:
    """The ``/metrics`` route (Prometheus text format)."""
    router = APIRouter(tags=["Health"])

    @router.get("/metrics", summary="Prometheus metrics")
    def prometheus() -> Response:
        """Requests and latency by route, tiles served, build jobs by state and their durations."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router
