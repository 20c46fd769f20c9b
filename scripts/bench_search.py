"""Search-box latency against a running server: concurrent clients replaying typing sessions.

Each session is the start of a message from the eval sets, sent the way a debounced search box
sends it while the user types (every few characters, then the whole input). Clients run
closed-loop (no pause between requests), the worst case for a box. Two passes over the same
sessions: the first finds the server's caches empty, the second finds them warm (a search box
sees the same prefixes from many users). Prints p50/p90/p99 per pass with the machine named.

    scripts/bench-search                      # starts a server on the built index, 4 clients
    scripts/bench-search --url http://127.0.0.1:8000 --clients 8 --sessions 200

`measure(url, inputs, clients)` is importable for other benchmarks.
"""

from __future__ import annotations

import argparse
import json
import platform
import queue
import re
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
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

    `pace_ms`: pause between a client's requests (a box sends at most one per debounce
    interval while the user types); 0 sends the next request as soon as the last returns.
    """
    work: queue.Queue[list[str]] = queue.Queue()
    for s in sessions:
        work.put(s)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + deadline_s

    def client() -> None:
        with httpx.Client(base_url=url, timeout=timeout) as http:
            while time.monotonic() < stop_at:
                try:
                    session = work.get_nowait()
                except queue.Empty:
                    return
                for q in session:
                    if pace_ms:
                        time.sleep(pace_ms / 1000)
                    started = time.perf_counter()
                    resp = http.get("/search", params={"q": q, "k": k})
                    ms = (time.perf_counter() - started) * 1000
                    with lock:
                        latencies.append(ms)
                        if resp.status_code != 200:
                            errors.append(f"{resp.status_code} for {q!r}")

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return summarize(latencies, wall, errors)


def summarize(latencies: list[float], wall: float, errors: list[str]) -> dict:
    if not latencies:
        return {"requests": 0, "errors": errors}
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2)

    return {"requests": len(ordered), "errors": len(errors), "first_errors": errors[:3],
            "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99),
            "max_ms": round(ordered[-1], 2), "mean_ms": round(statistics.fmean(ordered), 2),
            "per_second": round(len(ordered) / wall, 1), "seconds": round(wall, 1)}


def machine() -> str:
    """The machine the numbers come from: CPU model, cores, load when the run started."""
    from assistant.tooling.bench import machine as describe

    m = describe()
    load = ", ".join(f"{x:.2f}" for x in m["load_average"])
    return f"{platform.node()}: {m['cpu']}, {m['cores']} cores, load average {load}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True, help="server base URL, e.g. http://127.0.0.1:8000")
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--sessions", type=int, default=150, help="typing sessions per pass")
    p.add_argument("--k", type=int, default=6, help="results per request (the box asks 6)")
    p.add_argument("--pace", type=float, default=0.0, metavar="MS",
                   help="pause between a client's requests (typing pace; default 0: closed "
                        "loop, each client sends as soon as its last answer arrives)")
    p.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = p.parse_args(argv)
    sessions = sessions_from_eval(args.sessions)
    inputs = sum(len(s) for s in sessions)
    health = httpx.get(args.url + "/healthz", timeout=10).json()
    print(f"machine: {machine()}")
    print(f"server: {args.url}, index {health.get('index_version')}, {health.get('articles')} "
          f"articles, model {health.get('model')}")
    print(f"workload: {len(sessions)} typing sessions from eval/, {inputs} inputs per pass, "
          f"{args.clients} concurrent clients, k={args.k}, "
          + (f"{args.pace:g} ms between a client's requests" if args.pace else "closed loop"))
    report = {"machine": machine(), "clients": args.clients, "sessions": len(sessions),
              "inputs": inputs, "pace_ms": args.pace}
    for name in ("cold", "warm"):
        result = measure(args.url, sessions, args.clients, args.k, args.pace)
        report[name] = result
        label = "first pass (caches empty)" if name == "cold" else "second pass (caches warm)"
        print(f"{label:28} requests {result['requests']:5}  p50 {result['p50_ms']:7.2f} ms  "
              f"p90 {result['p90_ms']:7.2f} ms  p99 {result['p99_ms']:7.2f} ms  "
              f"max {result['max_ms']:7.2f} ms  {result['per_second']:6.1f} req/s  "
              f"errors {result['errors']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    return 1 if any(report[n]["errors"] for n in ("cold", "warm")) else 0


if __name__ == "__main__":
    sys.exit(main())
