"""Admin endpoints (bearer admin token): statistics and index reload."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query

from assistant.core.errors import AssistantError
from assistant.web.deps import Admin, AssistantDep
from assistant.web.errors import ApiError

log = logging.getLogger("assistant.web")
router = APIRouter(prefix="/admin", dependencies=[Admin])


@router.get("/stats")
def admin_stats(a: AssistantDep, days: Annotated[float, Query(gt=0, le=366)] = 7) -> dict:
    """Decisions per day, category and language; helpfulness; queue (admin token)."""
    return a.stats(days)


@router.post("/reload")
def admin_reload(a: AssistantDep) -> dict:
    """Load the newly published index and swap it in (admin token required)."""
    try:
        changed = a.reload()
    except AssistantError as exc:
        log.error("reload refused, previous index keeps serving: %s", exc)
        raise ApiError(409, "reload_failed", f"new index refused, previous one keeps "
                                             f"serving: {exc}") from None
    return {"reloaded": changed, **a.health()}
