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
