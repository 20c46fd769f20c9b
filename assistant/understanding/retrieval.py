"""Hybrid retrieval: dense (FAISS) + lexical (n-gram TF-IDF) + fuzzy + intent prior.

Every article id is scored with the evidence of both its language versions, so a query
mixing "USDT" and Chinese finds the article through either side; the answer is rendered in
the user's language later. Scores are weighted sums of similarities in [0, 1], so one set
of thresholds works for both languages.
"""

from __future__ import annotations

import pickle
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

from assistant.knowledge.index import Entry, VectorIndex
from assistant.understanding.text import SparseTfidf, analyze, normalize, pre_analyzed, sparse_dot
from assistant.core.types import OUT_OF_SCOPE, Article, Hit, Intent

LEXICAL_FILE = "lexical.pkl"


@dataclass(frozen=True)
class Weights:
    """Relative weight of each kind of evidence; they need not sum to one."""

    dense: float
    lexical: float
    fuzzy: float
    intent: float
    article: float = 0.0
    body: float = 0.0


@dataclass(frozen=True)
class QueryFeatures:
    """What the retriever needs to know about a query, computed once per request."""

    text: str
    vector: np.ndarray
    known_ratio: float
    intent: Intent | None = None
    article_probs: dict[str, float] | None = None
    tokens: list[str] | None = None  # `analyze(text)`, computed once per query


def body_text(a: Article) -> str:
    """What the body field of the lexical index holds for an article."""
    return f"{a.title}\n{' '.join(a.tags)}\n{a.body}"


@dataclass(frozen=True)
class CsrRows:
    """A transposed TF-IDF matrix as CSR arrays: row f lists the texts holding feature f."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    width: int  # number of texts

    @classmethod
    def transpose_of(cls, matrix) -> "CsrRows":
        t = matrix.T.tocsr()
        return cls(t.indptr, t.indices, t.data, int(matrix.shape[0]))


@dataclass(frozen=True)
class LexicalIndex:
    """The TF-IDF side of retrieval, built once per index (by the build, with sklearn) and
    read by servers with numpy alone: the query weights and one row per feature."""

    tfidf: SparseTfidf
    entries: CsrRows
    body_ids: tuple[str, ...] = ()
    bodies: CsrRows | None = None

    @classmethod
    def build(cls, entry_tokens: list[list[str]],
              bodies: list[tuple[str, list[str]]] | None = None) -> "LexicalIndex":
        """From the `analyze` output of each entry text and of each (article id, body)."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(analyzer=pre_analyzed, sublinear_tf=True)
        matrix = vectorizer.fit_transform(entry_tokens)
        body_rows = (CsrRows.transpose_of(vectorizer.transform([t for _, t in bodies]))
                     if bodies else None)
        return cls(SparseTfidf.from_vectorizer(vectorizer), CsrRows.transpose_of(matrix),
                   tuple(aid for aid, _ in bodies or []), body_rows)

    def save(self, folder: Path) -> None:
        with open(Path(folder) / LEXICAL_FILE, "wb") as f:
            pickle.dump(self, f, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def load(folder: Path) -> "LexicalIndex | None":
        """The saved lexical index, or None for an index built before it was saved."""
        path = Path(folder) / LEXICAL_FILE
        if not path.is_file():
            return None
        with open(path, "rb") as f:
            lexical = pickle.load(f)  # noqa: S301 - our own build output
        return lexical if isinstance(lexical, LexicalIndex) else None


class HybridRetriever:
    """Scores articles for a query. Lexical structures are built once per index."""

    def __init__(self, vectors: VectorIndex, entries: list[Entry], categories: dict[str, str],
                 weights: Weights, *, bodies: list[tuple[str, str]] | None = None,
                 dense_top_k: int = 64, candidates: int = 10,
                 lexical: LexicalIndex | None = None) -> None:
        if vectors.size != len(entries):
            raise ValueError("vectors and entries differ in length")
        self._vectors = vectors
        self._entries = entries
        self._categories = categories
        self.weights = weights
        self.dense_top_k = dense_top_k
        self.candidates = candidates
        self._entry_article = np.array([e.article_id for e in entries], dtype=object)
        self._texts = [normalize(e.text) for e in entries]
        self._by_article: dict[str, list[int]] = defaultdict(list)
        for i, e in enumerate(entries):
            self._by_article[e.article_id].append(i)
        self._choices = {aid: [self._texts[i] for i in rows]
                         for aid, rows in self._by_article.items()}
        # Article bodies are a second, weaker lexical field (words users use, questions lack).
        if lexical is None and entries:
            lexical = LexicalIndex.build([analyze(t) for t in self._texts],
                                         [(aid, analyze(t)) for aid, t in bodies or []])
        self._lexical = lexical
        self._body_ids = np.array(lexical.body_ids if lexical else (), dtype=object)

    def search(self, q: QueryFeatures, k: int | None = None,
               include: Iterable[str] = ()) -> list[Hit]:
        """Articles best first. `k` defaults to the configured number of candidates.

        `include`: article ids to score in any case (the search box's prefix matches).
        """
        k = k or self.candidates
        include = [aid for aid in include if aid in self._by_article]
        if not self._entries:
            return []
        dense = self._dense_scores(q.vector)
        lexical, lex_best, body = self._lexical_scores(
            q.tokens if q.tokens is not None else analyze(q.text))
        probs = q.intent.probabilities if q.intent else {}
        art_probs = q.article_probs
        w = self.weights
        evidence: dict[str, Hit] = {}
        for aid in set(dense) | set(lexical) | _top(art_probs or {}, self.candidates) | set(include):
            category = self._categories.get(aid, "")
            cat_p = probs.get(category, 0.0)
            # Without an article classifier (one article per category) the two coincide.
            art_p = art_probs.get(aid, 0.0) if art_probs is not None else cat_p
            evidence[aid] = Hit(id=aid, category=category, score=0.0,
                                dense=dense.get(aid, 0.0), lexical=lexical.get(aid, 0.0),
                                intent=cat_p, article=art_p, body=body.get(aid, 0.0),
                                matched=lex_best.get(aid, ""))
        # Fuzzy matching is the costly part: only for the best candidates without it.
        prelim = {aid: combine(h, w, q.known_ratio) for aid, h in evidence.items()}
        shortlist = sorted(prelim, key=prelim.__getitem__, reverse=True)[: max(k, self.candidates)]
        shortlist += [aid for aid in dict.fromkeys(include) if aid not in shortlist]
        fuzzy = self._fuzzy(normalize(q.text), shortlist)
        hits = []
        for aid in shortlist:
            fz, matched = fuzzy.get(aid, (0.0, ""))
            h = replace(evidence[aid], fuzzy=fz, matched=evidence[aid].matched or matched)
            hits.append(replace(h, score=combine(h, w, q.known_ratio)))
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:k]

    def _dense_scores(self, vector: np.ndarray) -> dict[str, float]:
        """Best question (or title) similarity per article among the top vectors."""
        scores, positions = self._vectors.search(vector, self.dense_top_k)
        best: dict[str, float] = {}
        for s, p in zip(scores, positions):
            if p < 0:
                continue
            aid = self._entry_article[p]
            if s > best.get(aid, -1.0):
                best[aid] = max(0.0, float(s))
        return best

    def _lexical_scores(self, tokens: list[str]) -> tuple[dict[str, float], dict[str, str],
                                                          dict[str, float]]:
        """Best TF-IDF cosine per article over questions (and the text) and over bodies."""
        lex = self._lexical
        assert lex is not None
        idx, vals = lex.tfidf(tokens)
        if not len(idx):
            return {}, {}, {}
        body: dict[str, float] = {}
        if lex.bodies is not None:
            for aid, sim in zip(self._body_ids, sparse_dot(lex.bodies, idx, vals)):
                if sim > body.get(aid, 0.0):
                    body[aid] = float(sim)
        sims = sparse_dot(lex.entries, idx, vals)
        top = np.argpartition(-sims, min(len(sims) - 1, self.dense_top_k))[: self.dense_top_k]
        best: dict[str, float] = {}
        best_text: dict[str, str] = {}
        for p in top:
            s = float(sims[p])
            if s <= 0:
                continue
            aid = self._entry_article[p]
            if s > best.get(aid, 0.0):
                best[aid] = s
                best_text[aid] = self._entries[p].text
        return best, best_text, body

    def _fuzzy(self, query_norm: str, article_ids: list[str]) -> dict[str, tuple[float, str]]:
        """Typo-tolerant similarity of each article's closest question (re-ranking only),
        all articles' questions scored in one rapidfuzz call."""
        if not query_norm:
            return {}
        flat: list[str] = []
        spans = []
        for aid in article_ids:
            choices = self._choices.get(aid) or []
            spans.append((aid, len(flat), len(choices)))
            flat.extend(choices)
        if not flat:
            return {}
        scores = process.cdist([query_norm], flat, scorer=fuzz.WRatio, dtype=np.float64,
                               workers=1)[0]
        out = {}
        for aid, start, n in spans:
            if n:
                best = int(np.argmax(scores[start:start + n]))
                out[aid] = (float(scores[start + best]) / 100.0,
                            self._entries[self._by_article[aid][best]].text)
        return out


EVIDENCE = ("dense", "lexical", "fuzzy", "intent", "article", "body")


def combine(hit: Hit, w: Weights, known_ratio: float) -> float:
    """The score of one article: weighted mean of its evidence, each in [0, 1].

    The dense weight shrinks with the share of the query the model could not read.
    """
    weights = effective_weights(w, known_ratio)
    total = sum(weights)
    if not total:
        return 0.0
    return sum(wt * getattr(hit, name) for wt, name in zip(weights, EVIDENCE)) / total


def effective_weights(w: Weights, known_ratio: float) -> tuple[float, ...]:
    ratio = max(0.0, min(1.0, known_ratio))
    return (w.dense * ratio, w.lexical, w.fuzzy, w.intent, w.article, w.body)


def _top(probs: dict[str, float], n: int) -> set[str]:
    """The n most probable article ids (so the classifier can propose candidates too)."""
    if not probs:
        return set()
    ranked = sorted((k for k in probs if k != OUT_OF_SCOPE), key=probs.__getitem__, reverse=True)
    return set(ranked[:n])
