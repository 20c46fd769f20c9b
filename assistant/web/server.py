"""`assistant serve`: uvicorn with one JSON log format in every process, metrics shared by the
workers, deadlines and a cap on connections, TCP_NODELAY, and index reload on SIGHUP."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import logging.config
import os
import resource
import shutil
import signal
import socket
import tempfile
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from assistant.core.config import Settings, load_settings
from assistant.core.errors import AssistantError
from assistant.service import Assistant
from assistant.web.errors import error_body

log = logging.getLogger("assistant.web")

#: File descriptors kept for what a worker opens besides client sockets (model and index
#: files, the queue database, pipes, the event loop).
FD_RESERVE = 128


# ------------------------------------------------------------------ logs

#: Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_FIELDS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "taskName", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp (UTC), level, logger, pid, message, then the
    record's `extra` fields (the request log's request_id, route, status, ms...).

    An exception is given as its type and frames, not its text: the text of an error raised
    while handling a message may quote that message."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "timestamp": datetime.fromtimestamp(record.created, timezone.utc)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname, "logger": record.name, "pid": record.process,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                line[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = {
                "type": record.exc_info[0].__name__,
                "frames": [f"{f.filename}:{f.lineno} in {f.name}"
                           for f in traceback.extract_tb(record.exc_info[2])[-12:]]}
        return json.dumps(line, ensure_ascii=False, default=str)


def log_config(level: str) -> dict:
    """The logging setup of every server process (uvicorn applies it in each worker)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                                "stream": "ext://sys.stderr"}},
        "root": {"level": "WARNING", "handlers": ["stderr"]},
        "loggers": {
            "assistant": {"level": level.upper()},
            "uvicorn": {"level": "INFO", "handlers": [], "propagate": True},
            "uvicorn.error": {"level": "INFO"},
            # the app logs each request itself, by route template and without query text
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
        },
    }


# ------------------------------------------------------------------ connections

def raise_fd_limit() -> int:
    """Raise this process's soft limit on open files to the hard limit; the soft limit now.

    Every connection is a file descriptor: at the common default of 1,024, a thousand idle
    sockets leave none for the next client or for the queue database."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        return soft
    return target


def connection_cap(max_connections: int, fd_limit: int) -> int:
    """Connections a process may hold: the setting, lowered to fit under the fd limit."""
    if fd_limit == resource.RLIM_INFINITY:
        return max_connections
    return max(1, min(max_connections, fd_limit - FD_RESERVE))


@dataclass(frozen=True)
class ConnectionPolicy:
    header_timeout: float
    body_timeout: float
    max_connections: int


@functools.cache
def connection_policy() -> ConnectionPolicy:
    """This worker's deadlines and cap, read once from the settings and the fd limit."""
    s = load_settings()
    return ConnectionPolicy(s.header_timeout_seconds, s.body_timeout_seconds,
                            connection_cap(s.max_connections, raise_fd_limit()))


def _raw_response(status: int, phrase: str, code: str, message: str, extra: str = "") -> bytes:
    """A whole HTTP response in the error shape, written by the protocol itself (no app)."""
    body = json.dumps(error_body(status, code, message)).encode()
    return (f"HTTP/1.1 {status} {phrase}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n{extra}connection: close\r\n\r\n").encode() + body


REQUEST_TIMEOUT = _raw_response(
    408, "Request Timeout", "request_timeout", "the request did not arrive in time; send it "
    "again (limits: ASSISTANT_HEADER_TIMEOUT_SECONDS, ASSISTANT_BODY_TIMEOUT_SECONDS)")
AT_CAPACITY = _raw_response(
    503, "Service Unavailable", "at_capacity", "the server holds its maximum of connections "
    "(ASSISTANT_MAX_CONNECTIONS); retry in a few seconds", "retry-after: 1\r\n")


class NoDelayHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with Nagle's algorithm off, deadlines for a request's
    head and body, and a cap on open connections.

    - Nagle: with `--workers` uvicorn hands the listening socket to the workers and asyncio no
      longer recognises its connections as TCP, so Nagle stays on and the response's second
      write waits for the client's delayed ACK, ~40 ms per request.
    - Deadlines: uvicorn closes a keep-alive connection that stays silent, but not one that
      never completes a request: a client sending a header line now and then, or a body
      slower than it promised, held its socket for ever. A request's head must now arrive
      within the header timeout of the connection opening (or of the previous response),
      and its body within the body timeout of the head; otherwise the connection is closed,
      with a 408 when part of a request had come.
    - Cap: past the cap, the connection that has waited longest for its client (for a
      request head, or for the rest of a body) is closed to make room, so stalled sockets
      cannot starve clients that send requests; when every connection is busy with a
      request the server is working on, the new one gets a 503 and is closed.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._policy = connection_policy()
        self._deadline: asyncio.TimerHandle | None = None
        self._in_head = False  # part of a request head has arrived

    def _stalled(self) -> OrderedDict[NoDelayHttpProtocol, None]:
        """This server's connections waiting for their client, longest-waiting first."""
        stalled = getattr(self.server_state, "assistant_stalled", None)
        if stalled is None:
            stalled = OrderedDict()
            self.server_state.assistant_stalled = stalled  # type: ignore[attr-defined]
        return stalled

    def _wait_for_client(self, seconds: float) -> None:
        """Start waiting for the client's bytes: closed after `seconds` without them."""
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = self.loop.call_later(seconds, self._client_late)
        stalled = self._stalled()
        stalled[self] = None
        stalled.move_to_end(self)

    def _client_arrived(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._stalled().pop(self, None)

    def connection_made(self, transport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        super().connection_made(transport)
        if len(self.connections) > self._policy.max_connections:
            stalled = self._stalled()
            if stalled:
                next(iter(stalled))._client_late()
            else:
                transport.write(AT_CAPACITY)
                transport.close()
                return
        self._wait_for_client(self._policy.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._client_arrived()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._client_arrived()
        if any(name in (b"content-length", b"transfer-encoding") for name, _ in self.headers):
            self._wait_for_client(self._policy.body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._client_arrived()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._wait_for_client(self._policy.header_timeout)

    def _client_late(self) -> None:
        """Past a deadline, or making room: close, answering 408 if a request was begun."""
        self._client_arrived()
        if self.transport.is_closing():
            return
        begun = self._in_head or (self.cycle is not None and not self.cycle.response_complete)
        if begun and (self.cycle is None or self._in_head or not self.cycle.response_started):
            self.transport.write(REQUEST_TIMEOUT)
        self.transport.close()


# ------------------------------------------------------------------ index reload

def reload_on_sighup(a: Assistant) -> Callable[[], None] | None:
    """`kill -HUP <pid>` reloads the published index (every worker that gets the signal).

    Returns the function that removes the handler, or None where signals are unavailable
    (not the main thread, e.g. under a test client).
    """
    def reload() -> None:
        try:
            changed = a.reload()
            log.info("SIGHUP: %s", "new index serving" if changed else "index unchanged")
        except AssistantError as exc:
            log.error("SIGHUP: new index refused, previous one keeps serving: %s", exc)

    try:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.run_in_executor(None, reload))
    except (RuntimeError, NotImplementedError, ValueError, AttributeError):
        return None

    def remove() -> None:
        loop.remove_signal_handler(signal.SIGHUP)

    return remove


# ------------------------------------------------------------------ serve

def _metrics_dir(workers: int) -> tuple[Path | None, bool]:
    """The multiprocess metrics folder (emptied) and whether this process made it.

    An operator's PROMETHEUS_MULTIPROC_DIR is used as given; with several workers and none
    given, a temporary one is made. Files left by an earlier run would add its counts."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink(missing_ok=True)
        return folder, False
    if workers <= 1:
        return None, False
    folder = Path(tempfile.mkdtemp(prefix="assistant-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)  # the workers inherit it
    return folder, True


def serve(s: Settings, *, host: str, port: int, workers: int) -> None:
    """Run the app until stopped (settings are read again in each worker)."""
    config = log_config(s.log_level)
    logging.config.dictConfig(config)
    fd_limit = raise_fd_limit()
    cap = connection_cap(s.max_connections, fd_limit)
    if cap < s.max_connections:
        log.warning("the open-file limit (%d) leaves room for %d connections per process: "
                    "ASSISTANT_MAX_CONNECTIONS=%d lowered to %d; raise `ulimit -n` to allow "
                    "more", fd_limit, cap, s.max_connections, cap)
    folder, made = _metrics_dir(workers)
    try:
        uvicorn.run("assistant.web.app:create_app", factory=True, host=host, port=port,
                    workers=workers, log_level=s.log_level.lower(), log_config=config,
                    http=f"{__name__}:NoDelayHttpProtocol",
                    timeout_keep_alive=s.keep_alive_seconds,
                    # the client is the TCP peer unless ASSISTANT_TRUSTED_PROXIES says more
                    # (the app reads X-Forwarded-For itself, for the rate limit)
                    proxy_headers=False,
                    access_log=False)  # the app logs each request itself
    finally:
        if made and folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
