"""Dependencies every router shares: the settings, the assistant, who is calling, and the
checks on user text. Declared once, used as `Annotated` aliases in route signatures."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from assistant.core.config import Settings
from assistant.service import Assistant
from assistant.web.errors import ApiError


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_assistant(request: Request) -> Assistant:
    return request.app.state.assistant


SettingsDep = Annotated[Settings, Depends(get_settings)]
AssistantDep = Annotated[Assistant, Depends(get_assistant)]


#: Declares the bearer token in the OpenAPI schema (the Authorize button of /docs). It never
#: answers by itself (`auto_error=False`): the checks below keep their 404 and 401.
bearer_scheme = HTTPBearer(
    auto_error=False, description="An agent token (ASSISTANT_AGENT_TOKENS) for /agent, the "
    "admin token (ASSISTANT_ADMIN_TOKEN) for /admin.")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


def _bearer(credentials: HTTPAuthorizationCredentials | None) -> str | None:
    return credentials.credentials if credentials is not None else None


def require_agent(credentials: BearerDep, s: SettingsDep) -> str:
    """The agent's name for a valid bearer token; 404 when the agent API is off, else 401."""
    if not s.agent_tokens:
        raise ApiError(404, "not_found", "the agent API is disabled; set "
                                         "ASSISTANT_AGENT_TOKENS to enable it")
    token = _bearer(credentials)
    if token is not None:
        for name, expected in s.agent_tokens.items():
            if secrets.compare_digest(token.encode(), expected.encode()):
                return name
    raise ApiError(401, "unauthorized", "send 'Authorization: Bearer <agent token>'")


def require_admin(credentials: BearerDep, s: SettingsDep) -> None:
    if not s.admin_token:
        raise ApiError(404, "not_found", "admin endpoints are disabled; set "
                                         "ASSISTANT_ADMIN_TOKEN to enable them")
    token = _bearer(credentials)
    if token is None or not secrets.compare_digest(token.encode(), s.admin_token.encode()):
        raise ApiError(401, "unauthorized", "send 'Authorization: Bearer <admin token>'")


AgentName = Annotated[str, Depends(require_agent)]
Admin = Depends(require_admin)


def checked_text(text: str, limit: int, field: str) -> str:
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
