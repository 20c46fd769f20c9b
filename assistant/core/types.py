"""Frozen data types shared by the layers."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

#: A registered language's code (`assistant.core.languages.codes()`).
Lang = str


class Action(StrEnum):
    """What the assistant does with a message: the decision kinds, declared once.

    Adding one is this member, its wording in `assistant.deciding.templates.WORDING` (a test
    checks every kind has one) and the rule in `assistant.deciding.answerer.decide` that
    returns it. Members are strings: they compare equal to, and serialise as, their value.
    """

    ANSWER = "answer"     # the article answers it
    CLARIFY = "clarify"   # several articles fit: the user chooses
    HANDOFF = "handoff"   # a person takes over (with a ticket)
    DECLINE = "decline"   # outside what support covers

CATEGORIES: tuple[str, ...] = (
    "account",
    "transaction",
    "security",
    "deposit_withdrawal",
    "how_to",
    "contact",
)
#: The intent label for questions the KB is not meant to answer.
OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class Article:
    """One article in one language. Its versions in other languages share `id`."""

    id: str
    title: str
    category: str
    lang: Lang
    questions: tuple[str, ...]
    body: str
    tags: tuple[str, ...] = ()
    handoff: bool = False
    path: str = ""

    @property
    def key(self) -> str:
        return f"{self.lang}/{self.id}"


@dataclass(frozen=True)
class KBProblem:
    """A validation finding with the file and field it concerns."""

    path: str
    field: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        return f"{self.severity}: {self.path}: field '{self.field}': {self.message}"


@dataclass(frozen=True)
class KnowledgeBase:
    """A validated KB: articles by language and the known out-of-scope questions."""

    articles: tuple[Article, ...]
    out_of_scope: tuple[str, ...] = ()
    warnings: tuple[KBProblem, ...] = ()
    categories: tuple[str, ...] = CATEGORIES

    def ids(self) -> list[str]:
        return sorted({a.id for a in self.articles})

    def get(self, article_id: str, lang: Lang) -> Article | None:
        """The article in `lang`, else its counterpart in the other language."""
        fallback = None
        for a in self.articles:
            if a.id == article_id:
                if a.lang == lang:
                    return a
                fallback = a
        return fallback


@dataclass(frozen=True)
class Intent:
    category: str
    confidence: float
    out_of_scope: float = 0.0
    probabilities: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    """An article scored for a query, with the evidence behind the score."""

    id: str
    category: str
    score: float
    dense: float = 0.0
    lexical: float = 0.0
    fuzzy: float = 0.0
    intent: float = 0.0
    article: float = 0.0
    body: float = 0.0
    matched: str = ""


@dataclass(frozen=True)
class Ticket:
    """What the user sees of a ticket: its id, place in the queue and the estimated wait.

    `secret` is set only in the reply that creates the ticket (or re-issues it to a retry of
    that request): the user's credential for the ticket routes, never stored, never read back.
    """

    id: str
    position: int
    status: str = "open"
    eta_minutes: int | None = None
    secret: str | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {"id": self.id, "position": self.position or None, "status": self.status,
                "eta_minutes": self.eta_minutes, "secret": self.secret}


@dataclass(frozen=True)
class Reply:
    """What the assistant decided, in the shape of the /answer contract."""

    action: Action
    answer: str
    lang: Lang
    article: Article | None
    intent: Intent
    confidence: float
    candidates: tuple[Hit, ...]
    candidate_titles: dict[str, str] = field(default_factory=dict)
    ticket: Ticket | None = None
    reason: str = ""
    redacted: bool = False
    needs: tuple[dict, ...] = ()
    offers: tuple[str, ...] = ()  # follow-ups the page shows as buttons ("report_theft")

    def to_dict(self) -> dict:
        """The JSON contract of POST /answer and `assistant ask`."""
        return {
            "action": self.action.value,
            "answer": self.answer,
            "lang": self.lang,
            "article": (
                {"id": self.article.id, "title": self.article.title,
                 "category": self.article.category}
                if self.article else None
            ),
            "intent": {"category": self.intent.category,
                       "confidence": round(self.intent.confidence, 4)},
            "confidence": round(self.confidence, 4),
            "candidates": [
                {"id": h.id, "title": self.candidate_titles.get(h.id, h.id),
                 "category": h.category, "score": round(h.score, 4)}
                for h in self.candidates
            ],
            "ticket": self.ticket.to_dict() if self.ticket else None,
            "needs": list(self.needs),
            "reason": self.reason,
            "redacted": self.redacted,
            "offers": list(self.offers),
        }

#: Placeholders an article body may use. The first group is filled from the user's message,
#: the second from settings; templates.py gives each a wording for when it is absent.
MESSAGE_PLACEHOLDERS: tuple[str, ...] = ("chain", "tx_hash", "amount", "token", "address")
SETTINGS_PLACEHOLDERS: tuple[str, ...] = ("support_email", "official_site", "support_hours")
PLACEHOLDERS: tuple[str, ...] = MESSAGE_PLACEHOLDERS + SETTINGS_PLACEHOLDERS


@dataclass(frozen=True)
class InboundMail:
    """One email a user sent to the support address, as the inbound listener read it.

    `text` is the new part only: quoted earlier mail and the signature are cut, HTML is
    already plain text. `sender` is where replies go (Reply-To, else From), lower-cased.
    `thread` lists the Message-IDs the mail answers, In-Reply-To first, then References
    newest first: the order in which they name the ticket it belongs to. `automatic` marks
    auto-replies and bounces, which are never answered (a loop of robots otherwise).
    """

    sender: str
    subject: str
    text: str
    message_id: str
    thread: tuple[str, ...] = ()
    references: tuple[str, ...] = ()  # as sent, oldest first (our replies extend it)
    automatic: bool = False
