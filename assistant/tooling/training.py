"""Training the models an index serves: the intent (and article) classifier and the lexical
index. Build-time only: scikit-learn and SciPy are imported here and never by a server,
which reads the results as arrays (`understanding/intent.py`, `understanding/retrieval.py`).

Training runs with one BLAS thread: the solver's many small steps only pay hand-off cost
for more threads (on a busy 2-core machine one thread trains ~10x faster). A rebuild whose
training rows barely changed starts from the previous model and keeps its temperatures,
so editing one article retrains in a fraction of the time of a full build.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from threadpoolctl import threadpool_limits

from assistant.core.errors import IndexLoadError
from assistant.core.types import Intent
from assistant.knowledge.index import read_json, write_json
from assistant.understanding.intent import FILE_NAME, Linear, ServingIntent, softmax
from assistant.understanding.retrieval import CsrRows, LexicalIndex
from assistant.understanding.text import SparseTfidf, analyze, pre_analyzed

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

#: A previous model is reused as the starting point when at most this share of rows changed.
WARM_START_MAX_CHANGE = 0.05


def training_name(name: str) -> str:
    """What the next build needs to warm-start, next to the model (intent.training.json)."""
    return name.rsplit(".", 1)[0] + ".training.json"


class IntentClassifier:
    """Label + calibrated probability. Train with `fit`, persist with `save`/`load`.

    Trained on categories it is the intent classifier; trained on article ids it gives
    retrieval a per-article probability (the build trains both when they differ). `save`
    writes the serving form (`ServingIntent`) and the training state a later build
    warm-starts from; `load` reads them back (a loaded model predicts and seeds a warm
    start, it has no sklearn objects).
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
        warm = previous.serving() if previous is not None and self._can_warm_start(
            previous, rows, labels) else None
        self._vectorizer = TfidfVectorizer(analyzer=pre_analyzed, sublinear_tf=True)
        x_lex = self._vectorizer.fit_transform(tokens if tokens is not None else
                                               [analyze(t) for t in texts])
        y = np.asarray(labels)
        with threadpool_limits(self.threads):
            if warm is not None:
                self._lexical = self._model(y).fit(x_lex, y, warm.lexical,
                                                   _remap(warm, self._vectorizer))
                self._dense = self._model(y).fit(vectors, y, warm.dense)
            else:
                self._lexical = self._model(y).fit(x_lex, y)
                self._dense = self._model(y).fit(vectors, y)
        assert self._lexical is not None and self._dense is not None
        self.labels = [str(c) for c in self._lexical.classes_]
        self._rows = rows
        self.warm_started = warm is not None
        self._fast = ServingIntent(self.labels, self.dense_weight,
                                   SparseTfidf.from_vectorizer(self._vectorizer),
                                   self._lexical.linear(), self._dense.linear())
        return self

    def serving(self) -> ServingIntent:
        assert self._fast is not None, "fit() or load() first"
        return self._fast

    def _can_warm_start(self, previous: "IntentClassifier", rows: frozenset[str],
                        labels: list[str]) -> bool:
        if previous._fast is None or (previous.c, previous.seed) != (self.c, self.seed):
            return False
        if sorted(previous.labels) != sorted(set(labels)) or not previous._rows:
            return False
        changed = len(rows ^ previous._rows)
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
        """The serving form (JSON + npz) and the training state (JSON): no pickles."""
        self.serving().save(folder, name)
        write_json(Path(folder) / training_name(name), {
            "c": self.c, "seed": self.seed, "warm_started": self.warm_started,
            "rows": sorted(self._rows)})

    @staticmethod
    def load(folder: Path, name: str = FILE_NAME) -> "IntentClassifier":
        """A saved model: predicts, and seeds the next build's warm start."""
        serving = ServingIntent.load(folder, name)
        state = read_json(Path(folder) / training_name(name))
        if not isinstance(state, dict):
            raise IndexLoadError(f"{Path(folder) / training_name(name)} is not a training state")
        model = IntentClassifier(dense_weight=serving.dense_weight, c=float(state["c"]),
                                 seed=int(state["seed"]))
        model.labels = list(serving.labels)
        model.warm_started = bool(state.get("warm_started", False))
        model._rows = frozenset(str(r) for r in state.get("rows", []))
        model._fast = serving
        return model


def build_lexical(entry_tokens: list[list[str]],
                  bodies: list[tuple[str, list[str]]] | None = None) -> LexicalIndex:
    """The lexical index from the `analyze` output of each entry text and of each
    (article id, body): TF-IDF fitted on the entries, bodies weighed with the same idf."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer=pre_analyzed, sublinear_tf=True)
    matrix = vectorizer.fit_transform(entry_tokens)
    body_rows = (CsrRows.transpose_of(vectorizer.transform([t for _, t in bodies]))
                 if bodies else None)
    return LexicalIndex(SparseTfidf.from_vectorizer(vectorizer), CsrRows.transpose_of(matrix),
                        tuple(aid for aid, _ in bodies or []), body_rows)


class _TemperatureScaled:
    """Logistic regression whose softmax temperature is fitted on cross-validated logits.

    Temperature scaling (Guo et al., 2017) calibrates confidence without changing the
    ranking, and predicting costs one model: no per-class calibrators.
    """

    def __init__(self, model: "LogisticRegression", folds: int) -> None:
        self.model = model
        self.folds = folds
        self.temperature = 1.0

    def fit(self, x, y: np.ndarray, warm: Linear | None = None,
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
                self.model.coef_ = np.array(warm.coef if coef is None else coef)
                self.model.intercept_ = np.array(warm.intercept)
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
        return softmax(_as_logits(self.model.decision_function(x)) / self.temperature)

    def linear(self) -> Linear:
        """The serving form: coefficients, intercepts and temperature as arrays."""
        return Linear(self.model.coef_, self.model.intercept_, self.temperature)


def _row_key(text: str, label: str) -> str:
    return hashlib.blake2b(f"{label}\x1f{text}".encode(), digest_size=12).hexdigest()


def _remap(previous: ServingIntent, vectorizer: "TfidfVectorizer") -> np.ndarray:
    """The previous lexical coefficients moved to the new vocabulary's columns (new n-grams
    start at zero)."""
    old_vocab = previous.tfidf.vocabulary
    old_coef = previous.lexical.coef
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


def _fit_temperature(logits: np.ndarray, index: np.ndarray) -> float:
    """The temperature minimising the negative log-likelihood of the true classes."""
    def nll(t: float) -> float:
        p = softmax(logits / t)[np.arange(len(index)), index]
        return float(-np.log(np.clip(p, 1e-12, None)).mean())

    from scipy.optimize import minimize_scalar

    result = minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded")
    return float(result.x)
