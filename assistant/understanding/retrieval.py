"""Hybrid retrieval: dense (FAISS) + lexical (n-gram TF-IDF) + fuzzy + intent prior.

Every article id is scored with the evidence of both its language versions, so a query
mixing "USDT" and Chinese finds the article through either side; the answer is rendered in
the user's language later. Scores are weighted sums of similarities in [0, 1], so one set
of thresholds works for both languages.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

from assistant.core.errors import IndexLoadError
from assistant.core.types import OUT_OF_SCOPE, Article, Hit, Intent
from assistant.knowledge.index import (Entry, VectorIndex, read_arrays, read_json, write_arrays,
                                       write_json)
from assistant.understanding.text import SparseTfidf, analyze, normalize, sparse_dot

#: The lexical index in an index version: vocabulary and article ids (JSON), arrays (npz).
LEXICAL_FILE = "lexical.json"
LEXICAL_ARRAYS = "lexical.npz"


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
    """The TF-IDF side of retrieval, built once per index by the build
    (`assistant.tooling.training.build_lexical`, with sklearn) and read by servers with
    numpy alone: the query weights and one row per feature."""

    tfidf: SparseTfidf
    entries: CsrRows
    body_ids: tuple[str, ...] = ()
    bodies: CsrRows | None = None

    def save(self, folder: Path) -> None:
        """`lexical.json` and `lexical.npz` (no pickles: loading cannot run code)."""
        vocab = self.tfidf.vocabulary
        write_json(Path(folder) / LEXICAL_FILE, {
            "vocabulary": sorted(vocab, key=vocab.__getitem__), "body_ids": list(self.body_ids),
            "entries_width": self.entries.width,
            "bodies_width": self.bodies.width if self.bodies is not None else None})
        arrays = {"idf": self.tfidf.idf, **_csr_arrays("entries", self.entries)}
        if self.bodies is not None:
            arrays.update(_csr_arrays("bodies", self.bodies))
        write_arrays(Path(folder) / LEXICAL_ARRAYS, **arrays)

    @staticmethod
    def load(folder: Path) -> "LexicalIndex":
        """The saved lexical index; IndexLoadError (rebuild) when missing or inconsistent."""
        meta = read_json(Path(folder) / LEXICAL_FILE)
        arrays = read_arrays(Path(folder) / LEXICAL_ARRAYS)
        try:
            assert isinstance(meta, dict)
            vocab = {str(t): i for i, t in enumerate(meta["vocabulary"])}
            bodies = (_csr_rows("bodies", arrays, int(meta["bodies_width"]))
                      if meta.get("bodies_width") is not None else None)
            lexical = LexicalIndex(SparseTfidf(vocab, arrays["idf"]),
                                   _csr_rows("entries", arrays, int(meta["entries_width"])),
                                   tuple(str(a) for a in meta.get("body_ids", [])), bodies)
        except (AssertionError, KeyError, TypeError, ValueError) as exc:
            raise IndexLoadError(f"{Path(folder) / LEXICAL_FILE} is incomplete ({exc!r}): "
                                 "rebuild the index") from exc
        rows = [lexical.entries] + ([bodies] if bodies is not None else [])
        if len(lexical.tfidf.idf) != len(vocab) or any(
                len(r.indptr) != len(vocab) + 1 for r in rows):
            raise IndexLoadError(f"{Path(folder) / LEXICAL_FILE} and its arrays disagree in "
                                 "shape: rebuild the index")
        return lexical


def _csr_arrays(prefix: str, rows: CsrRows) -> dict[str, np.ndarray]:
    return {f"{prefix}_indptr": rows.indptr, f"{prefix}_indices": rows.indices,
            f"{prefix}_data": rows.data}


def _csr_rows(prefix: str, arrays: dict[str, np.ndarray], width: int) -> CsrRows:
    return CsrRows(arrays[f"{prefix}_indptr"], arrays[f"{prefix}_indices"],
                   arrays[f"{prefix}_data"], width)


class HybridRetriever:
    """Scores articles for a query over one index version's vectors and lexical index."""

    def __init__(self, vectors: VectorIndex, entries: list[Entry], categories: dict[str, str],
                 weights: Weights, *, dense_top_k: int = 64, candidates: int = 10,
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
        # Built by the index build (`assistant.tooling.training.build_lexical`): servers
        # never train. Article bodies are its second, weaker field.
        if lexical is None and entries:
            raise ValueError("HybridRetriever needs the lexical index of its entries "
                             "(LexicalIndex.load from the index version)")
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
        # Sorted: equal scores rank by id, the same in every process (sets iterate by hash).
        for aid in sorted(set(dense) | set(lexical) | _top(art_probs or {}, self.candidates)
                          | set(include)):
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
        shortlist = sorted(prelim, key=lambda a: (-prelim[a], a))[: max(k, self.candidates)]
        shortlist += [aid for aid in dict.fromkeys(include) if aid not in shortlist]
        fuzzy = self._fuzzy(normalize(q.text), shortlist)
        hits = []
        for aid in shortlist:
            fz, matched = fuzzy.get(aid, (0.0, ""))
            h = replace(evidence[aid], fuzzy=fz, matched=evidence[aid].matched or matched)
            hits.append(replace(h, score=combine(h, w, q.known_ratio)))
        hits.sort(key=lambda h: (-h.score, h.id))
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
