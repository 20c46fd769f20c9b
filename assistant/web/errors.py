"""The one JSON error shape, and the handlers that turn every failure into it::

    {"error": {"status": 422, "code": "invalid_request", "message": "...",
               "details": [{"field": "query", "message": "..."}]}}

Queue outcomes raised by the service (no such ticket, a conflict, the database down) are
translated here once, so routes never catch them. A body that is not JSON at all (not UTF-8,
nested past what the parser takes) is a 422 like malformed JSON. And a failure at start-up
(`Assistant.warm_up` in the lifespan) is reported as one line, not a traceback.
"""

from __future__ import annotations

import logging
import sys
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.core.config import Settings
from assistant.core.errors import (
    AssistantError,
    IndexLoadError,
    InvalidRequest,
    QueueError,
    TicketConflict,
    TicketNotFound,
)

log = logging.getLogger("assistant.web")

#: Why FastAPI could not read a JSON body it answers 400 for, in the words of the 422.
_UNREADABLE_BODY = {
    UnicodeDecodeError: "not valid UTF-8: send the JSON body encoded as UTF-8",
    RecursionError: "JSON nested too deeply",
}


class ApiError(Exception):
    """An error a route raises on purpose, with its status, code and message."""

    def __init__(self, status: int, code: str, message: str,
                 details: list[dict] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or []


def error_body(status: int, code: str, message: str, details: list[dict] | None = None) -> dict:
    return {"error": {"status": status, "code": code, "message": message,
                      "details": details or []}}


def _json(status: int, code: str, message: str, details: list[dict] | None = None,
          headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, code, message, details), status_code=status,
                        headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _json(exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(TicketNotFound)
    async def _not_found(request: Request, exc: TicketNotFound) -> JSONResponse:
        if request.url.path.startswith("/tickets/"):
            return _json(404, "not_found", "no such ticket; check the ticket id and send the "
                         "secret the ticket was created with as 'Authorization: Bearer <secret>'")
        return _json(404, "not_found", "no such ticket; check the ticket id")

    @app.exception_handler(InvalidRequest)
    async def _invalid(_: Request, exc: InvalidRequest) -> JSONResponse:
        return _json(422, "invalid_request", str(exc),
                     [{"field": exc.field, "message": str(exc)}])

    @app.exception_handler(TicketConflict)
    async def _conflict(_: Request, exc: TicketConflict) -> JSONResponse:
        return _json(409, "conflict", str(exc))

    @app.exception_handler(QueueError)
    async def _queue_down(request: Request, exc: QueueError) -> JSONResponse:
        log.error("queue error: %s", type(exc).__name__)
        assistant = getattr(request.app.state, "assistant", None)
        if assistant is not None:
            assistant.queue_failed()  # readiness checks again at once
        return _json(503, "queue_unavailable", "the support queue is unavailable; try again "
                                                "in a minute")

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = []
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                details.append({"field": "body", "message": "malformed JSON"})
                continue
            loc = [str(p) for p in err.get("loc", ())][1:]  # drop "body"/"query"
            message = err.get("msg", "")
            if err.get("type") == "string_unicode":  # a lone surrogate ("\ud800") in JSON
                message = "not valid Unicode text (a lone surrogate); send UTF-8 text"
            details.append({"field": ".".join(loc) or "body", "message": message})
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in details)
        return _json(422, "invalid_request", f"invalid request: {summary}", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        unreadable = _unreadable_body(exc)
        if unreadable is not None:
            return _json(422, "invalid_request", f"invalid request: body: {unreadable}",
                         [{"field": "body", "message": unreadable}])
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _json(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex[:12]
        # The exception's text may quote the user's message: log only its type and place.
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb else "?"
        log.error("unexpected error %s: %s at %s", request_id, type(exc).__name__, where)
        # Sent from outside the middleware (Starlette's last-resort handler): echo the id here.
        return _json(500, "internal_error", f"internal error; request id {request_id}",
                     headers={"X-Request-ID": request_id})

    app.add_middleware(OneLineStartupFailure)


def _unreadable_body(exc: StarletteHTTPException) -> str | None:
    """What was wrong with a body FastAPI could not parse as JSON (its 400), else None."""
    if exc.status_code != 400:
        return None
    cause = exc.__cause__
    for kind, message in _UNREADABLE_BODY.items():
        if isinstance(cause, kind):
            return message
    return None


def startup_line(exc: BaseException, settings: Settings | None = None) -> str:
    """A start-up failure in one line that names the setting to change (the queue's errors
    name theirs; an index that does not load is ASSISTANT_INDEX_DIR's)."""
    line = "; ".join(part.strip() for part in str(exc).splitlines() if part.strip())
    if isinstance(exc, IndexLoadError) and "ASSISTANT_" not in line and settings is not None:
        line = f"ASSISTANT_INDEX_DIR={settings.index_dir}: {line}"
    return f"error: {line}"


class OneLineStartupFailure:
    """When the lifespan fails (the index, the model or the queue unusable in a worker),
    uvicorn prints the message Starlette sends, a whole traceback. The assistant's own errors
    say what to fix in one line: that line is sent instead. Anything else keeps its
    traceback (a bug needs it)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_line(message) -> None:
            failure = sys.exc_info()[1]  # Starlette sends the failure while handling it
            if message["type"] == "lifespan.startup.failed" and isinstance(
                    failure, (AssistantError, OSError)):
                app = scope.get("app")
                settings = getattr(getattr(app, "state", None), "settings", None)
                message = {**message, "message": startup_line(failure, settings)}
            await send(message)

        await self.app(scope, receive, send_line)
