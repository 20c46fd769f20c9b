"""Training and measuring the safety signals (`assistant safety-train`): offline tooling.

The labelled set (`eval/safety/dev.jsonl`, `test.jsonl`) was written from a list of signals
and personas without looking at the knowledge base: long stories, both Chinese scripts,
typos, and hard negatives (questions about risk, hypotheticals, negation, the past).
Everything is chosen on the dev half by cross-validation: the regularisation, each signal's
Platt calibration and its threshold. The test half is only scored.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.core.errors import DataError
from assistant.understanding.safety import CHECK, SIGNALS, THEFT, SafetyModel, features, sure_key
from assistant.understanding.text import SparseTfidf, pre_analyzed

log = logging.getLogger(__name__)

FOLDS = 5
C_GRID = (3.0, 10.0, 30.0)
#: Share of the dev theft reports that get at least the check (the rest: an ordinary answer).
CHECK_RECALL = 0.95
#: Dev precision from which a signal outweighs retrieval's confident answer elsewhere.
SURE_PRECISION = 0.95


@dataclass(frozen=True)
class Row:
    text: str
    labels: frozenset[str]
    lang: str
    script: str
    hard: bool = False
    near: str = ""


def load_rows(path: Path) -> list[Row]:
    """One labelled message per line; errors name the file, line and field."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            labels = frozenset(d.get("labels", []))
            unknown = labels - set(SIGNALS)
            if unknown:
                raise DataError(f"{path}:{n}: field 'labels': unknown signal "
                                f"{sorted(unknown)[0]!r}; known: {', '.join(SIGNALS)}")
            rows.append(Row(d["text"], labels, d["lang"], d.get("script", ""),
                            bool(d.get("hard")), d.get("near") or ""))
        except (ValueError, KeyError) as e:
            raise DataError(f"{path}:{n}: not a labelled row ({e}); each line needs "
                            "'text', 'labels' and 'lang'") from None
    return rows


#: KB articles whose questions carry a safety signal (besides those answering one): their
#: questions are not used as plain negatives.
SIGNAL_ARTICLES = frozenset({"talk-to-human", "escalation-complaints", "suspicious-transaction",
                             "never-share-private-key", "transaction-irreversible"})


def kb_negatives(kb_dir: Path, signal_articles: dict[str, str]) -> list[Row]:
    """Ordinary questions: every KB question except those of the articles answering a
    signal, and the out-of-scope list. The labelled set is rich in hard negatives about
    risk; these teach the signals what a plain question looks like ("is it safe to keep my
    phrase in the cloud?" asks about a practice, it does not report an exposure)."""
    from assistant.knowledge.kb import load_kb
    from assistant.understanding.text import detect_lang

    skip = SIGNAL_ARTICLES | set(signal_articles.values())
    kb = load_kb(kb_dir)
    texts = [q for a in kb.articles if a.id not in skip for q in (a.title, *a.questions)]
    texts += list(kb.out_of_scope)
    return [Row(t, frozenset(), detect_lang(t), "") for t in texts]


def train(dev: list[Row], seed: int = 0, extra: list[Row] | None = None
          ) -> tuple[SafetyModel, dict]:
    """Fit on the dev half (plus `extra` negatives, always in the training folds); returns
    the model and its cross-validated scores on the dev half."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from scipy.sparse import vstack
    from sklearn.model_selection import StratifiedKFold

    extra = extra or []
    n_dev = len(dev)
    feats = [features(r.text) for r in [*dev, *extra]]
    vectorizer = TfidfVectorizer(analyzer=pre_analyzed, sublinear_tf=True, min_df=2)
    x_all = vectorizer.fit_transform(feats)
    x = x_all[:n_dev]
    x_extra = x_all[n_dev:]
    n_features = x.shape[1]
    weights = np.zeros((n_features, len(SIGNALS)), dtype=np.float32)
    bias, scale, offset = (np.zeros(len(SIGNALS)) for _ in range(3))
    thresholds: dict[str, float] = {}
    cv: dict[str, dict] = {}
    for j, signal in enumerate(SIGNALS):
        y = np.array([signal in r.labels for r in dev], dtype=int)
        y_extra = np.array([signal in r.labels for r in extra], dtype=int)
        if y.sum() < FOLDS or (len(y) - y.sum()) < FOLDS:  # too few to learn: never fires
            bias[j], scale[j], offset[j] = -10.0, 1.0, 0.0
            thresholds[signal] = 1.0
            if signal == THEFT:
                thresholds[CHECK] = 1.0
            cv[signal] = {"support": int(y.sum()), "skipped": "fewer than "
                          f"{FOLDS} examples on a side"}
            continue
        folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
        best = None
        for c in C_GRID:
            scores = np.zeros(len(dev))
            for tr, te in folds.split(x, y):
                m = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
                m.fit(vstack([x[tr], x_extra]), np.concatenate([y[tr], y_extra]))
                scores[te] = m.decision_function(x[te])
            a, b = _platt(scores, y)
            p = _sigmoid(a * scores + b)
            loss = -np.mean(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))
            if best is None or loss < best[0]:
                best = (loss, c, a, b, p)
        assert best is not None
        _, c, a, b, p = best
        final = LogisticRegression(C=c, class_weight="balanced", max_iter=2000).fit(
            x_all, np.concatenate([y, y_extra]))
        weights[:, j] = final.coef_[0]
        bias[j], scale[j], offset[j] = final.intercept_[0], a, b
        if signal == THEFT:
            thresholds[THEFT], thresholds[CHECK] = _theft_thresholds(p, y)
            cv[CHECK] = {"threshold": round(thresholds[CHECK], 4),
                         **_scores(p >= thresholds[CHECK], y)}
        else:
            thresholds[signal] = _threshold(p, y)
            thresholds[sure_key(signal)] = max(thresholds[signal], _sure_threshold(p, y))
        cv[signal] = {"C": c, "threshold": round(thresholds[signal], 4),
                      **_scores(p >= thresholds[signal], y)}
    tfidf = SparseTfidf.from_vectorizer(vectorizer)
    return SafetyModel(list(SIGNALS), tfidf, weights, bias, scale, offset, thresholds), cv


def _platt(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    m = LogisticRegression(C=1e4).fit(scores.reshape(-1, 1), y)
    return float(m.coef_[0][0]), float(m.intercept_[0])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _theft_thresholds(p: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(alarm, check). The alarm goes off only above every dev message that is not a theft
    report (no false alarm). From the check threshold up, which keeps `CHECK_RECALL` of the
    dev reports, the answer also offers the theft path ("did funds leave your wallet?").
    Keeping every report would put that line under most answers: the text alone cannot
    tell every "where did my coins go" apart from a theft."""
    pos, neg = p[y == 1], p[y == 0]
    alarm = float(np.nextafter(neg.max(), 1.0)) if len(neg) else 0.5
    above = pos[pos >= alarm]
    if len(above):  # halfway between the last negative and the first report above it
        alarm = (float(neg.max()) + float(above.min())) / 2
    check = float(np.quantile(pos, 1 - CHECK_RECALL)) if len(pos) else alarm
    return alarm, min(check, alarm)


def _sure_threshold(p: np.ndarray, y: np.ndarray) -> float:
    """The lowest threshold whose dev precision is at least `SURE_PRECISION` (where the
    signal is trusted over a confident answer about something else)."""
    for t in np.unique(p):
        pred = p >= t
        if pred.sum() and (pred & (y == 1)).sum() / pred.sum() >= SURE_PRECISION:
            return float(t)
    return 1.0


def _threshold(p: np.ndarray, y: np.ndarray) -> float:
    """The threshold with the best F1 on the cross-validated dev probabilities."""
    best_t, best_f = 0.5, -1.0
    for t in np.unique(p):
        f = _scores(p >= t, y)["f1"]
        if f > best_f:
            best_t, best_f = float(t), f
    return best_t


def _scores(pred: np.ndarray, y: np.ndarray) -> dict:
    tp = int(np.sum(pred & (y == 1)))
    fp = int(np.sum(pred & (y == 0)))
    fn = int(np.sum(~pred & (y == 1)))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "tp": tp, "fp": fp, "fn": fn, "support": int(np.sum(y == 1))}


def evaluate(model: SafetyModel, rows: list[Row]) -> dict:
    """Per-signal precision and recall, false theft alarms, and theft recall per slice."""
    fired = [model.read(r.text).fired for r in rows]
    per_signal = {}
    for s in model.signals:
        y = np.array([s in r.labels for r in rows])
        pred = np.array([s in f for f in fired])
        per_signal[s] = _scores(pred, y.astype(int))
    alarms = [r.text for r, f in zip(rows, fired) if THEFT in f and THEFT not in r.labels]
    missed = [r.text for r, f in zip(rows, fired) if THEFT in r.labels and THEFT not in f
              and CHECK not in f]
    reports = [f for r, f in zip(rows, fired) if THEFT in r.labels]
    others = [f for r, f in zip(rows, fired) if THEFT not in r.labels]
    theft = {"reports": len(reports),
             "alarm_recall": round(sum(THEFT in f for f in reports) / max(1, len(reports)), 4),
             "alarm_or_check_recall": round(sum(THEFT in f or CHECK in f for f in reports)
                                            / max(1, len(reports)), 4),
             "false_alarms": len(alarms),
             "check_shown_to_others": round(sum(CHECK in f for f in others)
                                            / max(1, len(others)), 4)}
    slices = {}
    for key in sorted({(r.lang, r.script) for r in rows}):
        part = [i for i, r in enumerate(rows) if (r.lang, r.script) == key]
        y = np.array([THEFT in rows[i].labels for i in part]).astype(int)
        pred = np.array([THEFT in fired[i] for i in part])
        exact = sum(fired[i] & set(model.signals) == rows[i].labels for i in part)
        slices[f"{key[0]}-{key[1]}"] = {"rows": len(part), "theft": _scores(pred, y),
                                        "all_signals_exact": round(exact / len(part), 4)}
    return {"rows": len(rows), "signals": per_signal, "theft": theft,
            "false_theft_alarms": len(alarms),
            "missed_theft_reports": len(missed), "false_theft_alarm_examples": alarms[:10],
            "missed_theft_examples": missed[:10], "slices": slices}


def run(dev_path: Path, test_path: Path, out: Path | None = None,
        kb_dir: Path | None = None, signal_articles: dict[str, str] | None = None) -> dict:
    """Train on dev (and the KB's ordinary questions), score on test, write the model (to
    the package unless `out`)."""
    dev, test = load_rows(dev_path), load_rows(test_path)
    extra = kb_negatives(kb_dir, signal_articles or {}) if kb_dir else []
    model, cv = train(dev, extra=extra)
    report = {"dev_rows": len(dev), "kb_negatives": len(extra), "dev_cross_validated": cv,
              "test": evaluate(model, test)}
    folder = out or Path(__file__).resolve().parents[1] / "data"
    model.save(folder, report={"dev_rows": len(dev), "test_rows": len(test)})
    return report
