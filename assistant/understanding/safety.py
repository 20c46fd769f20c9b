"""Safety signals in user messages: theft, scams, exposed secrets, risky approvals.

Each signal is a calibrated logistic regression over the message's character and word
n-grams (traditional Chinese read as simplified), trained by `assistant safety-train` on the
labelled set in `eval/safety/` and shipped in `assistant/data/safety_model.*`. Serving
needs numpy alone. Thresholds come from cross-validation on the set's dev half (theft
reports: every one caught, none raised on anything else); the test half chooses nothing.

Secrets themselves are `assistant.understanding.redaction`'s job: this module reads redacted text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from assistant.core import languages
from assistant.understanding.text import SparseTfidf, analyze, to_simplified

#: The signals, in the order the decision weighs them.
SIGNALS = ("theft_report", "impersonation_scam", "secret_exposed", "recovery_scam",
           "scam_token", "clipboard_hijack", "approval_risk", "theft_worry", "wants_person")
MODEL_NAME = "safety_model"
THEFT = "theft_report"
#: Not sure enough to raise the alarm: the answer also asks whether funds left the wallet.
CHECK = "theft_check"
#: The precise rule kept: the reply the check asks for ("stolen", 被盗了) is a report.
_CONFIRMS_THEFT = r"^\s*(?:{})\s*[.!。！]*\s*$"  # around the languages' `theft_confirm`

_EN_TOKEN = re.compile(r"[a-z]+(?:['’][a-z]+)?")
_HAN_RUN = re.compile(r"[\u3400-\u9fff]+")


def features(text: str) -> list[str]:
    """The lexical features of `analyze` on the simplified text, plus Chinese character
    3- and 4-grams and English word pairs (stop words kept: "didn't send", "not hacked",
    "what if" and 会不会 carry the meaning)."""
    simple = to_simplified(text)
    lower = simple.lower()
    words = _EN_TOKEN.findall(lower)
    grams = [run[i:i + n] for run in _HAN_RUN.findall(simple) for n in (3, 4)
             for i in range(len(run) - n + 1)]
    return analyze(simple) + grams + [f"b:{a}_{b}" for a, b in zip(words, words[1:])]


@dataclass(frozen=True)
class SafetyReading:
    """The probability of each signal and which ones reached their threshold."""

    probabilities: dict[str, float] = field(default_factory=dict)
    fired: frozenset[str] = frozenset()
    sure: frozenset[str] = frozenset()  # fired with the precision to outweigh retrieval

    def __contains__(self, signal: str) -> bool:
        return signal in self.fired


class SafetyModel:
    """The serving form: tf-idf weights, one linear scorer and Platt calibration per signal."""

    def __init__(self, signals: list[str], tfidf: SparseTfidf, weights: np.ndarray,
                 bias: np.ndarray, scale: np.ndarray, offset: np.ndarray,
                 thresholds: dict[str, float]) -> None:
        self.signals = list(signals)
        self.tfidf = tfidf
        self.weights = np.asarray(weights, dtype=np.float32)  # features x signals
        self.bias = np.asarray(bias, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.offset = np.asarray(offset, dtype=np.float64)
        self.thresholds = dict(thresholds)

    def probabilities(self, text: str) -> np.ndarray:
        idx, vals = self.tfidf(features(text))
        z = self.bias + (vals @ self.weights[idx] if len(idx) else 0.0)
        return 1.0 / (1.0 + np.exp(-(self.scale * z + self.offset)))

    def read(self, text: str) -> SafetyReading:
        """The probabilities, and the signals at or above their thresholds. A theft report
        below the alarm but above the check threshold fires `theft_check` instead."""
        p = self.probabilities(text)
        probs = {s: float(v) for s, v in zip(self.signals, p)}
        fired = {s for s, v in probs.items() if v >= self.thresholds.get(s, 1.0)}
        theft = probs.get(THEFT, 0.0)
        if THEFT not in fired and theft >= self.thresholds.get(CHECK, 1.0):
            fired.add(CHECK)
        if languages.pattern("theft_confirm", _CONFIRMS_THEFT).match(text):
            fired.add(THEFT)
        sure = {s for s in fired if probs.get(s, 0.0) >= self.thresholds.get(sure_key(s), 1.0)}
        return SafetyReading(probs, frozenset(fired), frozenset(sure))

    def save(self, folder: Path, name: str = MODEL_NAME, report: dict | None = None) -> None:
        """`name.json` (signals, vocabulary, thresholds) and `name.npz` (the arrays): no
        pickles, so loading the model cannot run code."""
        folder.mkdir(parents=True, exist_ok=True)
        vocab = sorted(self.tfidf.vocabulary, key=self.tfidf.vocabulary.__getitem__)
        meta = {"signals": self.signals, "thresholds": self.thresholds, "vocabulary": vocab,
                "report": report or {}}
        (folder / f"{name}.json").write_text(json.dumps(meta, ensure_ascii=False, indent=0),
                                             encoding="utf-8")
        np.savez_compressed(folder / f"{name}.npz", idf=self.tfidf.idf, weights=self.weights,
                            bias=self.bias, scale=self.scale, offset=self.offset)

    @classmethod
    def load(cls, folder: Path | None = None, name: str = MODEL_NAME) -> "SafetyModel":
        """From `folder`, or the model shipped in the package."""
        if folder is None:
            base = resources.files("assistant").joinpath("data")
            meta = json.loads(base.joinpath(f"{name}.json").read_text(encoding="utf-8"))
            with base.joinpath(f"{name}.npz").open("rb") as fh:
                arrays = dict(np.load(fh, allow_pickle=False))
        else:
            meta = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
            with np.load(folder / f"{name}.npz", allow_pickle=False) as npz:
                arrays = dict(npz)
        tfidf = SparseTfidf({t: i for i, t in enumerate(meta["vocabulary"])}, arrays["idf"])
        return cls(meta["signals"], tfidf, arrays["weights"], arrays["bias"], arrays["scale"],
                   arrays["offset"], meta["thresholds"])


def sure_key(signal: str) -> str:
    """The name of a signal's second, surer threshold in the model's thresholds."""
    return f"{signal}:sure"


@lru_cache(maxsize=1)
def shipped_model() -> SafetyModel:
    """The model in the package (loaded once per process)."""
    return SafetyModel.load()
