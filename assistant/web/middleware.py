"""What runs around every request: size and rate limits before routing, metrics and one
JSON log line after. A plain ASGI middleware: Starlette's `@app.middleware("http")` runs
each request through extra tasks and streams that cost as much as answering it."""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from assistant.core.config import Settings
from assistant.service import Assistant
from assistant.web.errors import error_body

log = logging.getLogger("assistant.web")

#: Static files are never rate limited (a page load fetches several).
STATIC_PREFIX = "/static/"


class TokenBuckets:
    """Per-client token buckets: `burst` requests at once, refilled at `per_minute`."""

    def __init__(self, per_minute: float, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 when allowed, else the seconds until a request would be."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                if len(self._buckets) > 100_000:  # forget idle clients
                    self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 600}
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) / self.rate if self.rate > 0 else 60.0


class Metrics:
    """Prometheus metrics in a registry of the app's own (several apps may share a process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("assistant_requests_total", "HTTP requests",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("assistant_request_seconds", "HTTP request latency",
                                 ["route"], registry=self.registry,
                                 buckets=(.002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5))
        self.decisions = Counter("assistant_decisions_total", "Decisions of /answer",
                                 ["action", "lang"], registry=self.registry)
        self.queue_open = Gauge("assistant_queue_open_tickets", "Open handoff tickets",
                                registry=self.registry)
        self.index = Gauge("assistant_index_info", "Serving index version (value 1)",
                           ["version", "model"], registry=self.registry)

    def observe_state(self, a: Assistant) -> None:
        self.queue_open.set(a.queue.open_count())
        self.index.clear()
        health = a.health()
        self.index.labels(str(health["index_version"]), str(health["model"])).set(1)


def install_middleware(app: FastAPI, s: Settings) -> None:
    app.state.metrics = metrics = Metrics()
    buckets = TokenBuckets(s.rate_limit_per_minute, s.rate_limit_burst) \
        if s.rate_limit_per_minute > 0 else None
    app.state.rate_limiter = buckets
    app.add_middleware(GuardAndLog, settings=s, buckets=buckets, metrics=metrics)
    if s.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=s.cors_origins,
                           allow_methods=["GET", "POST"], allow_headers=["*"])


class GuardAndLog:
    """Refuses oversized and too frequent requests before routing; counts, times and logs
    every request (one JSON line, no query text)."""

    def __init__(self, app, *, settings: Settings, buckets: TokenBuckets | None,
                 metrics: Metrics) -> None:
        self.app, self.settings, self.buckets, self.metrics = app, settings, buckets, metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request = Request(scope)
        request.state.request_id = os.urandom(6).hex()
        status = 500  # unless a response starts

        async def send_status(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            rejection = reject(request, self.settings, self.buckets)
            if rejection is not None:
                await rejection(scope, receive, send_status)
            else:
                await self.app(scope, receive, send_status)
        finally:
            self._record(request, status, started)

    def _record(self, request: Request, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        route = getattr(request.scope.get("route"), "path", "unmatched")
        self.metrics.requests.labels(route, request.method, str(status)).inc()
        self.metrics.latency.labels(route).observe(elapsed)
        if log.isEnabledFor(logging.INFO):
            log.info(json.dumps({
                "event": "request", "id": request.state.request_id, "method": request.method,
                "route": request.url.path, "status": status, "ms": round(elapsed * 1000, 2),
                "action": getattr(request.state, "action", None),
                "category": getattr(request.state, "category", None)}))


def reject(request: Request, s: Settings, buckets: TokenBuckets | None) -> JSONResponse | None:
    """A response for requests refused before routing (size, rate), else None."""
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit() or int(length) > s.max_body_bytes:
            return JSONResponse(error_body(413, "too_large", f"request body over "
                                           f"{s.max_body_bytes} bytes"), status_code=413)
    elif request.method in ("POST", "PUT", "PATCH") and \
            "chunked" in request.headers.get("transfer-encoding", ""):
        return JSONResponse(error_body(411, "length_required",
                                       "send a Content-Length header"), status_code=411)
    if buckets is not None and request.url.path != "/healthz" \
            and not request.url.path.startswith(STATIC_PREFIX):
        client = request.client.host if request.client else "unknown"
        wait = buckets.take(client)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            return JSONResponse(error_body(429, "rate_limited", f"too many requests; retry in "
                                           f"{retry} s"), status_code=429,
                                headers={"Retry-After": str(retry)})
    return None
