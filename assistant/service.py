"""Composition: the one place that builds the concrete parts from settings.

`Assistant` is cheap to construct; `warm_up()` loads the model, the index, the intent
classifier and the queue. Entry points (API, CLI, eval) use only this class.
"""

from __future__ import annotations

import ctypes
import logging
import re
import threading
import time
import unicodedata
from datetime import datetime, timedelta
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property

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
from assistant.core.errors import (AssistantError, InvalidRequest, QueueError, TicketConflict,
                                   TicketNotFound)
from assistant.handoff import insights
from assistant.handoff.conversation import HandoffConversation, digest
from assistant.handoff.queue import HandoffQueue, Pace, open_queue, stamp, utc_now
from assistant.knowledge.index import LoadedIndex, load_index, set_threads
from assistant.understanding.intent import ARTICLES_FILE, ServingIntent, load_serving
from assistant.understanding.retrieval import HybridRetriever, LexicalIndex, QueryFeatures, Weights
from assistant.understanding.redaction import KEY_MARK, PHRASE_MARK, Redaction, SessionWindow
from assistant.knowledge import drafts
from assistant.knowledge.kb import CATEGORIES_FILE, load_categories
from assistant.understanding.safety import CHECK, SIGNALS, THEFT, SafetyModel, shipped_model
from assistant.understanding.search import Marked, ResultCache, SearchIndex
from assistant.understanding.text import analyze, detect_lang, is_traditional, normalize, to_traditional
from assistant.core.types import Action, Hit, Intent, Lang, Reply, Ticket
from assistant.core.types import InboundMail
from assistant.handoff.conversation import assistant_turn
from assistant.handoff.outbox import (Dispatcher, FlushResult, Thread, Threads, new_message_id,
                                      outgoing, reply_subject)
from assistant.handoff.protocols import NewTicket
from assistant.core.languages.language import CANNED_KEYS
from assistant.deciding.answerer import without_human_request
from dataclasses import fields as dataclass_fields

log = logging.getLogger(__name__)

#: Articles the search box's term matches add to the hybrid candidates (scored in any case).
SEARCH_INCLUDE = 5
#: Articles the agent console's assist panel suggests for a ticket.
ASSIST_ARTICLES = 3
#: The user's latest messages (about the problem) that make the assist panel's query.
ASSIST_TURNS = 4
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

    def converted(self, convert: Callable[[str], str]) -> "SearchResult":
        """The result with title and snippet through `convert` (a script conversion); the
        marks stay where a conversion kept the length, character for character."""
        def one(text: str, marked: Marked | None) -> tuple[str, Marked | None]:
            out = convert(text)
            if marked is None:
                return out, None
            return out, Marked(out, marked.spans if len(out) == len(marked.text) else ())
        title, title_marked = one(self.title, self.title_marked)
        snippet, snippet_marked = one(self.snippet, self.snippet_marked)
        return replace(self, title=title, snippet=snippet, title_marked=title_marked,
                       snippet_marked=snippet_marked)


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
class MailOutcome:
    """What an inbound email did: `answered` (by mail), `queued` (a new ticket), `follow_up`,
    `rated`, `reopened` or `ignored` (an auto-reply, a duplicate, a thank-you)."""

    action: str
    ticket_id: str | None = None
    redacted: bool = False
    reason: str = ""


#: An email's text the assistant reads (a longer one is cut; attachments are never read).
MAIL_TEXT_CHARS = 20_000
#: A ticket's `query` and `problem` from an email (the whole text is its first message).
MAIL_QUERY_CHARS = 2_000
MAIL_PROBLEM_CHARS = 300
#: Message-IDs of a reply's thread checked for an emailed answer it replies to.
MAIL_THREAD_LOOKUPS = 3


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


def _replayed(texts: list[str]) -> list[str]:
    """Stored messages redacted again as the conversation they were, in a window of their
    own: a phrase typed over several messages is caught even when each part passes alone
    (the window that saw them live may have forgotten the first part)."""
    window = SessionWindow(ttl=86_400)
    out: list[str] = []
    for text in texts:
        red, earlier = window.redact("replay", text)
        for part in earlier:
            out = [t.replace(part, PHRASE_MARK) for t in out]
        out.append(red.text)
    return out


def release_free_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc's malloc_trim). Loading the
    model, the index and jieba's dictionary frees large temporary buffers that would
    otherwise stay resident in every worker: about 30 MB each."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to hand back this way
        pass


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
            pool_size=settings.queue_pool_size, timeout_seconds=settings.queue_timeout_seconds,
            default_team=settings.default_team)
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
                release_free_memory()
        return self

    def _warm_segmenter(self) -> None:
        """Load jieba's dictionary (~0.5 s) in the background once the first message is
        answered: neither start-up nor that first reply waits for it, and it is usually
        ready before the first Chinese message (which would otherwise load it itself)."""
        if self._segmenter_warm:
            return
        self._segmenter_warm = True

        def warm() -> None:
            analyze("钱包助记词")
            release_free_memory()

        threading.Thread(target=warm, daemon=True, name="jieba-warm-up").start()

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
        """An agent's reply to the user (agents paste too: it is redacted like the rest); an
        email ticket's user gets it by mail, in the thread."""
        clean = self.redact(text).text
        ticket = self.queue.reply(ticket_id, agent, clean)
        self._mail_ticket_out(ticket, "reply", clean)
        return ticket

    def resolve(self, ticket_id: str, agent: str, resolution: str) -> dict:
        """Resolved; an email ticket's user gets the resolution and a rating request."""
        clean = self.redact(resolution).text
        ticket = self.queue.resolve(ticket_id, agent, clean)
        self._mail_ticket_out(ticket, "rating_request", clean)
        return ticket

    def claim(self, ticket_id: str, agent: str) -> dict:
        return self.queue.claim(ticket_id, agent)

    def claim_next(self, agent: str, *, lang: Lang | None = None,
                   category: str | None = None, team: str | None = None) -> dict | None:
        """The next ticket of the team asked for, else of the agent's own teams."""
        teams = (self._team(team),) if team else self.settings.teams_of(agent)
        return self.queue.claim_next(agent, lang=lang, category=category, team=teams)

    def release(self, ticket_id: str, agent: str) -> dict:
        return self.queue.release(ticket_id, agent)

    def escalate(self, ticket_id: str, agent: str, team: str, reason: str) -> dict:
        """To another team's queue (tier 2 when tier 1 cannot solve it), with the reason as
        an internal event the next agent reads first."""
        return self.queue.escalate(ticket_id, agent, self._team(team),
                                   self.redact(reason).text)

    def transfer(self, ticket_id: str, agent: str, *, to_agent: str | None = None,
                 to_team: str | None = None) -> dict:
        """To one colleague (who then holds it) or to a team's queue."""
        if bool(to_agent) == bool(to_team):
            raise InvalidRequest("agent", "transfer to an agent or to a team: name exactly one")
        if to_agent and to_agent not in self.settings.agent_tokens:
            raise InvalidRequest("agent", f"no agent {to_agent!r}; agents are "
                                 f"{', '.join(sorted(self.settings.agent_tokens))}")
        return self.queue.transfer(ticket_id, agent, to_agent=to_agent,
                                   to_team=self._team(to_team) if to_team else None)

    def note(self, ticket_id: str, agent: str, text: str) -> dict:
        """An internal note for colleagues (redacted like every text; never shown to users)."""
        return self.queue.note(ticket_id, agent, self.redact(text).text)

    def reopen(self, ticket_id: str, text: str, *, secret: str | None) -> dict:
        """"Still not solved": a resolved ticket goes back to its team with the user's words,
        within ASSISTANT_REOPEN_DAYS of its resolution."""
        self.check_ticket_secret(ticket_id, secret)
        if self.settings.reopen_days <= 0:
            raise TicketConflict("cannot reopen this ticket: reopening is turned off; "
                                 "start a new conversation")
        red = self.redact_ticket_message(ticket_id, text)
        return self.queue.reopen(ticket_id, red.text, self.settings.reopen_days * 86400)

    def teams(self) -> dict:
        """The teams and agents an agent can escalate or transfer to."""
        return {"teams": [{"id": k, "name": v} for k, v in self.settings.teams.items()],
                "default": self.settings.default_team,
                "agents": [{"id": a, "teams": list(self.settings.teams_of(a))}
                           for a in sorted(self.settings.agent_tokens)]}

    def _team(self, team: str) -> str:
        if team not in self.settings.teams:
            raise InvalidRequest("team", f"no team {team!r}; teams are "
                                 f"{', '.join(self.settings.teams)}")
        return team

    # ------------------------------------------------------------ ticket reads

    def ticket(self, ticket_id: str) -> dict:
        """A ticket with its conversation; TicketNotFound when there is none."""
        found = self.queue.get(ticket_id)
        if found is None:
            raise TicketNotFound(ticket_id)
        found["reopen_until"] = self._reopen_until(found)
        return found

    def _reopen_until(self, ticket: dict) -> str | None:
        """Until when the user may reopen the ticket (resolved ones, while it is allowed)."""
        if ticket.get("status") != "resolved" or not ticket.get("resolved_at") \
                or self.settings.reopen_days <= 0:
            return None
        until = datetime.fromisoformat(ticket["resolved_at"]) \
            + timedelta(days=self.settings.reopen_days)
        return stamp(until) if until > utc_now() else None

    def tickets(self, *, status: str | None = "open", priority: str | None = None,
                lang: Lang | None = None, category: str | None = None,
                team: str | None = None, limit: int = 50) -> tuple[list[dict], int]:
        """Tickets for agents (most urgent and oldest first) and how many are open."""
        rows = self.queue.list(status=status, priority=priority, lang=lang, category=category,
                               team=self._team(team) if team else None, limit=limit)
        return rows, self.queue.open_count()

    # ------------------------------------------------------------ agent assist

    def assist(self, ticket_id: str) -> dict:
        """What helps an agent answer a ticket, in the user's language: the details its
        category needs (the given ones in the configured order, the missing ones named), the
        articles that fit the user's messages with their steps ready to send, and the canned
        replies. It reads only the stored conversation, which was redacted when it came in."""
        ticket = self.ticket(ticket_id)
        lang: Lang = ticket.get("lang") or languages.default().code
        language = languages.get(lang)
        said = [m["text"] for m in ticket.get("messages") or []
                if m.get("role") == "user" and m.get("text")]
        # A user writing traditional Chinese is answered in it, as the chat answers them.
        script: Callable[[str], str] = (
            to_traditional if language.follows_user_script and is_traditional(" ".join(said))
            else str)
        given = ticket.get("details") or {}
        needed = self.settings.details_for(ticket.get("category"))
        order = needed + sorted(k for k in given if k not in needed)
        fallback = languages.default().canned_replies
        values = {"ticket_id": ticket["id"], "support_email": self.facts.support_email}
        return {
            "details": [{"field": f, "value": given[f]} for f in order if given.get(f)],
            "missing": [f for f in needed if not given.get(f)],
            "articles": self._assist_articles(said, lang, given, script),
            "canned": [{"key": k, "text": script(
                (language.canned_replies.get(k) or fallback.get(k, "")).format(**values))}
                for k in CANNED_KEYS],
            "ticket_id": ticket["id"], "lang": lang,
        }

    def _assist_articles(self, said: list[str], lang: Lang, details: dict[str, str],
                         script: Callable[[str], str]) -> list[dict]:
        """The best articles for the user's recent messages, in `lang` where it exists, the
        body's placeholders filled with the ticket's details (the steps an agent sends)."""
        query = _assist_query(said, self.settings.max_query_chars)
        if not query:
            return []
        st = self.state
        _, hits = self.understand(query, st)
        known = {f.name for f in dataclass_fields(ent.Entities)}
        entities = ent.Entities(**{k: v for k, v in details.items() if k in known and v})
        out: list[dict] = []
        for h in hits[:ASSIST_ARTICLES]:
            article = st.index.kb.get(h.id, lang)
            if article is None:
                continue
            steps = templates.render_article(article, entities, self.facts, article.lang)
            out.append({"id": article.id, "title": script(article.title),
                        "category": article.category, "lang": article.lang,
                        "fallback": article.lang != lang, "score": round(h.score, 4),
                        "steps": script(steps)})
        return out

    def stats(self, days: float) -> dict:
        """Decisions, helpfulness and the queue over the last `days` (admin)."""
        return {"days": days, **insights.stats(self.queue.events(insights.since(days)))}

    # ------------------------------------------------------------ resolutions to knowledge

    def draft_article(self, ticket_id: str) -> dict:
        """A draft KB article from a resolved ticket, written to the drafts folder for an
        editor to review and publish (`assistant publish-draft`): `{"path", "id", "lang",
        "markdown", "created"}`. Drafting a ticket again returns the draft already written
        (an editor may be working on it). TicketConflict until the ticket is resolved: before
        that there is no solution to write down."""
        ticket = self.ticket(ticket_id)
        if ticket.get("status") != "resolved":
            raise TicketConflict(f"ticket {ticket_id} is {ticket.get('status')}: only a "
                                 "resolved ticket can be drafted into an article; resolve it "
                                 "first")
        folder = self.settings.drafts_path
        for path in sorted(folder.glob(f"*.{ticket_id}.md")) if folder.is_dir() else []:
            text = path.read_text("utf-8")
            return {"path": str(path), "id": drafts.front_value(text, "id"),
                    "lang": drafts.front_value(text, "lang"), "markdown": text,
                    "created": False}
        categories, taken = self._kb_names()
        draft = drafts.draft_from_ticket(
            ticket, secret_marks=(PHRASE_MARK, KEY_MARK), categories=categories, taken=taken,
            redact=lambda text: self.redact(text, ticket_id=ticket_id, conversation=False).text,
            redact_conversation=_replayed)
        path = folder / f"{draft.id}.{ticket_id}.md"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.partial")
            partial.write_text(draft.markdown, "utf-8")
            partial.replace(path)  # never a half-written draft, even for a reader of the folder
        except OSError as exc:
            raise AssistantError(f"cannot write the draft to {path} ({exc.strerror}); point "
                                 "ASSISTANT_DRAFTS_DIR at a writable folder") from None
        return {"path": str(path), "id": draft.id, "lang": draft.lang,
                "markdown": draft.markdown, "created": True}

    def _kb_names(self) -> tuple[tuple[str, ...], set[str]]:
        """The KB's categories and the article ids in use: the serving index's, and the ids
        of the files in the KB folder (articles written since the index was built)."""
        if self.index is not None:
            categories = tuple(self.index.kb.categories)
            taken = set(self.index.kb.ids())
        else:  # the command line drafts without loading an index
            categories, _ = load_categories(self.settings.kb_dir / CATEGORIES_FILE)
            taken = set()
        for lang in languages.codes():
            taken |= {p.stem for p in (self.settings.kb_dir / lang).glob("*.md")}
        return categories, taken

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
        version (`fallback`); a query clearly written in another language gets that language
        whatever `lang` says (`SearchIndex.query_lang`), Chinese in the script it was typed
        in. Results are cached per index: boxes repeat the same prefixes.
        """
        return self._search(self.redact(query).text, k, lang, min_score, category)[1]

    def search_box(self, query: str, k: int = 5, lang: Lang | None = None,
                   category: str | None = None) -> tuple[str, Lang, list[SearchResult]]:
        """GET /search: the query as shown back (redacted once), the language of the results
        (the page's `lang`, or the query's when it clearly is another), the results."""
        text = self.redact(query).text
        used, results = self._search(text, k, lang, None, category)
        return text, used, results

    def _search(self, text: str, k: int, lang: Lang | None, min_score: float | None,
                category: str | None) -> tuple[Lang, list[SearchResult]]:
        st = self.state
        assert st.search_index is not None
        # The query's language wins over the page's when the query clearly is in another
        # one: Chinese typed into the English box, an English sentence into the Chinese one.
        lang = st.search_index.query_lang(text, lang or detect_lang(text))
        traditional = languages.get(lang).follows_user_script and is_traditional(text)
        floor = self.settings.search_min_score if min_score is None else min_score
        key = (normalize(text), lang, k, floor, category, traditional)
        cache = st.search_cache
        cached = cache.get(key) if cache is not None else None
        if cached is not None:
            return lang, list(cached)  # type: ignore[call-overload]
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
        if traditional:  # the user's script, as the chat answers
            results = [r.converted(to_traditional) for r in results]
        if cache is not None:
            cache.put(key, tuple(results))
        self._warm_segmenter()
        return lang, results

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

    # ------------------------------------------------------------ email
    # The email channel (`assistant mail serve`): a mail in is answered by mail when the
    # decision is a confident answer, else it becomes a ticket for a person; a reply in a
    # ticket's thread is a follow-up, a rating or "still not solved". Agents' replies and
    # resolutions of email tickets go out by mail (`agent_reply`, `resolve`). Every mail is
    # stored in the outbox first and tried at once; the dispatcher retries what failed.

    @cached_property
    def mail(self) -> Dispatcher:
        """The outbox's sender (SMTP when ASSISTANT_SMTP_HOST is set)."""
        return Dispatcher(self.queue, self.settings)

    @cached_property
    def mail_threads(self) -> Threads:
        return Threads(self.queue)

    def mail_flush(self) -> FlushResult:
        """`assistant mail flush`: send every unsent mail now (failures stay queued)."""
        return self.mail.flush(force=True)

    def email_in(self, mail: InboundMail) -> MailOutcome:
        """One email to the support address. Raises QueueError when the queue cannot take it
        (the listener then answers 451 and the sender's server tries again).

        The thread is the capability: a reply naming one of a ticket's Message-IDs, from the
        ticket's address, continues that ticket; from anyone else, or naming no known id, it
        starts a conversation of its own. Auto-replies and bounces are never answered.
        """
        ours = (self.settings.support_address, self.settings.sender_address.lower())
        if mail.automatic or not mail.sender or mail.sender in ours:  # no loops with robots
            log.info("inbound mail not answered: automatic, or from the support address")
            return MailOutcome("ignored", reason="automatic")
        ticket = self._mail_ticket(mail, [mail.message_id])
        if ticket is not None:  # the same mail delivered twice
            return MailOutcome("ignored", ticket["id"], reason="already received")
        ticket = self._mail_ticket(mail, list(mail.thread)) if mail.thread else None
        if ticket is not None and ticket["status"] in ("open", "claimed", "resolved"):
            return self._mail_on_ticket(mail, ticket)
        return self._mail_new(mail, self._answered_turn(mail.thread))

    def _mail_ticket(self, mail: InboundMail, ids: list[str]) -> dict | None:
        """The ticket these Message-IDs belong to, when the mail is from its contact."""
        ticket_id = self.queue.mail_ticket(ids)
        ticket = self.queue.get(ticket_id) if ticket_id else None
        if ticket is None or (ticket.get("contact") or "").lower() != mail.sender:
            return None
        return ticket

    def _answered_turn(self, thread: tuple[str, ...]) -> dict | None:
        """The question an emailed answer in this thread answered (its turn is recorded under
        the answer's Message-ID), when the mail replies to one."""
        for message_id in thread[:MAIL_THREAD_LOOKUPS]:
            turns = self.queue.recent_turns(f"mail:{message_id}", 1)
            if turns:
                return turns[-1]
        return None

    def _mail_new(self, mail: InboundMail, answered: dict | None) -> MailOutcome:
        """A new conversation: answered by mail when confident, else a ticket and its
        acknowledgement. A reply to an emailed answer is a ticket too, unless it asks
        something else that another article answers with confidence."""
        body = mail.text[:MAIL_TEXT_CHARS]
        raw = "\n\n".join(part for part in (mail.subject, body) if part.strip())
        if not raw.strip():
            log.info("inbound mail without text not answered")
            return MailOutcome("ignored", reason="no text")
        red = self.redact(raw)
        subject = self.redact(mail.subject, conversation=False).text
        if red.found and not red.text.startswith(subject):
            subject = ""  # a phrase ran from the subject into the body
        text = red.text
        if answered is not None and not red.found and _thanks().match(body or subject):
            return MailOutcome("ignored", reason="thanks")
        st = self.state
        short = text[:self.settings.max_query_chars]
        lang = detect_lang(short)
        features, hits = self.understand(short, st)
        assert features.intent is not None
        signals = self._signals(short, st)
        decision = decide(short, features.intent, hits, self._thresholds(lang),
                          st.handoff_flags, signals)
        reply = self._word(st, decision, short, lang, features.intent, None, red.found,
                           tickets=False, check_theft=bool({CHECK, THEFT} & signals.fired))
        again = answered is not None and decision.article_id == answered.get("article_id")
        if decision.action == Action.ANSWER and not again:
            return self._mail_answer(mail, reply, short, subject)
        return self._mail_queue(mail, reply, decision, text, subject, answered)

    def _mail_answer(self, mail: InboundMail, reply: Reply, text: str,
                     subject: str) -> MailOutcome:
        lang = reply.lang
        message_id = new_message_id(self.settings.sender_address)
        self._record(reply, text, f"mail:{message_id}")  # a reply to it finds the question
        title = subject or (reply.article.title if reply.article else
                            templates.message(lang, "mail_subject_empty"))
        self._send_mail([outgoing(
            kind="answer", to=mail.sender, subject=reply_subject(title, ""),
            body=f"{reply.answer}\n\n{templates.message(lang, 'mail_answer_end')}",
            sender=self.settings.sender_address, in_reply_to=mail.message_id,
            references=" ".join(dict.fromkeys([*mail.references, mail.message_id])),
            message_id=message_id)])
        log.info("mail answered: article=%s lang=%s", reply.article.id if reply.article
                 else "-", lang)
        return MailOutcome("answered", redacted=reply.redacted, reason=reply.reason)

    def _mail_queue(self, mail: InboundMail, reply: Reply, d: Decision, text: str,
                    subject: str, answered: dict | None) -> MailOutcome:
        """A ticket for a person, with the email as its conversation, and the acknowledgement
        mail: its number and the 24-hour promise, the details an agent will need (asked for
        once, as a reply), and the articles that came close when the assistant hesitated."""
        lang = reply.lang
        st = self.state
        category = (reply.article.category if reply.article else reply.intent.category) or None
        conversation: list[dict] = []
        query = text
        if answered is not None:  # a reply to an emailed answer: that question is the problem
            query = answered["query"]
            category = answered.get("category") or category
            conversation += [{"role": "user", "text": answered["query"], "at": answered["at"]}]
            line = assistant_turn(answered, lang, self._said(st, lang))
            if line:
                conversation.append({"role": "assistant", "text": line, "at": answered["at"]})
        conversation.append({"role": "user", "text": text})
        if reply.article is not None:
            conversation.append({"role": "assistant", "text": templates.message(
                lang, "turn_answered", title=reply.article.title)})
        details = ent.extract(text).as_dict()
        details["problem"] = (subject or query)[:MAIL_PROBLEM_CHARS]
        needs = [f for f in self.settings.details_for(category) if f not in details]
        candidates = [{"id": h.id, "title": reply.candidate_titles.get(h.id, h.id),
                       "score": round(h.score, 4)} for h in d.candidates]
        ticket = self.queue.create(NewTicket(
            query=query[:MAIL_QUERY_CHARS], lang=lang, reason=d.reason or "email",
            category=category, candidates=candidates,
            priority="urgent" if d.urgent else "normal", details=details,
            conversation=conversation, channel="email", contact=mail.sender,
            idempotency_key=f"mail:{digest(mail.sender + ' ' + mail.message_id)}"))
        parts: list[str] = []
        if d.action == Action.HANDOFF:
            parts.append(reply.answer)  # the warning, the article, the hand-over line
        elif reply.redacted:
            parts.append(templates.message(lang, "secret"))
        parts.append(templates.message(lang, "mail_ack", ticket_id=ticket.id))
        if needs:
            parts.append(templates.message(lang, "mail_needs",
                                           fields=templates.join_labels(lang, needs)))
        if d.action == Action.CLARIFY:
            parts.append(self._mail_choices(st, d, lang, text))
        # The user's references, then their mail: the thread's order, so replies name it last.
        thread = Thread(subject, tuple(dict.fromkeys([*mail.references, mail.message_id])))
        self.mail_threads.put(ticket.id, thread)
        self._send_mail([self._thread_mail("ack", ticket.id, lang, mail.sender, thread,
                                           "\n\n".join(parts))])
        log.info("mail queued as ticket %s: %s", ticket.id, d.reason)
        return MailOutcome("queued", ticket.id, reply.redacted, d.reason)

    def _mail_choices(self, st: "_State", d: Decision, lang: Lang, text: str) -> str:
        """The close articles, in full: a mail cannot offer buttons to choose from."""
        parts = [templates.message(lang, "mail_choices")]
        for h in d.candidates:
            article = st.index.kb.get(h.id, lang)
            if article is not None:
                body = templates.render_article(article, ent.extract(text), self.facts, lang)
                parts.append(f"{article.title}\n\n{body}")
        return "\n\n".join(parts)

    def _mail_on_ticket(self, mail: InboundMail, ticket: dict) -> MailOutcome:
        """A reply in a ticket's thread: a follow-up while it is open; on a resolved ticket
        a rating (a reply starting with 1-5), a thank-you (nothing to do) or "still not
        solved" (reopened within ASSISTANT_REOPEN_DAYS, else a new conversation)."""
        ticket_id, lang = ticket["id"], ticket.get("lang") or languages.default().code
        text = mail.text[:MAIL_TEXT_CHARS] or mail.subject
        red = self.redact_ticket_message(ticket_id, text)
        if not red.text.strip():
            return MailOutcome("ignored", ticket_id, reason="no text")
        self.queue.link_mail(mail.message_id, ticket_id)
        self.mail_threads.extend(ticket_id, mail.message_id)
        outcome: MailOutcome | None = None
        if ticket["status"] in ("open", "claimed"):
            self.queue.add_user_message(ticket_id, red.text, ent.extract(red.text).as_dict())
            outcome = MailOutcome("follow_up", ticket_id, red.found)
        else:
            score, comment = _rating(red.text)
            if score is not None:
                self.queue.rate(ticket_id, score, comment or None)
                outcome = MailOutcome("rated", ticket_id, red.found)
            elif not red.found and _thanks().match(red.text):
                return MailOutcome("ignored", ticket_id, reason="thanks")
            elif self.settings.reopen_days > 0:
                try:
                    self.queue.reopen(ticket_id, red.text, self.settings.reopen_days * 86400)
                    outcome = MailOutcome("reopened", ticket_id, red.found)
                except TicketConflict:  # resolved too long ago: the problem is a new one
                    outcome = None
            if outcome is None:
                return self._mail_new(mail, None)
        if red.found or outcome.action == "reopened":
            parts = [templates.message(lang, "secret")] if red.found else []
            if outcome.action == "reopened":
                parts.append(templates.message(lang, "mail_reopened", ticket_id=ticket_id))
            kind = "reopened" if outcome.action == "reopened" else "warning"
            self._mail_ticket_out(ticket, kind, "\n\n".join(parts))
        return outcome

    def _mail_ticket_out(self, ticket: dict, kind: str, text: str) -> None:
        """A mail in an email ticket's thread (agents' replies, the resolution and rating
        request, notices). A mail that cannot be queued is logged, never raised: the agent's
        write it follows is already stored."""
        if ticket.get("channel") != "email" or not ticket.get("contact"):
            return
        ticket_id, lang = ticket["id"], ticket.get("lang") or languages.default().code
        if kind == "reply":
            text = f"{text}\n\n-- \n{templates.message(lang, 'mail_reply_end', ticket_id=ticket_id)}"
        elif kind == "rating_request":
            text = "\n\n".join(p for p in (
                templates.message(lang, "mail_resolved", ticket_id=ticket_id), text,
                templates.message(lang, "mail_rating")) if p)
        try:
            thread = self.mail_threads.get(ticket_id) or Thread("")
            self._send_mail([self._thread_mail(kind, ticket_id, lang, ticket["contact"],
                                               thread, text)])
        except QueueError as exc:
            log.error("mail for ticket %s not queued: %s", ticket_id, exc)

    def _thread_mail(self, kind: str, ticket_id: str, lang: Lang, to: str, thread: Thread,
                     body: str) -> dict:
        tag = templates.message(lang, "mail_subject", ticket_id=ticket_id)
        subject = thread.subject or templates.message(lang, "mail_subject_empty")
        return outgoing(kind=kind, to=to, subject=reply_subject(subject, tag), body=body,
                        sender=self.settings.sender_address, ticket_id=ticket_id,
                        in_reply_to=thread.in_reply_to, references=thread.references)

    def _send_mail(self, rows: list[dict]) -> None:
        """Into the outbox (and the ticket's thread), then one attempt at once."""
        queued = []
        for row in rows:
            mail_id = self.queue.enqueue_mail(row)
            if row.get("ticket_id"):
                self.queue.link_mail(row["message_id"], row["ticket_id"])
                self.mail_threads.extend(row["ticket_id"], row["message_id"])
            queued.append({**row, "id": mail_id, "attempts": 0})
        self.mail.deliver(queued)

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


_RATING = re.compile(r"^\s*([1-5])(?![\d.,])\s*(?:/\s*5|分|星|stars?|points?)?"
                     r"[\s\-–—:：,，.。!！]*(.*)$", re.IGNORECASE | re.DOTALL)


def _rating(text: str) -> tuple[int | None, str]:
    """A reply to a rating request that starts with a score from 1 to 5 (full-width digits
    too): the score and the rest as the comment."""
    m = _RATING.match(unicodedata.normalize("NFKC", text))
    return (int(m.group(1)), m.group(2).strip()) if m else (None, "")


def _thanks() -> re.Pattern[str]:
    """A whole reply that only thanks (any registered language)."""
    return languages.pattern("thanks", r"^\s*(?:{})[\s.!。！~]*$")


_BARE_HASH = re.compile(r"^\s*(?:(?:tx|txid|hash|哈希)\s*[:：]?\s*)?(?:0x)?[0-9a-fA-F]{64}\s*$",
                        re.IGNORECASE)


def _assist_query(said: list[str], max_chars: int) -> str:
    """The assist panel's query: the user's latest messages about the problem, oldest first
    (requests for a person and replies that skip the details say nothing about it), cut to
    the newest `max_chars` characters."""
    skip = languages.pattern("skip_words", r"^\s*(?:{})[\s.!。!]*$")
    about = [rest for text in said
             if (rest := without_human_request(text)) and not skip.match(rest)]
    return " ".join(about[-ASSIST_TURNS:])[-max_chars:].strip()
