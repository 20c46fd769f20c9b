"""POST /answer and POST /feedback: the conversation with the assistant."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from assistant.web.deps import AssistantDep, SettingsDep, checked_text
from assistant.web.errors import ApiError
from assistant.web.schemas import AnswerRequest, FeedbackBody

router = APIRouter()


@router.post("/answer", response_model=None)
def answer(body: AnswerRequest, request: Request, s: SettingsDep, a: AssistantDep) -> JSONResponse:
    """Answer, clarify, hand off or decline one message."""
    query = checked_text(body.query, s.max_query_chars, "query")
    key = body.idempotency_key or request.headers.get("idempotency-key") or None
    if key is not None and len(key) > 128:
        raise ApiError(422, "invalid_request", "the idempotency key is over 128 characters",
                       [{"field": "idempotency_key", "message": "at most 128 characters"}])
    reply = a.answer(query, lang=body.lang, session_id=body.session_id,
                     skip_details=body.skip_details, idempotency_key=key)
    request.state.action, request.state.category = reply.action, reply.intent.category
    request.app.state.metrics.decisions.labels(reply.action, reply.lang).inc()
    return JSONResponse(reply.to_dict())  # already JSON types: no re-validation


@router.post("/feedback")
def feedback(body: FeedbackBody, a: AssistantDep) -> dict:
    """Helpful or not, on any answer. Not helpful offers a person."""
    return a.feedback(helpful=body.helpful, session_id=body.session_id, query=body.query,
                      article_id=body.article_id, lang=body.lang, comment=body.comment).to_dict()
