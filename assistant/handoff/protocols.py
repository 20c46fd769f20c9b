"""What a handoff queue backend promises, and the rules every backend applies alike.

The interface is split by who needs what: the agent console and the service need tickets
(`TicketStore`), the conversation flow needs per-session state (`SessionState`), the stats and
content-gap reports need the event history (`EventLog`). A caller can ask for the narrow part it
uses, and a backend is checked against each part on its own. `HandoffQueue` is all three plus
the connection lifecycle: what `open_queue` returns.

The shared rules live here too, so that the SQL and in-memory backends cannot drift apart:
timestamps as fixed-width text, the storage guard that redacts secrets on the way in, the
wording of state errors (the API shows it to agents), and the scrubbing of phrase fragments.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import json
import logging
import math
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Protocol, runtime_checkable

from assistant.core.types import Ticket
from assistant.understanding.redaction import PHRASE_MARK, redact

STATUSES = ("open", "claimed", "resolved", "abandoned")
PRIORITIES = ("normal", "urgent")
ROLES = ("user", "assistant", "agent")
#: Messages only agents see: notes for colleagues, and events (escalated, transferred,
#: reopened) with their reasons.
INTERNAL_ROLES = ("note", "event")
#: The team a ticket starts with when nothing names one (and every ticket from before teams).
DEFAULT_TEAM = "tier1"
CHANNELS = ("chat", "email")
REOPEN_TOO_LATE = ("cannot reopen this ticket: it was resolved too long ago; "
                   "start a new conversation")

#: A team filter: one team, any of several, or None for every team.
Teams = str | tuple[str, ...] | None

Clock = Callable[[], datetime]
log = logging.getLogger("assistant.handoff.queue")


#: Control characters no stored value keeps: C0 but tab and new line, DEL, C1.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
#: What `create` issues as ticket ids (`secrets.token_urlsafe`); nothing else names a ticket.
_TICKET_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: Compared against when a ticket has no secret, so a miss costs what a wrong secret costs.
_NO_HASH = "0" * 64


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def stamp(t: datetime) -> str:
    """Fixed-width ISO text: sorts as text in both databases and in memory."""
    return t.astimezone(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class NewTicket:
    """What the service knows when it hands a user over."""

    query: str
    lang: str
    reason: str
    session_id: str | None = None
    category: str | None = None
    candidates: list[dict] = field(default_factory=list)
    priority: str = "normal"
    details: dict[str, str] = field(default_factory=dict)
    conversation: list[dict] = field(default_factory=list)  # [{"role", "text", "at"?}]
    idempotency_key: str | None = None
    team: str | None = None  # None: the queue's default team
    channel: str = "chat"
    contact: str | None = None  # the address replies go to (email)


@dataclass(frozen=True)
class Pace:
    """How fast agents have been resolving tickets; turns a position into a wait."""

    default_minutes: float
    window: int = 20

    def eta(self, position: int | None, recent_resolved: list[str]) -> int | None:
        """Minutes until an agent picks the ticket up, from the recent resolution pace."""
        if position is None:
            return None
        per_ticket = self.default_minutes
        times = sorted(recent_resolved)
        if len(times) >= 2:
            span = (datetime.fromisoformat(times[-1]) - datetime.fromisoformat(times[0]))
            per_ticket = max(span.total_seconds() / 60 / (len(times) - 1), 0.5)
        return max(1, math.ceil(position * per_ticket))


# ---------------------------------------------------------------- protocols


@runtime_checkable
class TicketStore(Protocol):
    """Tickets and their conversation: what users and agents act on.

    Separate because it carries the queue's guarantees (one holder per ticket, one ticket per
    idempotency key, positions urgent first then oldest) that every backend must keep.

    `create` returns the ticket with its secret, the user's credential for their ticket; only
    its hash is stored. A repeated idempotency key (the first reply was lost) gets the ticket
    with a new secret, and the earlier one stops working (`reissue_secret`); no read returns
    one. `verify_secret` says whether a secret opens a ticket.
    """

    def create(self, new: NewTicket) -> Ticket: ...
    def verify_secret(self, ticket_id: str, secret: str) -> bool: ...
    def reissue_secret(self, ticket_id: str) -> Ticket: ...
    def get(self, ticket_id: str) -> dict | None: ...
    def ticket(self, ticket_id: str) -> Ticket | None: ...
    def find_key(self, key: str) -> Ticket | None: ...
    def active_for_session(self, session_id: str) -> Ticket | None: ...
    def position(self, ticket_id: str) -> int | None: ...
    def open_count(self) -> int: ...
    def list(self, *, status: str | None = None, priority: str | None = None,
             lang: str | None = None, category: str | None = None,
             team: Teams = None, limit: int = 50) -> builtins.list[dict]: ...
    def claim_next(self, agent: str, *, lang: str | None = None,
                   category: str | None = None, team: Teams = None) -> dict | None: ...
    def claim(self, ticket_id: str, agent: str) -> dict: ...
    def release(self, ticket_id: str, agent: str) -> dict: ...
    def reply(self, ticket_id: str, agent: str, text: str) -> dict: ...
    def resolve(self, ticket_id: str, agent: str, resolution: str) -> dict: ...
    def add_user_message(self, ticket_id: str, text: str,
                         details: dict[str, str] | None = None) -> dict: ...
    def rate(self, ticket_id: str, score: int, comment: str | None) -> dict: ...
    def cancel(self, ticket_id: str) -> dict: ...
    def escalate(self, ticket_id: str, agent: str, team: str, reason: str) -> dict: ...
    def transfer(self, ticket_id: str, agent: str, *, to_agent: str | None = None,
                 to_team: str | None = None) -> dict: ...
    def note(self, ticket_id: str, agent: str, text: str) -> dict: ...
    def reopen(self, ticket_id: str, text: str, within_seconds: float) -> dict: ...


@runtime_checkable
class Mailbox(Protocol):
    """Email threads and the outbox.

    Separate because only the email channel needs it: which ticket a reply belongs to (by the
    Message-IDs of its thread), and mail stored before it is sent, so that a relay that is
    down delays mail instead of losing it.
    """

    def link_mail(self, message_id: str, ticket_id: str,
                  subject: str | None = None) -> None: ...
    def mail_ticket(self, message_ids: builtins.list[str]) -> str | None: ...
    def mail_thread(self, ticket_id: str) -> tuple[str, builtins.list[str]]: ...
    def enqueue_mail(self, mail: dict) -> int: ...
    def due_mail(self, limit: int = 50, max_attempts: int = 5) -> builtins.list[dict]: ...
    def mail_sent(self, mail_id: int) -> None: ...
    def mail_failed(self, mail_id: int, error: str) -> None: ...


@runtime_checkable
class SessionState(Protocol):
    """Short-lived per-session state the conversation needs across replicas.

    Separate because it is not a ticket: a handoff waiting for details, the recent turns, and
    the scrubbing of a phrase typed over several messages all key on the session.
    """

    def set_pending(self, session_id: str, payload: dict) -> None: ...
    def take_pending(self, session_id: str, max_age_seconds: float) -> dict | None: ...
    def record_turn(self, turn: dict) -> None: ...
    def recent_turns(self, session_id: str, limit: int) -> list[dict]: ...
    def scrub(self, fragments: tuple[str, ...], *, session_id: str | None = None,
              ticket_id: str | None = None) -> int: ...


@runtime_checkable
class EventLog(Protocol):
    """Append-only history for the stats and content-gap reports.

    Separate because its readers (insights, the admin stats) never change tickets.
    """

    def add_feedback(self, feedback: dict) -> int: ...
    def events(self, since: str) -> dict[str, list[dict]]: ...


@runtime_checkable
class HandoffQueue(TicketStore, SessionState, EventLog, Mailbox, Protocol):
    """What the service and the API need from a queue backend: every part, plus its lifecycle
    (`open` connects and migrates, `close` lets go of connections, `probe` makes one small
    durable write and raises QueueError when the queue cannot take one: readiness)."""

    def open(self) -> HandoffQueue: ...
    def close(self) -> None: ...
    def probe(self) -> None: ...


# ---------------------------------------------------------------- shared rules


def state_message(row: dict, verb: str, agent: str | None = None) -> str:
    """Why a ticket refuses an action, in words an agent can act on."""
    if row["status"] == "claimed" and row["agent"] != agent:
        return f"cannot {verb} this ticket: another agent ({row['agent']}) holds it"
    if row["status"] == "open" and agent is not None:
        return f"cannot {verb} this ticket: claim it first"
    return f"cannot {verb} this ticket: it is {row['status']}"


def escalation_text(from_team: str, to_team: str, reason: str) -> str:
    return f"escalated from {from_team} to {to_team}: {reason}"


def outbox_row(row: dict) -> dict:
    """An outbox row in the shape `enqueue_mail` takes (plus id, attempts, created_at)."""
    return {"id": int(row["id"]), "ticket_id": row["ticket_id"], "kind": row["kind"],
            "to": row["to_addr"], "subject": row["subject"], "body": row["body"],
            "message_id": row["message_id"], "in_reply_to": row["in_reply_to"],
            "references": row["refs"] or "", "created_at": row["created_at"],
            "attempts": int(row["attempts"]), "last_error": row["last_error"]}


def dump(value: Any) -> str:
    """A JSON value as stored: guarded, with sorted keys."""
    return json.dumps(clean_tree(value), ensure_ascii=False, sort_keys=True)


def plain(text: str) -> str:
    """Free text as every database stores it: line breaks as LF, a lone surrogate as U+FFFD,
    any other control character as a space.

    PostgreSQL refuses NUL in text and cannot encode a lone surrogate, where SQLite takes
    both: cleaned here, the backends store the same value and neither fails on it."""
    text = _SURROGATE.sub("\ufffd", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _CONTROL.sub(" ", text)


def plain_key(value: str | None) -> str | None:
    """An id, key, category or filter as stored and looked up, on every backend alike: control
    characters and lone surrogates become U+FFFD.

    Writes and reads clean alike, so a session id or an idempotency key holding a NUL still
    finds its pending handoff and its ticket instead of failing on PostgreSQL."""
    if value is None:
        return None
    return _CONTROL.sub("\ufffd", _SURROGATE.sub("\ufffd", value))


def issued_id(ticket_id: str) -> bool:
    """Whether a ticket id has the shape `create` issues. Anything else names no ticket and
    never reaches a database (a NUL would fail PostgreSQL's query, not just miss)."""
    return bool(_TICKET_ID.fullmatch(ticket_id))


def new_ticket_id() -> str:
    return secrets.token_urlsafe(12)


def new_secret() -> tuple[str, str]:
    """A ticket's secret and the hash stored in its place: the queue never keeps the secret,
    so a copy of the database does not let anyone act as the user."""
    secret = secrets.token_urlsafe(24)
    return secret, secret_hash(secret)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


def secret_matches(stored: str | None, secret: str) -> bool:
    """Constant-time comparison of hashes; a ticket without a stored hash (created before
    secrets existed) matches nothing, at the same cost."""
    return hmac.compare_digest(stored or _NO_HASH, secret_hash(secret)) and stored is not None


def clean(text: str | None) -> str | None:
    """The storage guard: control characters go (see `plain`), and a value that still holds a
    phrase or key is stored redacted.

    Bare hex is left to the service, which saw the conversation (a hash asked for, or
    words about a key); a key named as one ("pk: 0x...") is still caught here."""
    if not text:
        return text
    red = redact(plain(text), expect_hash=True)
    if red.found:
        log.warning("storage guard: a secret reached the queue and was removed before writing")
    return red.text


def clean_tree(value: Any, label: str = "") -> Any:
    """Every string in a JSON value, checked with its field name as context (a `tx_hash`
    field holds a transaction hash, not a key)."""
    if isinstance(value, str):
        if not label:
            return clean(value)
        prefix = f"{label}: "
        cleaned = clean(prefix + value) or ""
        return cleaned[len(prefix):] if cleaned.startswith(prefix) else cleaned
    if isinstance(value, dict):
        return {plain_key(str(k)): clean_tree(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_tree(v) for v in value]
    return value


def scrub_tree(value: Any, fragments: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        for f in fragments:
            value = value.replace(f, PHRASE_MARK)
        return value
    if isinstance(value, dict):
        return {k: scrub_tree(v, fragments) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_tree(v, fragments) for v in value]
    return value


def scrub_column(value: Any, fragments: tuple[str, ...]) -> Any:
    """A stored text value with the fragments replaced; JSON values are walked, not searched
    as text (a fragment's escaping there differs)."""
    if not isinstance(value, str):
        return value
    if value[:1] in "{[":
        try:
            return dump(scrub_tree(json.loads(value), fragments))
        except ValueError:
            pass
    return scrub_tree(value, fragments)


def scrub_fragments(fragments: tuple[str, ...]) -> tuple[str, ...]:
    """The fragments worth replacing: blank ones would match everywhere."""
    return tuple(f for f in fragments if f.strip())
