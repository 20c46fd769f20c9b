"""Intent classification at serving time: which problem category a message is about, or none.

Two logistic regressions, one on character/word n-grams (works for Chinese) and one on the
sentence embedding (strong for English), each calibrated by temperature scaling and then
averaged. The embedding's share shrinks with the share of the query the model could not
read ([UNK]), so a Chinese query is judged mostly by its n-grams under an English-only
model. The KB's out-of-scope list trains an extra `out_of_scope` class.

This module holds the trained model as arrays and predicts with numpy alone; training
(scikit-learn) is the build's job, in `assistant/tooling/training.py`. A model is stored as
`<name>.json` (labels, vocabulary, temperatures) and `<name>.npz` (idf and coefficients,
read with `allow_pickle=False`): no pickles, so loading one cannot run code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant.core.errors import IndexLoadError
from assistant.core.types import OUT_OF_SCOPE, Intent
from assistant.knowledge.index import read_arrays, read_json, write_arrays, write_json
from assistant.understanding.text import SparseTfidf, analyze

#: The category classifier in an index version, and the article classifier (trained on
#: article ids; absent when categories and ids coincide or there are too many ids).
FILE_NAME = "intent.json"
ARTICLES_FILE = "article_classifier.json"


def arrays_name(name: str) -> str:
    """The arrays' file next to a model's JSON (intent.json: intent.npz)."""
    return name.rsplit(".", 1)[0] + ".npz"


class Linear:
    """A fitted, temperature-scaled logistic regression as plain arrays (for one query)."""

    def __init__(self, coef: np.ndarray, intercept: np.ndarray, temperature: float) -> None:
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.temperature = float(temperature)

    def proba(self, product: np.ndarray) -> np.ndarray:
        """Class probabilities from `coef @ x` (two classes: sklearn's one-column form)."""
        scores = np.asarray(product, dtype=np.float64) + self.intercept
        logits = np.array([0.0, scores[0]]) if len(scores) == 1 else scores
        return softmax(logits.reshape(1, -1) / self.temperature)[0]


class ServingIntent:
    """The trained classifier as arrays: vocabulary, idf, coefficients and temperatures."""

    def __init__(self, labels: list[str], dense_weight: float, tfidf: SparseTfidf,
                 lexical: Linear, dense: Linear) -> None:
        self.labels = list(labels)
        self.dense_weight = dense_weight
        self.tfidf, self.lexical, self.dense = tfidf, lexical, dense

    def predict(self, text: str, vector: np.ndarray, known_ratio: float = 1.0,
                tokens: list[str] | None = None) -> Intent:
        """Calibrated category probabilities for one message (`tokens`: its `analyze`)."""
        feats = tokens if tokens is not None else analyze(text)
        idx, vals = self.tfidf(feats)
        p_lex = self.lexical.proba(self.lexical.coef[:, idx] @ vals)
        p_dense = self.dense.proba(self.dense.coef @ np.asarray(vector, dtype=np.float64))
        w = self.dense_weight * max(0.0, min(1.0, known_ratio))
        probs = (1.0 - w) * p_lex + w * p_dense
        probs = probs / probs.sum()
        by_label = {lab: float(p) for lab, p in zip(self.labels, probs)}
        oos = by_label.get(OUT_OF_SCOPE, 0.0)
        best = max(by_label, key=by_label.__getitem__)
        return Intent(category=best, confidence=by_label[best], out_of_scope=oos,
                      probabilities=by_label)

    def save(self, folder: Path, name: str = FILE_NAME) -> None:
        """`name` (JSON) and its `.npz`; loading them gives bit-identical predictions."""
        vocab = self.tfidf.vocabulary
        write_json(Path(folder) / name, {
            "labels": self.labels, "dense_weight": self.dense_weight,
            "vocabulary": sorted(vocab, key=vocab.__getitem__),
            "lexical_temperature": self.lexical.temperature,
            "dense_temperature": self.dense.temperature})
        write_arrays(Path(folder) / arrays_name(name), idf=self.tfidf.idf,
                     lexical_coef=self.lexical.coef, lexical_intercept=self.lexical.intercept,
                     dense_coef=self.dense.coef, dense_intercept=self.dense.intercept)

    @classmethod
    def load(cls, folder: Path, name: str = FILE_NAME) -> "ServingIntent":
        """From an index version; IndexLoadError (rebuild) when missing or inconsistent."""
        meta = read_json(Path(folder) / name)
        arrays = read_arrays(Path(folder) / arrays_name(name))
        try:
            assert isinstance(meta, dict)
            vocab = {str(t): i for i, t in enumerate(meta["vocabulary"])}
            model = cls([str(x) for x in meta["labels"]], float(meta["dense_weight"]),
                        SparseTfidf(vocab, arrays["idf"]),
                        Linear(arrays["lexical_coef"], arrays["lexical_intercept"],
                               meta["lexical_temperature"]),
                        Linear(arrays["dense_coef"], arrays["dense_intercept"],
                               meta["dense_temperature"]))
        except (AssertionError, KeyError, TypeError, ValueError) as exc:
            raise IndexLoadError(f"{Path(folder) / name} is incomplete ({exc!r}): rebuild "
                                 "the index") from exc
        rows = len(model.labels) if len(model.labels) > 2 else 1
        if model.lexical.coef.shape != (rows, len(vocab)) or len(model.tfidf.idf) != len(vocab) \
                or model.dense.coef.shape[0] != rows:
            raise IndexLoadError(f"{Path(folder) / name} and its arrays disagree in shape: "
                                 "rebuild the index")
        return model


def load_serving(folder: Path, name: str = FILE_NAME) -> ServingIntent:
    """What a server needs to predict (numpy alone), from an index version."""
    return ServingIntent.load(folder, name)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
