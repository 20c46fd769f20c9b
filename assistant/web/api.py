"""HTTP API (FastAPI): translates requests and errors; the logic lives in the core.

Every error has one JSON shape::

    {"error": {"status": 422, "code": "invalid_request", "message": "...",
               "details": [{"field": "query", "message": "..."}]}}
"""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
import socket
import threading
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path as FilePath
from typing import Annotated, Literal

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram,
                               generate_latest)
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException
try:  # the C parser when installed (about three times less CPU per request than h11)
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _HttpProtocol
except ImportError:  # pragma: no cover - httptools is a dependency
    from uvicorn.protocols.http.h11_impl import H11Protocol as _HttpProtocol  # type: ignore[assignment]

from assistant import __version__
from assistant.handoff import insights
from assistant.core.config import Settings, load_settings
from assistant.understanding.entities import extract
from assistant.core.errors import AssistantError, QueueError, TicketConflict, TicketNotFound
from assistant.service import Assistant
from assistant.knowledge.watch import IndexWatcher
from assistant.understanding.text import detect_lang

log = logging.getLogger(__name__)

#: The help-centre pages, their script and the embeddable search box (package data).
STATIC_DIR = FilePath(__file__).resolve().parent / "static"
STATIC_PREFIX = "/static/"
#: Pages run only their own files: no inline script, no other origin, no framing.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
DisplayLang = Annotated[Literal["en", "zh"], Query(description="Display language.")]


class AnswerRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    query: StrictStr = Field(description="The user's message, 1 to 2,000 characters.")
    lang: Literal["en", "zh"] | None = Field(None, description="Reply language; detected if absent.")
    session_id: StrictStr | None = Field(
        None, max_length=128, description="Keeps a conversation together (details, tickets).")
    skip_details: bool = Field(False, description="Create the ticket without the details asked.")
    idempotency_key: StrictStr | None = Field(
        None, max_length=128, description="Retries with the same key never create a second "
        "ticket (also accepted as the Idempotency-Key header).")


class TextBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: StrictStr = Field(min_length=1, max_length=4000)


class RatingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=1, le=5, description="1 (poor) to 5 (excellent).")
    comment: StrictStr | None = Field(None, max_length=2000)


class FeedbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    helpful: bool
    session_id: StrictStr | None = Field(None, max_length=128)
    query: StrictStr | None = Field(None, max_length=2000)
    article_id: StrictStr | None = Field(None, max_length=200)
    lang: Literal["en", "zh"] | None = None
    comment: StrictStr | None = Field(None, max_length=2000)


class ResolveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: StrictStr = Field(min_length=1, max_length=4000)


class ClaimBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lang: Literal["en", "zh"] | None = None
    category: StrictStr | None = Field(None, max_length=64)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str,
                 details: list[dict] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or []


def error_body(status: int, code: str, message: str, details: list[dict] | None = None) -> dict:
    return {"error": {"status": status, "code": code, "message": message,
                      "details": details or []}}


def create_app(settings: Settings | None = None, assistant: Assistant | None = None) -> FastAPI:
    """Build the app. Settings are read now; the model and index load in the lifespan."""
    s = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        a = assistant or Assistant(s)
        a.warm_up()  # refuses to start on a missing index or a model mismatch
        app.state.assistant = a
        hup = _reload_on_sighup(a)
        watcher = IndexWatcher(a, s.watch_index_seconds).start() \
            if s.watch_index_seconds > 0 else None
        yield
        if watcher:
            watcher.stop()
        if hup:
            hup()
        a.close()

    app = FastAPI(title="Wallet support assistant", version=__version__, lifespan=lifespan)
    app.state.settings = s
    _install_error_handlers(app)
    _install_middleware(app, s)
    _install_help_centre(app)

    def get(request: Request) -> tuple[Settings, Assistant]:
        return request.app.state.settings, request.app.state.assistant

    @app.post("/answer", response_model=None)
    def answer(body: AnswerRequest, request: Request) -> JSONResponse:
        """Answer, clarify, hand off or decline one message."""
        s, a = get(request)
        query = _check_query(body.query, s.max_query_chars, "query")
        key = body.idempotency_key or request.headers.get("idempotency-key") or None
        if key is not None and len(key) > 128:
            raise ApiError(422, "invalid_request", "the idempotency key is over 128 characters",
                           [{"field": "idempotency_key", "message": "at most 128 characters"}])
        reply = a.answer(query, lang=body.lang, session_id=body.session_id,
                         skip_details=body.skip_details, idempotency_key=key)
        request.state.action, request.state.category = reply.action, reply.intent.category
        request.app.state.metrics.decisions.labels(reply.action, reply.lang).inc()
        return JSONResponse(reply.to_dict())  # already JSON types: no re-validation

    @app.get("/search", response_model=None)
    def search(request: Request,
               q: Annotated[str, Query(description="What the user typed so far.")],
               k: Annotated[int, Query(ge=1, le=100)] = 5,
               lang: Annotated[Literal["en", "zh"] | None, Query()] = None,
               category: Annotated[str | None, Query(max_length=80)] = None) -> JSONResponse:
        """Articles for the in-app help search box (prefixes, typos, Chinese fragments)."""
        s, a = get(request)
        query = _check_query(q, s.max_query_chars, "q")
        if k > s.search_max_k:
            raise ApiError(422, "invalid_request", f"k must be at most {s.search_max_k}",
                           [{"field": "k", "message": f"at most {s.search_max_k}"}])
        if category is not None and category not in a.state.index.kb.categories:
            known = ", ".join(a.state.index.kb.categories)
            raise ApiError(422, "invalid_request", f"unknown category {category!r}; one of {known}",
                           [{"field": "category", "message": f"one of {known}"}])
        results = a.search(query, k=k, lang=lang, category=category)
        shown = a.redact(q).text
        return JSONResponse({"query": shown, "lang": lang or detect_lang(shown),
                             "results": [r.to_dict() for r in results]})

    @app.get("/healthz")
    def healthz(request: Request) -> dict:
        """Index version, article count and model."""
        _, a = get(request)
        return a.health()

    @app.get("/readyz")
    def readyz(request: Request) -> JSONResponse:
        """200 once the index and the model are loaded, else 503."""
        a = getattr(request.app.state, "assistant", None)
        ready = a is not None and a.ready
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    @app.get("/metrics")
    def metrics(request: Request) -> Response:
        """Prometheus metrics: requests, latency, decisions, queue depth, index version."""
        m: Metrics = request.app.state.metrics
        a = getattr(request.app.state, "assistant", None)
        if a is not None and a.ready:
            m.observe_state(a)
        return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/admin/stats")
    def admin_stats(request: Request,
                    days: Annotated[float, Query(gt=0, le=366)] = 7) -> dict:
        """Decisions per day, category and language; helpfulness; queue (admin token)."""
        s, a = get(request)
        _require_admin(request, s)
        events = _queue_call(a.queue.events, insights.since(days))
        return {"days": days, **insights.stats(events)}

    @app.post("/admin/reload")
    def admin_reload(request: Request) -> dict:
        """Load the newly published index and swap it in (admin token required)."""
        s, a = get(request)
        _require_admin(request, s)
        try:
            changed = a.reload()
        except AssistantError as exc:
            log.error("reload refused, previous index keeps serving: %s", exc)
            raise ApiError(409, "reload_failed", f"new index refused, previous one keeps "
                                                 f"serving: {exc}") from None
        return {"reloaded": changed, **a.health()}

    _install_ticket_routes(app, get)
    _install_agent_routes(app, get)
    return app


#: What a user sees of their ticket (agents see everything).
_USER_FIELDS = ("id", "status", "priority", "lang", "category", "created_at", "updated_at",
                "position", "eta_minutes", "details", "resolution", "rating", "rating_comment")


def _user_view(ticket: dict) -> dict:
    view = {k: ticket.get(k) for k in _USER_FIELDS}
    view["messages"] = [{"role": m["role"], "text": m["text"], "at": m["at"]}
                        for m in ticket["messages"]]
    return view


def _queue_call(fn, *args):
    """Run a queue operation, turning its errors into API errors."""
    try:
        return fn(*args)
    except TicketNotFound:
        raise ApiError(404, "not_found", "no such ticket; check the ticket id") from None
    except TicketConflict as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    except QueueError as exc:
        log.error("queue error: %s", type(exc).__name__)
        raise ApiError(503, "queue_unavailable", "the support queue is unavailable; try again "
                                                 "in a minute") from None


def _ticket_or_404(a: Assistant, ticket_id: str) -> dict:
    ticket = _queue_call(a.queue.get, ticket_id)
    if ticket is None:
        raise ApiError(404, "not_found", "no such ticket; check the ticket id")
    return ticket


def _install_ticket_routes(app: FastAPI, get) -> None:
    @app.get("/tickets/{ticket_id}")
    def ticket_status(ticket_id: str, request: Request) -> dict:
        """The user's own ticket (by its unguessable id): status, place, wait, replies."""
        _, a = get(request)
        return _user_view(_ticket_or_404(a, ticket_id))

    @app.post("/tickets/{ticket_id}/messages")
    def ticket_message(ticket_id: str, body: TextBody, request: Request) -> dict:
        """A follow-up or more details from the user on an open ticket."""
        _, a = get(request)
        s = request.app.state.settings
        text = a.redact_ticket_message(ticket_id, _check_query(body.text, s.max_query_chars,
                                                                "text"))
        ticket = _queue_call(a.queue.add_user_message, ticket_id, text.text,
                             extract(text.text).as_dict())
        return {**_user_view(ticket), "redacted": text.found}

    @app.post("/tickets/{ticket_id}/rating")
    def ticket_rating(ticket_id: str, body: RatingBody, request: Request) -> dict:
        """Rate the help after the ticket is resolved (1-5, optional comment)."""
        _, a = get(request)
        comment = a.redact(body.comment).text if body.comment else None
        return _user_view(_queue_call(a.queue.rate, ticket_id, body.score, comment))

    @app.post("/tickets/{ticket_id}/cancel")
    def ticket_cancel(ticket_id: str, request: Request) -> dict:
        """The user no longer needs help; the ticket leaves the queue."""
        _, a = get(request)
        return _user_view(_queue_call(a.queue.cancel, ticket_id))

    @app.post("/feedback")
    def feedback(body: FeedbackBody, request: Request) -> dict:
        """Helpful or not, on any answer. Not helpful offers a person."""
        _, a = get(request)
        stored = _queue_call(a.queue.add_feedback, {
            "session_id": body.session_id, "lang": body.lang,
            "query": a.redact(body.query, session_id=body.session_id,
                              conversation=False).text if body.query else None,
            "article_id": body.article_id, "helpful": body.helpful,
            "comment": a.redact(body.comment, session_id=body.session_id,
                                conversation=False).text if body.comment else None})
        offer = not body.helpful
        lang = body.lang or "en"
        return {"stored": bool(stored), "offer_handoff": offer,
                "handoff_query": ("转人工" if lang == "zh" else "I want to talk to a human")
                if offer else None}


def _install_agent_routes(app: FastAPI, get) -> None:
    def agent(request: Request) -> tuple[str, Assistant]:
        s, a = get(request)
        return _require_agent(request, s), a

    @app.get("/agent/tickets")
    def agent_list(request: Request,
                   status: Annotated[Literal["open", "claimed", "resolved", "abandoned"] | None,
                                     Query()] = "open",
                   priority: Annotated[Literal["normal", "urgent"] | None, Query()] = None,
                   lang: Annotated[Literal["en", "zh"] | None, Query()] = None,
                   category: Annotated[str | None, Query(max_length=64)] = None,
                   limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict:
        """Tickets for agents, most urgent and oldest first (agent token required)."""
        _, a = agent(request)
        rows = _queue_call(lambda: a.queue.list(status=status, priority=priority, lang=lang,
                                                category=category, limit=limit))
        return {"tickets": rows, "open": _queue_call(a.queue.open_count)}

    @app.get("/agent/me")
    def agent_me(request: Request) -> dict:
        """The signed-in agent's name (the console shows who is working)."""
        name, _ = agent(request)
        return {"agent": name}

    @app.get("/agent/tickets/{ticket_id}")
    def agent_ticket(ticket_id: str, request: Request) -> dict:
        """One ticket with its conversation, details and candidates."""
        _, a = agent(request)
        return _ticket_or_404(a, ticket_id)

    @app.post("/agent/tickets/claim")
    def agent_claim_next(request: Request, body: ClaimBody | None = None) -> dict:
        """Take the next ticket (urgent first, then oldest); `ticket` is null when none wait."""
        name, a = agent(request)
        body = body or ClaimBody(lang=None, category=None)
        ticket = _queue_call(lambda: a.queue.claim_next(name, lang=body.lang,
                                                        category=body.category))
        return {"ticket": ticket}

    @app.post("/agent/tickets/{ticket_id}/claim")
    def agent_claim(ticket_id: str, request: Request) -> dict:
        """Take this ticket; 409 when another agent holds it."""
        name, a = agent(request)
        return _queue_call(a.queue.claim, ticket_id, name)

    @app.post("/agent/tickets/{ticket_id}/reply")
    def agent_reply(ticket_id: str, body: TextBody, request: Request) -> dict:
        """Reply to the user (the ticket must be claimed by this agent)."""
        name, a = agent(request)
        return _queue_call(a.queue.reply, ticket_id, name, a.redact(body.text).text)

    @app.post("/agent/tickets/{ticket_id}/resolve")
    def agent_resolve(ticket_id: str, body: ResolveBody, request: Request) -> dict:
        """Close the ticket with a resolution note."""
        name, a = agent(request)
        return _queue_call(a.queue.resolve, ticket_id, name, a.redact(body.resolution).text)

    @app.post("/agent/tickets/{ticket_id}/release")
    def agent_release(ticket_id: str, request: Request) -> dict:
        """Put the ticket back in the queue for someone else."""
        name, a = agent(request)
        return _queue_call(a.queue.release, ticket_id, name)

    @app.get("/agent", include_in_schema=False)
    def agent_console() -> FileResponse:
        """The agent console page (it asks for the agent token)."""
        return FileResponse(STATIC_DIR / "agent.html", media_type="text/html",
                            headers=PAGE_HEADERS)



def _require_agent(request: Request, s: Settings) -> str:
    """The agent's name for a valid bearer token; 404 when the agent API is off, else 401."""
    if not s.agent_tokens:
        raise ApiError(404, "not_found", "the agent API is disabled; set "
                                         "ASSISTANT_AGENT_TOKENS to enable it")
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer":
        for name, expected in s.agent_tokens.items():
            if secrets.compare_digest(token.encode(), expected.encode()):
                return name
    raise ApiError(401, "unauthorized", "send 'Authorization: Bearer <agent token>'")


class NoDelayHttpProtocol(_HttpProtocol):
    """uvicorn's HTTP protocol (httptools, else h11) with Nagle's algorithm off on every
    connection.

    With `--workers` uvicorn hands the listening socket to the workers and asyncio no longer
    recognises its connections as TCP, so Nagle stays on: the response's second write then
    waits for the client's delayed ACK, ~40 ms per request.
    """

    def connection_made(self, transport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        super().connection_made(transport)


def _reload_on_sighup(a: Assistant):
    """`kill -HUP <pid>` reloads the published index (every worker that gets the signal).

    Returns the function that removes the handler, or None where signals are unavailable
    (not the main thread, e.g. under a test client).
    """
    import asyncio
    import signal

    def reload() -> None:
        try:
            changed = a.reload()
            log.info("SIGHUP: %s", "new index serving" if changed else "index unchanged")
        except AssistantError as exc:
            log.error("SIGHUP: new index refused, previous one keeps serving: %s", exc)

    try:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.run_in_executor(None, reload))
    except (RuntimeError, NotImplementedError, ValueError, AttributeError):
        return None
    return lambda: loop.remove_signal_handler(signal.SIGHUP)


def _require_admin(request: Request, s: Settings) -> None:
    if not s.admin_token:
        raise ApiError(404, "not_found", "admin endpoints are disabled; set "
                                         "ASSISTANT_ADMIN_TOKEN to enable them")
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(token.encode(),
                                                                 s.admin_token.encode()):
        raise ApiError(401, "unauthorized", "send 'Authorization: Bearer <admin token>'")


class _TokenBuckets:
    """Per-client token buckets: `burst` requests at once, refilled at `per_minute`."""

    def __init__(self, per_minute: float, burst: int, clock=time.monotonic) -> None:
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


def _install_middleware(app: FastAPI, s: Settings) -> None:
    app.state.metrics = metrics = Metrics()
    buckets = _TokenBuckets(s.rate_limit_per_minute, s.rate_limit_burst) \
        if s.rate_limit_per_minute > 0 else None
    app.state.rate_limiter = buckets
    app.add_middleware(GuardAndLog, settings=s, buckets=buckets, metrics=metrics)
    if s.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=s.cors_origins,
                           allow_methods=["GET", "POST"], allow_headers=["*"])


class GuardAndLog:
    """Refuses oversized and too frequent requests before routing; counts, times and logs
    every request (one JSON line, no query text).

    A plain ASGI middleware: Starlette's `@app.middleware("http")` runs each request
    through extra tasks and streams that cost as much as answering it.
    """

    def __init__(self, app, *, settings: Settings, buckets: "_TokenBuckets | None",
                 metrics: "Metrics") -> None:
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
            rejection = _reject(request, self.settings, self.buckets)
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


def _reject(request: Request, s: Settings, buckets: _TokenBuckets | None) -> JSONResponse | None:
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


def _check_query(text: str, limit: int, field: str) -> str:
    """Clean odd code points (lone surrogates, NUL) and enforce the length limit."""
    text = text.encode("utf-8", "replace").decode("utf-8").replace("\x00", " ")
    if not text.strip():
        raise ApiError(422, "invalid_request", f"'{field}' is empty; send the user's message",
                       [{"field": field, "message": "must not be empty or blank"}])
    if len(text) > limit:
        raise ApiError(422, "invalid_request",
                       f"'{field}' has {len(text)} characters; the limit is {limit}",
                       [{"field": field, "message": f"at most {limit} characters"}])
    return text


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.status, exc.code, exc.message, exc.details),
                            status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = []
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                details.append({"field": "body", "message": "malformed JSON"})
                continue
            loc = [str(p) for p in err.get("loc", ())][1:]  # drop "body"/"query"
            field = ".".join(loc) or "body"
            msg = err.get("msg", "")
            details.append({"field": field, "message": msg})
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in details)
        return JSONResponse(error_body(422, "invalid_request", f"invalid request: {summary}",
                                       details), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(exc.status_code, code, str(exc.detail)),
                            status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex[:12]
        # The exception's text may quote the user's message: log only its type and place.
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb else "?"
        log.error("unexpected error %s: %s at %s", request_id, type(exc).__name__, where)
        return JSONResponse(error_body(500, "internal_error",
                                       f"internal error; request id {request_id}"),
                            status_code=500)


def _install_help_centre(app: FastAPI) -> None:
    """The help-centre and chat pages, their static files, articles and categories."""

    @app.get("/", include_in_schema=False)
    def help_centre_page() -> FileResponse:
        """The help centre: search box, categories, article view, language switch."""
        return FileResponse(STATIC_DIR / "index.html", headers=PAGE_HEADERS)

    @app.get("/chat", include_in_schema=False)
    def chat_page() -> FileResponse:
        """The chat window over POST /answer."""
        return FileResponse(STATIC_DIR / "chat.html", headers=PAGE_HEADERS)

    @app.get("/articles/{article_id}")
    def article(request: Request,
                article_id: Annotated[str, Path(max_length=80)],
                lang: DisplayLang = "en") -> dict:
        """One article rendered for display: Markdown to sanitised HTML."""
        a: Assistant = request.app.state.assistant
        view = a.article(article_id, lang)
        if view is None:
            raise ApiError(404, "not_found", f"no article with id {article_id!r}; "
                                             "GET /categories lists them")
        return view.to_dict()

    @app.get("/categories")
    def categories(request: Request, lang: DisplayLang = "en") -> dict:
        """The KB's categories with their articles' titles, for browsing."""
        a: Assistant = request.app.state.assistant
        return {"lang": lang, "categories": a.categories(lang)}

    app.mount(STATIC_PREFIX.rstrip("/"), StaticFiles(directory=STATIC_DIR), name="static")
