"""What runs around every request: the request id, the JSON request log, the rate limit (in
one process, shared through a real Redis, keyed on the right client) and its exemptions."""

from __future__ import annotations

import json
import logging
import re
import socket
import sys
import time

import pytest
from fastapi.testclient import TestClient

from assistant.web.app import create_app
from tests.web.redis_support import shared_store

PEER = ("198.51.100.7", 40000)


def _run(coro):
    """Run a coroutine on a loop of its own, in a thread: the session's Playwright browser
    may keep a loop running in this one."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
LIMITED = "/categories"  # a cheap route under the rate limit


def client_for(settings, assistant, peer=PEER, **overrides) -> TestClient:
    s = settings.model_copy(update=overrides)
    return TestClient(create_app(s, assistant), raise_server_exceptions=False, client=peer)


# ------------------------------------------------------------------ request id

def test_a_valid_request_id_is_echoed_and_others_are_replaced(fake_settings, fake_assistant):
    with client_for(fake_settings, fake_assistant) as c:
        given = c.get("/healthz", headers={"X-Request-ID": "req-7f3a:01/ok"})
        longest = c.get("/healthz", headers={"X-Request-ID": "a" * 128})
        bad = [c.get("/healthz", headers={"X-Request-ID": value}).headers["x-request-id"]
               for value in ("a" * 129, "two words", "tab\there", "ключ".encode(), "")]
        fresh = [c.get("/healthz").headers["x-request-id"] for _ in range(2)]
    assert given.headers["x-request-id"] == "req-7f3a:01/ok"
    assert longest.headers["x-request-id"] == "a" * 128
    for rid in bad + fresh:
        assert re.fullmatch(r"[0-9a-f]{32}", rid), rid
    assert fresh[0] != fresh[1]


def test_errors_and_refusals_carry_the_request_id(fake_settings, fake_assistant, monkeypatch):
    with client_for(fake_settings, fake_assistant, rate_limit_per_minute=60,
                    rate_limit_burst=3, max_body_bytes=1024) as c:
        monkeypatch.setattr(fake_assistant, "answer", lambda *a, **k: 1 / 0)
        crash = c.post("/answer", json={"query": "hello"}, headers={"X-Request-ID": "id-500"})
        too_big = c.post("/answer", content=b"{}", headers={
            "X-Request-ID": "id-413", "content-type": "application/json",
            "content-length": "5000"})
        invalid = c.post("/answer", json={"query": ""}, headers={"X-Request-ID": "id-422"})
        missing = c.get("/nope", headers={"X-Request-ID": "id-404"})
        while (limited := c.get(LIMITED, headers={"X-Request-ID": "id-429"})).status_code == 200:
            pass
    assert crash.status_code == 500 and crash.headers["x-request-id"] == "id-500"
    assert "id-500" in crash.json()["error"]["message"]  # the id the log line names
    assert too_big.status_code == 413 and too_big.headers["x-request-id"] == "id-413"
    assert invalid.status_code == 422 and invalid.headers["x-request-id"] == "id-422"
    assert limited.status_code == 429 and limited.headers["x-request-id"] == "id-429"
    assert missing.status_code == 404 and missing.headers["x-request-id"] == "id-404"


# ------------------------------------------------------------------ the request log

class _Lines(logging.Handler):
    def __init__(self) -> None:
        from assistant.web.server import JsonFormatter

        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_each_request_is_one_json_line_naming_the_route_template(fake_settings, fake_assistant,
                                                                 caplog):
    caplog.set_level(logging.INFO, logger="assistant.web")
    lines = _Lines()
    logging.getLogger("assistant.web").addHandler(lines)
    try:
        with client_for(fake_settings, fake_assistant) as c:
            c.get("/tickets/T1cketSecret99", headers={"X-Request-ID": "log-1"})
            c.get("/articles/tx-failed")
    finally:
        logging.getLogger("assistant.web").removeHandler(lines)
    records = [json.loads(line) for line in lines.lines]  # every line is one JSON object
    requests = [r for r in records if r.get("event") == "request"]
    ticket = next(r for r in requests if r["request_id"] == "log-1")
    assert ticket["route"] == "/tickets/{ticket_id}" and ticket["method"] == "GET"
    assert ticket["status"] in (401, 404) and ticket["ms"] >= 0
    assert ticket["level"] == "INFO" and ticket["logger"] == "assistant.web"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ticket["timestamp"])
    assert any(r["route"] == "/articles/{article_id}" for r in requests)
    assert not any("T1cketSecret99" in line or "tx-failed" in line for line in lines.lines)


def test_an_exception_is_logged_as_its_type_and_frames_not_its_text():
    from assistant.web.server import JsonFormatter

    try:
        raise ValueError("user wrote: legal winner thank year")
    except ValueError:
        record = logging.LogRecord("assistant.web", logging.ERROR, __file__, 1, "failed",
                                   (), sys.exc_info())
    line = json.loads(JsonFormatter().format(record))
    assert line["exception"]["type"] == "ValueError" and line["exception"]["frames"]
    assert "legal winner" not in json.dumps(line)


# ------------------------------------------------------------------ rate limits

def _statuses(c: TestClient, n: int, path: str = LIMITED, **kwargs) -> list[int]:
    return [c.get(path, **kwargs).status_code for _ in range(n)]


def test_the_burst_holds_in_one_process(fake_settings, fake_assistant):
    with client_for(fake_settings, fake_assistant, rate_limit_per_minute=60,
                    rate_limit_burst=5) as c:
        codes = _statuses(c, 12)
        last = c.get(LIMITED)
    assert codes == [200] * 5 + [429] * 7
    assert last.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(last.headers["Retry-After"]) <= 5  # 5 requests per 5 s


def test_probes_metrics_and_static_files_are_never_limited(fake_settings, fake_assistant):
    with client_for(fake_settings, fake_assistant, rate_limit_per_minute=6,
                    rate_limit_burst=1) as c:
        assert _statuses(c, 3) == [200, 429, 429]
        for path in ("/healthz", "/readyz", "/metrics", "/static/help.css", "/static/docs.js"):
            assert set(_statuses(c, 5, path)) == {200}, path


def test_forwarded_for_from_an_untrusted_peer_is_ignored(fake_settings, fake_assistant):
    """A client cannot buy a fresh budget per request by inventing X-Forwarded-For."""
    with client_for(fake_settings, fake_assistant, rate_limit_per_minute=60,
                    rate_limit_burst=3) as c:
        codes = [c.get(LIMITED, headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
                 for i in range(8)]
    assert codes == [200] * 3 + [429] * 5


def test_forwarded_for_from_a_trusted_proxy_names_the_client(fake_settings, fake_assistant):
    proxy = ("10.1.2.3", 5000)
    with client_for(fake_settings, fake_assistant, peer=proxy, rate_limit_per_minute=60,
                    rate_limit_burst=2, trusted_proxies=["10.0.0.0/8"]) as c:
        alice = {"X-Forwarded-For": "192.0.2.10"}
        # a forged left-most entry does not help: the proxy appended the real address
        forged = {"X-Forwarded-For": "1.1.1.1, 192.0.2.10"}
        first = _statuses(c, 2, headers=alice) + _statuses(c, 1, headers=forged)
        bob = _statuses(c, 2, headers={"X-Forwarded-For": "192.0.2.20"})
    assert first == [200, 200, 429]  # one budget for alice, whatever she writes
    assert bob == [200, 200]  # not the proxy's shared budget


def test_client_address_is_the_right_most_untrusted_hop():
    from assistant.web.middleware import ClientAddress

    resolve = ClientAddress(["10.0.0.0/8", "2001:db8::/32"])

    def scope(peer: str, *forwarded: str) -> dict:
        return {"client": (peer, 1), "headers": [(b"x-forwarded-for", f.encode())
                                                 for f in forwarded]}

    assert resolve(scope("203.0.113.5", "9.9.9.9")) == "203.0.113.5"  # untrusted peer
    assert resolve(scope("10.0.0.1", "9.9.9.9, 192.0.2.1")) == "192.0.2.1"
    assert resolve(scope("10.0.0.1", "192.0.2.1, 10.0.0.7")) == "192.0.2.1"  # two proxies
    assert resolve(scope("10.0.0.1", "9.9.9.9", "192.0.2.1")) == "192.0.2.1"  # two headers
    assert resolve(scope("10.0.0.1", "192.0.2.1:4711")) == "192.0.2.1"
    assert resolve(scope("2001:db8::1", "[2001:db8:1::5]:80, 2a00::9")) == "2a00::9"
    assert resolve(scope("::ffff:10.0.0.1", "192.0.2.1")) == "192.0.2.1"  # v4-mapped peer
    assert resolve(scope("10.0.0.1")) == "10.0.0.1"  # no header: the proxy itself
    assert resolve(scope("10.0.0.1", "garbage, 10.0.0.9")) == "10.0.0.9"
    assert ClientAddress([])(scope("10.0.0.1", "192.0.2.1")) == "10.0.0.1"


def test_replicas_share_one_budget_through_redis(fake_settings, fake_assistant):
    """Two apps (two replicas, or two workers) on one Redis: the burst holds for both."""
    with shared_store() as store:
        _replicas_share_one_budget(fake_settings, fake_assistant, store)


def _replicas_share_one_budget(fake_settings, fake_assistant, redis_store) -> None:
    shared = {"rate_limit_per_minute": 60, "rate_limit_burst": 6,
              "rate_limit_storage": redis_store.url, "rate_limit_key_prefix": redis_store.prefix}
    with client_for(fake_settings, fake_assistant, **shared) as one, \
            client_for(fake_settings, fake_assistant, **shared) as two:
        codes = [(one if i % 2 else two).get(LIMITED).status_code for i in range(14)]
        other_client = client_for(fake_settings, fake_assistant, peer=("192.0.2.99", 1), **shared)
        with other_client:
            assert other_client.get(LIMITED).status_code == 200
    assert codes.count(200) == 6 and codes[:6] == [200] * 6
    assert redis_store.keys()  # the counts were in Redis, under this test's prefix


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_redis_falls_back_to_per_process_limits(fake_settings, fake_assistant,
                                                              caplog):
    caplog.set_level(logging.WARNING, logger="assistant.web")
    down = f"redis://127.0.0.1:{_closed_port()}/15"
    with client_for(fake_settings, fake_assistant, rate_limit_per_minute=60,
                    rate_limit_burst=3, rate_limit_storage=down) as c:
        codes = _statuses(c, 6)
    assert codes == [200] * 3 + [429] * 3  # never a 500, and still limited
    warnings = [r.getMessage() for r in caplog.records if "rate-limit store" in r.getMessage()]
    assert len(warnings) == 1 and "ASSISTANT_RATE_LIMIT_STORAGE" in warnings[0]


def test_a_hung_redis_costs_a_request_at_most_its_timeout(fake_settings):
    """A Redis that accepts and never answers: one request waits for the socket timeout,
    the next ones skip Redis while it is left alone."""
    from assistant.web.middleware import RateLimit

    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)
        s = fake_settings.model_copy(update={
            "rate_limit_storage": f"redis://127.0.0.1:{hung.getsockname()[1]}/15"})
        limiter = RateLimit(s)

        async def timed() -> list[float]:
            out = []
            for _ in range(5):
                started = time.perf_counter()
                assert await limiter.retry_after("192.0.2.1") == 0
                out.append(time.perf_counter() - started)
            await limiter.aclose()
            return out

        took = _run(timed())
    assert took[0] < 2.0 and max(took[1:]) < 0.05, took


def test_local_windows_hold_only_recent_clients_at_a_bounded_cost():
    """200,000 clients over two minutes: the table keeps about one window's worth, and no
    request sweeps more than a bounded number of idle ones."""
    from assistant.web.middleware import LocalWindows

    now = [0.0]
    store = LocalWindows(clock=lambda: now[0])
    sizes, worst = [], 0

    async def run() -> None:
        nonlocal worst
        for i in range(200_000):
            now[0] = i * 0.0006  # 120 s in all
            before = len(store)
            assert await store.acquire_entry(f"c{i}", 30, 15)
            worst = max(worst, before + 1 - len(store))
            if i % 10_000 == 0:
                sizes.append(len(store))

    _run(run())
    per_window = 15 / 0.0006  # clients seen within one 15 s window
    assert max(sizes[5:]) <= per_window * 1.05, sizes
    assert worst <= LocalWindows.SWEEP


def test_local_windows_are_a_moving_window():
    from assistant.web.middleware import LocalWindows

    now = [100.0]
    store = LocalWindows(clock=lambda: now[0])

    async def run() -> list:
        out = [await store.acquire_entry("k", 3, 10) for _ in range(4)]
        start, count = await store.get_moving_window("k", 3, 10)
        out.append((start, count))
        now[0] = 110.0  # the first three leave the window exactly now
        out.append(await store.acquire_entry("k", 3, 10))
        return out

    assert _run(run()) == [True, True, True, False, (100.0, 3), True]


def test_the_budget_comes_back_after_the_window(fake_settings):
    from assistant.web.middleware import RateLimit

    now = [50.0]
    limiter = RateLimit(fake_settings.model_copy(update={
        "rate_limit_per_minute": 60, "rate_limit_burst": 2}), clock=lambda: now[0])

    async def run() -> list[float]:
        out = [await limiter.retry_after("a") for _ in range(3)]
        out.append(await limiter.retry_after("b"))  # clients are independent
        now[0] = 52.0  # 2 requests per 2 s: both slots free again
        out.append(await limiter.retry_after("a"))
        return out

    assert _run(run()) == [0, 0, pytest.approx(2.0), 0, 0]
