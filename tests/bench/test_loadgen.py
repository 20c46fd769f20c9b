"""The one load generator against a real HTTP server on loopback: keep-alive, the response
framings, closed-loop clients, and the percentile and summary every report uses."""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket

import pytest

from bench.loadgen import (Connection, Server, closed_loop, encode_request, free_port,
                           json_request, machine, percentile, request_once, run_async,
                           summarize)


def test_percentile_is_a_measured_value_nearest_the_rank():
    values = list(range(1, 101))
    random.Random(0).shuffle(values)
    assert percentile(values, 50) == 51 and percentile(values, 99) == 99
    assert percentile(values, 0) == 1 and percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_summarize_percentiles_and_errors():
    latencies = [i / 1000 for i in range(1, 101)]  # 1..100 ms
    r = summarize(latencies, ["500", "ConnectionResetError"], elapsed=2.0, concurrency=4)
    assert r["p50_ms"] == pytest.approx(51.0) and r["p99_ms"] == pytest.approx(99.0)
    assert r["p95_ms"] == pytest.approx(95.0) and r["max_ms"] == pytest.approx(100.0)
    assert r["mean_ms"] == pytest.approx(50.5)
    assert r["rps"] == 50.0 and r["errors"] == 2 and r["requests"] == 101
    assert r["error_kinds"] == ["500", "ConnectionResetError"]
    assert "p90_ms" in summarize(latencies, [], 1.0, 1, percentiles=(50, 90, 99))


def test_summarize_without_answers():
    r = summarize([], ["ConnectionRefusedError"] * 3, elapsed=0.5, concurrency=2)
    assert r["requests"] == 3 and r["rps"] == 0.0 and r["errors"] == 3
    assert r["p50_ms"] is None and r["max_ms"] is None and r["mean_ms"] is None


def test_one_keep_alive_connection_carries_every_request(tiny_server):
    async def go() -> tuple[list, int]:
        async with Connection(tiny_server.port) as conn:
            got = [await conn.request("POST", "/echo", {"n": n}) for n in range(5)]
            return got, conn.opened

    responses, opened = run_async(go())
    assert [r.status for r in responses] == [200] * 5
    assert [json.loads(r.json()["body"]) for r in responses] == [{"n": n} for n in range(5)]
    assert opened == 1 and len({s.client_port for s in tiny_server.seen}) == 1


def test_chunked_bodies_and_servers_that_close(tiny_server):
    async def go() -> tuple[list, int]:
        async with Connection(tiny_server.port) as conn:
            got = [await conn.request("GET", path) for path in
                   ("/chunked", "/close", "/echo", "/status/404")]
            return got, conn.opened

    (chunked, closing, after, missing), opened = run_async(go())
    assert chunked.json() == {"chunked": True} and closing.json() == {"closing": True}
    assert after.json()["method"] == "GET" and missing.status == 404
    assert opened == 2  # a new connection after the server said it would close


def test_a_connection_closed_while_idle_is_retried_once(tiny_server):
    async def go() -> tuple[list, int]:
        async with Connection(tiny_server.port) as conn:
            first = await conn.request("GET", "/drop")
            await asyncio.sleep(0.05)  # the server has closed it by now
            return [first, await conn.request("GET", "/echo")], conn.opened

    (first, second), opened = run_async(go())
    assert first.json() == {"dropped": True} and second.status == 200
    assert opened == 2 and [s.path for s in tiny_server.seen] == ["/drop", "/echo"]


def test_closed_loop_gives_each_session_to_one_client_in_order(tiny_server):
    sessions = [[encode_request("GET", f"/echo?s={s}&i={i}") for i in range(3)]
                for s in range(12)]
    r = run_async(closed_loop(tiny_server.port, sessions, 4))
    assert (r["requests"], r["errors"], r["concurrency"]) == (36, 0, 4)
    assert r["p50_ms"] > 0 and r["p99_ms"] >= r["p50_ms"] and r["rps"] > 0
    by_client: dict[int, list[str]] = {}
    for s in tiny_server.seen:
        by_client.setdefault(s.client_port, []).append(s.path)
    assert len(by_client) == 4  # one keep-alive connection per client
    for paths in by_client.values():
        for k in range(0, len(paths), 3):  # a session's requests run back to back, in order
            session = paths[k].split("&")[0]
            assert paths[k:k + 3] == [f"{session}&i={i}" for i in range(3)]


def test_closed_loop_counts_error_statuses_and_failed_connections(tiny_server):
    mixed = [[encode_request("GET", "/status/503")], [encode_request("GET", "/echo")]]
    r = run_async(closed_loop(tiny_server.port, mixed, 1))
    assert r["requests"] == 2 and r["errors"] == 1 and r["error_kinds"] == ["503"]
    dead = run_async(closed_loop(free_port(), [[encode_request("GET", "/")]] * 3, 2))
    assert dead["requests"] == 3 and dead["errors"] == 3 and dead["p50_ms"] is None
    assert dead["error_kinds"] == ["ConnectionRefusedError"]


def test_pace_and_deadline(tiny_server):
    paced = run_async(closed_loop(tiny_server.port, [[encode_request("GET", "/echo")] * 3], 1,
                                  pace_s=0.05))
    assert paced["requests"] == 3 and paced["rps"] <= 3 / 0.15
    slow = [[encode_request("GET", "/slow/100")]] * 10
    cut = run_async(closed_loop(tiny_server.port, slow, 1, deadline_s=0.15))
    assert 1 <= cut["requests"] < 10 and cut["errors"] == 0


def test_request_once_and_encoding(tiny_server):
    health = request_once(tiny_server.port, "GET", "/healthz")
    assert health.status == 200 and health.json()["index_version"] == "v-test"
    assert request_once(tiny_server.port, "GET", "/chunked").json() == {"chunked": True}
    raw = json_request("POST", "/answer", {"query": "钱包"}, headers={"X-Test": "1"})
    head, body = raw.split(b"\r\n\r\n", 1)
    assert json.loads(body) == {"query": "钱包"}
    assert f"Content-Length: {len(body)}".encode() in head and b"X-Test: 1" in head
    assert head.startswith(b"POST /answer HTTP/1.1\r\nHost: 127.0.0.1")


def test_run_async_works_inside_a_running_loop(tiny_server):
    async def outer() -> int:
        inner = run_async(closed_loop(tiny_server.port, [[encode_request("GET", "/echo")]], 1))
        return inner["requests"]

    assert asyncio.run(outer()) == 1


def test_free_port_and_machine():
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
    m = machine()
    assert m["cores"] >= 1 and len(m["load_average"]) == 3 and m["python"].count(".") == 2


def test_server_that_exits_says_why(tmp_path):
    env = {**os.environ, "ASSISTANT_RATE_LIMIT_PER_MINUTE": "not a number"}
    with Server(env).start(tmp_path / "server.log") as server:
        with pytest.raises(RuntimeError, match="server exited with 2"):
            server.wait_for(timeout=60)
    assert server.proc is not None and server.proc.returncode == 2
    assert "ASSISTANT_RATE_LIMIT_PER_MINUTE" in (tmp_path / "server.log").read_text()
