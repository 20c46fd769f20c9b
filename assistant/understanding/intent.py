"""Intent classification: which problem category a message is about, or none.

Two logistic regressions, one on character/word n-grams (works for Chinese) and one on the
sentence embedding (strong for English), are each calibrated (temperature scaling on
cross-validated logits) and then averaged. The
embedding's share shrinks with the share of the query the model could not read ([UNK]),
so a Chinese query is judged mostly by its n-grams under an English-only model. The KB's
out-of-scope list trains an extra `out_of_scope` class.

Training runs with one BLAS thread: the solver's many small steps only pay hand-off cost
for more threads (on a busy 2-core machine one thread trains ~10x faster). A rebuild whose
training rows barely changed starts from the previous model and keeps its temperatures,
so editing one article retrains in a fraction of the time of a full build.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import warnings
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from threadpoolctl import threadpool_limits

from assistant.understanding.text import SparseTfidf, analyze, pre_analyzed
from assistant.core.types import OUT_OF_SCOPE, Intent

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

log = logging.getLogger(__name__)

FILE_NAME = "intent.joblib"
ARTICLES_FILE = "articles.joblib"
#: A previous model is reused as the starting point when at most this share of rows changed.
WARM_START_MAX_CHANGE = 0.05


class IntentClassifier:
    """Label + calibrated probability. Train with `fit`, persist with `save`/`load`.

    Trained on categories it is the intent classifier; trained on article ids it gives
    retrieval a per-article probability (the build trains both when they differ).
    sklearn is imported only to train: `save` also writes the `ServingIntent` form, which a
    server loads with numpy alone (less memory, faster start).
    """

    def __init__(self, *, dense_weight: float = 0.5, c: float = 10.0, seed: int = 0,
                 threads: int = 1) -> None:
        self.dense_weight = dense_weight
        self.c = c
        self.seed = seed
        self.threads = threads
        self.labels: list[str] = []
        self.warm_started = False
        self._rows: frozenset[str] = frozenset()
        self._vectorizer: "TfidfVectorizer | None" = None
        self._lexical: _TemperatureScaled | None = None
        self._dense: _TemperatureScaled | None = None
        self._fast: ServingIntent | None = None

    def fit(self, texts: list[str], labels: list[str], vectors: np.ndarray,
            previous: "IntentClassifier | None" = None,
            tokens: list[list[str]] | None = None) -> "IntentClassifier":
        """Fit both models; `vectors` are the normalised embeddings of `texts`.

        `previous` (the last build's model) is used as a warm start when it learned the same
        labels from nearly the same rows; `tokens` are the texts' `analyze` output if known.
        """
        from sklearn.feature_extraction.text import TfidfVectorizer

        if len(set(labels)) < 2:
            raise ValueError("the intent classifier needs at least two categories to learn")
        rows = frozenset(_row_key(t, lab) for t, lab in zip(texts, labels))
        warm = previous if previous is not None and self._can_warm_start(previous, rows,
                                                                          labels) else None
        self._vectorizer = TfidfVectorizer(analyzer=pre_analyzed, sublinear_tf=True)
        x_lex = self._vectorizer.fit_transform(tokens if tokens is not None else
                                               [analyze(t) for t in texts])
        y = np.asarray(labels)
        with threadpool_limits(self.threads):
            if warm is not None:
                self._lexical = self._model(y).fit(x_lex, y, warm._lexical,
                                                   _remap(warm, self._vectorizer))
                self._dense = self._model(y).fit(vectors, y, warm._dense)
            else:
                self._lexical = self._model(y).fit(x_lex, y)
                self._dense = self._model(y).fit(vectors, y)
        assert self._lexical is not None
        self.labels = [str(c) for c in self._lexical.classes_]
        self._rows = rows
        self.warm_started = warm is not None
        self._prepare()
        return self

    def _prepare(self) -> None:
        """The arrays `predict` uses: one query costs two small products, no sklearn call."""
        assert self._vectorizer is not None and self._lexical is not None \
            and self._dense is not None
        self._fast = ServingIntent(self.labels, self.dense_weight,
                                   SparseTfidf.from_vectorizer(self._vectorizer),
                                   _Linear(self._lexical), _Linear(self._dense))

    def serving(self) -> "ServingIntent":
        assert self._fast is not None, "fit() first"
        return self._fast

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_fast", None)  # rebuilt on load
        return state

    def _can_warm_start(self, previous: "IntentClassifier", rows: frozenset[str],
                        labels: list[str]) -> bool:
        if previous._lexical is None or (previous.c, previous.seed) != (self.c, self.seed):
            return False
        before: frozenset[str] = getattr(previous, "_rows", frozenset())  # absent in older models
        if sorted(previous.labels) != sorted(set(labels)) or not before:
            return False
        changed = len(rows ^ before)
        return changed <= WARM_START_MAX_CHANGE * max(len(rows), 1)

    def _model(self, y: np.ndarray) -> "_TemperatureScaled":
        from sklearn.linear_model import LogisticRegression

        base = LogisticRegression(C=self.c, max_iter=3000, class_weight="balanced",
                                  random_state=self.seed)
        folds = min(3, min(Counter(y.tolist()).values()))
        return _TemperatureScaled(base, folds)

    def predict(self, text: str, vector: np.ndarray, known_ratio: float = 1.0,
                tokens: list[str] | None = None) -> Intent:
        """Calibrated category probabilities for one message (`tokens`: its `analyze`)."""
        if self._fast is None:
            raise RuntimeError("IntentClassifier used before fit() or load()")
        return self._fast.predict(text, vector, known_ratio, tokens)

    def save(self, folder: Path, name: str = FILE_NAME) -> None:
        """The full model (to warm-start the next build) and its serving form."""
        import joblib

        joblib.dump(self, Path(folder) / name)
        with open(Path(folder) / serving_name(name), "wb") as f:
            pickle.dump(self._fast, f, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def load(folder: Path, name: str = FILE_NAME) -> "IntentClassifier":
        import joblib

        model = joblib.load(Path(folder) / name)
        if not isinstance(model, IntentClassifier):
            raise TypeError(f"{Path(folder) / name} does not hold an IntentClassifier")
        model._prepare()
        return model


def serving_name(name: str) -> str:
    """The serving form's file next to the full model (intent.joblib: intent.serving.pkl)."""
    return name.rsplit(".", 1)[0] + ".serving.pkl"


def load_serving(folder: Path, name: str = FILE_NAME) -> "ServingIntent":
    """What a server needs to predict, without sklearn; from an older index, the full model."""
    path = Path(folder) / serving_name(name)
    if not path.is_file():
        return IntentClassifier.load(folder, name).serving()
    with open(path, "rb") as f:
        model = pickle.load(f)  # noqa: S301 - our own build output
    if not isinstance(model, ServingIntent):
        raise TypeError(f"{path} does not hold a ServingIntent")
    return model


class ServingIntent:
    """The trained classifier as arrays: vocabulary, idf, coefficients and temperatures."""

    def __init__(self, labels: list[str], dense_weight: float, tfidf: SparseTfidf,
                 lexical: "_Linear", dense: "_Linear") -> None:
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


class _TemperatureScaled:
    """Logistic regression whose softmax temperature is fitted on cross-validated logits.

    Temperature scaling (Guo et al., 2017) calibrates confidence without changing the
    ranking, and predicting costs one model: no per-class calibrators.
    """

    def __init__(self, model: "LogisticRegression", folds: int) -> None:
        self.model = model
        self.folds = folds
        self.temperature = 1.0

    def fit(self, x, y: np.ndarray, warm: "_TemperatureScaled | None" = None,
            coef: np.ndarray | None = None) -> "_TemperatureScaled":
        """Fit the temperature on cross-validated logits, then the model on everything.

        With `warm` (a model of the same classes on nearly the same rows) its temperature
        is kept and its coefficients (`coef`, when the features were renumbered) start the
        solver, which then needs a few iterations instead of a full cross-validation.
        """
        from sklearn.base import clone
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if warm is not None:
                self.temperature = warm.temperature
                self.model.set_params(warm_start=True)
                self.model.coef_ = np.array(warm.model.coef_ if coef is None else coef)
                self.model.intercept_ = np.array(warm.model.intercept_)
            elif self.folds >= 2:
                logits = _as_logits(cross_val_predict(
                    clone(self.model), x, y, cv=StratifiedKFold(self.folds, shuffle=True,
                                                                random_state=0),
                    method="decision_function"))
                classes = np.unique(y)
                index = np.searchsorted(classes, y)
                self.temperature = _fit_temperature(logits, index)
            self.model.fit(x, y)
        return self

    @property
    def classes_(self) -> np.ndarray:
        return self.model.classes_

    def predict_proba(self, x) -> np.ndarray:
        return _softmax(_as_logits(self.model.decision_function(x)) / self.temperature)


class _Linear:
    """A fitted, temperature-scaled logistic regression as plain arrays (for one query)."""

    def __init__(self, scaled: _TemperatureScaled) -> None:
        self.coef = np.asarray(scaled.model.coef_, dtype=np.float64)
        self.intercept = np.asarray(scaled.model.intercept_, dtype=np.float64)
        self.temperature = float(scaled.temperature)

    def proba(self, product: np.ndarray) -> np.ndarray:
        """Class probabilities from `coef @ x` (two classes: sklearn's one-column form)."""
        scores = np.asarray(product, dtype=np.float64) + self.intercept
        logits = np.array([0.0, scores[0]]) if len(scores) == 1 else scores
        return _softmax(logits.reshape(1, -1) / self.temperature)[0]


def _row_key(text: str, label: str) -> str:
    return hashlib.blake2b(f"{label}\x1f{text}".encode(), digest_size=12).hexdigest()


def _remap(previous: IntentClassifier, vectorizer: "TfidfVectorizer") -> np.ndarray:
    """The previous lexical coefficients moved to the new vocabulary's columns (new n-grams
    start at zero)."""
    old_vocab = previous._vectorizer.vocabulary_  # type: ignore[union-attr]
    old_coef = previous._lexical.model.coef_  # type: ignore[union-attr]  # set by fit()
    coef = np.zeros((old_coef.shape[0], len(vectorizer.vocabulary_)), dtype=old_coef.dtype)
    pairs = [(j, old_vocab[f]) for f, j in vectorizer.vocabulary_.items() if f in old_vocab]
    if pairs:
        new_cols, old_cols = map(list, zip(*pairs))
        coef[:, new_cols] = old_coef[:, old_cols]
    return coef


def _as_logits(scores: np.ndarray) -> np.ndarray:
    """Binary decision scores (n,) become two-column logits (n, 2)."""
    if scores.ndim == 1:
        return np.stack([np.zeros_like(scores), scores], axis=1)
    return scores


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _fit_temperature(logits: np.ndarray, index: np.ndarray) -> float:
    """The temperature minimising the negative log-likelihood of the true classes."""
    def nll(t: float) -> float:
        p = _softmax(logits / t)[np.arange(len(index)), index]
        return float(-np.log(np.clip(p, 1e-12, None)).mean())

    from scipy.optimize import minimize_scalar

    result = minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded")
    return float(result.x)
