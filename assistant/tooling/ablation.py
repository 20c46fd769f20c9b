"""What each kind of evidence contributes: the eval replayed with one signal removed.

Each observation keeps its shortlist and the evidence of every article on it, so a variant
re-scores the shortlist with `retrieval.combine`'s formula under other weights and replays
the service's decision with the same thresholds. The shortlist itself comes from the full
weights (a signal removed can no longer bring a new article in, it only re-ranks), which is
how the tuner sees weights too.

An optional variant adds static multilingual word embeddings (the `wordllama` package,
bundled weights, no download) as a seventh evidence, to measure a model that reads Chinese
against the default one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from assistant.tooling.evaluation import Observation, metrics, redecide
from assistant.understanding.retrieval import EVIDENCE, Weights, combine
from assistant.service import Assistant
from assistant.understanding.text import normalize

#: Reported per variant and script.
KEYS = ("hit_at_1", "answer_accuracy", "coverage", "wrong_answer_rate")
SCRIPTS = {"latin": "English", "hans": "Chinese (simplified)", "hant": "Chinese (traditional)"}
WORDLLAMA_WEIGHT = 0.5  # the extra evidence's weight in its variant, chosen on blind/dev


def variants(w: Weights) -> dict[str, Weights]:
    """The full weights, each evidence removed in turn, and each alone."""
    out = {"all evidence": w}
    for name in EVIDENCE:
        if getattr(w, name) > 0:
            out[f"without {name}"] = replace(w, **{name: 0.0})
    for name in ("dense", "lexical"):
        out[f"{name} only"] = Weights(**{e: (getattr(w, e) if e == name else 0.0)
                                         for e in EVIDENCE})
    return out


def rescore(obs: list[Observation], w: Weights,
            extra: list[dict[str, float]] | None = None, extra_weight: float = 0.0
            ) -> list[Observation]:
    """Observations whose shortlists are re-scored under weights `w` (and an extra signal)."""
    out = []
    for i, o in enumerate(obs):
        hits = []
        for h in o.trace.hits:
            score = combine(h, w, o.trace.known_ratio)
            if extra is not None and extra_weight:
                total = _total(w, o.trace.known_ratio)
                score = (score * total + extra_weight * extra[i].get(h.id, 0.0)) \
                    / (total + extra_weight)
            hits.append(replace(h, score=score))
        hits.sort(key=lambda h: h.score, reverse=True)
        out.append(replace(o, trace=replace(o.trace, hits=tuple(hits))))
    return out


def _total(w: Weights, known_ratio: float) -> float:
    ratio = max(0.0, min(1.0, known_ratio))
    return w.dense * ratio + w.lexical + w.fuzzy + w.intent + w.article + w.body


def by_script(assistant: Assistant, obs: list[Observation]) -> dict[str, dict]:
    """The headline numbers per script under the assistant's thresholds."""
    decisions = redecide(obs, assistant.thresholds, assistant.handoff_flags)
    out = {}
    for script in SCRIPTS:
        pairs = [(o, d) for o, d in zip(obs, decisions) if o.row.script == script]
        if pairs:
            m = metrics([o for o, _ in pairs], [d for _, d in pairs])
            out[script] = {k: m[k] for k in KEYS}
    m = metrics(obs, decisions)
    out["all"] = {k: m[k] for k in KEYS}
    return out


def wordllama_similarities(assistant: Assistant, obs: list[Observation]
                           ) -> list[dict[str, float]] | None:
    """Per observation, the best static-embedding cosine of each shortlisted article's
    questions; None when the package is not installed."""
    embed = _wordllama()
    if embed is None or assistant.index is None:
        return None
    texts, ids = [], []
    for article in assistant.index.kb.articles:
        for q in (*article.questions, article.title):
            texts.append(normalize(q))
            ids.append(article.id)
    questions = embed(texts)
    queries = embed([normalize(o.row.text) for o in obs])
    sims = queries @ questions.T
    id_arr = np.array(ids, dtype=object)
    out = []
    for row, o in zip(sims, obs):
        out.append({h.id: max(0.0, float(row[id_arr == h.id].max()))
                    for h in o.trace.hits if (id_arr == h.id).any()})
    return out


def _wordllama() -> Callable[[list[str]], np.ndarray] | None:
    try:
        import wordllama
    except ImportError:
        return None
    import shutil
    import tempfile

    # The loader looks for its bundled files in a cache folder: give it one, no downloads.
    cache = Path(tempfile.mkdtemp(prefix="wordllama-"))
    package = Path(wordllama.__file__).parent
    for sub in ("tokenizers", "weights"):
        shutil.copytree(package / sub, cache / sub)
    model = wordllama.WordLlama.load(cache_dir=cache, disable_download=True)

    def embed(texts: list[str]) -> np.ndarray:
        v = np.asarray(model.embed(texts), dtype=np.float32)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)
    return embed


def run(assistant: Assistant, sets: dict[str, list[Observation]]) -> dict:
    """Every variant's numbers per set and script."""
    assert assistant.retriever is not None, "warm_up() first"
    w = assistant.retriever.weights
    rep: dict = {"weights": w.__dict__, "sets": {}}
    for name, obs in sets.items():
        rows = [o for o in obs if o.trace.hits or o.row.action != "answer"]
        res = {label: by_script(assistant, rescore(rows, vw))
               for label, vw in variants(w).items()}
        extra = wordllama_similarities(assistant, rows)
        if extra is not None:
            res[f"+ wordllama (weight {WORDLLAMA_WEIGHT})"] = by_script(
                assistant, rescore(rows, w, extra, WORDLLAMA_WEIGHT))
        rep["sets"][name] = res
    return rep


def markdown(rep: dict) -> str:
    lines = ["# Ablation: what each evidence contributes", "",
             "Regenerate with `assistant ablation`. Each variant re-scores the eval's "
             "shortlists under other weights and replays the decision with the same "
             "thresholds. hit@1 ranks articles ignoring thresholds; acc = right among "
             "answered; cov = answered share of answerable rows; wrong = confident wrong "
             f"answers among all rows. The thresholds were tuned for all evidence, so a variant's "
             "scores sit on another scale: hit@1 is the column that compares variants fairly. "
             f"Weights: {rep['weights']}.", ""]
    for name, res in rep["sets"].items():
        scripts = [s for s in (*SCRIPTS, "all") if s in next(iter(res.values()))]
        lines += [f"## {name}", "",
                  "| variant | " + " | ".join(
                      f"{SCRIPTS.get(s, 'all')} hit@1 / acc / cov / wrong" for s in scripts) + " |",
                  "|---|" + "---|" * len(scripts)]
        for label, by in res.items():
            cells = [" / ".join(_fmt(by[s][k]) for k in KEYS) for s in scripts]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


def write(rep: dict, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "ablation.json", folder / "ablation.md"]
    paths[0].write_text(json.dumps(rep, indent=2, ensure_ascii=False) + "\n")
    paths[1].write_text(markdown(rep) + "\n")
    return paths
