"""Where one `/answer` and one `/search` spend their CPU, stage by stage, in process.

Wraps the stages of the real path (the served index, the real model, query and search caches
off) with CPU-time counters, runs the wallet eval messages and the blind messages through
`Assistant.answer` and what a search box sends through `Assistant.search_box`, and prints a
table per route: CPU milliseconds per request in each stage, and its share. The stages do not
overlap; `other` is what the request spends outside them (the wrapper's own cost included,
about a microsecond a stage).

    python -m bench.stages [--n 400] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.core.config import ROOT, load_settings
from bench.loadgen import machine

#: (stage, dotted owner, attribute): the functions timed; none runs inside another.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("redaction", "assistant.service.Assistant", "redact"),
    ("embedding model", "assistant.knowledge.encoder.QueryCache", "encode_query"),
    ("text analysis (tokens)", "assistant.service", "analyze"),
    ("intent + article classifiers", "assistant.understanding.intent.ServingIntent",
     "predict"),
    ("dense search (FAISS)", "assistant.understanding.retrieval.HybridRetriever",
     "_dense_scores"),
    ("lexical (TF-IDF)", "assistant.understanding.retrieval.HybridRetriever",
     "_lexical_scores"),
    ("fuzzy (rapidfuzz)", "assistant.understanding.retrieval.HybridRetriever", "_fuzzy"),
    ("safety signals", "assistant.service.Assistant", "_signals"),
    ("wording", "assistant.service.Assistant", "_word"),
    ("recording the turn", "assistant.service.Assistant", "_record"),
    ("search-box terms: expand", "assistant.understanding.search.SearchIndex", "expand"),
    ("search-box terms: score", "assistant.understanding.search.SearchIndex", "score"),
    ("search-box snippets", "assistant.understanding.search.SearchIndex", "snippet"),
    ("search-box language", "assistant.understanding.search.SearchIndex", "query_lang"),
)


def _resolve(dotted: str) -> Any:
    module, _, attr = dotted.rpartition(".")
    mod = __import__(module, fromlist=[attr])
    owner = getattr(mod, attr, None)
    return owner if owner is not None else __import__(dotted, fromlist=["x"])


class StageClock:
    """CPU time per stage, by wrapping each stage's function in place (undone by `close`)."""

    def __init__(self) -> None:
        self.ns: dict[str, int] = defaultdict(int)
        self._undo: list[Callable[[], None]] = []

    def wrap(self, stage: str, owner: Any, name: str) -> None:
        original = getattr(owner, name, None)
        if original is None:
            return
        clock = time.process_time_ns
        ns = self.ns

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = clock()
            try:
                return original(*args, **kwargs)
            finally:
                ns[stage] += clock() - start

        setattr(owner, name, timed)
        self._undo.append(lambda: setattr(owner, name, original))

    def close(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()


SETS = ("test", "dev", "blind/dev")


def _messages(n: int, sets: tuple[str, ...] = SETS) -> list[str]:
    texts: list[str] = []
    for rel in (f"eval/{name}.jsonl" for name in sets):
        path = ROOT / rel
        if path.is_file():
            texts += [json.loads(line)["text"] for line in path.read_text("utf-8").splitlines()
                      if line.strip()]
    random.Random(0).shuffle(texts)
    return texts[:n] or ["I forgot my wallet password", "钱包密码忘了怎么办"]


def measure(n: int, sets: tuple[str, ...] = SETS) -> dict:
    from assistant.service import Assistant

    s = load_settings(queue_dsn="memory://stages", query_cache_size=0, search_cache_size=0)
    a = Assistant(s).warm_up()
    texts = _messages(n, sets)
    rng = random.Random(1)
    prefixes = [t[: max(3, min(len(t), rng.randint(4, 24)))] for t in texts]
    for t in texts[:30]:  # warm: first calls load lazily (jieba, caches of the libraries)
        a.answer(t)
        a.search_box(t[:8])
    out: dict = {"machine": machine(), "messages": len(texts), "routes": {}}
    for route, run, inputs in (
            ("answer", lambda t: a.answer(t), texts),
            ("search", lambda t: a.search_box(t), prefixes)):
        clock = StageClock()
        for stage, owner, attr in STAGES:
            clock.wrap(stage, _resolve(owner), attr)
        started = time.process_time_ns()
        try:
            for t in inputs:
                run(t)
        finally:
            clock.close()
        total = (time.process_time_ns() - started) / len(inputs) / 1e6
        stages = {k: v / len(inputs) / 1e6 for k, v in clock.ns.items() if v}
        stages["other"] = max(0.0, total - sum(stages.values()))
        out["routes"][route] = {"cpu_ms": round(total, 3),
                                "stages": {k: round(v, 3) for k, v in
                                           sorted(stages.items(), key=lambda kv: -kv[1])}}
    a.close()
    return out


def table(report: dict) -> str:
    m = report["machine"]
    lines = [f"{json.dumps(m, ensure_ascii=False)}", "",
             f"{report['messages']} messages per route, query and search caches off", ""]
    for route, r in report["routes"].items():
        lines += [f"{route}: {r['cpu_ms']} ms CPU per request", "",
                  "| stage | ms | share |", "|---|---|---|"]
        for stage, ms in r["stages"].items():
            lines.append(f"| {stage} | {ms:.3f} | {ms / r['cpu_ms'] * 100:.0f}% |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=400, help="messages per route")
    p.add_argument("--sets", default=",".join(SETS),
                   help="eval sets the messages come from (default: %(default)s)")
    p.add_argument("--json", type=Path, help="also write the numbers here")
    args = p.parse_args(argv)
    report = measure(args.n, tuple(x for x in args.sets.split(",") if x))
    print(table(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
