"""Several replicas behind a real load balancer: HAProxy in front of N `assistant serve`
processes that share one PostgreSQL queue, one Redis for the rate limits and one index folder.

`Cluster` is what the multi-replica tests start; run as a module it measures `/answer`
throughput through the balancer with 1, 2 and 3 replicas:

    python -m bench.replicas [--replicas 1,2,3] [--clients 8] [--requests 600]
                             [--pg-dsn DSN] [--redis URL] [--out DIR]

Writes bench/reports/replicas.{json,md}. Needs `haproxy` on the PATH (Debian's package) and
a built index (`scripts/build_index.py`).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench import REPORTS
from bench.loadgen import (FAILURES, HOST, Server, closed_loop, free_port, json_request, machine,
                           request_once, run_async)

PG_DSN = os.environ.get("ASSISTANT_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("ASSISTANT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
AGENT_TOKEN = "replica-agent-token-" + "x" * 16
#: The header the balancer adds: which replica answered.
REPLICA_HEADER = "x-replica"


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if os.access(p, os.X_OK)),
        None)


def haproxy_config(port: int, replicas: Sequence[int], *, check_ms: int = 500) -> str:
    """Round robin per request; a replica is taken out after two failed `/readyz` checks and a
    request whose connection fails or whose replica dies mid-way is sent to another one (the
    API's idempotency keys make a resent hand-over safe). The balancer names the replica that
    answered, and passes the client's address on (`X-Forwarded-For`)."""
    servers = "\n".join(
        f"    server r{i} {HOST}:{p} check inter {check_ms}ms fall 2 rise 1"
        for i, p in enumerate(replicas))
    return f"""global
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout 502 503
    option forwardfor

frontend api
    bind {HOST}:{port}
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    http-response set-header X-Replica %s
{servers}
"""


@dataclass
class Balancer:
    """HAProxy on a free loopback port in front of the given replica ports."""

    replicas: Sequence[int]
    folder: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> Balancer:
        binary = haproxy_binary()
        if binary is None:
            raise RuntimeError("haproxy is not installed: apt-get install -y haproxy")
        config = self.folder / "haproxy.cfg"
        config.write_text(haproxy_config(self.port, self.replicas), "utf-8")
        check = subprocess.run([binary, "-c", "-f", str(config)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy refused {config}: {check.stdout}{check.stderr}")
        log = open(self.folder / "haproxy.log", "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=log,
                                     stderr=log, start_new_session=True)
        log.close()
        return self

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if request_once(self.port, "GET", "/readyz").status == 200:
                    return
            except FAILURES:
                pass
            time.sleep(0.1)
        raise RuntimeError("the balancer did not serve /readyz")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Cluster:
    """N replicas with one queue, one index folder and one rate-limit store, behind HAProxy."""

    replicas: int
    index_dir: Path
    folder: Path
    pg_dsn: str = PG_DSN
    redis_url: str | None = REDIS_URL
    extra_env: Mapping[str, str] = field(default_factory=dict)
    servers: list[Server] = field(default_factory=list, init=False)
    balancer: Balancer | None = field(default=None, init=False)

    def env(self) -> dict[str, str]:
        env = {**os.environ, "ASSISTANT_INDEX_DIR": str(self.index_dir),
               "ASSISTANT_DATA_DIR": str(self.folder / "data"),
               "ASSISTANT_QUEUE_DSN": self.pg_dsn,
               "ASSISTANT_AGENT_TOKENS": json.dumps({"agent": AGENT_TOKEN}),
               "ASSISTANT_TRUSTED_PROXIES": json.dumps([HOST]),
               "ASSISTANT_RATE_LIMIT_PER_MINUTE": "0",
               "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        if self.redis_url:
            env["ASSISTANT_RATE_LIMIT_STORAGE"] = self.redis_url
        env.update(self.extra_env)
        return env

    def start(self) -> Cluster:
        self.folder.mkdir(parents=True, exist_ok=True)
        env = self.env()
        self.servers = [Server(env).start(self.folder / f"replica-{i}.log")
                        for i in range(self.replicas)]
        for s in self.servers:
            s.wait_for()
        self.balancer = Balancer([s.port for s in self.servers], self.folder).start()
        self.balancer.wait_ready()
        return self

    @property
    def port(self) -> int:
        assert self.balancer is not None
        return self.balancer.port

    @property
    def url(self) -> str:
        assert self.balancer is not None
        return self.balancer.url

    def kill(self, i: int) -> None:
        """Kill one replica (and its workers) without warning."""
        proc = self.servers[i].proc
        assert proc is not None
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop(self) -> None:
        if self.balancer is not None:
            self.balancer.stop()
        for s in self.servers:
            s.stop()

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


# ---------------------------------------------------------------- the benchmark

QUERIES = ("my USDT transfer failed", "how do I back up my recovery phrase",
           "提币一直没到账怎么办", "钱包密码忘了怎么办", "what is the network fee",
           "how to add a custom token", "转账失败了", "how do I contact support")


def _requests(n: int) -> list[list[bytes]]:
    """Distinct messages (the query cache is off as well), one request per session."""
    return [[json_request("POST", "/answer", {"query": f"{QUERIES[i % len(QUERIES)]} ({i})"})]
            for i in range(n)]


@contextmanager
def fresh_schema(dsn: str) -> Iterator[str]:
    """A DSN into a schema of its own, dropped afterwards (the benchmark's tickets go too)."""
    import psycopg

    schema = "bench_" + secrets.token_hex(6)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{dsn}{'&' if '?' in dsn else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def measure(replicas: int, index_dir: Path, clients: int, requests: int, pg_dsn: str,
            redis_url: str | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp, fresh_schema(pg_dsn) as dsn, Cluster(
            replicas, index_dir, Path(tmp), pg_dsn=dsn, redis_url=redis_url,
            extra_env={"ASSISTANT_QUERY_CACHE_SIZE": "0", "ASSISTANT_SEARCH_CACHE_SIZE": "0",
                       # the limit is counted in Redis on every request, but never reached
                       "ASSISTANT_RATE_LIMIT_PER_MINUTE": "1000000",
                       "ASSISTANT_RATE_LIMIT_BURST": "100000",
                       "ASSISTANT_RATE_LIMIT_KEY_PREFIX": "bench-" + secrets.token_hex(4)},
    ) as cluster:
        run_async(closed_loop(cluster.port, _requests(clients * 4), clients))  # warm up
        result = run_async(closed_loop(cluster.port, _requests(requests), clients))
    return {"replicas": replicas, "clients": clients, **result}


def markdown(report: dict) -> str:
    rows = ["| replicas | clients | requests/s | p50 ms | p99 ms | errors |",
            "|---|---|---|---|---|---|"]
    for r in report["runs"]:
        rows.append(f"| {r['replicas']} | {r['clients']} | {r.get('rps')} | {r.get('p50_ms')} "
                    f"| {r.get('p99_ms')} | {r.get('errors')} |")
    m = report["machine"]
    return ("# Replicas behind HAProxy: `/answer` throughput\n\n"
            f"Machine: {m.get('cpu')}, {m.get('cores')} cores, {m.get('memory_gb')} GB. One "
            "worker per replica, all on this machine, one PostgreSQL queue, Redis limits, "
            "query caches off, distinct messages.\n\n" + "\n".join(rows) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--replicas", default="1,2,3")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--requests", type=int, default=1200)
    p.add_argument("--index-dir", type=Path, default=Path("index"))
    p.add_argument("--pg-dsn", default=PG_DSN)
    p.add_argument("--redis", default=REDIS_URL)
    p.add_argument("--out", type=Path, default=REPORTS)
    args = p.parse_args(argv)
    runs = []
    for n in (int(x) for x in args.replicas.split(",")):
        run = measure(n, args.index_dir.resolve(), args.clients, args.requests, args.pg_dsn,
                      args.redis or None)
        print(f"{n} replica(s): {run.get('rps')} requests/s, p50 {run.get('p50_ms')} ms, "
              f"p99 {run.get('p99_ms')} ms, errors {run.get('errors')}", flush=True)
        runs.append(run)
    report = {"machine": machine(), "runs": runs}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "replicas.json").write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    (args.out / "replicas.md").write_text(markdown(report), "utf-8")
    print(f"wrote {args.out / 'replicas.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
