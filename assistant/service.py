"""Composition: the one place that builds the concrete parts from settings.

`Assistant` is cheap to construct; `warm_up()` loads the model, the index, the intent
classifier and the queue. Entry points (API, CLI, eval) use only this class.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass

from threadpoolctl import threadpool_limits

from assistant import entities as ent
from assistant import templates
from assistant.answerer import REASON_HUMAN, REASON_SCAM, REASON_THEFT, Decision, Signals, Thresholds, decide
from assistant.config import Settings
from assistant.embedding import Embedder, make_embedder
from assistant.errors import QueueError
from assistant.handoff import HandoffQueue, SqliteHandoffQueue
from assistant.index import LoadedIndex, load_index, set_threads
from assistant.intent import ARTICLES_FILE, ServingIntent, load_serving
from assistant.retrieval import HybridRetriever, LexicalIndex, QueryFeatures, Weights, body_text
from assistant.safety import looks_like_scam, looks_like_theft, redact
from assistant.text import analyze, detect_lang, normalize
from assistant.types import LANGS, Hit, Intent, Lang, Reply, Ticket

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchResult:
    id: str
    title: str
    category: str
    lang: Lang
    snippet: str
    score: float

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "category": self.category,
                "lang": self.lang, "snippet": self.snippet, "score": round(self.score, 4)}


@dataclass(frozen=True)
class Trace:
    """What understanding produced for one message, before thresholds."""

    text: str
    lang: Lang
    intent: Intent
    hits: tuple[Hit, ...]
    latency_ms: float
    known_ratio: float = 1.0


def thresholds_for(settings: Settings, lang: str) -> Thresholds:
    """The decision thresholds for one language (settings, tuned file, overrides)."""
    return Thresholds(
        answer=settings.threshold("answer_threshold", lang),
        clarify=settings.threshold("clarify_threshold", lang),
        margin=settings.threshold("clarify_margin", lang),
        decline=settings.threshold("decline_threshold", lang),
        clarify_max=settings.clarify_max)


@dataclass(frozen=True)
class _State:
    """One loaded index version and everything built from it; swapped whole on reload."""

    index: LoadedIndex
    classifier: ServingIntent
    article_classifier: ServingIntent | None
    retriever: HybridRetriever
    handoff_flags: dict[str, bool]
    snippets: dict[tuple[str, str, str], str]  # (id, article lang, reply lang) -> snippet


class Assistant:
    """The whole query path: redact, understand, retrieve, decide, word, hand off."""

    def __init__(self, settings: Settings, *, embedder: Embedder | None = None,
                 queue: HandoffQueue | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or make_embedder(settings)
        self.queue: HandoffQueue = queue or SqliteHandoffQueue(settings.queue_path)
        self._state: _State | None = None
        self._reload_lock = threading.Lock()
        self._segmenter_warm = False
        self.facts = templates.SiteFacts(
            settings.support_email, settings.official_site,
            {"en": settings.support_hours_en, "zh": settings.support_hours_zh})
        self.thresholds: dict[str, Thresholds] = {lang: thresholds_for(settings, lang)
                                                  for lang in LANGS}

    # ------------------------------------------------------------ lifecycle

    def warm_up(self) -> "Assistant":
        """Load everything; raises IndexLoadError (with the fix) when the index is unusable."""
        if self._state is not None:
            return self
        with self._reload_lock:
            if self._state is None:
                set_threads(self.settings.embed_threads)
                threadpool_limits(self.settings.embed_threads)  # BLAS under numpy/sklearn
                state = self._load()  # checks the index and its model before loading the model
                warm = getattr(self.embedder, "warm_up", None)
                if warm:
                    warm()
                self._state = state
                open_queue = getattr(self.queue, "open", None)
                if open_queue:
                    open_queue()
        return self

    def _warm_segmenter(self) -> None:
        """Load jieba's dictionary (~0.5 s) in the background once the first message is
        answered: neither start-up nor that first reply waits for it, and it is usually
        ready before the first Chinese message (which would otherwise load it itself)."""
        if self._segmenter_warm:
            return
        self._segmenter_warm = True
        threading.Thread(target=analyze, args=("钱包助记词",), daemon=True,
                         name="jieba-warm-up").start()

    def reload(self) -> bool:
        """Load the currently published index next to the serving one, then swap.

        Requests in flight finish on the state they started with. Returns False when the
        published version is already serving; raises (and keeps serving) when it is unusable.
        """
        with self._reload_lock:
            current = self._state.index.manifest.version if self._state else None
            fresh = self._load()
            if fresh.index.manifest.version == current:
                return False
            self._state = fresh
            return True

    def _load(self) -> "_State":
        loaded = load_index(self.settings.index_dir, expected_model=self.settings.model,
                            expected_backend=getattr(self.embedder, "backend", None))
        classifier = load_serving(loaded.path)
        articles_file = loaded.path / ARTICLES_FILE
        article_classifier = (load_serving(loaded.path, ARTICLES_FILE)
                              if articles_file.is_file() else None)
        categories = {a.id: a.category for a in loaded.kb.articles}
        s = self.settings
        retriever = HybridRetriever(
            loaded.vectors, loaded.entries, categories,
            Weights(s.weight_dense, s.weight_lexical, s.weight_fuzzy, s.weight_intent,
                    s.weight_article, s.weight_body),
            bodies=[(a.id, body_text(a)) for a in loaded.kb.articles],
            dense_top_k=s.dense_top_k, candidates=s.candidates,
            lexical=LexicalIndex.load(loaded.path))
        log.info("index %s loaded: %d articles, model %s", loaded.manifest.version,
                 loaded.manifest.articles, loaded.manifest.model)
        snippets = {(a.id, a.lang, lang): _snippet(templates.render_article(
                        a, ent.Entities(), self.facts, lang), s.snippet_chars)
                    for a in loaded.kb.articles for lang in LANGS}
        return _State(loaded, classifier, article_classifier, retriever,
                      {a.id: a.handoff for a in loaded.kb.articles}, snippets)

    @property
    def state(self) -> "_State":
        """The serving index and models (one consistent snapshot)."""
        self.warm_up()
        assert self._state is not None
        return self._state

    @property
    def ready(self) -> bool:
        """True once the index and the model are loaded."""
        return self._state is not None

    @property
    def index(self) -> LoadedIndex | None:
        return self._state.index if self._state else None

    @property
    def retriever(self) -> HybridRetriever | None:
        return self._state.retriever if self._state else None

    @property
    def handoff_flags(self) -> dict[str, bool]:
        return self._state.handoff_flags if self._state else {}

    def close(self) -> None:
        self.queue.close()

    # ------------------------------------------------------------ queries

    def understand(self, text: str, st: "_State | None" = None) -> tuple[QueryFeatures, list[Hit]]:
        """Intent and scored articles for an already redacted text (no thresholds)."""
        st = st or self.state
        vector = self.embedder.encode_query(normalize(text))
        ratio = self._known_ratio(text)
        tokens = analyze(text)
        intent = st.classifier.predict(text, vector, ratio, tokens)
        article_probs = (st.article_classifier.predict(text, vector, ratio, tokens).probabilities
                         if st.article_classifier else None)
        features = QueryFeatures(text, vector, ratio, intent, article_probs, tokens)
        return features, st.retriever.search(features)

    def answer(self, query: str, lang: Lang | None = None, session_id: str | None = None) -> Reply:
        """Answer one message. The secret-free text is all that the rest of the path sees."""
        return self.answer_with_trace(query, lang, session_id)[0]

    def answer_with_trace(self, query: str, lang: Lang | None = None,
                          session_id: str | None = None, *,
                          tickets: bool = True) -> tuple[Reply, Trace]:
        """The reply and what led to it (the eval re-decides from the trace).

        `tickets=False` decides and words a handoff without queueing it (offline scoring).
        """
        started = time.perf_counter()
        red = redact(query)
        text = red.text
        lang = lang or detect_lang(text)
        st = self.state
        features, hits = self.understand(text, st)
        assert features.intent is not None
        decision = decide(text, features.intent, hits, self.thresholds[lang], st.handoff_flags,
                          self._signals(text, st))
        reply = self._word(st, decision, text, lang, features.intent, session_id, red.found,
                           tickets)
        elapsed = (time.perf_counter() - started) * 1000
        log.info("action=%s intent=%s(%.2f) top=%s score=%.3f lang=%s ms=%.1f",
                 reply.action, features.intent.category, features.intent.confidence,
                 hits[0].id if hits else "-", decision.confidence, lang, elapsed)
        self._warm_segmenter()
        return reply, Trace(text, lang, features.intent, tuple(hits), elapsed,
                            features.known_ratio)

    def search(self, query: str, k: int = 5, lang: Lang | None = None,
               min_score: float | None = None) -> list[SearchResult]:
        """Articles for a search box: same hybrid ranking, titles in the user's language."""
        text = redact(query).text
        lang = lang or detect_lang(text)
        st = self.state
        _, hits = self.understand(text, st)
        floor = self.settings.search_min_score if min_score is None else min_score
        results = []
        for h in hits[:k]:
            if h.score < floor:
                continue
            article = st.index.kb.get(h.id, lang)
            if article is None:
                continue
            results.append(SearchResult(h.id, article.title, article.category, article.lang,
                                        st.snippets[(article.id, article.lang, lang)], h.score))
        self._warm_segmenter()
        return results

    def health(self) -> dict:
        m = self.index.manifest if self.index else None
        return {
            "status": "ok" if m else "loading",
            "index_version": m.version if m else None,
            "articles": m.articles if m else 0,
            "article_ids": m.article_ids if m else 0,
            "model": self.settings.model,
        }

    # ------------------------------------------------------------ helpers

    def _word(self, st: "_State", d: Decision, text: str, lang: Lang, intent: Intent,
              session_id: str | None, redacted: bool, tickets: bool = True) -> Reply:
        kb = st.index.kb
        titles = {h.id: a.title for h in d.candidates if (a := kb.get(h.id, lang))}
        article = kb.get(d.article_id, lang) if d.article_id else None
        parts: list[str] = []
        if redacted:
            parts.append(templates.message(lang, "secret"))
        if d.reason == REASON_SCAM:
            parts.append(templates.message(lang, "scam"))
        if d.reason == REASON_THEFT:
            parts.append(templates.message(lang, "theft"))
        if article is not None:
            parts.append(templates.render_article(article, ent.extract(text), self.facts, lang))
        if d.action == "decline":
            parts.append(templates.message(lang, "decline"))
        elif d.action == "clarify":
            parts.append(templates.clarify_text(lang, [titles[h.id] for h in d.candidates
                                                       if h.id in titles]))
        ticket: Ticket | None = None
        if d.action == "handoff":
            key = ("handoff_urgent" if d.urgent else "handoff_article" if article is not None
                   else "handoff_human" if d.reason == REASON_HUMAN else "handoff_low")
            parts.append(templates.message(lang, key))
            if tickets:
                ticket = self._ticket(text, lang, session_id, intent, d, titles)
                parts.append(templates.message(lang, "ticket", ticket_id=ticket.id,
                                               position=ticket.position) if ticket
                             else templates.message(lang, "ticket_failed",
                                                    support_email=self.facts.support_email))
        return Reply(
            action=d.action, answer="\n\n".join(parts), lang=lang, article=article,
            intent=intent, confidence=d.confidence,
            candidates=d.candidates if d.action != "decline" else (),
            candidate_titles=titles, ticket=ticket, reason=d.reason, redacted=redacted,
        )

    def _ticket(self, text: str, lang: Lang, session_id: str | None, intent: Intent,
                d: Decision, titles: dict[str, str]) -> Ticket | None:
        candidates = [{"id": h.id, "title": titles.get(h.id, h.id), "score": round(h.score, 4)}
                      for h in d.candidates]
        try:
            return self.queue.create(query=text, lang=lang, session_id=session_id,
                                     category=intent.category, reason=d.reason,
                                     candidates=candidates,
                                     priority="urgent" if d.urgent else "normal")
        except QueueError:
            log.exception("ticket not created")
            return None

    def _signals(self, text: str, st: "_State") -> Signals:
        ids = st.handoff_flags  # every article id
        s = self.settings
        return Signals(scam=looks_like_scam(text), theft=looks_like_theft(text),
                       scam_article=s.scam_article if s.scam_article in ids else None,
                       theft_article=s.theft_article if s.theft_article in ids else None)

    def _known_ratio(self, text: str) -> float:
        ratio = getattr(self.embedder, "known_ratio", None)
        return float(ratio(text)) if ratio else 1.0


_MD = re.compile(r"[#*`>]|\[|\]\(\S+?\)|\]")


def _snippet(body: str, limit: int) -> str:
    """The start of the article as plain text, cut at a word boundary."""
    plain = " ".join(_MD.sub("", body).split())
    if len(plain) <= limit:
        return plain
    cut = plain[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit * 0.6 else cut) + "…"
