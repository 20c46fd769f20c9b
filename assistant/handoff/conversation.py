"""The hand-over conversation: from "I need a person" to a ticket an agent can act on.

It asks once for the details an agent needs (the category says which), waits for the
user's next message in the session, and queues the ticket with the conversation written as
the agent should read it: each of the user's messages and what the assistant did with it.
State between messages is a typed `PendingHandoff` kept in the queue's session state, so
any worker (or replica) can take the next message.

Wording comes from the caller's templates; this module returns what happened, not text,
except the conversation lines agents read.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from assistant.core import languages
from assistant.core.config import Settings
from assistant.core.errors import QueueError
from assistant.core.types import OUT_OF_SCOPE, Lang, Ticket
from assistant.deciding.answerer import REASON_HUMAN, Decision, without_human_request
from assistant.handoff.protocols import HandoffQueue, NewTicket
from assistant.understanding import entities as ent

log = logging.getLogger(__name__)

#: An article's title in the conversation's language.
TitleOf = Callable[[str], str]

_PROBLEM_CHARS = 4  # "转账失败" is a problem; "help" is not
_PROBLEM_MAX = 300
#: Categories that say nothing about the user's problem (a request for a person, chit-chat).
_NO_TOPIC = {"", "contact", OUT_OF_SCOPE}
#: Around the languages' `skip_words`: a whole reply that declines to give details.
_SKIP = r"^\s*(?:{})[\s.!。!]*$"


def digest(text: str) -> str:
    """A short fingerprint of a message (the same message again is a retry, not an answer)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class PendingHandoff:
    """A hand-over waiting for the user's next message in the session.

    Either the ticket is not created yet (`ticket_id` empty: it is created with the details
    the next message brings) or it is, and the details asked are added to it.
    """

    lang: Lang
    asked: str                                   # digest of the message that asked
    query: str = ""
    category: str | None = None
    reason: str = ""
    candidates: tuple[dict, ...] = ()
    priority: str = "normal"
    details: dict[str, str] = field(default_factory=dict)
    needs: tuple[str, ...] = ()
    ticket_id: str = ""

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "PendingHandoff":
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        known.setdefault("lang", languages.default().code)
        known.setdefault("asked", "")
        for name in ("candidates", "needs"):
            known[name] = tuple(known.get(name) or ())
        return cls(**known)


@dataclass(frozen=True)
class HandOver:
    """What a hand-over did: the ticket (None while details are awaited or the queue is
    down), the details still asked for, and which message the user gets."""

    ticket: Ticket | None
    needs: tuple[str, ...] = ()
    outcome: str = "queued"   # queued | existing | asking | failed
    follow_up: bool = False   # queued, and the details are asked as a follow-up


@dataclass(frozen=True)
class FollowUp:
    """A message that continued a hand-over: the ticket and how to word the reply."""

    ticket: Ticket
    lang: Lang
    opening: str              # "handoff_retry" | "details_added" | "" (created now)
    category: str | None = None


class HandoffConversation:
    """The hand-over, over the queue's ticket store and session state."""

    def __init__(self, queue: HandoffQueue, settings: Settings) -> None:
        self.queue = queue
        self.settings = settings

    def hand_over(self, d: Decision, text: str, lang: Lang, category: str | None,
                  session_id: str | None, titles: dict[str, str], skip_details: bool,
                  key: str | None, title: TitleOf) -> HandOver:
        """Ask once for missing details, or queue the ticket.

        An urgent case is queued at once (details can follow); without a session there is
        no next message to wait for, so the ticket is queued and the details asked as a
        follow-up. A queue failure never loses the user: `outcome` is "failed".
        """
        try:
            if session_id:
                active = self.queue.active_for_session(session_id)
                if active is not None:
                    self.queue.add_user_message(active.id, text, ent.extract(text).as_dict())
                    return HandOver(active, outcome="existing")
            history = (self.queue.recent_turns(session_id, self.settings.conversation_turns)
                       if session_id else [])
            candidates = [{"id": h.id, "title": titles.get(h.id, h.id),
                           "score": round(h.score, 4)} for h in d.candidates]
            query, story = text, history
            topic = _topic(history) if d.reason == REASON_HUMAN and not d.article_id else None
            if topic is not None:  # "talk to a person" after an answer: the problem is that one
                at = history.index(topic)
                query, story, category = topic["query"], history[at:], topic["category"]
                if topic.get("article_id"):
                    candidates = [{"id": topic["article_id"],
                                   "title": title(topic["article_id"]), "score": None}]
            details = _details([*(t["query"] for t in story), text])
            needs = tuple(f for f in self.settings.details_for(category) if f not in details)
            pending = PendingHandoff(
                lang=lang, asked=digest(text), query=query, category=category, reason=d.reason,
                candidates=tuple(candidates), priority="urgent" if d.urgent else "normal",
                details=details, needs=needs)
            if needs and session_id and not d.urgent and not skip_details:
                self.queue.set_pending(session_id, pending.to_dict())
                return HandOver(None, needs, outcome="asking")
            ticket = self.create(pending, session_id, history, [text], key, title)
            if needs and not skip_details:
                if session_id:
                    self.queue.set_pending(session_id, PendingHandoff(
                        lang=lang, asked=digest(text), ticket_id=ticket.id).to_dict())
                return HandOver(ticket, needs, follow_up=True)
            return HandOver(ticket)
        except QueueError:
            log.exception("ticket not created")
            return HandOver(None, outcome="failed")

    def in_progress(self, text: str, lang: Lang, session_id: str | None, key: str | None,
                    skip_details: bool, title: Callable[[Lang], TitleOf]) -> FollowUp | None:
        """A retried request, or the user's reply to a request for details; else None."""
        try:
            if key is not None:
                retried = self.queue.find_key(key)
                if retried is not None:  # its reply was lost: the key holder gets a new secret
                    return FollowUp(self.queue.reissue_secret(retried.id), lang,
                                    "handoff_retry")
            if session_id is None:
                return None
            stored = self.queue.take_pending(session_id, self.settings.pending_details_seconds)
            if stored is None:
                return None
            pending = PendingHandoff.from_dict(stored)
            if pending.asked == digest(text):  # the same message again: ask again
                self.queue.set_pending(session_id, stored)
                return None
            found: dict[str, str] = {}
            if not (skip_details or languages.pattern("skip_words", _SKIP).match(text)):
                found = ent.extract(text).as_dict()
                if "problem" in pending.needs:
                    found["problem"] = text[:_PROBLEM_MAX]
            if pending.ticket_id:
                self.queue.add_user_message(pending.ticket_id, text, found)
                ticket = self.queue.ticket(pending.ticket_id)
                return FollowUp(ticket, lang, "details_added") if ticket else None
            history = self.queue.recent_turns(session_id, self.settings.conversation_turns)
            completed = PendingHandoff(**{**asdict(pending), "details": {**pending.details,
                                                                         **found}})
            ticket = self.create(completed, session_id, history, [text], key,
                                 title(pending.lang))
            return FollowUp(ticket, pending.lang, "", pending.category)
        except QueueError:
            log.exception("handoff follow-up failed")
            return None

    def create(self, pending: PendingHandoff, session_id: str | None, history: list[dict],
               latest: list[str], key: str | None, title: TitleOf) -> Ticket:
        """The ticket, with the conversation as the agent should read it."""
        conversation: list[dict] = []
        for t in history:
            conversation.append({"role": "user", "text": t["query"], "at": t["at"]})
            line = assistant_turn(t, pending.lang, title)
            if line:
                conversation.append({"role": "assistant", "text": line, "at": t["at"]})
        conversation += [{"role": "user", "text": t} for t in latest]
        return self.queue.create(NewTicket(
            query=pending.query, lang=pending.lang, reason=pending.reason,
            session_id=session_id, category=pending.category,
            candidates=list(pending.candidates), priority=pending.priority,
            details=dict(pending.details), conversation=conversation, idempotency_key=key))


def _topic(history: list[dict]) -> dict | None:
    """The latest turn of the conversation about a problem: answered or offered a choice,
    in a category that says what the problem is."""
    for t in reversed(history):
        if t.get("action") in ("answer", "clarify") and (t.get("category") or "") not in _NO_TOPIC:
            return t
    return None


def assistant_turn(turn: dict, lang: Lang, title: TitleOf) -> str:
    """What the assistant did with one turn, in a line an agent reads."""
    action, article = turn.get("action"), turn.get("article_id")
    language = languages.get(lang)
    if action == "answer" and article:
        return language.message("turn_answered", title=title(article))
    if action == "clarify":
        return language.message("turn_clarified")
    if action == "decline":
        return language.message("turn_declined")
    return ""  # a hand-over is the ticket itself


def _details(texts: list[str]) -> dict[str, str]:
    """Details found across messages; a later message wins.

    The first message with more in it than a request for a person describes the `problem`.
    """
    found: dict[str, str] = {}
    for t in texts:
        found.update(ent.extract(t).as_dict())
        rest = without_human_request(t)
        if "problem" not in found and len(rest.replace(" ", "")) >= _PROBLEM_CHARS:
            found["problem"] = rest[:_PROBLEM_MAX]
    return found


__all__ = ["HandOver", "FollowUp", "HandoffConversation", "PendingHandoff", "assistant_turn",
           "digest"]
