"""A real `assistant serve` with two worker processes and a shared Redis: every worker writes
JSON request lines, /metrics sums both workers, and the burst limit holds across them."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.browser_support import LiveServer
from tests.web.redis_support import SharedStore, shared_store

pytestmark = pytest.mark.slow

BURST = 10  # per 10 s: 60 a minute


@pytest.fixture(scope="module")
def store() -> Iterator[SharedStore]:
    with shared_store() as s:
        yield s


@pytest.fixture(scope="module")
def server(tiny_index, tmp_path_factory, store) -> Iterator[LiveServer]:
    _, index = tiny_index
    root = tmp_path_factory.mktemp("workers")
    env = {"ASSISTANT_INDEX_DIR": str(index), "ASSISTANT_DATA_DIR": str(root / "data"),
           "ASSISTANT_THRESHOLDS_FILE": str(root / "none.json"), "ASSISTANT_WORKERS": "2",
           "ASSISTANT_RATE_LIMIT_PER_MINUTE": "60", "ASSISTANT_RATE_LIMIT_BURST": str(BURST),
           "ASSISTANT_RATE_LIMIT_STORAGE": store.url,
           "ASSISTANT_RATE_LIMIT_KEY_PREFIX": store.prefix, "ASSISTANT_LOG_LEVEL": "INFO"}
    live = LiveServer(env, root / "server.log")
    yield live
    live.stop()


def _lines(server: LiveServer) -> list[dict]:
    text = server.log_path.read_text("utf-8", "replace")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _requests(server: LiveServer, ids: set[str]) -> list[dict]:
    return [r for r in _lines(server) if r.get("event") == "request" and r["request_id"] in ids]


def _get(url: str, rid: str, **headers: str) -> httpx.Response:
    """One request on a connection of its own (so the kernel spreads them over the workers)."""
    return httpx.get(url, headers={"X-Request-ID": rid, **headers}, timeout=30)


def test_every_worker_writes_json_lines_with_the_route_template(server):
    tickets = {f"rid-log-{i}": "Tk" + secrets.token_hex(8) for i in range(40)}
    for rid, ticket in tickets.items():
        _get(f"{server.url}/tickets/{ticket}", rid)
        seen = _requests(server, set(tickets))
        if len({r["pid"] for r in seen}) >= 2 and len(seen) >= 8:
            break
    lines = _lines(server)  # every line of the log is one JSON object, from every process
    seen = _requests(server, set(tickets))
    assert len({r["pid"] for r in seen}) == 2, "both workers should have logged requests"
    assert server.proc.pid not in {r["pid"] for r in seen}  # workers, not the parent
    for r in seen:
        assert r["route"] == "/tickets/{ticket_id}" and r["method"] == "GET"
        assert r["status"] in (401, 404, 429) and r["ms"] >= 0
        assert r["level"] == "INFO" and r["logger"] == "assistant.web" and r["timestamp"]
    text = server.log_path.read_text("utf-8")
    assert not any(ticket in text for ticket in tickets.values())
    assert any(line.get("logger", "").startswith("uvicorn") for line in lines)


def _healthz_count(server: LiveServer) -> float:
    families = text_string_to_metric_families(httpx.get(server.url + "/metrics").text)
    return sum(s.value for f in families if f.name == "assistant_requests"
               for s in f.samples if s.name == "assistant_requests_total"
               and s.labels == {"route": "/healthz", "method": "GET", "status": "200"})


def test_metrics_sum_the_counts_of_both_workers(server):
    before = {_healthz_count(server) for _ in range(6)}
    assert len(before) == 1  # every scrape, whichever worker answers it, reads the same
    ids = {f"rid-metrics-{i}" for i in range(30)}
    for rid in sorted(ids):
        assert _get(server.url + "/healthz", rid).status_code == 200
    after = [_healthz_count(server) for _ in range(6)]
    assert after == [before.pop() + 30] * 6
    served_by = {r["pid"] for r in _requests(server, ids)}
    assert len(served_by) == 2, "the requests should have been spread over both workers"


def test_the_burst_holds_across_both_workers(server, store):
    """25 requests, each naming another client in X-Forwarded-For (not trusted: uvicorn must
    not rewrite the client from it), spread over two workers: exactly the burst passes."""
    import redis

    with redis.Redis.from_url(store.url) as r:  # a fresh budget, whatever ran before
        for key in r.scan_iter(match=f"{store.prefix}:*"):
            r.delete(key)
    ids = [f"rid-burst-{i}" for i in range(25)]
    codes = [_get(server.url + "/categories", rid,
                  **{"X-Forwarded-For": f"203.0.113.{i}"}).status_code
             for i, rid in enumerate(ids)]
    assert codes.count(200) == BURST and codes.count(429) == 25 - BURST, codes
    assert codes[:BURST] == [200] * BURST
    served_by = {r["pid"] for r in _requests(server, set(ids))}
    assert len(served_by) == 2, "the requests should have been spread over both workers"
    assert store.keys()  # the budget lives in Redis, under the test's prefix
