"""`assistant serve`: uvicorn with TCP_NODELAY on every connection and index reload on
SIGHUP."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Callable

import uvicorn

try:  # the C parser when installed (about three times less CPU per request than h11)
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _HttpProtocol
except ImportError:  # pragma: no cover - httptools is a dependency
    from uvicorn.protocols.http.h11_impl import H11Protocol as _HttpProtocol  # type: ignore[assignment]

from assistant.core.errors import AssistantError
from assistant.service import Assistant

log = logging.getLogger("assistant.web")


class NoDelayHttpProtocol(_HttpProtocol):
    """uvicorn's HTTP protocol (httptools, else h11) with Nagle's algorithm off on every
    connection.

    With `--workers` uvicorn hands the listening socket to the workers and asyncio no longer
    recognises its connections as TCP, so Nagle stays on: the response's second write then
    waits for the client's delayed ACK, ~40 ms per request.
    """

    def connection_made(self, transport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        super().connection_made(transport)


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


def serve(*, host: str, port: int, workers: int, log_level: str) -> None:
    """Run the app until stopped (settings are read again in each worker)."""
    uvicorn.run("assistant.web.app:create_app", factory=True, host=host, port=port,
                workers=workers, log_level=log_level.lower(),
                http="assistant.web.server:NoDelayHttpProtocol",
                access_log=False)  # the app logs each request itself, without query text
