"""The one JSON error shape, and the handlers that turn every failure into it::

    {"error": {"status": 422, "code": "invalid_request", "message": "...",
               "details": [{"field": "query", "message": "..."}]}}

Queue outcomes raised by the service (no such ticket, a conflict, the database down) are
translated here once, so routes never catch them.
"""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.core.errors import QueueError, TicketConflict, TicketNotFound

log = logging.getLogger("assistant.web")


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
    async def _not_found(_: Request, exc: TicketNotFound) -> JSONResponse:
        return _json(404, "not_found", "no such ticket; check the ticket id")

    @app.exception_handler(TicketConflict)
    async def _conflict(_: Request, exc: TicketConflict) -> JSONResponse:
        return _json(409, "conflict", str(exc))

    @app.exception_handler(QueueError)
    async def _queue_down(_: Request, exc: QueueError) -> JSONResponse:
        log.error("queue error: %s", type(exc).__name__)
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
            details.append({"field": ".".join(loc) or "body", "message": err.get("msg", "")})
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in details)
        return _json(422, "invalid_request", f"invalid request: {summary}", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
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
        return _json(500, "internal_error", f"internal error; request id {request_id}")
