"""What runs around every request: a request id, size and rate limits before routing, metrics
and one JSON log line after. A plain ASGI middleware: Starlette's `@app.middleware("http")`
runs each request through extra tasks and streams that cost as much as answering it.

Rate limits use the `limits` library's moving window: a client may send `burst` requests in
any window of `burst × 60 / per_minute` seconds. The counts live in this process (`memory://`)
or in Redis (`redis://...`), which every worker and replica then shares. Metrics sum over the
server's worker processes through prometheus-client's multiprocess mode when
`PROMETHEUS_MULTIPROC_DIR` is set (`assistant serve --workers N` sets it).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from limits import RateLimitItemPerSecond
from limits.aio.storage import MovingWindowSupport, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from prometheus_client import (CollectorRegistry, Counter, Gauge, Histogram, generate_latest,
                               multiprocess)
from redis.asyncio import ConnectionPool
from starlette.routing import Match

from assistant.core.config import Settings
from assistant.service import Assistant
from assistant.web.errors import error_body

log = logging.getLogger("assistant.web")

#: Static files are never rate limited (a page load fetches several).
STATIC_PREFIX = "/static/"
#: Probes and scrapes are never rate limited: a 429 there would read as an outage.
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
#: The header that carries a request's id, in and out.
REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")
#: The status logged for a request whose client went away before its response (nginx's 499).
CLIENT_CLOSED = 499
#: How long the shared store is left alone after it failed (limits are per process meanwhile).
STORE_RETRY_SECONDS = 5.0
#: At most one warning about the shared store per this many seconds.
STORE_WARNING_SECONDS = 60.0


def request_id(given: str | None) -> str:
    """The caller's X-Request-ID when it is 1-128 visible ASCII characters, else a new one.

    Anything else (control characters, spaces, non-ASCII, too long) could forge or break log
    lines and headers downstream, so it is replaced rather than cleaned."""
    if given and _REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def is_limited(path: str) -> bool:
    return path not in UNLIMITED_PATHS and not path.startswith(STATIC_PREFIX)


# ------------------------------------------------------------------ who the client is

def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IP address from a peer or an X-Forwarded-For hop (`[v6]:port` and `v4:port` too)."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class ClientAddress:
    """The client a request counts against: the TCP peer, unless the peer is a trusted proxy.

    Behind trusted proxies the client is the right-most X-Forwarded-For address that is not
    a trusted proxy: each proxy appends the address it received from, so everything left of
    the nearest untrusted hop was written by the client itself and may be forged.
    """

    def __init__(self, trusted: Sequence[str]) -> None:
        self.networks = [ipaddress.ip_network(t, strict=False) for t in trusted]

    def _trusted(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
        return ip is not None and any(ip in net for net in self.networks)

    def __call__(self, scope: dict) -> str:
        peer_text = scope["client"][0] if scope.get("client") else "unknown"
        peer = _address(peer_text)
        if not self._trusted(peer):
            return str(peer) if peer is not None else peer_text
        hops = [hop for name, value in scope.get("headers", ())
                if name == b"x-forwarded-for"
                for hop in value.decode("latin-1").split(",") if hop.strip()]
        client = peer
        for hop in reversed(hops):
            ip = _address(hop)
            if ip is None:  # garbage from the proxy: count against the proxy itself
                break
            client = ip
            if not self._trusted(ip):
                break
        return str(client)


# ------------------------------------------------------------------ rate limits

class LocalWindows(Storage, MovingWindowSupport):
    """In-process moving windows for `limits`, with an expiry that costs O(1) per request.

    `limits`' own memory storages rescan every key after each hit (a timer thread or a task
    that hops to a thread per key): past ~100,000 clients that scan runs without pause and
    takes a core. Here clients sit in last-seen order, and each request drops the few at the
    head whose newest entry has left its window, so the table holds only the clients seen
    within one window and no request pays for the whole table. Each client's timestamps are
    a tuple of floats, which the garbage collector stops tracking: a table of a million
    clients adds no collector pauses.
    """

    #: At most this many idle clients are dropped per request (bounds one request's work).
    SWEEP = 256

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(None)
        self.clock = clock
        #: client key -> (window seconds, timestamps oldest first), least recently seen first
        self._windows: OrderedDict[str, tuple[int, tuple[float, ...]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._windows)

    @property
    def base_exceptions(self) -> type[Exception]:
        return ValueError

    def _sweep(self, now: float) -> None:
        for _ in range(self.SWEEP):
            if not self._windows:
                return
            key, (expiry, entries) = next(iter(self._windows.items()))
            if entries and entries[-1] > now - expiry:
                return
            del self._windows[key]

    def _live(self, key: str, expiry: int, now: float) -> tuple[float, ...]:
        """The key's timestamps still inside the window."""
        entries = self._windows.get(key, (expiry, ()))[1]
        cutoff, start = now - expiry, 0
        while start < len(entries) and entries[start] <= cutoff:
            start += 1
        return entries[start:] if start else entries

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        now = self.clock()
        self._sweep(now)
        entries = self._live(key, expiry, now)
        allowed = len(entries) + amount <= limit
        if allowed:
            entries += (now,) * amount
        self._windows[key] = (expiry, entries)
        self._windows.move_to_end(key)
        return allowed

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = self.clock()
        entries = self._live(key, expiry, now)
        return (entries[0], len(entries)) if entries else (now, 0)

    # The fixed-window interface is not used (the limiter is a moving window).
    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        raise NotImplementedError("LocalWindows serves the moving-window strategy only")

    async def get(self, key: str) -> int:
        raise NotImplementedError("LocalWindows serves the moving-window strategy only")

    async def get_expiry(self, key: str) -> float:
        raise NotImplementedError("LocalWindows serves the moving-window strategy only")

    async def check(self) -> bool:
        return True

    async def reset(self) -> int | None:
        count = len(self._windows)
        self._windows.clear()
        return count

    async def clear(self, key: str) -> None:
        self._windows.pop(key, None)


def limit_item(per_minute: float, burst: int) -> RateLimitItemPerSecond:
    """`burst` requests per `burst × 60 / per_minute` seconds (whole seconds, at least 1): the
    same sustained rate as the setting, with no more than `burst` at once."""
    seconds = max(1, round(burst * 60 / per_minute))
    amount = max(burst, math.ceil(per_minute * seconds / 60))
    return RateLimitItemPerSecond(amount, seconds)


class RateLimit:
    """The per-client budget, in this process or in a shared Redis.

    When Redis fails (down, slow, refusing), requests are not failed: this process counts
    them itself for `STORE_RETRY_SECONDS`, then tries Redis again, and logs one warning a
    minute naming the setting. A Redis outage thus loosens the limit to one budget per
    process instead of taking the API down.
    """

    def __init__(self, s: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.item = limit_item(s.rate_limit_per_minute, s.rate_limit_burst)
        self.local_store = LocalWindows(clock)
        self.local = MovingWindowRateLimiter(self.local_store)
        self.shared: MovingWindowRateLimiter | None = None
        self._pool: ConnectionPool | None = None
        if not s.rate_limit_storage.startswith("memory://"):
            # Short timeouts and no retries: a slow Redis must not become a slow API (a URL's
            # own ?socket_timeout= wins).
            self._pool = ConnectionPool.from_url(s.rate_limit_storage, socket_timeout=0.25,
                                                 socket_connect_timeout=0.25)
            options: dict[str, Any] = {"connection_pool": self._pool}  # closed in aclose()
            self.shared = MovingWindowRateLimiter(storage_from_string(
                "async+" + s.rate_limit_storage, implementation="redispy",
                key_prefix=s.rate_limit_key_prefix, wrap_exceptions=True, **options))
        self.clock = clock
        self._retry_shared_at = -math.inf
        self._warned_at = -math.inf

    async def aclose(self) -> None:
        """Close the connections to Redis (at shutdown, on the loop that opened them)."""
        if self._pool is not None:
            await self._pool.disconnect()

    async def retry_after(self, client: str) -> float:
        """0 when the client may go on, else the seconds until it may."""
        if self.shared is not None and self.clock() >= self._retry_shared_at:
            try:
                if await self.shared.hit(self.item, client):
                    return 0.0
                stats = await self.shared.get_window_stats(self.item, client)
                return max(stats.reset_time - time.time(), 0.001)  # Redis windows: wall clock
            except Exception as exc:  # noqa: BLE001 - any store failure must not fail the request
                self._store_failed(exc)
        if await self.local.hit(self.item, client):
            return 0.0
        stats = await self.local.get_window_stats(self.item, client)
        return max(stats.reset_time - self.clock(), 0.001)

    def _store_failed(self, exc: Exception) -> None:
        now = self.clock()
        self._retry_shared_at = now + STORE_RETRY_SECONDS
        if now - self._warned_at >= STORE_WARNING_SECONDS:
            self._warned_at = now
            cause = exc.__cause__ or exc
            log.warning("rate-limit store ASSISTANT_RATE_LIMIT_STORAGE unreachable (%s: %s); "
                        "limiting per process until it answers", type(cause).__name__,
                        str(cause)[:200])


# ------------------------------------------------------------------ metrics

def multiprocess_dir() -> Path | None:
    """The folder of prometheus-client's multiprocess mode, when this server runs in it."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get(
        "prometheus_multiproc_dir")
    return Path(folder) if folder else None


class AllWorkers:
    """A collector of every worker's values (prometheus-client's multiprocess files) that
    first drops the live gauges of workers that are gone."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._files = multiprocess.MultiProcessCollector(None, path=str(folder))

    def collect(self):
        forget_dead_workers(self.folder)
        return self._files.collect()


class Metrics:
    """Prometheus metrics of the app. `registry` is what /metrics exposes: in multiprocess
    mode the sum over the server's workers, else this app's own values (several apps may
    share a test process)."""

    def __init__(self) -> None:
        own = CollectorRegistry()
        self.requests = Counter("assistant_requests_total", "HTTP requests",
                                ["route", "method", "status"], registry=own)
        self.latency = Histogram("assistant_request_seconds", "HTTP request latency",
                                 ["route"], registry=own,
                                 buckets=(.002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5))
        self.decisions = Counter("assistant_decisions_total", "Decisions of /answer",
                                 ["action", "lang"], registry=own)
        self.rejected = Counter("assistant_rate_limited_total", "Requests refused with 429",
                                registry=own)
        # Every worker reads the same queue: the value of the latest scrape is the truth.
        self.queue_open = Gauge("assistant_queue_open_tickets", "Open handoff tickets",
                                registry=own, multiprocess_mode="livemostrecent")
        # 1 for each version a live worker serves (two during a rolling reload), 0 for old ones.
        self.index = Gauge("assistant_index_info", "Serving index version (value 1)",
                           ["version", "model"], registry=own, multiprocess_mode="livemax")
        folder = multiprocess_dir()
        self.registry = own
        if folder is not None:
            self.registry = CollectorRegistry()
            self.registry.register(AllWorkers(folder))
        self._index_labels: tuple[str, str] | None = None
        self._index_seen: object = None

    def observe_index(self, a: Assistant) -> None:
        """Track the serving index version (cheap when unchanged: called on every request)."""
        index = a.index
        if index is None or index is self._index_seen:
            return
        self._index_seen = index
        labels = (str(index.manifest.version), str(a.settings.model))
        if labels == self._index_labels:
            return
        if self._index_labels is not None:
            self.index.labels(*self._index_labels).set(0)  # the file keeps 0 in multiprocess
            self.index.remove(*self._index_labels)
        self.index.labels(*labels).set(1)
        self._index_labels = labels

    def observe_state(self, a: Assistant) -> None:
        self.queue_open.set(a.queue.open_count())
        self.observe_index(a)

    def render(self) -> bytes:
        """The exposition text: every worker's values in multiprocess mode, else this app's."""
        return generate_latest(self.registry)

    def close(self) -> None:
        """A worker that stops takes its live gauges with it."""
        if multiprocess_dir() is not None:
            multiprocess.mark_process_dead(os.getpid())


_LIVE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db")


def forget_dead_workers(folder: Path) -> None:
    """Drop the live gauges of worker processes that died without stopping (a kill -9)."""
    for path in folder.glob("gauge_live*_*.db"):
        m = _LIVE_FILE.fullmatch(path.name)
        if m is None:
            continue
        pid = int(m.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, str(folder))
        except PermissionError:
            pass  # alive, another user's


# ------------------------------------------------------------------ the middleware

async def close_middleware(app: FastAPI) -> None:
    """At shutdown: the Redis connections and this worker's live gauges."""
    if app.state.rate_limiter is not None:
        await app.state.rate_limiter.aclose()
    app.state.metrics.close()


def install_middleware(app: FastAPI, s: Settings) -> None:
    app.state.metrics = metrics = Metrics()
    limiter = RateLimit(s) if s.rate_limit_per_minute > 0 else None
    app.state.rate_limiter = limiter
    app.add_middleware(GuardAndLog, settings=s, limiter=limiter, metrics=metrics,
                       client=ClientAddress(s.trusted_proxies))
    if s.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=s.cors_origins,
                           allow_methods=["GET", "POST"], allow_headers=["*"],
                           expose_headers=[REQUEST_ID_HEADER, "Retry-After"])


def _leaf_routes(routes: Sequence) -> list:
    """Routes, mounts and the routes inside included routers, in matching order."""
    out: list = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        out.extend(_leaf_routes(inner.routes) if inner is not None else [route])
    return out


def route_template(scope: dict) -> str:
    """The route's path template (`/tickets/{ticket_id}`), never the path itself: paths hold
    ticket ids and article ids that do not belong in logs or metric labels."""
    route = scope.get("route")
    if route is None and "app" in scope:  # refused before routing, or a mount: match now
        state = scope["app"].state
        table = getattr(state, "route_table", None)
        if table is None:
            table = state.route_table = _leaf_routes(scope["app"].router.routes)
        for candidate in table:
            match, _ = candidate.matches(scope)
            if match is not Match.NONE:
                route = candidate
                break
    return getattr(route, "path", None) or "unmatched"


class GuardAndLog:
    """Gives every request an id (echoed in X-Request-ID), refuses oversized and too frequent
    requests before routing, and counts, times and logs every request (one line, no query
    text, the route's template rather than its path)."""

    def __init__(self, app, *, settings: Settings, limiter: RateLimit | None,
                 metrics: Metrics, client: ClientAddress) -> None:
        self.app, self.settings, self.limiter, self.metrics = app, settings, limiter, metrics
        self.client = client

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = scope.get("headers", ())
        rid = request_id(next((v.decode("latin-1") for k, v in headers if k == b"x-request-id"),
                              None))
        scope.setdefault("state", {})["request_id"] = rid
        rid_header = (b"x-request-id", rid.encode("ascii"))
        status = 500  # unless a response starts

        async def receive_watched():
            nonlocal status
            message = await receive()
            if message["type"] == "http.disconnect" and status == 500:
                status = CLIENT_CLOSED  # whatever the app answers, nobody reads it
            return message

        async def send_with_id(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                if status != CLIENT_CLOSED:
                    status = message["status"]
                message["headers"] = [*message.get("headers", ()), rid_header]
            await send(message)

        try:
            rejection = await self._reject(scope)
            if rejection is not None:
                await rejection(scope, receive, send_with_id)
            else:
                await self.app(scope, receive_watched, send_with_id)
        finally:
            self._record(scope, rid, status, started)

    async def _reject(self, scope) -> JSONResponse | None:
        """A response for requests refused before routing (size, rate), else None."""
        s = self.settings
        headers = {k: v for k, v in scope.get("headers", ())}
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > s.max_body_bytes:
                return JSONResponse(error_body(413, "too_large", f"request body over "
                                               f"{s.max_body_bytes} bytes"), status_code=413)
        elif scope["method"] in ("POST", "PUT", "PATCH") and \
                b"chunked" in headers.get(b"transfer-encoding", b""):
            return JSONResponse(error_body(411, "length_required",
                                           "send a Content-Length header"), status_code=411)
        if self.limiter is not None and is_limited(scope["path"]):
            wait = await self.limiter.retry_after(self.client(scope))
            if wait > 0:
                self.metrics.rejected.inc()
                retry = max(1, math.ceil(wait))
                return JSONResponse(error_body(429, "rate_limited", f"too many requests; "
                                               f"retry in {retry} s"), status_code=429,
                                    headers={"Retry-After": str(retry)})
        return None

    def _record(self, scope, rid: str, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        route = route_template(scope)
        self.metrics.requests.labels(route, scope["method"], str(status)).inc()
        self.metrics.latency.labels(route).observe(elapsed)
        a = getattr(scope["app"].state, "assistant", None) if "app" in scope else None
        if a is not None:
            self.metrics.observe_index(a)
        if log.isEnabledFor(logging.INFO):
            state = scope.get("state", {})
            log.info("request", extra={
                "event": "request", "request_id": rid, "method": scope["method"],
                "route": route, "status": status, "ms": round(elapsed * 1000, 2),
                "action": state.get("action"), "category": state.get("category")})
