"""Search-box latency: concurrent clients replaying typing sessions against `GET /search`.

Each session is the start of a message from the eval sets, sent the way a debounced search box
sends it while the user types (every few characters, then the whole input). Clients run
closed-loop by default (no pause between requests), the worst case for a box. Two passes over
the same sessions: the first finds the server's caches empty, the second finds them warm (a
search box sees the same prefixes from many users). Prints p50/p90/p99 per pass with the
machine named.

    python -m bench.search_box [--workers 1] [--clients 4] [--sessions 150] [--pace MS]
    python -m bench.search_box --url http://127.0.0.1:8000 ...    # a server already running

Without `--url` it starts `assistant serve` on a free loopback port (the built index, default
settings, rate limit off) and stops it afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from assistant.core.config import ROOT
from bench.loadgen import Server, closed_loop, encode_request, machine, request_once, run_async

HAN = re.compile(r"[\u3400-\u9fff]")
#: Longest input replayed per session (a search box rarely gets more).
MAX_CHARS = 28
#: A debounced box sends about every this many typed characters (Latin; Chinese: every one).
STEP = 3


def typing_session(text: str) -> list[str]:
    """The inputs a debounced box sends while `text` is typed (at most MAX_CHARS)."""
    text = " ".join(text.split())[:MAX_CHARS].rstrip()
    step = 1 if HAN.search(text) else STEP
    inputs = [text[:n].rstrip() for n in range(2, len(text) + 1, step)]
    inputs.append(text)
    return [q for q in dict.fromkeys(inputs) if q.strip()]


def sessions_from_eval(limit: int) -> list[list[str]]:
    """Typing sessions from the wallet eval sets (real user wording, both languages)."""
    texts = []
    for name in ("dev", "test"):
        path = ROOT / "eval" / f"{name}.jsonl"
        if path.is_file():
            texts += [json.loads(line)["text"] for line in path.read_text("utf-8").splitlines()
                      if line.strip()]
    # Alternate the languages so a limit keeps both.
    zh = [t for t in texts if HAN.search(t)]
    en = [t for t in texts if not HAN.search(t)]
    mixed = [t for pair in zip(en, zh) for t in pair] + en[len(zh):] + zh[len(en):]
    return [typing_session(t) for t in mixed[:limit]]


def measure(url: str, sessions: list[list[str]], clients: int = 4, k: int = 6,
            pace_ms: float = 0.0, timeout: float = 30.0, deadline_s: float = 600.0) -> dict:
    """Replay `sessions` with `clients` concurrent clients; latency percentiles in ms.

    `pace_ms`: pause before each of a client's requests (a box sends at most one per debounce
    interval while the user types); 0 sends the next request as soon as the last returns.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    encoded = [[encode_request("GET", "/search?" + urlencode({"q": q, "k": k}), host=host)
                for q in session] for session in sessions]
    return run_async(closed_loop(port, encoded, clients, host=host, pace_s=pace_ms / 1000,
                                 timeout=timeout, deadline_s=deadline_s,
                                 percentiles=(50, 90, 99)))


def describe(m: dict) -> str:
    """The machine in one line: host, CPU model, cores, load when the run started."""
    load = ", ".join(f"{x:.2f}" for x in m["load_average"])
    return f"{platform.node()}: {m['cpu']}, {m['cores']} cores, load average {load}"


def _ms(x: float | None) -> str:
    return "      —" if x is None else f"{x:7.2f}"


def run(url: str, args: argparse.Namespace) -> int:
    """Both passes against `url`; prints a line per pass, returns 1 if a request failed."""
    sessions = sessions_from_eval(args.sessions)
    inputs = sum(len(s) for s in sessions)
    parts = urlsplit(url)
    health = request_once(parts.port or 80, "GET", "/healthz",
                          host=parts.hostname or "127.0.0.1", timeout=10).json() or {}
    m = machine()
    print(f"machine: {describe(m)}")
    print(f"server: {url}, index {health.get('index_version')}, {health.get('articles')} "
          f"articles, model {health.get('model')}")
    print(f"workload: {len(sessions)} typing sessions from eval/, {inputs} inputs per pass, "
          f"{args.clients} concurrent clients, k={args.k}, "
          + (f"{args.pace:g} ms between a client's requests" if args.pace else "closed loop"))
    report: dict = {"machine": m, "clients": args.clients, "sessions": len(sessions),
                    "inputs": inputs, "pace_ms": args.pace}
    for name in ("cold", "warm"):
        r = measure(url, sessions, args.clients, args.k, args.pace)
        report[name] = r
        label = "first pass (caches empty)" if name == "cold" else "second pass (caches warm)"
        print(f"{label:28} requests {r['requests']:5}  p50 {_ms(r['p50_ms'])} ms  "
              f"p90 {_ms(r['p90_ms'])} ms  p99 {_ms(r['p99_ms'])} ms  "
              f"max {_ms(r['max_ms'])} ms  {r['rps'] or 0:6.1f} req/s  errors {r['errors']}"
              + (f" ({', '.join(r['error_kinds'])})" if r["errors"] else ""))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    return 1 if any(report[n]["errors"] for n in ("cold", "warm")) else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", help="measure the server running here, e.g. http://127.0.0.1:8000 "
                                 "(default: start one)")
    p.add_argument("--workers", type=int, default=1,
                   help="workers of the server started here (default 1; not with --url)")
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--sessions", type=int, default=150, help="typing sessions per pass")
    p.add_argument("--k", type=int, default=6, help="results per request (the box asks 6)")
    p.add_argument("--pace", type=float, default=0.0, metavar="MS",
                   help="pause between a client's requests (typing pace; default 0: closed "
                        "loop, each client sends as soon as its last answer arrives)")
    p.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = p.parse_args(argv)
    if args.url:
        return run(args.url.rstrip("/"), args)
    with tempfile.TemporaryDirectory(prefix="assistant-search-box-") as tmp:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "ASSISTANT_RATE_LIMIT_PER_MINUTE": "0", "ASSISTANT_DATA_DIR": tmp}
        with Server(env, workers=args.workers).start(Path(tmp) / "server.log") as server:
            server.wait_for("GET", "/readyz", timeout=180)
            print(f"assistant serve --workers {args.workers}")
            return run(server.url, args)


if __name__ == "__main__":
    sys.exit(main())
