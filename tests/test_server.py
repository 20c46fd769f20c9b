"""The real server process: serves on loopback, reloads the index on SIGHUP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from assistant.build import build_index
from tests.conftest import write_kb

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"server did not answer {url}")


def test_serve_and_reload_on_sighup(tmp_path, embedder):
    kb = write_kb(tmp_path / "kb")
    index = tmp_path / "index"
    build_index(kb, index, embedder, model_name="all-MiniLM-L6-v2")
    port = _free_port()
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(index), "ASSISTANT_DATA_DIR":
           str(tmp_path / "data"), "ASSISTANT_THRESHOLDS_FILE": str(tmp_path / "none.json")}
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)],
                            env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base + "/readyz")
        first = httpx.get(base + "/healthz").json()["index_version"]
        path = kb / "en" / "tx-failed.md"
        path.write_text(path.read_text("utf-8") + "Reloaded text.\n", "utf-8")
        build_index(kb, index, embedder, model_name="all-MiniLM-L6-v2")
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while httpx.get(base + "/healthz").json()["index_version"] == first:
            assert time.monotonic() < deadline, "index was not reloaded"
            time.sleep(0.3)
        body = httpx.post(base + "/answer", json={"query": "my transaction failed"}).json()
        assert "Reloaded text." in body["answer"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    assert "SIGHUP: new index serving" in (tmp_path / "server.log").read_text()


def _serve(env: dict, port: int, log_path) -> subprocess.Popen:
    with open(log_path, "ab") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--port",
                                 str(port)], env=env, stdout=log, stderr=log)


def test_an_acknowledged_ticket_survives_kill_9(tmp_path, tiny_index, queue_dsn):
    """The server is killed without warning right after answering; the ticket is still there,
    and the client's retry with the same key gets the same ticket, not a second one."""
    _, index = tiny_index
    port = _free_port()
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(index), "ASSISTANT_DATA_DIR":
           str(tmp_path / "data"), "ASSISTANT_THRESHOLDS_FILE": str(tmp_path / "none.json"),
           "ASSISTANT_QUEUE_DSN": queue_dsn}
    base = f"http://127.0.0.1:{port}"
    proc = _serve(env, port, tmp_path / "server.log")
    try:
        _wait(base + "/readyz")
        reply = httpx.post(base + "/answer", json={"query": "转人工"},
                           headers={"Idempotency-Key": "crash-1"}).json()
        ticket = reply["ticket"]["id"]
        proc.kill()  # SIGKILL: no shutdown, no flush
        proc.wait(timeout=30)
        proc = _serve(env, port, tmp_path / "server.log")
        _wait(base + "/readyz")
        seen = httpx.get(f"{base}/tickets/{ticket}").json()
        assert seen["status"] == "open" and seen["position"] == 1
        assert seen["messages"][-1]["text"] == "转人工"
        retried = httpx.post(base + "/answer", json={"query": "转人工"},
                             headers={"Idempotency-Key": "crash-1"}).json()
        assert retried["ticket"]["id"] == ticket and retried["ticket"]["position"] == 1
    finally:
        proc.terminate()
        proc.wait(timeout=30)
