"""A real HTTP/1.1 server on loopback (the standard library's), for the load generator's
tests: it records every request and can answer in the ways a real server does (statuses,
chunked bodies, closing the connection)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass
class Seen:
    method: str
    path: str
    client_port: int
    body: bytes


@dataclass
class TinyServer:
    port: int
    seen: list[Seen] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as uvicorn
    timeout = 10
    server: ThreadingHTTPServer

    def log_message(self, *_: object) -> None:
        pass

    def _reply(self, status: int, payload: object, *, close: bool = False) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        tiny: TinyServer = self.server.tiny  # type: ignore[attr-defined]
        tiny.seen.append(Seen(self.command, self.path, self.client_address[1], body))
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        if parts[0] == "echo":
            self._reply(200, {"method": self.command, "body": body.decode()})
        elif parts[0] == "status":
            self._reply(int(parts[1]), {"status": int(parts[1])})
        elif parts[0] == "slow":
            time.sleep(int(parts[1]) / 1000)
            self._reply(200, {})
        elif parts[0] == "close":  # says so, then closes
            self._reply(200, {"closing": True}, close=True)
            self.close_connection = True
        elif parts[0] == "drop":  # promises keep-alive, then closes (an idle timeout)
            self._reply(200, {"dropped": True})
            self.close_connection = True
        elif parts[0] == "chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in (b'{"chunked"', b": true}"):
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif parts[0] == "healthz":
            self._reply(200, {"index_version": "v-test", "articles": 2, "model": "tiny"})
        elif parts[0] == "search":
            q = parse_qs(url.query)
            self._reply(200, {"query": q["q"][0], "k": int(q["k"][0]), "results": []})
        else:
            self._reply(404, {"detail": "not found"})

    do_GET = do_POST = _handle


@pytest.fixture
def tiny_server() -> Iterator[TinyServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    tiny = TinyServer(port=httpd.server_address[1])
    httpd.tiny = tiny  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield tiny
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
