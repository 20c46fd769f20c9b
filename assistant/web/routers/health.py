"""Probes and metrics: GET /healthz, /readyz and /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from assistant.web.deps import AssistantDep
from assistant.web.middleware import Metrics

router = APIRouter()


@router.get("/healthz")
def healthz(a: AssistantDep) -> dict:
    """Index version, article count and model."""
    return a.health()


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """200 once the index and the model are loaded, else 503."""
    a = getattr(request.app.state, "assistant", None)
    ready = a is not None and a.ready
    return JSONResponse({"ready": ready}, status_code=200 if ready else 503)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus metrics: requests, latency, decisions, queue depth, index version."""
    m: Metrics = request.app.state.metrics
    a = getattr(request.app.state, "assistant", None)
    if a is not None and a.ready:
        m.observe_state(a)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
