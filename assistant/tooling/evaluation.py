"""Offline evaluation: run the real assistant over a labelled set, measure, tune thresholds.

The assistant runs in process once per row; its trace (intent and scored articles) is kept,
so the decision can be replayed under other thresholds with the very function the service
uses (`answerer.decide`). That makes tuning and the coverage/accuracy curve cheap.
"""

from __future__ import annotations

import itertools
import json
import logging
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from assistant.core import languages
from assistant.deciding.answerer import Decision, Thresholds, decide
from assistant.core.config import Settings
from assistant.core.errors import AssistantError
from assistant.understanding.retrieval import EVIDENCE, Weights
from assistant.service import Assistant, Trace
from assistant.understanding.text import normalize
from assistant.core.types import OUT_OF_SCOPE

log = logging.getLogger(__name__)

ACTIONS = ("answer", "handoff", "decline")
METRIC_KEYS = ("answer_accuracy", "coverage", "wrong_answer_rate", "handoff_precision",
               "handoff_recall", "decline_precision", "decline_recall", "intent_accuracy",
               "hit_at_1", "hit_at_3", "mrr")


class EvalSetError(AssistantError):
    """A row of an eval set is malformed; the message names the file, line and field."""


@dataclass(frozen=True)
class EvalRow:
    text: str
    lang: str
    action: str
    category: str
    articles: tuple[str, ...] = ()
    script: str = ""  # hans / hant / latin, when the set says
    length: str = ""  # short / long, when the set says


@dataclass(frozen=True)
class Observation:
    row: EvalRow
    trace: Trace


# ------------------------------------------------------------------ loading

def load_eval_set(path: Path, known_ids: set[str] | None = None) -> list[EvalRow]:
    """Read and check a JSONL eval set; every problem names the file, line and field."""
    rows: list[EvalRow] = []
    problems: list[str] = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EvalSetError(f"{path}: cannot read ({exc})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            d = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: invalid JSON ({exc.msg})")
            continue
        if not isinstance(d, dict):
            problems.append(f"{where}: expected a JSON object")
            continue
        row_problems = _check_row(d, known_ids)
        problems.extend(f"{where}: {p}" for p in row_problems)
        if not row_problems:
            rows.append(EvalRow(d["text"], d["lang"], d["action"], d["category"],
                                tuple(d.get("articles") or ()), str(d.get("script") or ""),
                                str(d.get("length") or "")))
    if problems:
        raise EvalSetError("eval set has problems:\n  " + "\n  ".join(problems))
    return rows


def _check_row(d: dict, known_ids: set[str] | None) -> list[str]:
    out = []
    if not isinstance(d.get("text"), str) or not d["text"].strip():
        out.append("field 'text': must be a non-empty string")
    if d.get("lang") not in languages.codes():
        out.append(f"field 'lang': {d.get('lang')!r} is not one of {', '.join(languages.codes())}")
    if d.get("action") not in ACTIONS:
        out.append(f"field 'action': {d.get('action')!r} is not one of {', '.join(ACTIONS)}")
    if not isinstance(d.get("category"), str):
        out.append("field 'category': must be a string")
    arts = d.get("articles", [])
    if not isinstance(arts, list) or not all(isinstance(a, str) for a in arts):
        out.append("field 'articles': must be a list of article ids")
    elif d.get("action") == "answer" and not arts:
        out.append("field 'articles': an answer row needs at least one article id")
    elif known_ids is not None:
        out.extend(f"field 'articles': unknown article id {a!r}" for a in arts
                   if a not in known_ids)
    return out


# ------------------------------------------------------------------ running

def observe(assistant: Assistant, rows: list[EvalRow],
            progress: Callable[[int, int], None] | None = None,
            tickets: bool = True, batch_embed: bool = False,
            store: Path | None = None) -> list[Observation]:
    """Run the assistant on every row (tickets, unless off, go to the assistant's queue).

    `store`: with `batch_embed`, a file of this model's query vectors kept between runs
    (the checked build's; reports leave it off so they depend on nothing but the index).

    `batch_embed` embeds all rows up front (large benchmark sets); latency then excludes
    the model, so the wallet eval leaves it off and reports the real per-query time.
    """
    assistant.warm_up()
    prime = getattr(assistant.embedder, "prime", None)
    if prime and batch_embed:
        from assistant.understanding.redaction import redact

        prime([normalize(redact(r.text).text) for r in rows], store=store)
    out = []
    for i, row in enumerate(rows, 1):
        _, trace = assistant.answer_with_trace(row.text, lang=row.lang,
                                               tickets=tickets)
        out.append(Observation(row, trace))
        if progress and (i % 200 == 0 or i == len(rows)):
            progress(i, len(rows))
    return out


def redecide(obs: Iterable[Observation], th: Thresholds | dict[str, Thresholds],
             handoff_flags: dict[str, bool]) -> list[Decision]:
    """The service's decision for each observation under thresholds `th` (or per language)."""
    return [decide(o.trace.text, o.trace.intent, list(o.trace.hits),
                   th[o.trace.lang] if isinstance(th, dict) else th, handoff_flags,
                   o.trace.signals)
            for o in obs]


# ------------------------------------------------------------------ metrics

def metrics(obs: list[Observation], decisions: list[Decision]) -> dict[str, float | int | None]:
    """All headline numbers for one group of rows (see the module docstring of the report)."""
    n = len(obs)
    answered = [(o, d) for o, d in zip(obs, decisions) if d.action == "answer"]
    correct = sum(1 for o, d in answered if d.article_id in o.row.articles)
    answer_rows = [(o, d) for o, d in zip(obs, decisions) if o.row.action == "answer"]
    confident_wrong = sum(1 for o, d in zip(obs, decisions)
                          if d.article_id is not None and d.article_id not in o.row.articles)
    ranks = [_rank(o) for o, _ in answer_rows]
    m: dict[str, float | int | None] = {
        "n": n,
        "answer_accuracy": _ratio(correct, len(answered)),
        "coverage": _ratio(sum(1 for _, d in answer_rows if d.action == "answer"),
                           len(answer_rows)),
        "wrong_answer_rate": _ratio(confident_wrong, n),
        "clarify_rate": _ratio(sum(1 for d in decisions if d.action == "clarify"), n),
        "clarify_contains_answer": _ratio(
            sum(1 for o, d in zip(obs, decisions) if d.action == "clarify"
                and set(o.row.articles) & {h.id for h in d.candidates}),
            sum(1 for d in decisions if d.action == "clarify")),
        "intent_accuracy": _ratio(sum(1 for o in obs if o.trace.intent.category ==
                                      _gold_category(o.row)), n),
        "hit_at_1": _ratio(sum(1 for r in ranks if r == 1), len(ranks)),
        "hit_at_3": _ratio(sum(1 for r in ranks if r and r <= 3), len(ranks)),
        "mrr": _ratio(sum(1.0 / r for r in ranks if r), len(ranks)),
    }
    for action in ("handoff", "decline"):
        predicted = [o for o, d in zip(obs, decisions) if d.action == action]
        tp = sum(1 for o in predicted if o.row.action == action)
        gold = sum(1 for o in obs if o.row.action == action)
        m[f"{action}_precision"] = _ratio(tp, len(predicted))
        m[f"{action}_recall"] = _ratio(tp, gold)
    return m


def report(obs: list[Observation], decisions: list[Decision],
           th: Thresholds | dict[str, Thresholds], name: str) -> dict:
    """Overall, per-language and per-category metrics, plus the thresholds used."""
    def group(keep: Callable[[Observation], bool]) -> dict:
        pairs = [(o, d) for o, d in zip(obs, decisions) if keep(o)]
        return metrics([o for o, _ in pairs], [d for _, d in pairs])

    categories = sorted({o.row.category for o in obs})
    return {
        "set": name,
        **metrics(obs, decisions),
        "thresholds": ({k: asdict(v) for k, v in th.items()} if isinstance(th, dict)
                       else asdict(th)),
        "by_lang": {lang: group(_where("lang", lang))
                    for lang in languages.codes() if any(o.row.lang == lang for o in obs)},
        "by_category": {c: group(_where("category", c)) for c in categories},
        "by_script": {v: group(_where("script", v))
                      for v in sorted({o.row.script for o in obs} - {""})},
        "by_length": {v: group(_where("length", v))
                      for v in sorted({o.row.length for o in obs} - {""})},
        "outcomes": _outcome_counts(obs, decisions),
    }


def _where(field: str, value: str) -> Callable[[Observation], bool]:
    """Rows whose `field` is `value` (one group of the report)."""
    return lambda o: getattr(o.row, field) == value


def _outcome_counts(obs: list[Observation], decisions: list[Decision]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for o, d in zip(obs, decisions):
        key = f"{o.row.action}->{d.action}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def _rank(o: Observation) -> int | None:
    for i, h in enumerate(o.trace.hits, 1):
        if h.id in o.row.articles:
            return i
    return None


def _gold_category(row: EvalRow) -> str:
    return OUT_OF_SCOPE if row.action == "decline" else row.category


def _ratio(a: float, b: int) -> float | None:
    return round(a / b, 4) if b else None


# ------------------------------------------------------------------ tuning

@dataclass(frozen=True)
class TuneResult:
    thresholds: Thresholds
    metrics: dict
    target: float
    feasible: bool


def tune(obs: list[Observation], handoff_flags: dict[str, bool], base: Thresholds,
         max_wrong_rate: float, confidence: float = 0.8, resamples: int = 200,
         seed: int = 0) -> TuneResult:
    """Maximise coverage while the wrong-answer rate stays under the target; ties prefer
    better routing, then a wider clarify margin.

    A small tuning set flatters the thresholds that sit right at its edge, so the rate
    that must stay under the target is its `confidence` quantile over bootstrap
    resamples of the set, not the point estimate. Stage 1 searches the answer threshold,
    clarify margin and decline threshold; stage 2 picks the clarify threshold that offers
    the right article most often without keeping people who need a person away from one.
    """
    n = len(obs)
    rng = np.random.default_rng(seed)
    boot = rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).T  # (rows, resamples)
    is_answer_row = np.array([o.row.action == "answer" for o in obs])
    best: tuple | None = None
    for answer in np.arange(0.20, 0.951, 0.01):
        for margin in np.arange(0.0, 0.121, 0.01):
            for decline in np.arange(0.20, 0.951, 0.05):
                th = replace(base, answer=round(float(answer), 3), margin=round(float(margin), 3),
                             decline=round(float(decline), 3),
                             clarify=min(base.clarify, round(float(answer), 3)))
                ds = redecide(obs, th, handoff_flags)
                wrong = np.array([d.article_id is not None and d.article_id not in o.row.articles
                                  for o, d in zip(obs, ds)])
                answered = np.array([d.action == "answer" for d in ds])
                rate_q = float(np.quantile(wrong @ boot / n, confidence)) if n else 0.0
                feasible = rate_q <= max_wrong_rate + 1e-12
                coverage = float(answered[is_answer_row].mean()) if is_answer_row.any() else 0.0
                routing = _routing(obs, ds)
                key = (feasible, coverage if feasible else -rate_q, routing, -rate_q,
                       round(float(margin), 3))
                if best is None or key > best[0]:
                    best = (key, th)
    assert best is not None
    th = best[1]
    best_clarify, best_score = th.clarify, None
    for clarify in np.arange(0.10, th.answer + 1e-9, 0.01):
        cand = replace(th, clarify=round(float(clarify), 3))
        ds = redecide(obs, cand, handoff_flags)
        helpful = sum(1 for o, d in zip(obs, ds) if d.action == "clarify"
                      and set(o.row.articles) & {h.id for h in d.candidates})
        misrouted = sum(1 for o, d in zip(obs, ds) if d.action == "clarify"
                        and o.row.action != "answer")
        unhelpful = sum(1 for o, d in zip(obs, ds) if d.action == "clarify"
                        and o.row.action == "answer"
                        and not set(o.row.articles) & {h.id for h in d.candidates})
        score = helpful - 2 * misrouted - unhelpful
        if best_score is None or score > best_score:
            best_clarify, best_score = cand.clarify, score
    th = replace(th, clarify=best_clarify)
    final = metrics(obs, redecide(obs, th, handoff_flags))
    return TuneResult(th, final, max_wrong_rate, best[0][0])


def _routing(obs: list[Observation], ds: list[Decision]) -> float:
    """Sum of handoff and decline precision and recall (how well non-answers are routed)."""
    total = 0.0
    for action in ("handoff", "decline"):
        predicted = sum(1 for d in ds if d.action == action)
        gold = sum(1 for o in obs if o.row.action == action)
        tp = sum(1 for o, d in zip(obs, ds) if d.action == action == o.row.action)
        total += (tp / predicted if predicted else 0.0) + (tp / gold if gold else 0.0)
    return total


def tune_weights(obs: list[Observation], base: Weights) -> tuple[Weights, float]:
    """Evidence weights that rank the right article highest on the set (best MRR).

    Re-scores each row's shortlist with `retrieval.combine`'s formula over a grid, all at
    once with numpy. Returns the weights and their MRR.
    """
    rows = [o for o in obs if o.row.action == "answer" and o.trace.hits]
    if not rows:
        return base, 0.0
    k = max(len(o.trace.hits) for o in rows)
    ev = np.zeros((len(rows), k, len(EVIDENCE)))
    gold = np.zeros((len(rows), k), dtype=bool)
    ratio = np.array([max(0.0, min(1.0, o.trace.known_ratio)) for o in rows])
    for i, o in enumerate(rows):
        for j, h in enumerate(o.trace.hits):
            ev[i, j] = [getattr(h, name) for name in EVIDENCE]
            gold[i, j] = h.id in o.row.articles
    valid = np.zeros((len(rows), k), dtype=bool)
    for i, o in enumerate(rows):
        valid[i, : len(o.trace.hits)] = True
    grid = [np.array(g) for g in itertools.product(
        (0.2, 0.35, 0.5, 0.65), (0.15, 0.3, 0.45, 0.6), (0.0, 0.05, 0.1, 0.2),
        (0.0, 0.05, 0.1, 0.2, 0.4, 0.8), (0.0, 0.1, 0.2, 0.3), (0.0, 0.05, 0.1, 0.2))]
    best_w, best_mrr = None, -1.0
    for w in grid:
        eff = np.repeat(w[None, :], len(rows), axis=0)
        eff[:, 0] *= ratio
        scores = np.einsum("rke,re->rk", ev, eff) / np.maximum(eff.sum(axis=1), 1e-9)[:, None]
        scores[~valid] = -1.0
        order = np.argsort(-scores, axis=1, kind="stable")
        hit_sorted = np.take_along_axis(gold, order, axis=1)
        first = np.where(hit_sorted.any(axis=1), hit_sorted.argmax(axis=1) + 1, 0)
        mrr = float(np.where(first > 0, 1.0 / np.maximum(first, 1), 0.0).mean())
        if mrr > best_mrr + 1e-9:
            best_w, best_mrr = w, mrr
    assert best_w is not None
    return Weights(*[round(float(x), 3) for x in best_w]), round(best_mrr, 4)


def write_thresholds(path: Path, results: dict[str, TuneResult], set_name: str,
                     weights: Weights | None = None) -> None:
    """Write tuned thresholds per language (and evidence weights) where settings are read.

    The default language's values are the shared settings; every other language gets its
    own in `lang_thresholds`.
    """
    values: dict[str, float] = {}
    by_lang: dict[str, dict[str, float]] = {}
    for lang, result in results.items():
        th = result.thresholds
        chosen = {"answer_threshold": th.answer, "clarify_threshold": th.clarify,
                  "clarify_margin": th.margin, "decline_threshold": th.decline}
        if lang == languages.default().code:
            values.update(chosen)
        else:
            by_lang[lang] = chosen
    data = {
        "thresholds": values,
        "lang_thresholds": by_lang,
        "weights": ({f"weight_{name}": getattr(weights, name) for name in EVIDENCE}
                    if weights else {}),
        "tuned_on": set_name,
        "max_wrong_answer_rate": next(iter(results.values())).target if results else None,
        "feasible": {lang: r.feasible for lang, r in results.items()},
        "expected": {lang: {k: r.metrics.get(k) for k in
                            ("coverage", "answer_accuracy", "wrong_answer_rate",
                             "handoff_recall", "decline_recall")}
                     for lang, r in results.items()},
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


# ------------------------------------------------------------------ reports

def curve(obs: list[Observation], handoff_flags: dict[str, bool],
          th: dict[str, Thresholds]) -> dict[str, list[dict]]:
    """Per language: coverage and accuracy as its answer threshold moves (others fixed)."""
    out: dict[str, list[dict]] = {}
    for lang, base in th.items():
        rows = [o for o in obs if o.trace.lang == lang]
        if not rows:
            continue
        points = []
        for answer in np.arange(0.20, 0.951, 0.01):
            t = replace(base, answer=round(float(answer), 3),
                        clarify=min(base.clarify, float(answer)))
            m = metrics(rows, redecide(rows, t, handoff_flags))
            points.append({"answer_threshold": t.answer, "coverage": m["coverage"],
                           "answer_accuracy": m["answer_accuracy"],
                           "wrong_answer_rate": m["wrong_answer_rate"]})
        out[lang] = points
    return out


def write_report(rep: dict, obs: list[Observation], points: dict[str, list[dict]],
                 out_dir: Path, settings: Settings) -> list[Path]:
    """JSON, Markdown and two PNG plots under `out_dir`; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    name = rep["set"]
    rep = {**rep, "curve": points, "model": settings.model}
    paths = [out_dir / f"{name}.json", out_dir / f"{name}.md",
             out_dir / f"{name}-coverage.png", out_dir / f"{name}-confusion.png"]
    paths[0].write_text(json.dumps(rep, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths[1].write_text(markdown(rep), encoding="utf-8")
    chosen = {lang: t["answer"] for lang, t in rep["thresholds"].items()} \
        if "answer" not in rep["thresholds"] else {"all": rep["thresholds"]["answer"]}
    _plot_curve(points, chosen, paths[2], name)
    _plot_confusion(obs, paths[3], name)
    return paths


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}" if v <= 1.0 else f"{v:.1f}"
    return str(v)


def markdown(rep: dict) -> str:
    keys = ["n", *METRIC_KEYS]
    head = "| group | " + " | ".join(keys) + " |\n|" + "---|" * (len(keys) + 1) + "\n"

    def line(label: str, m: dict) -> str:
        return f"| {label} | " + " | ".join(_fmt(m.get(k)) for k in keys) + " |\n"

    out = [f"# Eval report: `{rep['set']}`\n\n",
           f"Model `{rep.get('model')}`; thresholds {rep['thresholds']}.\n\n",
           "Regenerate with `assistant eval`. Definitions: answer accuracy = correct articles "
           "among answered rows; coverage = answered share of rows that should be answered; "
           "wrong-answer rate = share of all rows given a wrong article; hit@k and MRR rank the "
           "articles ignoring thresholds.\n\n", head, line("all", rep)]
    out += [line(f"lang={k}", v) for k, v in rep["by_lang"].items()]
    out += [line(f"category={k}", v) for k, v in rep["by_category"].items()]
    out += [line(f"script={k}", v) for k, v in rep.get("by_script", {}).items()]
    out += [line(f"length={k}", v) for k, v in rep.get("by_length", {}).items()]
    out.append("\nOutcomes (expected -> decided): " +
               ", ".join(f"{k}: {v}" for k, v in rep["outcomes"].items()) + "\n")
    return "".join(out)


def _plot_curve(points: dict[str, list[dict]], chosen: dict[str, float], path: Path,
                name: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    styles = ["-", "--", ":"]
    for (lang, pts), style in zip(points.items(), styles):
        xs = [p["answer_threshold"] for p in pts]
        ax.plot(xs, [p["coverage"] or 0 for p in pts], "C0" + style, label=f"{lang} coverage")
        ax.plot(xs, [p["answer_accuracy"] or 0 for p in pts], "C1" + style,
                label=f"{lang} answer accuracy")
        ax.plot(xs, [p["wrong_answer_rate"] or 0 for p in pts], "C3" + style,
                label=f"{lang} wrong-answer rate")
        if lang in chosen:
            ax.axvline(chosen[lang], color="grey", linestyle=style, linewidth=1)
    ax.set_xlabel("answer threshold (grey: chosen)")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{name}: coverage vs accuracy")
    ax.legend(loc="center left", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _plot_confusion(obs: list[Observation], path: Path, name: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = sorted({_gold_category(o.row) for o in obs} |
                    {o.trace.intent.category for o in obs})
    idx = {c: i for i, c in enumerate(labels)}
    mat = np.zeros((len(labels), len(labels)), dtype=int)
    for o in obs:
        mat[idx[_gold_category(o.row)], idx[o.trace.intent.category]] += 1
    fig, ax = plt.subplots(figsize=(7, 6), dpi=100)
    ax.imshow(mat, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if mat[i, j]:
                ax.text(j, i, str(mat[i, j]), ha="center", va="center",
                        color="white" if mat[i, j] > mat.max() / 2 else "black")
    ax.set_xlabel("predicted intent")
    ax.set_ylabel("expected category")
    ax.set_title(f"{name}: intent confusion")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def isolated_assistant(settings: Settings, **kwargs) -> tuple[Assistant, tempfile.TemporaryDirectory]:
    """An assistant whose tickets go to a throwaway queue (the eval must not fill the real one)."""
    tmp = tempfile.TemporaryDirectory(prefix="assistant-eval-")
    s = settings.model_copy(update={"data_dir": Path(tmp.name)})
    return Assistant(s, **kwargs), tmp
