"""Probes and metrics: GET /healthz, /readyz and /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from assistant.service import QUEUE_OK
from assistant.web.deps import AssistantDep
from assistant.web.middleware import Metrics

router = APIRouter()


@router.get("/healthz")
def healthz(a: AssistantDep) -> dict:
    """Index version, article count, model, whether the queue takes writes and, after a
    refused build, why. Always 200 while the process answers: restarting fixes none of these."""
    return a.health()


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """200 once the index and the model are loaded and the queue takes writes, else 503: a
    load balancer sends no traffic to a replica that would lose handoffs."""
    a = getattr(request.app.state, "assistant", None)
    if a is None or not a.ready:
        return JSONResponse({"ready": False, "queue": "not checked"}, status_code=503)
    queue = a.queue_state()
    ready = queue == QUEUE_OK
    return JSONResponse({"ready": ready, "queue": queue}, status_code=200 if ready else 503)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus metrics: requests, latency, decisions, queue depth, index version."""
    m: Metrics = request.app.state.metrics
    a = getattr(request.app.state, "assistant", None)
    if a is not None and a.ready:
        m.observe_state(a)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
