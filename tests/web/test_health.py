"""/readyz and /healthz against real queue failures: a PostgreSQL whose connections are cut
(a TCP relay in front of the real server, closed and reopened), and a SQLite file on a disk
that fills up. A replica that cannot write handoffs must not be sent traffic."""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
from fastapi.testclient import TestClient

from assistant.service import Assistant
from assistant.web.app import create_app
from tests.disk_support import fill, tiny_disk


class CuttableRelay:
    """A TCP relay from a loopback port to the database: `cut()` closes every connection and
    refuses new ones (the network to the server is gone), `restore()` listens again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, []
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked on it
            except OSError:
                pass
            listener.close()
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture
def relayed_pg(pg_dsn):
    """(a DSN to the test schema through the relay, the relay)."""
    parts = urlsplit(pg_dsn)
    relay = CuttableRelay((parts.hostname or "127.0.0.1", parts.port or 5432))
    netloc = f"{parts.username}@127.0.0.1:{relay.port}" if parts.username \
        else f"127.0.0.1:{relay.port}"
    yield urlunsplit(parts._replace(netloc=netloc)), relay
    relay.cut()


def make_client(settings, embedder, **overrides) -> TestClient:
    s = settings.model_copy(update={"rate_limit_per_minute": 0, "queue_timeout_seconds": 3,
                                    **overrides})
    return TestClient(create_app(s, Assistant(s, embedder=embedder)),
                      raise_server_exceptions=False)


def wait_ready(client, want: int, seconds: float = 30) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        r = client.get("/readyz")
        if r.status_code == want or time.monotonic() > deadline:
            assert r.status_code == want, r.text
            return r.json()
        time.sleep(0.3)


def test_readiness_follows_a_postgres_queue_whose_connection_is_cut(fake_settings,
                                                                    fake_embedder, relayed_pg):
    dsn, relay = relayed_pg
    with make_client(fake_settings, fake_embedder, queue_dsn=dsn, queue_probe_seconds=0) as c:
        assert c.get("/readyz").json() == {"ready": True, "queue": "ok"}
        health = c.get("/healthz").json()
        assert health["status"] == "ok" and health["queue"] == "ok"

        relay.cut()
        started = time.monotonic()
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["ready"] is False, r.text
        assert r.json()["queue"].startswith("cannot write: ")
        assert time.monotonic() - started < 5  # a probe answers within a balancer's timeout
        health = c.get("/healthz")
        assert health.status_code == 200  # alive: restarting the process would not help
        assert health.json()["status"] == "degraded"
        assert health.json()["queue"].startswith("cannot write: ")

        relay.restore()
        assert wait_ready(c, 200) == {"ready": True, "queue": "ok"}
        assert c.post("/answer", json={"query": "转人工", "skip_details": True}).json()["ticket"]


def test_probes_are_cached_but_a_failed_write_is_noticed_at_once(fake_settings, fake_embedder,
                                                                 relayed_pg):
    dsn, relay = relayed_pg
    with make_client(fake_settings, fake_embedder, queue_dsn=dsn,
                     queue_probe_seconds=300) as c:
        assert c.get("/readyz").status_code == 200
        relay.cut()
        assert c.get("/readyz").status_code == 200  # the cached verdict: no database call
        failed = c.post("/feedback", json={"helpful": True, "query": "x"})
        assert failed.status_code == 503  # a real write failed...
        r = c.get("/readyz")  # ...so the next check probes again instead of trusting the cache
        assert r.status_code == 503 and r.json()["queue"].startswith("cannot write: ")


def test_readiness_follows_a_sqlite_queue_on_a_full_disk(fake_settings, fake_embedder,
                                                         tmp_path):
    with tiny_disk(tmp_path / "disk", size_kb=512) as disk:
        with make_client(fake_settings, fake_embedder, data_dir=disk / "data",
                         queue_probe_seconds=0) as c:
            assert c.get("/readyz").json() == {"ready": True, "queue": "ok"}
            filler = fill(disk)
            r = c.get("/readyz")
            assert r.status_code == 503, r.text
            assert "full" in r.json()["queue"] and r.json()["queue"].startswith("cannot write")
            filler.unlink()
            assert c.get("/readyz").json() == {"ready": True, "queue": "ok"}


def test_healthz_reports_the_queue_and_a_refused_build(fake_settings, fake_embedder):
    reason = "kb/en/x.md: field 'category': 'fees' is not one of account, transaction"
    with make_client(fake_settings, fake_embedder, build_refused=reason) as c:
        health = c.get("/healthz").json()
    assert health["queue"] == "ok" and health["status"] == "ok"
    assert health["build"] == {"refused": reason}
    assert health["index_version"]


def test_readyz_is_503_before_loading(fake_settings, fake_embedder):
    with make_client(fake_settings, fake_embedder) as c:
        c.app.state.assistant._state = None  # as if still loading
        r = c.get("/readyz")
    assert r.status_code == 503 and r.json()["ready"] is False
