"""The real server process: serves on loopback, reloads the index on SIGHUP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from assistant.tooling.build import build_index
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
        owner = {"Authorization": f"Bearer {reply['ticket']['secret']}"}
        proc.kill()  # SIGKILL: no shutdown, no flush
        proc.wait(timeout=30)
        proc = _serve(env, port, tmp_path / "server.log")
        _wait(base + "/readyz")
        seen = httpx.get(f"{base}/tickets/{ticket}", headers=owner).json()
        assert seen["status"] == "open" and seen["position"] == 1
        assert seen["messages"][-1]["text"] == "转人工"
        retried = httpx.post(base + "/answer", json={"query": "转人工"},
                             headers={"Idempotency-Key": "crash-1"}).json()
        assert retried["ticket"]["id"] == ticket and retried["ticket"]["position"] == 1
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class _Stream:
    """Client threads sending /answer back to back; every response is recorded."""

    def __init__(self, base: str, threads: int = 4) -> None:
        self.base, self.stop = base, threading.Event()
        self.records: list[tuple[float, float, int, str]] = []  # start, end, status, answer
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> "_Stream":
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self._threads:
            t.join(timeout=60)

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self.stop.is_set():
                started = time.monotonic()
                try:
                    resp = client.post(self.base + "/answer", json={"query": QUERY})
                    answer = resp.json().get("answer", "") if resp.status_code == 200 else ""
                    record = (started, time.monotonic(), resp.status_code, answer)
                except httpx.HTTPError as exc:
                    with self._lock:
                        self.errors.append(repr(exc))
                    continue
                with self._lock:
                    self.records.append(record)

    def wait_for(self, text: str, since: float, timeout: float) -> float:
        """End time of the first response holding `text` among requests started after `since`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                ends = [end for start, end, _, answer in self.records
                        if start >= since and text in answer]
            if ends:
                return min(ends)
            time.sleep(0.02)
        raise AssertionError(f"no answer with {text!r} within {timeout} s")

    def started_after(self, t: float) -> list[str]:
        with self._lock:
            return [answer for start, _, _, answer in self.records if start > t]


QUERY = "my transaction failed"
ADMIN = "reload-test-admin-token-0123456789"
#: The brief's bound for a switch; a reload of the tiny index takes a fraction of it.
SWITCH_SECONDS = 1.0
#: A signal is handled asynchronously; on a loaded shared machine allow more before failing.
SIGNAL_SECONDS = 10.0


def test_requests_keep_succeeding_through_reloads(tmp_path, embedder):
    kb = write_kb(tmp_path / "kb")
    index = tmp_path / "index"
    build_index(kb, index, embedder, model_name="all-MiniLM-L6-v2")
    port = _free_port()
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(index),
           "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
           "ASSISTANT_THRESHOLDS_FILE": str(tmp_path / "none.json"),
           "ASSISTANT_RATE_LIMIT_PER_MINUTE": "0", "ASSISTANT_ADMIN_TOKEN": ADMIN}
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)],
                            env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    path = kb / "en" / "tx-failed.md"
    try:
        _wait(base + "/readyz")
        with _Stream(base) as stream:
            time.sleep(1)
            path.write_text(path.read_text("utf-8") + "Version two.\n", "utf-8")
            build_index(kb, index, embedder, model_name="all-MiniLM-L6-v2")
            resp = httpx.post(base + "/admin/reload",
                              headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60)
            reloaded = time.monotonic()
            assert resp.status_code == 200 and resp.json()["reloaded"] is True
            first_v2 = stream.wait_for("Version two.", reloaded, SWITCH_SECONDS)
            assert first_v2 - reloaded <= SWITCH_SECONDS

            path.write_text(path.read_text("utf-8") + "Version three.\n", "utf-8")
            build_index(kb, index, embedder, model_name="all-MiniLM-L6-v2")
            signalled = time.monotonic()
            proc.send_signal(signal.SIGHUP)
            first_v3 = stream.wait_for("Version three.", signalled, SIGNAL_SECONDS)
            time.sleep(1)
        after_admin = stream.started_after(reloaded)
        after_signal = stream.started_after(first_v3)
        statuses = {status for _, _, status, _ in stream.records}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    assert stream.errors == [] and statuses == {200}
    assert len(stream.records) > 50
    # the swap is atomic: nothing started after it is answered from the old index
    assert after_admin and all("Version two." in a for a in after_admin)
    assert after_signal and all("Version three." in a for a in after_signal)


def test_metrics_are_scraped_and_parsed_as_prometheus_text(live_server):
    """A scrape over HTTP, read by prometheus_client's own text-format parser."""
    from prometheus_client.parser import text_string_to_metric_families

    base = live_server.url
    before = httpx.get(base + "/metrics").text
    httpx.post(base + "/answer", json={"query": "my transaction failed, why?"})
    httpx.post(base + "/answer", json={"query": "what's the weather tomorrow"})
    httpx.get(base + "/search", params={"q": "pasword"})
    families = {f.name: f for f in text_string_to_metric_families(httpx.get(base + "/metrics").text)}
    old = {f.name: f for f in text_string_to_metric_families(before)}

    def total(fams, name, **labels) -> float:
        return sum(s.value for s in fams[name].samples if s.name.endswith("_total")
                   and all(s.labels.get(k) == v for k, v in labels.items())) if name in fams else 0

    assert families["assistant_requests"].type == "counter"
    assert total(families, "assistant_requests", route="/answer", status="200") == \
        total(old, "assistant_requests", route="/answer", status="200") + 2
    assert total(families, "assistant_decisions", action="decline") >= 1
    latency = families["assistant_request_seconds"]
    assert latency.type == "histogram"
    counts = [s for s in latency.samples if s.name.endswith("_count")
              and s.labels.get("route") == "/search"]
    assert counts and counts[0].value >= 1
    assert families["assistant_queue_open_tickets"].samples[0].value >= 0
    info = families["assistant_index_info"].samples[0]
    assert info.value == 1 and info.labels["version"] and info.labels["model"]
