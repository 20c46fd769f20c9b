"""Performance benchmark: the real server under load, its cold start and memory, and index
builds of the starter KB and of synthetic KBs.

`assistant bench` starts `assistant serve` (uvicorn) on a free loopback port, sends a bounded
number of requests at several concurrencies from an asyncio HTTP/1.1 client of its own (one
keep-alive connection per simulated client, so the client costs little of the CPU it
measures), and writes `bench/reports/bench.json` and `bench.md` with the machine described.
Every request embeds its query: the server's query cache is turned off for the run.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from urllib.parse import quote

from assistant.core.config import ROOT, Settings
from assistant.core.types import CATEGORIES

Log = Callable[[str], None]

#: The targets this project holds itself to on a 2-core machine (README, "Measured").
TARGETS = {
    "answer_p50_ms_c4": 5.0, "answer_p99_ms_c4": 20.0, "answer_rps_2_workers": 400.0,
    "search_p50_ms": 3.0, "cold_start_s": 1.0, "rss_mb_per_worker": 200.0,
    "build_1000_s": 15.0, "incremental_s": 2.0,
}


@dataclass(frozen=True)
class Plan:
    """How much to measure: the full run takes several minutes, `--quick` about one."""

    requests: int = 1500
    concurrencies: tuple[int, ...] = (1, 4, 16)
    workers: tuple[int, ...] = (1, 2)
    cold_starts: int = 3
    synthetic: tuple[int, ...] = (1000, 10000)

    @classmethod
    def quick(cls) -> "Plan":
        return cls(requests=300, cold_starts=2, synthetic=(1000,))


# ---------------------------------------------------------------- the machine

def machine() -> dict:
    """CPU model, cores, memory, load, Python and library versions."""
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


# ---------------------------------------------------------------- synthetic knowledge bases

_EN_ACTIONS = [("send", "transaction"), ("receive", "deposit_withdrawal"),
               ("swap", "transaction"), ("stake", "how_to"), ("bridge", "transaction"),
               ("withdraw", "deposit_withdrawal"), ("deposit", "deposit_withdrawal"),
               ("approve", "security"), ("import", "account"), ("back up", "account"),
               ("buy", "how_to"), ("sell", "how_to"), ("revoke", "security"),
               ("add", "how_to"), ("hide", "how_to"), ("track", "how_to")]
_ZH_ACTIONS = ["转账", "收款", "兑换", "质押", "跨链", "提币", "充值", "授权", "导入", "备份", "购买",
               "出售", "取消授权", "添加", "隐藏", "查看"]
_TOKENS = ["USDT", "USDC", "ETH", "BNB", "TRX", "SOL", "MATIC", "DAI", "WBTC", "ARB", "OP",
           "DOGE", "SHIB", "LINK", "UNI", "AVAX", "TON", "PEPE", "CAKE", "SUI"]
_CHAINS = [("Ethereum", "以太坊"), ("TRON", "波场"), ("BNB Chain", "币安链"), ("Polygon", "Polygon"),
           ("Solana", "Solana"), ("Arbitrum", "Arbitrum"), ("Optimism", "Optimism"),
           ("Base", "Base"), ("Avalanche", "雪崩链"), ("TON", "TON链"), ("zkSync", "zkSync"),
           ("Linea", "Linea"), ("Fantom", "Fantom"), ("Cronos", "Cronos"), ("Aptos", "Aptos"),
           ("Sui", "Sui链"), ("Near", "Near"), ("Cosmos", "Cosmos"), ("Heco", "火币链"),
           ("OKX Chain", "OK链"), ("Kaia", "Kaia"), ("Celo", "Celo"), ("Gnosis", "Gnosis"),
           ("Mantle", "Mantle"), ("Scroll", "Scroll")]
_EN_Q = ["how do I {a} {t} on {c}", "{a} {t} {c} not working", "why can't I {a} my {t}",
         "{t} {a} stuck on {c} what now", "what is the fee to {a} {t} on {c}",
         "{a} {t} failed on {c}", "is it safe to {a} {t} with this wallet",
         "where do I {a} {t} in the app"]
_ZH_Q = ["怎么在{c}上{a}{t}", "{c}{t}{a}失败了", "{a}{t}一直没到账", "为什么不能{a}{t}",
         "{c}上{a}{t}手续费多少", "{t}{a}卡住了怎么办", "用钱包{a}{t}安全吗", "在哪里{a}{t}"]


def synthetic_kb(root: Path, articles: int, *, questions: int = 4, seed: int = 0) -> Path:
    """A KB of `articles` files (half English, half Chinese: one id per pair), each with a
    title and `questions` short user questions, plus the starter KB's out-of-scope list."""
    rng = random.Random(seed)
    ids = max(1, articles // 2)
    combos = [(a, t, c) for a in range(len(_EN_ACTIONS)) for t in range(len(_TOKENS))
              for c in range(len(_CHAINS))]
    rng.shuffle(combos)
    if ids > len(combos):
        raise ValueError(f"at most {2 * len(combos)} synthetic articles")
    for lang in ("en", "zh"):
        (root / lang).mkdir(parents=True, exist_ok=True)
    for n, (a, t, c) in enumerate(combos[:ids]):
        action, category = _EN_ACTIONS[a]
        token, (chain_en, chain_zh) = _TOKENS[t], _CHAINS[c]
        art_id = f"{action.replace(' ', '-')}-{token.lower()}-{chain_en.lower().replace(' ', '-')}"
        picks = rng.sample(range(len(_EN_Q)), questions)
        en = [_EN_Q[i].format(a=action, t=token, c=chain_en) for i in picks]
        zh = [_ZH_Q[i].format(a=_ZH_ACTIONS[a], t=token, c=chain_zh) for i in picks]
        body_en = (f"To {action} {token} on {chain_en}, open the wallet, pick {token} on "
                   f"{chain_en} and follow the steps. Keep some native token for the fee. "
                   f"Article {n}.")
        body_zh = f"在{chain_zh}上{_ZH_ACTIONS[a]}{token}：打开钱包，选择{token}，按提示操作。请预留手续费。第{n}篇。"
        _write_article(root / "en" / f"{art_id}.md", art_id, category, "en",
                       f"How to {action} {token} on {chain_en}", en, body_en)
        _write_article(root / "zh" / f"{art_id}.md", art_id, category, "zh",
                       f"如何在{chain_zh}上{_ZH_ACTIONS[a]}{token}", zh, body_zh)
    shutil.copy(ROOT / "kb" / "out_of_scope.yaml", root / "out_of_scope.yaml")
    return root


def _write_article(path: Path, art_id: str, category: str, lang: str, title: str,
                   questions: list[str], body: str) -> None:
    assert category in CATEGORIES
    qs = "\n".join(f"  - {json.dumps(q, ensure_ascii=False)}" for q in questions)
    path.write_text(f"---\nid: {art_id}\ntitle: {json.dumps(title, ensure_ascii=False)}\n"
                    f"category: {category}\nlang: {lang}\nquestions:\n{qs}\n---\n{body}\n",
                    "utf-8")


def edit_one_article(kb: Path) -> Path:
    """Change one question and the body of one article (its training rows change too)."""
    path = sorted((kb / "en").glob("*.md"))[0]
    text = path.read_text("utf-8")
    head, sep, body = text.partition("\n---\n")
    n = head.count("one more way users ask this") + 1
    head = head.replace("questions:\n", f"questions:\n  - \"one more way users ask this {n}\"\n",
                        1)
    path.write_text(head + sep + body + "\nEdited for the incremental build benchmark.\n",
                    "utf-8")
    return path


# ---------------------------------------------------------------- index builds

def timed_build(kb: Path, out: Path, env: dict[str, str]) -> dict:
    """`assistant build-index` in a fresh process: wall time and the build's own time."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "assistant.cli", "build-index", "--kb", str(kb),
                           "--out", str(out), "--quiet"], env=env, capture_output=True,
                          text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"build of {kb} failed: {done.stderr.strip()[-500:]}")
    manifest = json.loads((out / "current" / "manifest.json").read_text("utf-8"))
    return {"wall_s": round(wall, 2), "build_s": manifest["build_seconds"],
            "articles": manifest["articles"], "vectors": manifest["vectors"],
            "article_ids": manifest["article_ids"], "backend": manifest.get("backend"),
            "article_classifier": (out / "current" / "articles.joblib").is_file(),
            "output": done.stdout.strip().splitlines()[0] if done.stdout.strip() else ""}


def measure_builds(plan: Plan, work: Path, env: dict[str, str], log: Log) -> dict:
    """Cold builds of the starter KB and the synthetic KBs; one-article rebuilds."""
    results: dict = {}
    kbs = [("starter", ROOT / "kb")] + [(f"synthetic_{n}", None) for n in plan.synthetic]
    for name, kb in kbs:
        if kb is None:
            kb = synthetic_kb(work / f"kb-{name}", int(name.split("_")[1]))
        else:
            kb = Path(shutil.copytree(kb, work / "kb-starter"))
        out = work / f"index-{name}"
        log(f"building {name} ...")
        cold = timed_build(kb, out, env)
        edit_one_article(kb)
        log(f"rebuilding {name} after editing one article ...")
        incremental = timed_build(kb, out, env)
        results[name] = {"cold": cold, "one_article_changed": incremental}
        log(f"  {name}: cold {cold['build_s']} s (process {cold['wall_s']} s), one article "
            f"{incremental['build_s']} s (process {incremental['wall_s']} s)")
    return results


# ---------------------------------------------------------------- the server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """`assistant serve` in a child process, on loopback."""

    env: dict[str, str]
    workers: int = 1
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    started: float = 0.0

    def start(self, log_file: Path) -> None:
        self._log_file = log_file
        self._log = open(log_file, "ab")  # noqa: SIM115 - closed in stop()
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "serve", "--host", "127.0.0.1", "--port",
             str(self.port), "--workers", str(self.workers)],
            env=self.env, stdout=self._log, stderr=self._log, start_new_session=True)

    def wait_first_answer(self, timeout: float = 120.0) -> float:
        """Seconds from launch to the first 200 on POST /answer."""
        body = json.dumps({"query": "I forgot my wallet password"}).encode()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                tail = self._log_file.read_text("utf-8", "replace").strip().splitlines()[-5:]
                raise RuntimeError(f"server exited with {self.proc.returncode}: "
                                   + " | ".join(tail))
            try:
                status, _ = _request_once("127.0.0.1", self.port, "POST", "/answer", body)
                if status == 200:
                    return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.005)
        raise RuntimeError("server did not answer in time")

    def worker_rss_mb(self) -> list[float]:
        """Resident memory of each process that serves (the workers, or the one process)."""
        assert self.proc is not None
        children = _children(self.proc.pid)
        serving = [p for p in children if "spawn_main" in _cmd(p)] or [self.proc.pid]
        return [round(_rss_kb(p) / 1024, 1) for p in serving]

    def cpu_seconds(self) -> float:
        """CPU time used so far by the serving processes (robust to other load on the
        machine, unlike latency)."""
        assert self.proc is not None
        pids = [p for p in _children(self.proc.pid) if "spawn_main" in _cmd(p)] or \
            [self.proc.pid]
        return sum(_cpu_seconds(p) for p in pids)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _cmd(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _request_once(host: str, port: int, method: str, path: str, body: bytes = b"") -> tuple:
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(_http(method, path, body, keep_alive=False))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, data


def _http(method: str, path: str, body: bytes, keep_alive: bool = True) -> bytes:
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
            f"Content-Type: application/json\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n")
    return head.encode() + body


# ---------------------------------------------------------------- load

async def _client(port: int, requests: list[bytes], next_index: list[int],
                  latencies: list[float], errors: list[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while next_index[0] < len(requests):
            raw = requests[next_index[0]]
            next_index[0] += 1
            started = time.perf_counter()
            try:
                writer.write(raw)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                status = int(status_line.split(b" ", 2)[1])
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as exc:
                errors.append(type(exc).__name__)
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors.append(str(status))
    finally:
        writer.close()


async def _load(port: int, requests: list[bytes], concurrency: int) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    cursor = [0]
    started = time.perf_counter()
    await asyncio.gather(*(_client(port, requests, cursor, latencies, errors)
                           for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return summarize(latencies, errors, elapsed, concurrency)


def summarize(latencies: list[float], errors: list[str], elapsed: float,
              concurrency: int) -> dict:
    ms = sorted(x * 1000 for x in latencies)

    def pct(p: float) -> float | None:
        if not ms:
            return None
        return round(ms[min(len(ms) - 1, int(round(p / 100 * (len(ms) - 1))))], 2)

    return {"concurrency": concurrency, "requests": len(latencies) + sum(
                1 for e in errors if not e.isdigit()),
            "rps": round(len(latencies) / elapsed, 1) if elapsed > 0 else None,
            "p50_ms": pct(50), "p95_ms": pct(95), "p99_ms": pct(99),
            "mean_ms": round(statistics.fmean(ms), 2) if ms else None,
            "errors": len(errors), "error_kinds": sorted(set(errors))[:5]}


def load_requests(n: int, seed: int = 0) -> dict[str, list[bytes]]:
    """`n` requests per route from the wallet eval messages (both languages): whole messages
    for /answer, what a user has typed so far for /search."""
    texts = []
    for name in ("test", "dev"):
        path = ROOT / "eval" / f"{name}.jsonl"
        if path.is_file():
            texts += [json.loads(line)["text"] for line in path.read_text("utf-8").splitlines()
                      if line.strip()]
    if not texts:
        texts = ["I forgot my wallet password", "钱包密码忘了怎么办"]
    rng = random.Random(seed)
    answer, search = [], []
    for i in range(n):
        text = texts[i % len(texts)]
        answer.append(_http("POST", "/answer", json.dumps({"query": text}).encode()))
        cut = max(3, min(len(text), rng.randint(4, 24)))
        search.append(_http("GET", f"/search?q={quote(text[:cut].strip() or text)}&k=5", b""))
    return {"answer": answer, "search": search}


def measure_server(plan: Plan, env: dict[str, str], work: Path, log: Log) -> dict:
    """Cold starts, then load at each concurrency and worker count, then memory."""
    results: dict = {"cold_start_s": [], "runs": []}
    reqs = load_requests(plan.requests)
    for i in range(plan.cold_starts):
        server = Server(env)
        server.start(work / "server.log")
        try:
            results["cold_start_s"].append(round(server.wait_first_answer(), 3))
            results.setdefault("rss_mb_idle", server.worker_rss_mb())
        finally:
            server.stop()
        log(f"  cold start {i + 1}: {results['cold_start_s'][-1]} s")
    for workers in plan.workers:
        server = Server(env, workers=workers)
        server.start(work / "server.log")
        try:
            server.wait_first_answer()
            if workers > 1:  # every worker loaded before measuring
                time.sleep(1.0)
                for _ in range(8 * workers):
                    _request_once("127.0.0.1", server.port, "GET", "/healthz")
            for route in ("answer", "search"):
                asyncio.run(_load(server.port, reqs[route][: min(50, plan.requests)], 2))
                for c in plan.concurrencies:
                    cpu_before = server.cpu_seconds()
                    r = asyncio.run(_load(server.port, reqs[route], c))
                    cpu = server.cpu_seconds() - cpu_before
                    r.update(route=route, workers=workers,
                             server_cpu_ms=round(cpu / max(1, len(reqs[route])) * 1000, 2))
                    results["runs"].append(r)
                    log(f"  {workers} worker(s) {route} c={c}: {r['rps']} req/s, p50 "
                        f"{r['p50_ms']} ms, p95 {r['p95_ms']} ms, p99 {r['p99_ms']} ms, "
                        f"errors {r['errors']}, server CPU {r['server_cpu_ms']} ms/request")
            results.setdefault("rss_mb_after_load", {})[str(workers)] = server.worker_rss_mb()
        finally:
            server.stop()
    return results


# ---------------------------------------------------------------- in process

def cpu_per_request(settings: Settings, work: Path, n: int) -> dict:
    """CPU milliseconds per message without HTTP, split into the model and the rest (the
    eval messages, query cache off): where a request's time goes."""
    from assistant.service import Assistant
    from assistant.understanding.text import normalize

    s = settings.model_copy(update={"data_dir": work / "inprocess", "query_cache_size": 0})
    a = Assistant(s).warm_up()
    try:
        texts = [json.loads(r.split(b"\r\n\r\n", 1)[1])["query"]
                 for r in load_requests(n)["answer"]]
        for t in texts[:20]:
            a.answer(t)
        out = {}
        for name, fn in (("answer", lambda t: a.answer(t)),
                         ("search", lambda t: a.search(t[:12])),
                         ("embedding", lambda t: a.embedder.encode_query(normalize(t)))):
            started = time.process_time()
            for t in texts:
                fn(t)
            out[f"{name}_cpu_ms"] = round((time.process_time() - started) / len(texts) * 1000, 2)
        rest = out["answer_cpu_ms"] - out["embedding_cpu_ms"]
        out["answer_without_model_cpu_ms"] = round(rest, 2)
        return out
    finally:
        a.close()


# ---------------------------------------------------------------- the whole run

def run(settings: Settings, plan: Plan, out_dir: Path, log: Log, kind: str = "full") -> dict:
    """Everything, in order; writes the reports (`kind`: full or quick) and returns the JSON."""
    started = time.perf_counter()
    report: dict = {"kind": kind,
                    "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "machine": machine(), "backend": settings.embed_backend,
                    "model": settings.model, "plan": plan.__dict__}
    log(f"machine: {report['machine']['cpu']}, {report['machine']['cores']} cores, load "
        f"{report['machine']['load_average']}")
    with tempfile.TemporaryDirectory(prefix="assistant-bench-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "ASSISTANT_DATA_DIR": str(work / "data"), "ASSISTANT_RATE_LIMIT_PER_MINUTE": "0",
               "ASSISTANT_QUERY_CACHE_SIZE": "0", "ASSISTANT_SEARCH_CACHE_SIZE": "0",
               "ASSISTANT_LOG_LEVEL": "WARNING",
               "ASSISTANT_INDEX_DIR": str(settings.index_dir)}
        log("server (index: " + str(settings.index_dir) + ")")
        report["server"] = measure_server(plan, env, work, log)
        report["in_process"] = cpu_per_request(settings, work, min(plan.requests, 458))
        log(f"  in process: {report['in_process']}")
        report["builds"] = measure_builds(plan, work, env, log)
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["targets"] = check_targets(report)
    write_reports(report, out_dir)
    return report


def _run_of(report: dict, route: str, workers: int, concurrency: int) -> dict:
    for r in report["server"]["runs"]:
        if (r["route"], r["workers"], r["concurrency"]) == (route, workers, concurrency):
            return r
    return {}


def check_targets(report: dict) -> list[dict]:
    """Each target with the measured value and whether it is met."""
    srv, builds = report["server"], report["builds"]
    best_2w = max((r.get("rps") or 0 for r in srv["runs"]
                   if r["route"] == "answer" and r["workers"] == 2), default=None)
    rss = [x for xs in srv.get("rss_mb_after_load", {}).values() for x in xs]
    # Latency at 4 clients as deployed: one worker per core (the most workers measured).
    w = max((r["workers"] for r in srv["runs"]), default=1)
    measured = {
        "answer_p50_ms_c4": _run_of(report, "answer", w, 4).get("p50_ms"),
        "answer_p99_ms_c4": _run_of(report, "answer", w, 4).get("p99_ms"),
        "answer_rps_2_workers": best_2w,
        "search_p50_ms": _run_of(report, "search", w, 4).get("p50_ms"),
        "cold_start_s": statistics.median(srv["cold_start_s"]) if srv["cold_start_s"] else None,
        "rss_mb_per_worker": max(rss) if rss else None,
        "build_1000_s": builds.get("synthetic_1000", {}).get("cold", {}).get("build_s"),
        "incremental_s": builds.get("starter", {}).get("one_article_changed", {}).get("build_s"),
    }
    out = []
    for key, target in TARGETS.items():
        value = measured.get(key)
        higher_is_better = key.startswith("answer_rps")
        met = None if value is None else (value >= target if higher_is_better else
                                          value <= target)
        where = f" ({w} worker{'s' if w > 1 else ''}, 4 clients)" if key in (
            "answer_p50_ms_c4", "answer_p99_ms_c4", "search_p50_ms") else ""
        out.append({"target": key + where,
                    "goal": (">= " if higher_is_better else "<= ") + str(target),
                    "measured": value, "met": met})
    return out


def write_reports(report: dict, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = "bench" if report["kind"] == "full" else "bench-quick"
    if report.get("backend", "onnx") != "onnx":  # the default backend's report has no suffix
        stem += f"-{report['backend']}"
    paths = [out_dir / f"{stem}.json", out_dir / f"{stem}.md"]
    paths[0].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
    paths[1].write_text(markdown(report), "utf-8")
    return paths


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [f"# Benchmark ({report['kind']})", "",
             f"{report['started_at']}; {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB RAM; "
             f"Python {m['python']}, torch {m['torch']}, onnxruntime {m['onnxruntime']}; "
             f"backend `{report['backend']}`, model {report['model']}.", "",
             f"Load average at the start: {', '.join(map(str, m['load_average']))}; at the end: "
             f"{', '.join(map(str, report['load_average_after']))} (other work on the machine "
             "makes the numbers noisier and slower).", "",
             "## Targets", "", "| target | goal | measured | met |", "|---|---|---|---|"]
    for t in report["targets"]:
        met = "—" if t["met"] is None else ("yes" if t["met"] else "**no**")
        lines.append(f"| {t['target']} | {t['goal']} | {t['measured']} | {met} |")
    srv = report["server"]
    lines += ["", "## Server", "",
              f"Cold start (launch to first 200 on `POST /answer`): "
              f"{', '.join(f'{x} s' for x in srv['cold_start_s'])}.",
              f"Resident memory per serving process: idle {srv.get('rss_mb_idle')} MB; after "
              f"load {srv.get('rss_mb_after_load')} MB (by worker count).", "",
              "`server CPU` is the CPU time the serving processes used per request: unlike the "
              "latencies, it does not grow when other work shares the machine.", "",
              "| route | workers | clients | requests | req/s | p50 ms | p95 ms | p99 ms | errors "
              "| server CPU ms |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in srv["runs"]:
        route = "`POST /answer`" if r["route"] == "answer" else "`GET /search`"
        lines.append(f"| {route} | {r['workers']} | {r['concurrency']} | {r['requests']} | "
                     f"{r['rps']} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | "
                     f"{r['errors']} | {r.get('server_cpu_ms', '—')} |")
    if report.get("in_process"):
        p = report["in_process"]
        lines += ["", f"In process, without HTTP (CPU per message): `/answer` path "
                  f"{p['answer_cpu_ms']} ms, of which the embedding model {p['embedding_cpu_ms']} "
                  f"ms and everything else {p['answer_without_model_cpu_ms']} ms; `/search` path "
                  f"{p['search_cpu_ms']} ms."]
    lines += ["", "## Index builds", "",
              "`build` is the build itself (the manifest's `build_seconds`); `process` adds "
              "starting Python and importing the libraries.", "",
              "| KB | articles | vectors | article classifier | cold build s | process s | "
              "one article changed s | process s |", "|---|---|---|---|---|---|---|---|"]
    for name, b in report["builds"].items():
        c, i = b["cold"], b["one_article_changed"]
        lines.append(f"| {name} | {c['articles']} | {c['vectors']} | "
                     f"{'yes' if c['article_classifier'] else 'no'} | {c['build_s']} | "
                     f"{c['wall_s']} | {i['build_s']} | {i['wall_s']} |")
    lines += ["", f"Whole run: {report['seconds']} s.", ""]
    return "\n".join(lines)
