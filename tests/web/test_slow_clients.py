"""Slow and stalled clients against a real `assistant serve` with a small file-descriptor
limit: hundreds of sockets that connect and say nothing, send half a request head, or
promise a body and stop. Normal requests are still answered, and the stalled sockets are
closed once their deadline passes."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.browser_support import free_port

pytestmark = pytest.mark.slow

HEADER_TIMEOUT, BODY_TIMEOUT = 2, 3
#: The server may open this many files (soft limit raised to the hard one at start).
SOFT, HARD = 256, 300
STALLED = 450  # more sockets than the server has descriptors
#: How long a normal request may take while the stalled sockets are there.
BOUND = 3.0


def _start(index: Path, root: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(index), "ASSISTANT_DATA_DIR": str(root),
           "ASSISTANT_THRESHOLDS_FILE": str(root / "none.json"),
           "ASSISTANT_RATE_LIMIT_PER_MINUTE": "0",
           "ASSISTANT_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
           "ASSISTANT_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT)}
    code = ("import resource, sys; "
            f"resource.setrlimit(resource.RLIMIT_NOFILE, ({SOFT}, {HARD})); "
            "from assistant.cli import main; "
            f"sys.exit(main(['serve', '--port', '{port}']))")
    with open(root / "server.log", "wb") as log:
        return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=log,
                                stderr=subprocess.STDOUT)


def _wait_ready(base: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "server exited"
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("server not ready")


def _stall(port: int, i: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port))
    if i % 3 == 1:  # half a head
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Agent: slow")
    elif i % 3 == 2:  # a head, then a tenth of the promised body
        s.sendall(b"POST /answer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100\r\n\r\n{\"query\":")
    return s  # i % 3 == 0: connected, silent


def _closed(socks: list[socket.socket], timeout: float) -> tuple[set[int], list[bytes]]:
    """Indices of the sockets the server closed within `timeout`, and what it sent them."""
    done: set[int] = set()
    said: list[bytes] = []
    index = {s.fileno(): i for i, s in enumerate(socks)}
    deadline = time.monotonic() + timeout
    while len(done) < len(socks) and time.monotonic() < deadline:
        waiting = [s for i, s in enumerate(socks) if i not in done]
        ready, _, _ = select.select(waiting, [], [], 0.2)
        for s in ready:
            try:
                data = s.recv(65536)
            except ConnectionResetError:
                data = b""
            if data:
                said.append(data)
            else:
                done.add(index[s.fileno()])
    return done, said


def test_stalled_sockets_neither_starve_requests_nor_stay_open(tiny_index, tmp_path):
    _, index = tiny_index
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(index, tmp_path, port)
    socks: list[socket.socket] = []
    try:
        _wait_ready(base, proc)
        limits = Path(f"/proc/{proc.pid}/limits").read_text()
        soft = next(line.split()[3] for line in limits.splitlines()
                    if line.startswith("Max open files"))

        opened = time.monotonic()
        socks = [_stall(port, i) for i in range(STALLED)]
        took = []
        for _ in range(15):  # each on a new connection, as a browser's first request
            started = time.monotonic()
            resp = httpx.get(base + "/healthz", timeout=10)
            took.append(time.monotonic() - started)
            assert resp.status_code == 200
        answer = httpx.post(base + "/answer", json={"query": "my transaction failed"},
                            timeout=10)
        assert answer.status_code == 200
        assert max(took) < BOUND, took

        closed, said = _closed(socks, HEADER_TIMEOUT + BODY_TIMEOUT + 5)
        elapsed = time.monotonic() - opened
        assert len(closed) == STALLED, f"{STALLED - len(closed)} stalled sockets still open"
        assert elapsed < HEADER_TIMEOUT + BODY_TIMEOUT + 5
        timeouts = [d for d in said if d.startswith(b"HTTP/1.1 408")]
        assert timeouts and all(b'"code": "request_timeout"' in d for d in timeouts)
        assert httpx.get(base + "/healthz", timeout=10).status_code == 200
        assert int(soft) == HARD  # raised to the hard limit at start
    finally:
        for s in socks:
            s.close()
        proc.terminate()
        proc.wait(timeout=30)
    log = (tmp_path / "server.log").read_text("utf-8", "replace")
    assert "ASSISTANT_MAX_CONNECTIONS=1000 lowered to" in log
