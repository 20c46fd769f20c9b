"""The one load generator: an asyncio HTTP/1.1 client, closed-loop clients, the percentile and
summary every report uses, the machine's description and `assistant serve` on loopback.

Each simulated client holds one keep-alive connection and sends pre-encoded requests, so the
client costs little of the CPU it measures (it usually shares the machine with the server).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import IO, Any, TypeVar

HOST = "127.0.0.1"
#: What a failed request raises: refused or reset connections, timeouts, malformed responses.
FAILURES = (OSError, ValueError, IndexError, EOFError, asyncio.TimeoutError,
            asyncio.LimitOverrunError)

T = TypeVar("T")


# ---------------------------------------------------------------- the machine

def machine() -> dict:
    """CPU model, cores, memory, load, Python and library versions: numbers mean little
    without the machine and the other work it was doing."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        mem_gb = round(kb / 1024 / 1024, 1)
    except (OSError, IndexError, ValueError):
        pass

    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gb": mem_gb,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(), "platform": platform.platform(),
        "torch": version("torch"), "onnxruntime": version("onnxruntime"),
        "faiss": version("faiss-cpu"), "scikit-learn": version("scikit-learn"),
        "uvicorn": version("uvicorn"),
    }


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------- HTTP/1.1

@dataclass(frozen=True)
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def encode_request(method: str, path: str, body: bytes = b"", *, host: str = HOST,
                   headers: Mapping[str, str] | None = None, keep_alive: bool = True) -> bytes:
    """One request as bytes: encoded once, sent as often as the load needs."""
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}",
            "Content-Type: application/json",
            f"Connection: {'keep-alive' if keep_alive else 'close'}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def json_request(method: str, path: str, payload: Any = None, *, host: str = HOST,
                 headers: Mapping[str, str] | None = None) -> bytes:
    body = b"" if payload is None else json.dumps(payload).encode()
    return encode_request(method, path, body, host=host, headers=headers)


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return status, headers


def _has_no_body(status: int) -> bool:
    return status in (204, 304) or 100 <= status < 200


async def _read_response(reader: asyncio.StreamReader) -> tuple[Response, bool]:
    """The next response on the connection, and whether the connection stays open."""
    head = await reader.readuntil(b"\r\n\r\n")
    status, headers = _parse_head(head[:-4])
    keep = headers.get("connection", "").lower() != "close"
    if _has_no_body(status):
        return Response(status, b""), keep
    if headers.get("transfer-encoding", "").lower().endswith("chunked"):
        chunks = []
        while size := int((await reader.readline()).split(b";")[0], 16):
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        while (await reader.readline()) not in (b"\r\n", b""):  # trailers
            pass
        return Response(status, b"".join(chunks)), keep
    if "content-length" in headers:
        return Response(status, await reader.readexactly(int(headers["content-length"]))), keep
    return Response(status, await reader.read()), False  # the body ends when the server closes


class Connection:
    """One simulated client: a keep-alive connection, opened on first use and reopened after
    an error or when the server closes it."""

    def __init__(self, port: int, host: str = HOST, timeout: float = 30.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.opened = 0  # connections opened so far (keep-alive keeps this at 1)
        self._stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def send(self, raw: bytes) -> Response:
        """Send one encoded request and read its response; raises one of FAILURES. When a
        reused connection turns out closed before any byte of the response (the server's
        keep-alive timeout won the race), the request is sent once more on a new one."""
        reused = self._stream is not None
        try:
            return await self._exchange(raw)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            if not reused or (isinstance(exc, asyncio.IncompleteReadError) and exc.partial):
                raise
            return await self._exchange(raw)

    async def _exchange(self, raw: bytes) -> Response:
        try:
            if self._stream is None:
                self._stream = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port), self.timeout)
                self.opened += 1
            reader, writer = self._stream
            writer.write(raw)
            response, keep = await asyncio.wait_for(_read_response(reader), self.timeout)
        except BaseException:
            await self.close()
            raise
        if not keep:
            await self.close()
        return response

    async def request(self, method: str, path: str, payload: Any = None,
                      headers: Mapping[str, str] | None = None) -> Response:
        return await self.send(json_request(method, path, payload, host=self.host,
                                            headers=headers))

    async def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            writer = stream[1]
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


def request_once(port: int, method: str, path: str, body: bytes = b"", *, host: str = HOST,
                 timeout: float = 5.0) -> Response:
    """One request on a fresh blocking connection: for polling and warm-up outside a loop
    (cheaper than starting an event loop every few milliseconds)."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(encode_request(method, path, body, host=host, keep_alive=False))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status, headers = _parse_head(head)
    if headers.get("transfer-encoding", "").lower().endswith("chunked"):
        body_out = b""
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if not size:
                break
            body_out, rest = body_out + rest[:size], rest[size + 2:]
        return Response(status, body_out)
    if "content-length" in headers:
        rest = rest[:int(headers["content-length"])]
    return Response(status, b"" if _has_no_body(status) else rest)


# ---------------------------------------------------------------- load

async def closed_loop(port: int, sessions: Sequence[Sequence[bytes]], clients: int, *,
                      host: str = HOST, pace_s: float = 0.0, timeout: float = 30.0,
                      deadline_s: float | None = None,
                      percentiles: Sequence[float] = (50, 95, 99)) -> dict:
    """`clients` connections share the `sessions`: each client takes the next session and
    sends its requests in order, the next as soon as the last is answered (plus `pace_s`),
    the worst case for a server. A flat load is sessions of one request each. Stops taking
    sessions after `deadline_s`. Returns `summarize` of what was sent."""
    latencies: list[float] = []
    errors: list[str] = []
    pending = iter(sessions)  # shared: each session goes to exactly one client
    stop_at = None if deadline_s is None else time.monotonic() + deadline_s

    async def client() -> None:
        async with Connection(port, host, timeout) as conn:
            for session in pending:
                if stop_at is not None and time.monotonic() > stop_at:
                    return
                for raw in session:
                    if pace_s:
                        await asyncio.sleep(pace_s)
                    started = time.perf_counter()
                    try:
                        response = await conn.send(raw)
                    except FAILURES as exc:
                        errors.append(type(exc).__name__)
                        continue
                    latencies.append(time.perf_counter() - started)
                    if response.status != 200:
                        errors.append(str(response.status))

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return summarize(latencies, errors, time.perf_counter() - started, clients, percentiles)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on a fresh event loop in its own thread: the caller may already run a
    loop (a notebook, a test)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


# ---------------------------------------------------------------- statistics

def percentile(values: Sequence[float], p: float) -> float | None:
    """The measured value nearest to rank p/100 × (n − 1) of the sorted values (no
    interpolation, so every reported value is one that happened); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * (len(ordered) - 1) + 0.5))]


def summarize(latencies: Sequence[float], errors: Sequence[str], elapsed: float,
              concurrency: int, percentiles: Sequence[float] = (50, 95, 99)) -> dict:
    """Latencies (seconds) as milliseconds at `percentiles`, throughput and errors. An error
    that is a status code still has a latency; one without a response (an exception name)
    counts as a request but not as a latency."""
    ms = sorted(x * 1000 for x in latencies)

    def rounded(x: float | None) -> float | None:
        return None if x is None else round(x, 2)

    out: dict[str, Any] = {
        "concurrency": concurrency,
        "requests": len(ms) + sum(1 for e in errors if not e.isdigit()),
        "rps": round(len(ms) / elapsed, 1) if elapsed > 0 else None}
    out.update({f"p{p:g}_ms": rounded(percentile(ms, p)) for p in percentiles})
    out.update(max_ms=rounded(ms[-1] if ms else None),
               mean_ms=rounded(statistics.fmean(ms)) if ms else None,
               errors=len(errors), error_kinds=sorted(set(errors))[:5])
    return out


# ---------------------------------------------------------------- the server

@dataclass
class Server:
    """`assistant serve` in a child process on a free loopback port. It runs in its own
    session so that stopping it also stops its workers."""

    env: Mapping[str, str]
    workers: int = 1
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)
    started: float = field(default=0.0, init=False)
    _log_file: Path | None = field(default=None, init=False, repr=False)
    _log: IO[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, log_file: Path) -> Server:
        self._log_file = log_file
        self._log = open(log_file, "ab")  # noqa: SIM115 - closed in stop()
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "serve", "--host", HOST, "--port",
             str(self.port), "--workers", str(self.workers)],
            env=dict(self.env), stdout=self._log, stderr=self._log, start_new_session=True)
        return self

    def wait_for(self, method: str = "GET", path: str = "/readyz", body: bytes = b"",
                 timeout: float = 120.0) -> float:
        """Seconds from launch to the first 200 on `method path`; raises with the end of the
        server's log if it exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: "
                                   + " | ".join(self.log_tail()))
            try:
                if request_once(self.port, method, path, body).status == 200:
                    return time.perf_counter() - self.started
            except FAILURES:
                pass
            time.sleep(0.005)
        raise RuntimeError(f"server did not answer {method} {path} in {timeout:g} s: "
                           + " | ".join(self.log_tail()))

    def log_tail(self, lines: int = 5) -> list[str]:
        if self._log_file is None or not self._log_file.is_file():
            return []
        return self._log_file.read_text("utf-8", "replace").strip().splitlines()[-lines:]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
