"""A small in-process rate limiter (token bucket per client address) for the admin API.

Each server process keeps its own buckets: with N workers a client gets at most N times the rate.
It bounds guessing of the admin token and floods of build requests; it is not a quota.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

from fastapi import HTTPException, Request


@dataclass
class RateLimiter:
    """``per_minute`` tokens per client, refilled continuously, at most ``burst`` saved up."""

    per_minute: int
    burst: int = 10
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ensure_available(self, request: Request) -> None:
        """Refuse with 429 and ``Retry-After`` if the client has no token left (spends nothing)."""
        self._use(request, cost=0)

    def take(self, request: Request) -> None:
        """Spend one token of the client, or refuse with 429 and ``Retry-After``."""
        self._use(request, cost=1)

    def _use(self, request: Request, cost: int) -> None:
        key = request.client.host if request.client else "-"
        rate = self.per_minute / 60
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                wait = math.ceil((1 - tokens) / rate)
                raise HTTPException(429, "too many admin requests; retry later", headers={"Retry-After": str(wait)})
            self._buckets[key] = (tokens - cost, now)
            if len(self._buckets) > 10_000:  # forget idle clients rather than grow without bound
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 600}
