"""Composition: the one place that builds the concrete parts from settings.

`Assistant` is cheap to construct; `warm_up()` loads the model, the index, the intent
classifier and the queue. Entry points (API, CLI, eval) use only this class.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from threadpoolctl import threadpool_limits

from assistant.core import languages
from assistant.understanding import entities as ent
from assistant.deciding import templates
from assistant.knowledge.articles import category_label, to_html
from assistant.deciding.answerer import (REASON_EXPOSED, REASON_HUMAN, REASON_SCAM, REASON_THEFT,
                                Decision, Signals, Thresholds, decide)
from assistant.core.config import Settings
from assistant.knowledge.embedding import Embedder, make_embedder
from assistant.core.errors import QueueError, TicketNotFound
from assistant.handoff import insights
from assistant.handoff.conversation import HandoffConversation, digest
from assistant.handoff.queue import HandoffQueue, Pace, open_queue
from assistant.knowledge.index import LoadedIndex, load_index, set_threads
from assistant.understanding.intent import ARTICLES_FILE, ServingIntent, load_serving
from assistant.understanding.retrieval import HybridRetriever, LexicalIndex, QueryFeatures, Weights
from assistant.understanding.redaction import Redaction, SessionWindow
from assistant.understanding.safety import CHECK, SIGNALS, THEFT, SafetyModel, shipped_model
from assistant.understanding.search import Marked, ResultCache, SearchIndex
from assistant.understanding.text import analyze, detect_lang, is_traditional, normalize, to_traditional
from assistant.core.types import Action, Hit, Intent, Lang, Reply, Ticket

log = logging.getLogger(__name__)

#: Articles the search box's term matches add to the hybrid candidates (scored in any case).
SEARCH_INCLUDE = 5
#: `Assistant.queue_state` when the queue takes writes.
QUEUE_OK = "ok"


@dataclass(frozen=True)
class SearchResult:
    """One search-box result; `fallback` when the article exists only in the other language."""

    id: str
    title: str
    category: str
    lang: Lang
    snippet: str
    score: float
    fallback: bool = False
    title_marked: Marked | None = None
    snippet_marked: Marked | None = None

    def to_dict(self) -> dict:
        title = self.title_marked or Marked(self.title, ())
        snippet = self.snippet_marked or Marked(self.snippet, ())
        return {"id": self.id, "title": self.title, "category": self.category,
                "lang": self.lang, "fallback": self.fallback, "snippet": self.snippet,
                "score": round(self.score, 4), "title_html": title.html(),
                "snippet_html": snippet.html(),
                "highlights": {"title": [list(s) for s in title.spans],
                               "snippet": [list(s) for s in snippet.spans]}}


@dataclass(frozen=True)
class ArticleView:
    """One article rendered for display (`GET /articles/{id}`)."""

    id: str
    title: str
    category: str
    category_label: str
    lang: Lang
    fallback: bool
    html: str
    languages: tuple[Lang, ...]

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "category": self.category,
                "category_label": self.category_label, "lang": self.lang,
                "fallback": self.fallback, "html": self.html, "languages": list(self.languages)}


@dataclass(frozen=True)
class FeedbackResult:
    """What POST /feedback answers: stored, and the request for a person to offer."""

    stored: bool
    offer_handoff: bool
    handoff_query: str | None

    def to_dict(self) -> dict:
        return {"stored": self.stored, "offer_handoff": self.offer_handoff,
                "handoff_query": self.handoff_query}


@dataclass(frozen=True)
class Trace:
    """What understanding produced for one message, before thresholds."""

    text: str
    lang: Lang
    intent: Intent
    hits: tuple[Hit, ...]
    latency_ms: float
    known_ratio: float = 1.0
    signals: Signals = field(default_factory=Signals)


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
    search_index: SearchIndex | None = None  # the search box's prefix and typo lookup
    search_cache: ResultCache | None = None
    rendered: dict[tuple[str, Lang], str] = field(default_factory=dict)  # article bodies, once


class Assistant:
    """The whole query path: redact, understand, retrieve, decide, word, hand off."""

    def __init__(self, settings: Settings, *, embedder: Embedder | None = None,
                 queue: HandoffQueue | None = None, safety: SafetyModel | None = None) -> None:
        self.settings = settings
        self._safety = safety
        self.embedder = embedder or make_embedder(settings)
        self.queue: HandoffQueue = queue or open_queue(
            settings.queue_dsn, settings.queue_path,
            pace=Pace(settings.handoff_minutes_per_ticket, settings.handoff_pace_window),
            pool_size=settings.queue_pool_size, timeout_seconds=settings.queue_timeout_seconds)
        self.handoff = HandoffConversation(self.queue, settings)
        self._state: _State | None = None
        self.window = SessionWindow(settings.secret_window_seconds)
        self._reload_lock = threading.Lock()
        self._probe_lock = threading.Lock()
        self._probe: tuple[float, str] | None = None  # (monotonic time, verdict)
        self._segmenter_warm = False
        self.facts = templates.SiteFacts(
            settings.support_email, settings.official_site,
            dict(settings.support_hours))
        self.thresholds: dict[str, Thresholds] = {lang: thresholds_for(settings, lang)
                                                  for lang in languages.codes()}

    def _thresholds(self, lang: Lang) -> Thresholds:
        """The language's thresholds (a language registered after start-up gets its own)."""
        found = self.thresholds.get(lang)
        if found is None:
            found = self.thresholds[lang] = thresholds_for(self.settings, lang)
        return found

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
                _ = self.safety  # the signal model (~0.2 s), before the first message
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
            dense_top_k=s.dense_top_k, candidates=s.candidates,
            lexical=LexicalIndex.load(loaded.path))
        log.info("index %s loaded: %d articles, model %s", loaded.manifest.version,
                 loaded.manifest.articles, loaded.manifest.model)
        rendered = {(a.id, a.lang): templates.render_article(a, ent.Entities(), self.facts, a.lang)
                    for a in loaded.kb.articles}
        use_index = getattr(self.embedder, "use_index", None)
        if use_index is not None:  # queries embedded by the model the version carries
            use_index(loaded.path)
        return _State(loaded, classifier, article_classifier, retriever,
                      {a.id: a.handoff for a in loaded.kb.articles},
                      SearchIndex(loaded.kb.articles), ResultCache(s.search_cache_size), rendered)

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

    def redact(self, text: str, *, session_id: str | None = None,
               ticket_id: str | None = None, conversation: bool = True,
               expect_hash: bool = False) -> Redaction:
        """The one redaction step for every text that enters (messages, searches, comments,
        agent replies). In a conversation, a phrase continued from the previous message is
        caught too, and the earlier part is scrubbed from wherever it was stored; text that
        is not a new message (feedback quoting one) loses the parts already caught.
        `expect_hash`: the text answers a request for the transaction hash."""
        key = session_id or (f"ticket:{ticket_id}" if ticket_id else None)
        if not conversation:
            return self.window.scrub_known(key, text)
        red, earlier = self.window.redact(key, text, expect_hash=expect_hash)
        if earlier:
            try:
                self.queue.scrub(earlier, session_id=session_id, ticket_id=ticket_id)
            except QueueError:
                log.warning("earlier part of a phrase not scrubbed: queue unavailable")
        return red

    def redact_ticket_message(self, ticket_id: str, text: str) -> Redaction:
        """A user's message on a ticket. When it is nothing but 64 hex digits and the ticket
        still lacks the transaction hash its category needs, it is that hash; anything more
        ("here is my 0x...") is judged as usual, since a key sent by mistake looks the same."""
        expect = False
        if _BARE_HASH.match(text):
            try:
                ticket = self.queue.get(ticket_id)
            except QueueError:
                ticket = None
            if ticket and "tx_hash" not in (ticket.get("details") or {}):
                expect = "tx_hash" in self.settings.details_for(ticket.get("category") or "")
        return self.redact(text, ticket_id=ticket_id, expect_hash=expect)

    # ------------------------------------------------------------ writes
    # One method per write. Each redacts its text once, here, before anything stores it;
    # entry points pass what the user or agent sent and translate the errors.

    def check_ticket_secret(self, ticket_id: str, secret: str | None) -> None:
        """The user's side of a ticket opens only with the secret issued when it was created:
        the id alone is seen by too many (screenshots, agents, logs). A missing or wrong secret
        is TicketNotFound, like an unknown id, so ids cannot be probed."""
        if not secret or not self.queue.verify_secret(ticket_id, secret):
            raise TicketNotFound(ticket_id)

    def user_ticket(self, ticket_id: str, *, secret: str | None) -> dict:
        """The user's own ticket with its conversation (the secret checked first)."""
        self.check_ticket_secret(ticket_id, secret)
        return self.ticket(ticket_id)

    def follow_up(self, ticket_id: str, text: str, *, secret: str | None) -> tuple[dict, bool]:
        """A user's follow-up or details on their ticket: the ticket, and whether a secret
        was removed from the message. The ticket's secret is checked before anything is read
        or scrubbed."""
        self.check_ticket_secret(ticket_id, secret)
        red = self.redact_ticket_message(ticket_id, text)
        ticket = self.queue.add_user_message(ticket_id, red.text, ent.extract(red.text).as_dict())
        return ticket, red.found

    def rate(self, ticket_id: str, score: int, comment: str | None, *,
             secret: str | None) -> dict:
        """The user's rating of the help on a resolved ticket."""
        self.check_ticket_secret(ticket_id, secret)
        return self.queue.rate(ticket_id, score, self.redact(comment).text if comment else None)

    def cancel(self, ticket_id: str, *, secret: str | None) -> dict:
        """The user no longer needs help."""
        self.check_ticket_secret(ticket_id, secret)
        return self.queue.cancel(ticket_id)

    def feedback(self, *, helpful: bool, session_id: str | None = None, query: str | None = None,
                 article_id: str | None = None, lang: Lang | None = None,
                 comment: str | None = None) -> FeedbackResult:
        """Helpful or not on an answer. The quoted query and the comment lose any part of a
        secret already caught in the conversation; not helpful offers a person."""
        def clean(text: str | None) -> str | None:
            return self.redact(text, session_id=session_id, conversation=False).text \
                if text else None

        stored = self.queue.add_feedback({
            "session_id": session_id, "lang": lang, "query": clean(query),
            "article_id": article_id, "helpful": helpful, "comment": clean(comment)})
        offer = not helpful
        wording = languages.get(lang or languages.default().code).message("handoff_query")
        return FeedbackResult(bool(stored), offer, wording if offer else None)

    def agent_reply(self, ticket_id: str, agent: str, text: str) -> dict:
        """An agent's reply to the user (agents paste too: it is redacted like the rest)."""
        return self.queue.reply(ticket_id, agent, self.redact(text).text)

    def resolve(self, ticket_id: str, agent: str, resolution: str) -> dict:
        return self.queue.resolve(ticket_id, agent, self.redact(resolution).text)

    def claim(self, ticket_id: str, agent: str) -> dict:
        return self.queue.claim(ticket_id, agent)

    def claim_next(self, agent: str, *, lang: Lang | None = None,
                   category: str | None = None) -> dict | None:
        return self.queue.claim_next(agent, lang=lang, category=category)

    def release(self, ticket_id: str, agent: str) -> dict:
        return self.queue.release(ticket_id, agent)

    # ------------------------------------------------------------ ticket reads

    def ticket(self, ticket_id: str) -> dict:
        """A ticket with its conversation; TicketNotFound when there is none."""
        found = self.queue.get(ticket_id)
        if found is None:
            raise TicketNotFound(ticket_id)
        return found

    def tickets(self, *, status: str | None = "open", priority: str | None = None,
                lang: Lang | None = None, category: str | None = None,
                limit: int = 50) -> tuple[list[dict], int]:
        """Tickets for agents (most urgent and oldest first) and how many are open."""
        rows = self.queue.list(status=status, priority=priority, lang=lang, category=category,
                               limit=limit)
        return rows, self.queue.open_count()

    def stats(self, days: float) -> dict:
        """Decisions, helpfulness and the queue over the last `days` (admin)."""
        return {"days": days, **insights.stats(self.queue.events(insights.since(days)))}

    def understand(self, text: str, st: "_State | None" = None, *, k: int | None = None,
                   include: tuple[str, ...] = (), dense_text: str | None = None
                   ) -> tuple[QueryFeatures, list[Hit]]:
        """Intent and scored articles for an already redacted text (no thresholds).

        `k` and `include` go to the retriever (the search box asks for more candidates);
        `dense_text`, when given, is the part of `text` the model embeds (the search box
        leaves out a word still being typed); its weight shrinks with its share of `text`.
        """
        st = st or self.state
        if dense_text is None:
            vector = self.embedder.encode_query(normalize(text))
            ratio = self._known_ratio(text)
        else:
            # Nothing settled yet, or nothing the model can read (Chinese under the default
            # model): the dense weight would be 0, so the vector is not computed at all.
            ratio = (self._known_ratio(dense_text) * min(1.0, len(dense_text) / len(text))
                     if dense_text.strip() else 0.0)
            vector = (self.embedder.encode_query(normalize(dense_text)) if ratio > 0 else
                      np.zeros(st.index.vectors.dimension, dtype=np.float32))
        tokens = analyze(text)
        intent = st.classifier.predict(text, vector, ratio, tokens)
        article_probs = (st.article_classifier.predict(text, vector, ratio, tokens).probabilities
                         if st.article_classifier else None)
        features = QueryFeatures(text, vector, ratio, intent, article_probs, tokens)
        return features, st.retriever.search(features, k, include=include)

    def answer(self, query: str, lang: Lang | None = None, session_id: str | None = None, *,
               skip_details: bool = False, idempotency_key: str | None = None) -> Reply:
        """Answer one message. The secret-free text is all that the rest of the path sees."""
        return self.answer_with_trace(query, lang, session_id, skip_details=skip_details,
                                      idempotency_key=idempotency_key)[0]

    def answer_with_trace(self, query: str, lang: Lang | None = None,
                          session_id: str | None = None, *, tickets: bool = True,
                          skip_details: bool = False,
                          idempotency_key: str | None = None) -> tuple[Reply, Trace]:
        """The reply and what led to it (the eval re-decides from the trace).

        `tickets=False` decides and words a handoff without queueing it or recording the turn
        (offline scoring). With a session, a reply to a request for details completes the
        pending handoff instead of being answered as a new question.
        """
        started = time.perf_counter()
        red = self.redact(query, session_id=session_id)
        text = red.text
        if self.settings.log_queries:
            log.debug("query (redacted): %s", red.loggable)
        lang = lang or detect_lang(text)
        key = idempotency_key or (f"{session_id}:{digest(text)}" if session_id else None)
        if tickets:
            followed = self._handoff_in_progress(text, lang, session_id, key, red.found,
                                                 skip_details)
            if followed is not None:
                elapsed = (time.perf_counter() - started) * 1000
                self._record(followed, text, session_id)
                return followed, Trace(text, followed.lang, followed.intent, (), elapsed)
        st = self.state
        features, hits = self.understand(text, st)
        assert features.intent is not None
        signals = self._signals(text, st)
        decision = decide(text, features.intent, hits, self._thresholds(lang), st.handoff_flags,
                          signals)
        reply = self._word(st, decision, text, lang, features.intent, session_id, red.found,
                           tickets, skip_details=skip_details, key=key,
                           check_theft=bool({CHECK, THEFT} & signals.fired))
        if tickets:
            self._record(reply, text, session_id)
        elapsed = (time.perf_counter() - started) * 1000
        log.info("action=%s intent=%s(%.2f) top=%s score=%.3f lang=%s ms=%.1f",
                 reply.action, features.intent.category, features.intent.confidence,
                 hits[0].id if hits else "-", decision.confidence, lang, elapsed)
        self._warm_segmenter()
        return reply, Trace(text, lang, features.intent, tuple(hits), elapsed,
                            features.known_ratio, signals)

    def search(self, query: str, k: int = 5, lang: Lang | None = None,
               min_score: float | None = None, category: str | None = None
               ) -> list[SearchResult]:
        """Articles for a search box: the hybrid ranking blended with prefix and typo matches.

        Input is often a fragment ("withdr", "pasword", "提币"): the search index's term
        score for it is blended with the hybrid score (`search_weight_terms`). Titles and
        snippets come in `lang`, or in the other language when an article has no `lang`
        version (`fallback`); a query written in Chinese gets Chinese whatever `lang` says. Results are cached per index: boxes repeat the same prefixes.
        """
        return self._search(self.redact(query).text, k, lang, min_score, category)

    def search_box(self, query: str, k: int = 5, lang: Lang | None = None,
                   category: str | None = None) -> tuple[str, Lang, list[SearchResult]]:
        """GET /search: the query as shown back (redacted once), its language, the results."""
        text = self.redact(query).text
        return text, lang or detect_lang(text), self._search(text, k, lang, None, category)

    def _search(self, text: str, k: int, lang: Lang | None, min_score: float | None,
                category: str | None) -> list[SearchResult]:
        # The query's language wins over the page's: Chinese typed into an English box gets
        # the Chinese articles (each result says its language).
        detected = detect_lang(text)
        default = languages.default().code
        lang = detected if not lang or (lang == default and detected != default) else lang
        st = self.state
        floor = self.settings.search_min_score if min_score is None else min_score
        key = (normalize(text), lang, k, floor, category)
        cache = st.search_cache
        cached = cache.get(key) if cache is not None else None
        if cached is not None:
            return list(cached)  # type: ignore[call-overload]
        assert st.search_index is not None
        terms = st.search_index.expand(text)
        term_scores = st.search_index.score(terms)
        pool = max(k, self.settings.candidates) * (3 if category else 1)
        best_terms = sorted(term_scores, key=term_scores.__getitem__, reverse=True)
        include = tuple(a for a in best_terms[:SEARCH_INCLUDE] if term_scores[a] >= 0.5)
        _, hits = self.understand(text, st, k=pool, include=include,
                                  dense_text=st.search_index.settled(text))
        w = self.settings.search_weight_terms
        scored = sorted(((h, (1 - w) * h.score + w * term_scores.get(h.id, 0.0)) for h in hits),
                        key=lambda pair: pair[1], reverse=True)
        results: list[SearchResult] = []
        for h, score in scored:
            if len(results) == k:
                break
            if score < floor or (category and h.category != category):
                continue
            article = st.index.kb.get(h.id, lang)
            if article is None:
                continue
            body = st.rendered.get((article.id, article.lang)) or templates.render_article(
                article, ent.Entities(), self.facts, article.lang)
            snippet = st.search_index.snippet(body, terms, self.settings.snippet_chars)
            results.append(SearchResult(
                h.id, article.title, article.category, article.lang, snippet.text, score,
                fallback=article.lang != lang, title_marked=st.search_index.mark(article.title,
                                                                                terms),
                snippet_marked=snippet))
        if cache is not None:
            cache.put(key, tuple(results))
        self._warm_segmenter()
        return results

    def article(self, article_id: str, lang: Lang) -> ArticleView | None:
        """One article as safe HTML in `lang` (else its other version); None when unknown.

        Placeholders get their neutral wording ("the network"): no user message fills them.
        """
        kb = self.state.index.kb
        article = kb.get(article_id, lang)
        if article is None:
            return None
        body = templates.render_article(article, ent.Entities(), self.facts, article.lang)
        langs = tuple(sorted({a.lang for a in kb.articles if a.id == article_id}))
        return ArticleView(article.id, article.title, article.category,
                           category_label(article.category, lang), article.lang,
                           article.lang != lang, to_html(body, lang), langs)

    def categories(self, lang: Lang) -> list[dict]:
        """The KB's categories in its order, each with its articles' titles in `lang`."""
        kb = self.state.index.kb
        by_category: dict[str, list[dict]] = {c: [] for c in kb.categories}
        for article_id in kb.ids():
            article = kb.get(article_id, lang)
            if article is not None:
                by_category.setdefault(article.category, []).append(
                    {"id": article.id, "title": article.title, "lang": article.lang,
                     "fallback": article.lang != lang})
        return [{"id": c, "label": category_label(c, lang),
                 "articles": sorted(items, key=lambda a: a["title"])}
                for c, items in by_category.items() if items]

    def health(self) -> dict:
        """What operators check: the serving index, whether the queue takes writes and, when
        `scripts/run` started on the last good index, why the new build was refused."""
        m = self.index.manifest if self.index else None
        queue = self.queue_state() if m else "not checked"
        status = "loading" if not m else "ok" if queue == QUEUE_OK else "degraded"
        health: dict[str, object] = {
            "status": status,
            "index_version": m.version if m else None,
            "articles": m.articles if m else 0,
            "article_ids": m.article_ids if m else 0,
            "model": self.settings.model,
            "queue": queue,
        }
        if self.settings.build_refused:
            health["build"] = {"refused": self.settings.build_refused}
        return health

    def queue_state(self) -> str:
        """"ok" when the queue took a real durable write (`HandoffQueue.probe`), else why not.

        Probes hit the database at most once per `queue_probe_seconds` per process (callers in
        between, and callers while a probe is under way, get the last verdict); a write that
        failed in between ends that wait early.
        """
        last = self._probe
        fresh = last is not None and \
            time.monotonic() - last[0] < self.settings.queue_probe_seconds
        if fresh or not self._probe_lock.acquire(blocking=last is None):
            assert last is not None
            return last[1]
        try:
            last = self._probe
            if last is not None and \
                    time.monotonic() - last[0] < self.settings.queue_probe_seconds:
                return last[1]  # another caller probed while this one waited
            try:
                self.queue.probe()
                verdict = QUEUE_OK
            except QueueError as exc:
                verdict = "cannot write: " + " ".join(str(exc).split())[:200]
                if last is None or last[1] != verdict:
                    log.error("queue not ready: %s", verdict)
            self._probe = (time.monotonic(), verdict)
            return verdict
        finally:
            self._probe_lock.release()

    def queue_failed(self) -> None:
        """A queue write failed while serving: the next readiness check probes at once."""
        self._probe = None

    # ------------------------------------------------------------ helpers

    def _word(self, st: "_State", d: Decision, text: str, lang: Lang, intent: Intent,
              session_id: str | None, redacted: bool, tickets: bool = True, *,
              skip_details: bool = False, key: str | None = None,
              check_theft: bool = False) -> Reply:
        kb = st.index.kb
        titles = {h.id: a.title for h in d.candidates if (a := kb.get(h.id, lang))}
        article = kb.get(d.article_id, lang) if d.article_id else None
        parts: list[str] = []
        if redacted:
            parts.append(templates.message(lang, "secret"))
        # The scam and theft articles open with the warning: the template stands in only
        # when the article is missing from the KB.
        if d.reason == REASON_SCAM and article is None:
            parts.append(templates.message(lang, "scam"))
        if d.reason == REASON_THEFT and article is None:
            parts.append(templates.message(lang, "theft"))
        if d.reason == REASON_EXPOSED and not redacted:  # "secret" already says it
            parts.append(templates.message(lang, "exposed"))
        if article is not None:
            parts.append(templates.render_article(article, ent.extract(text), self.facts, lang))
        wording = templates.WORDING[d.action]
        context = frozenset(name for name, on in (("article", article is not None),
                                                  ("urgent", d.urgent),
                                                  ("person", d.reason == REASON_HUMAN)) if on)
        lines = wording.lines(lang, d.candidates, titles, context)
        if not wording.last:
            parts.extend(lines)
        # Not sure enough for the alarm (or retrieval placed it elsewhere): ask, once, at the
        # end (a button on the pages).
        offers = ("report_theft",) if check_theft and d.reason != REASON_THEFT else ()
        if offers:
            parts.append(templates.message(lang, "theft_check"))
        if wording.last:
            parts.extend(lines)
        ticket: Ticket | None = None
        needs: list[str] = []
        if d.action == Action.HANDOFF and tickets:
            ticket, needs, ticket_lines = self._hand_over(st, d, text, lang, intent, session_id,
                                                          titles, skip_details, key)
            parts.extend(ticket_lines)
        answer = "\n\n".join(parts)
        needs_listed = tuple(templates.needs_list(lang, needs))
        if languages.get(lang).follows_user_script and is_traditional(text):  # the user's script
            answer = to_traditional(answer)
            titles = {k: to_traditional(v) for k, v in titles.items()}
            article = replace(article, title=to_traditional(article.title)) if article else None
            needs_listed = tuple({**n, "label": to_traditional(n.get("label", ""))}
                                 for n in needs_listed)
        return Reply(
            action=d.action, answer=answer, lang=lang, article=article,
            intent=intent, confidence=d.confidence,
            candidates=d.candidates if d.action != "decline" else (),
            candidate_titles=titles, ticket=ticket, reason=d.reason, redacted=redacted,
            needs=needs_listed, offers=offers,
        )

    # ------------------------------------------------------------ handoff

    def _hand_over(self, st: "_State", d: Decision, text: str, lang: Lang, intent: Intent,
                   session_id: str | None, titles: dict[str, str], skip_details: bool,
                   key: str | None) -> tuple[Ticket | None, list[str], list[str]]:
        """The hand-over (see `HandoffConversation`), worded: ticket, needs, lines."""
        answered = st.index.kb.get(d.article_id, lang) if d.article_id else None
        category = answered.category if answered is not None else intent.category
        done = self.handoff.hand_over(d, text, lang, category, session_id, titles, skip_details,
                                      key, self._said(st, lang))
        fields = templates.join_labels(lang, list(done.needs)) if done.needs else ""
        if done.outcome == "failed":
            return None, [], [templates.message(lang, "ticket_failed",
                                                support_email=self.facts.support_email)]
        if done.outcome == "asking":
            return None, list(done.needs), [templates.message(lang, "needs", fields=fields)]
        assert done.ticket is not None
        if done.outcome == "existing":
            return done.ticket, [], [templates.message(lang, "ticket_existing",
                                                       ticket_id=done.ticket.id),
                                     self._ticket_text(lang, done.ticket)]
        lines = [self._ticket_text(lang, done.ticket)]
        if done.follow_up:
            lines.append(templates.message(lang, "needs_followup", fields=fields))
        return done.ticket, list(done.needs), lines

    def _handoff_in_progress(self, text: str, lang: Lang, session_id: str | None,
                             key: str | None, redacted: bool,
                             skip_details: bool) -> Reply | None:
        """A retried request, or the user's reply to a request for details; else None."""
        followed = self.handoff.in_progress(text, lang, session_id, key, skip_details,
                                            lambda lg: self._said(self.state, lg))
        if followed is None:
            return None
        return self._ticket_reply(followed.ticket, followed.lang, followed.opening, redacted,
                                  category=followed.category)

    def _said(self, st: "_State", lang: Lang) -> Callable[[str], str]:
        """An article's title in the conversation's language (what the assistant offered)."""
        def title(article_id: str) -> str:
            article = st.index.kb.get(article_id, lang) if st.index else None
            return article.title if article else article_id
        return title

    def _ticket_text(self, lang: Lang, ticket: Ticket) -> str:
        return templates.ticket_text(lang, ticket.id, ticket.position, ticket.eta_minutes,
                                     ticket.status)

    def _ticket_reply(self, ticket: Ticket, lang: Lang, opening: str, redacted: bool,
                      category: str | None = None) -> Reply:
        parts = [templates.message(lang, "secret")] if redacted else []
        if opening == "details_added":
            parts.append(templates.message(lang, opening, ticket_id=ticket.id))
        parts.append(self._ticket_text(lang, ticket))
        return Reply(action=Action.HANDOFF, answer="\n\n".join(parts), lang=lang, article=None,
                     intent=Intent(category or "", 1.0), confidence=1.0, candidates=(),
                     ticket=ticket, reason="details received" if opening != "handoff_retry"
                     else "repeated request", redacted=redacted)

    def _record(self, reply: Reply, text: str, session_id: str | None) -> None:
        """Keep the (redacted) turn for tickets, stats and the content-gap report."""
        if not self.settings.record_turns:
            return
        try:
            self.queue.record_turn({
                "session_id": session_id, "lang": reply.lang, "query": text,
                "action": reply.action, "category": reply.intent.category or None,
                "article_id": reply.article.id if reply.article else None,
                "confidence": round(reply.confidence, 4), "reason": reply.reason})
        except QueueError:
            log.warning("turn not recorded: queue unavailable")

    @property
    def safety(self) -> SafetyModel:
        """The safety-signal model (the one shipped in the package unless given)."""
        if self._safety is None:
            self._safety = shipped_model()
        return self._safety

    def _signals(self, text: str, st: "_State") -> Signals:
        ids = st.handoff_flags  # every article id
        articles = {s: a for s, a in self.settings.signal_articles.items()
                    if s in SIGNALS and a in ids}
        reading = self.safety.read(text)
        return Signals(reading.fired, articles, reading.sure)

    def _known_ratio(self, text: str) -> float:
        ratio = getattr(self.embedder, "known_ratio", None)
        return float(ratio(text)) if ratio else 1.0


_BARE_HASH = re.compile(r"^\s*(?:(?:tx|txid|hash|哈希)\s*[:：]?\s*)?(?:0x)?[0-9a-fA-F]{64}\s*$",
                        re.IGNORECASE)
