"""Load on the handoff queue through the real server: users create tickets while agents claim,
reply and resolve them. Prints tickets per second and latencies per backend, then checks that
no ticket was lost, duplicated or claimed twice.

    python -m bench.queue_load [--users 16] [--per-user 25] [--agents 4]
                               [--backends sqlite,postgres] [--pg-dsn DSN] [--out DIR]

Writes bench/reports/queue.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench import REPORTS
from bench.loadgen import FAILURES, Connection, Server, machine, percentile, run_async

TOKEN = "bench-agent-token-" + "x" * 16
AGENT = {"Authorization": f"Bearer {TOKEN}"}


def _p50_p99(seconds: list[float]) -> dict[str, float]:
    """Median and 99th percentile in ms (0 when nothing was measured)."""
    return {name: round((percentile(seconds, p) or 0.0) * 1000, 2)
            for name, p in (("p50", 50), ("p99", 99))}


async def _load(port: int, users: int, per_user: int, agents: int) -> dict:
    created: list[str] = []
    create_s: list[float] = []
    claim_s: list[float] = []
    resolve_s: list[float] = []
    resolved: list[tuple[str, str]] = []
    errors = 0
    users_done = asyncio.Event()
    started = time.perf_counter()

    async def user(n: int) -> None:
        nonlocal errors
        async with Connection(port, timeout=60) as conn:
            for i in range(per_user):
                t0 = time.perf_counter()
                try:
                    r = await conn.request("POST", "/answer", {
                        "query": "转人工" if (n + i) % 2 else "I want to talk to a human",
                        "session_id": f"bench-{n}-{i}", "skip_details": True})
                except FAILURES:
                    errors += 1
                    continue
                create_s.append(time.perf_counter() - t0)
                ticket = r.json().get("ticket") if r.status == 200 else None
                if ticket is None:
                    errors += 1
                    continue
                created.append(ticket["id"])

    async def agent(n: int) -> None:
        nonlocal errors
        async with Connection(port, timeout=60) as conn:
            while True:
                t0 = time.perf_counter()
                try:
                    r = await conn.request("POST", "/agent/tickets/claim", headers=AGENT)
                except FAILURES:
                    errors += 1
                    if users_done.is_set():
                        return
                    await asyncio.sleep(0.01)
                    continue
                claim_s.append(time.perf_counter() - t0)
                ticket = r.json().get("ticket") if r.status == 200 else None
                if r.status != 200:
                    errors += 1
                if ticket is None:
                    if users_done.is_set():
                        return
                    await asyncio.sleep(0.01)
                    continue
                tid = ticket["id"]
                try:
                    await conn.request("POST", f"/agent/tickets/{tid}/reply",
                                       {"text": "Checking this now."}, AGENT)
                    t0 = time.perf_counter()
                    r = await conn.request("POST", f"/agent/tickets/{tid}/resolve",
                                           {"resolution": f"done by agent {n}"}, AGENT)
                except FAILURES:
                    errors += 1
                    continue
                resolve_s.append(time.perf_counter() - t0)
                if r.status == 200:
                    resolved.append((tid, f"agent{n}"))
                else:
                    errors += 1

    agent_tasks = [asyncio.create_task(agent(n)) for n in range(agents)]
    await asyncio.gather(*(user(n) for n in range(users)))
    users_done.set()
    await asyncio.gather(*agent_tasks)
    elapsed = time.perf_counter() - started
    async with Connection(port) as conn:
        final = await conn.request("GET", "/agent/tickets?status=open", headers=AGENT)
    ids = [t for t, _ in resolved]
    return {
        "tickets": len(created), "requests": users * per_user, "errors": errors,
        "seconds": round(elapsed, 2),
        "tickets_per_second": round(len(created) / elapsed, 1) if elapsed else 0.0,
        "create_ms": _p50_p99(create_s), "claim_ms": _p50_p99(claim_s),
        "resolve_ms": _p50_p99(resolve_s),
        "lost": len(set(created) - set(ids)),
        "duplicated": len(created) - len(set(created)),
        "resolved_twice": len(ids) - len(set(ids)),
        "left_open": len(final.json().get("tickets", [])) if final.status == 200 else -1,
        "agents_used": len({a for _, a in resolved}),
        "mean_create_ms": round(statistics.fmean(create_s) * 1000, 2) if create_s else 0,
    }


def run_backend(name: str, dsn: str, args: argparse.Namespace, workdir: Path) -> dict:
    """One server process on `dsn`, loaded until every ticket is resolved."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "ASSISTANT_QUEUE_DSN": dsn, "ASSISTANT_RATE_LIMIT_PER_MINUTE": "0",
           "ASSISTANT_AGENT_TOKENS": json.dumps({"bench": TOKEN}),
           "ASSISTANT_DATA_DIR": str(workdir / "data")}
    with Server(env).start(workdir / f"server-{name}.log") as server:
        server.wait_for("GET", "/readyz", timeout=180)
        result = run_async(_load(server.port, args.users, args.per_user, args.agents))
    return {"backend": name, **result}


def _pg_schema(dsn: str) -> tuple[str, str]:
    """A fresh schema per run, so runs never see each other's tickets."""
    import psycopg

    schema = "bench_" + secrets.token_hex(4)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in dsn else "?"
    return f"{dsn}{sep}options=-csearch_path%3D{schema}", schema


def _drop_schema(dsn: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        "# Handoff queue benchmark", "",
        f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}; load average at start "
        f"{', '.join(f'{x:.2f}' for x in m['load_average'])}.",
        f"Load: {report['users']} concurrent users × {report['per_user']} tickets each "
        f"(`POST /answer` → ticket), {report['agents']} agents claiming, replying and resolving "
        "through the agent API, one server process on loopback.", "",
        "| backend | tickets | tickets/s | create p50 / p99 ms | claim p50 / p99 ms | "
        "resolve p50 / p99 ms | errors | lost | duplicated | resolved twice |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        lines.append(
            f"| {r['backend']} | {r['tickets']} | {r['tickets_per_second']} | "
            f"{r['create_ms']['p50']} / {r['create_ms']['p99']} | "
            f"{r['claim_ms']['p50']} / {r['claim_ms']['p99']} | "
            f"{r['resolve_ms']['p50']} / {r['resolve_ms']['p99']} | {r['errors']} | "
            f"{r['lost']} | {r['duplicated']} | {r['resolved_twice']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=16)
    p.add_argument("--per-user", type=int, default=25)
    p.add_argument("--agents", type=int, default=4)
    p.add_argument("--backends", default="sqlite,postgres")
    p.add_argument("--pg-dsn", default=os.environ.get(
        "ASSISTANT_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test"))
    p.add_argument("--out", type=Path, default=REPORTS)
    args = p.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for name in [b.strip() for b in args.backends.split(",") if b.strip()]:
            if name == "sqlite":
                results.append(run_backend(name, f"sqlite:///{workdir / 'queue.sqlite3'}",
                                           args, workdir))
            elif name == "postgres":
                dsn, schema = _pg_schema(args.pg_dsn)
                try:
                    results.append(run_backend(name, dsn, args, workdir))
                finally:
                    _drop_schema(args.pg_dsn, schema)
            else:
                print(f"unknown backend {name!r}; use sqlite and/or postgres", file=sys.stderr)
                return 2
            print(json.dumps(results[-1]), flush=True)
    report = {"machine": machine(), "users": args.users, "per_user": args.per_user,
              "agents": args.agents, "results": results}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "queue.json").write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    (args.out / "queue.md").write_text(markdown(report), "utf-8")
    print(markdown(report))
    bad = [r for r in results if r["lost"] or r["duplicated"] or r["resolved_twice"]
           or r["errors"] or r["left_open"]]
    if bad:
        print("FAILED: tickets were lost, duplicated or left open", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
