"""HTTP API (FastAPI): translates requests and errors; the logic lives in the core.

Every error has one JSON shape::

    {"error": {"status": 422, "code": "invalid_request", "message": "...",
               "details": [{"field": "query", "message": "..."}]}}
"""

from __future__ import annotations

import logging
import uuid
from contextlib import asynccontextmanager
from typing import Annotated, Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant import __version__
from assistant.config import Settings, load_settings
from assistant.service import Assistant

log = logging.getLogger(__name__)


class AnswerRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    query: StrictStr = Field(description="The user's message, 1 to 2,000 characters.")
    lang: Literal["en", "zh"] | None = Field(None, description="Reply language; detected if absent.")
    session_id: StrictStr | None = Field(None, max_length=128)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str,
                 details: list[dict] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or []


def error_body(status: int, code: str, message: str, details: list[dict] | None = None) -> dict:
    return {"error": {"status": status, "code": code, "message": message,
                      "details": details or []}}


def create_app(settings: Settings | None = None, assistant: Assistant | None = None) -> FastAPI:
    """Build the app. The model and index load in the lifespan, not at import."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        s = settings or load_settings()
        a = assistant or Assistant(s)
        a.warm_up()  # refuses to start on a missing index or a model mismatch
        app.state.settings, app.state.assistant = s, a
        yield
        a.close()

    app = FastAPI(title="Wallet support assistant", version=__version__, lifespan=lifespan)
    _install_error_handlers(app)

    def get(request: Request) -> tuple[Settings, Assistant]:
        return request.app.state.settings, request.app.state.assistant

    @app.post("/answer")
    def answer(body: AnswerRequest, request: Request) -> dict:
        """Answer, clarify, hand off or decline one message."""
        s, a = get(request)
        query = _check_query(body.query, s.max_query_chars, "query")
        return a.answer(query, lang=body.lang, session_id=body.session_id).to_dict()

    @app.get("/search")
    def search(request: Request,
               q: Annotated[str, Query(description="What the user typed so far.")],
               k: Annotated[int, Query(ge=1, le=100)] = 5,
               lang: Annotated[Literal["en", "zh"] | None, Query()] = None) -> dict:
        """Articles for the in-app help search box."""
        s, a = get(request)
        query = _check_query(q, s.max_query_chars, "q")
        if k > s.search_max_k:
            raise ApiError(422, "invalid_request", f"k must be at most {s.search_max_k}",
                           [{"field": "k", "message": f"at most {s.search_max_k}"}])
        results = a.search(query, k=k, lang=lang)
        return {"query": q, "results": [r.to_dict() for r in results]}

    @app.get("/healthz")
    def healthz(request: Request) -> dict:
        """Index version, article count and model."""
        _, a = get(request)
        return a.health()

    return app


def _check_query(text: str, limit: int, field: str) -> str:
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
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        request_id = uuid.uuid4().hex[:12]
        log.error("unexpected error %s: %s", request_id, type(exc).__name__)
        return JSONResponse(error_body(500, "internal_error",
                                       f"internal error; request id {request_id}"),
                            status_code=500)
