"""The handoff queue in process memory: for tests, demos and single-process development.

It keeps the SQL backends' contract (positions, priorities, idempotency keys, one holder per
ticket, the same errors and the same storage guard) so code tested against it behaves the same
on SQLite or PostgreSQL. Nothing survives the process.

Rows are kept in the SQL backends' shape (JSON columns as text, timestamps as `stamp` text) so
that reads, filters and scrubbing follow the very same rules. One lock per store makes every
operation atomic: a claim reads and changes a ticket in one step, so two agents never hold it.

`memory://` gives each queue object its own empty store; `memory://name` shares one store
between the queue objects of one process opened with that name (like several connections to
one database), for as long as any of them is alive.
"""

from __future__ import annotations

import builtins
import json
import threading
import weakref
from dataclasses import replace
from datetime import timedelta
from typing import Any

from assistant.core.errors import QueueError, TicketConflict, TicketNotFound
from assistant.core.types import Ticket
from assistant.handoff.protocols import (
    DEFAULT_TEAM,
    PRIORITIES,
    REOPEN_TOO_LATE,
    ROLES,
    Clock,
    NewTicket,
    Pace,
    Teams,
    clean,
    dump,
    escalation_text,
    issued_id,
    new_secret,
    new_ticket_id,
    outbox_row,
    plain_key,
    scrub_column,
    scrub_fragments,
    secret_matches,
    stamp,
    state_message,
    utc_now,
)

_ACTIVE = ("open", "claimed")
_LIST_COLUMNS = ("id", "seq", "created_at", "updated_at", "status", "priority", "lang",
                 "category", "query", "reason", "agent", "claimed_at", "resolved_at", "rating",
                 "team", "channel", "reopened")
_TURN_COLUMNS = ("at", "lang", "query", "action", "category", "article_id", "confidence",
                 "reason")
_FEEDBACK_COLUMNS = ("at", "lang", "query", "article_id", "helpful", "comment")
_EVENT_TICKET_COLUMNS = ("id", "created_at", "claimed_at", "resolved_at", "status", "priority",
                         "lang", "category", "query", "rating", "rating_comment", "team",
                         "agent", "channel", "reopened")


class _Store:
    """The rows of one in-memory queue, behind one lock (shared by its queue objects)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tickets: dict[str, dict] = {}  # id -> row, columns as in SQL
        self.messages: dict[str, list[dict]] = {}  # ticket id -> messages in order
        self.keys: dict[str, tuple[str, str]] = {}  # idempotency key -> (ticket id, created_at)
        self.pending: dict[str, tuple[str, str]] = {}  # session -> (payload JSON, created_at)
        self.turns: list[dict] = []  # with "session_id"; list order is insertion order
        self.feedback: list[dict] = []
        self.threads: dict[str, tuple[str, str | None]] = {}  # Message-ID -> (ticket, subject)
        self.outbox: list[dict] = []  # rows as in SQL; list index + 1 is the id
        self.seq = 0


_named: weakref.WeakValueDictionary[str, _Store] = weakref.WeakValueDictionary()
_named_lock = threading.Lock()


def _store_named(name: str) -> _Store:
    """The process-wide store of a name (made on first use), or a private one for ""."""
    if not name:
        return _Store()
    with _named_lock:
        store = _named.get(name)
        if store is None:
            store = _Store()
            _named[name] = store
        return store


class MemoryHandoffQueue:
    """The queue in a dict per table; thread-safe, same behaviour as `SqlHandoffQueue`."""

    def __init__(self, name: str = "", *, pace: Pace | None = None, clock: Clock = utc_now,
                 idempotency_seconds: float = 600.0, default_team: str = DEFAULT_TEAM) -> None:
        self.name = name
        self.default_team = default_team
        self.pace = pace or Pace(default_minutes=10.0)
        self.clock = clock
        self.idempotency_seconds = idempotency_seconds
        self._store = _store_named(name)

    def open(self) -> MemoryHandoffQueue:
        """Nothing to connect to; kept so callers treat every backend alike."""
        return self

    def close(self) -> None:
        """Keeps the rows: like a database, the store outlives one client's close."""

    def probe(self) -> None:
        """Process memory always takes a write."""

    # ------------------------------------------------------------ tickets

    def create(self, new: NewTicket) -> Ticket:
        """Store a ticket with its conversation; a repeated idempotency key returns the first."""
        if new.priority not in PRIORITIES:
            raise QueueError(f"priority {new.priority!r} is not one of {', '.join(PRIORITIES)}")
        now = stamp(self.clock())
        secret, hashed = new_secret()
        key = plain_key(new.idempotency_key)
        s = self._store
        with s.lock:
            seen = self._keyed(key) if key else None
            if seen:  # the same request again: the same ticket, a new secret
                s.tickets[seen]["secret_hash"] = hashed
            ticket_id = seen or self._insert(new, now, hashed)
            ticket = self.ticket(ticket_id)
        assert ticket is not None
        return replace(ticket, secret=secret)

    def _insert(self, new: NewTicket, now: str, hashed: str) -> str:
        s = self._store
        ticket_id = new_ticket_id()
        row = {"id": ticket_id, "seq": s.seq + 1, "created_at": now, "status": "open",
               "query": clean(new.query), "lang": plain_key(new.lang),
               "session_id": plain_key(new.session_id), "category": plain_key(new.category),
               "reason": plain_key(new.reason), "candidates": dump(new.candidates),
               "priority": new.priority, "updated_at": now, "agent": None, "claimed_at": None,
               "resolved_at": None, "resolution": None, "details": dump(new.details),
               "rating": None, "rating_comment": None, "secret_hash": hashed,
               "team": plain_key(new.team or self.default_team),
               "channel": plain_key(new.channel), "contact": clean(new.contact),
               "reopened": 0}
        _not_null("tickets", row, "query", "lang", "team", "channel")
        messages = []
        for m in new.conversation:
            role = m.get("role", "user")
            messages.append(_message(role if role in ROLES else "user", None, m["text"],
                                     m.get("at") or now))
        s.seq += 1  # only once nothing can fail: a failed create leaves no trace
        s.tickets[ticket_id] = row
        s.messages[ticket_id] = messages
        key = plain_key(new.idempotency_key)
        if key:
            s.keys[key] = (ticket_id, now)
        return ticket_id

    def _keyed(self, key: str) -> str | None:
        """The ticket a key created, while that ticket is active or the key is recent."""
        entry = self._store.keys.get(key)
        if entry is None:
            return None
        ticket_id, created_at = entry
        row = self._store.tickets.get(ticket_id)
        if row is None:
            return None
        recent = stamp(self.clock() - timedelta(seconds=self.idempotency_seconds))
        return ticket_id if row["status"] in _ACTIVE or created_at >= recent else None

    def find_key(self, key: str) -> Ticket | None:
        """The ticket a retried request already created, else None."""
        with self._store.lock:
            ticket_id = self._keyed(plain_key(key) or "")
            return self.ticket(ticket_id) if ticket_id else None

    def verify_secret(self, ticket_id: str, secret: str) -> bool:
        """Whether `secret` is the one last issued for this ticket (hashes, constant time)."""
        with self._store.lock:
            row = self._store.tickets.get(ticket_id) if issued_id(ticket_id) else None
            stored = row["secret_hash"] if row else None
        return secret_matches(stored, secret)

    def reissue_secret(self, ticket_id: str) -> Ticket:
        """The ticket with a new secret for a retried request (the earlier one stops working)."""
        secret, hashed = new_secret()
        with self._store.lock:
            self._require(ticket_id)["secret_hash"] = hashed
            ticket = self.ticket(ticket_id)
        assert ticket is not None
        return replace(ticket, secret=secret)

    def ticket(self, ticket_id: str) -> Ticket | None:
        """The user-facing summary: status, place in the queue and the estimated wait."""
        with self._store.lock:
            row = self._store.tickets.get(ticket_id)
            if row is None:
                return None
            position = self._position(ticket_id)
            eta = self.pace.eta(position, self._recent_resolved(row["team"], row["lang"]))
            return Ticket(id=row["id"], position=position or 0, status=row["status"],
                          eta_minutes=eta)

    def active_for_session(self, session_id: str) -> Ticket | None:
        """The session's open or claimed ticket, if any (the newest)."""
        with self._store.lock:
            session_id = plain_key(session_id) or ""
            active = [r for r in self._store.tickets.values()
                      if r["session_id"] == session_id and r["status"] in _ACTIVE]
            if not active:
                return None
            return self.ticket(max(active, key=lambda r: r["seq"])["id"])

    def get(self, ticket_id: str) -> dict | None:
        """Everything about one ticket, with its messages in order (copies, never the rows)."""
        with self._store.lock:
            row = self._store.tickets.get(ticket_id)
            if row is None:
                return None
            data = dict(row)
            data.pop("secret_hash", None)
            data["candidates"] = json.loads(row["candidates"] or "[]")
            data["details"] = json.loads(row["details"] or "{}")
            data["messages"] = [dict(m) for m in self._store.messages.get(ticket_id, [])]
            data["position"] = self._position(ticket_id)
            data["eta_minutes"] = self.pace.eta(data["position"],
                                                self._recent_resolved(row["team"],
                                                                      row["lang"]))
            return data

    def position(self, ticket_id: str) -> int | None:
        """1-based place among open tickets (urgent first, then oldest); None if not open."""
        with self._store.lock:
            return self._position(ticket_id)

    def open_count(self) -> int:
        with self._store.lock:
            return sum(1 for r in self._store.tickets.values() if r["status"] == "open")

    def list(self, *, status: str | None = None, priority: str | None = None,
             lang: str | None = None, category: str | None = None,
             team: Teams = None, limit: int = 50) -> builtins.list[dict]:
        """Tickets for the agent console, in the order agents should take them."""
        with self._store.lock:
            rows = self._ordered(status=status, priority=priority, lang=lang, category=category,
                                 team=team)
            return [{c: r[c] for c in _LIST_COLUMNS} for r in rows[:max(int(limit), 0)]]

    # ------------------------------------------------------------ agents

    def claim_next(self, agent: str, *, lang: str | None = None,
                   category: str | None = None, team: Teams = None) -> dict | None:
        """Atomically take the most urgent, oldest open ticket (of the team or teams, when
        given); None when there is none."""
        now = stamp(self.clock())
        with self._store.lock:
            rows = self._ordered(status="open", lang=lang, category=category, team=team)
            if not rows:
                return None
            rows[0].update(status="claimed", agent=plain_key(agent), claimed_at=now,
                           updated_at=now)
            return self._get(rows[0]["id"])

    def claim(self, ticket_id: str, agent: str) -> dict:
        agent = plain_key(agent) or ""
        now = stamp(self.clock())
        with self._store.lock:
            row = self._require(ticket_id)
            if row["status"] == "open":
                row.update(status="claimed", agent=agent, claimed_at=now, updated_at=now)
            elif not (row["status"] == "claimed" and row["agent"] == agent):
                raise TicketConflict(state_message(row, "claim"))
            return self._get(ticket_id)

    def release(self, ticket_id: str, agent: str) -> dict:
        agent = plain_key(agent) or ""
        now = stamp(self.clock())
        with self._store.lock:
            row = self._require_holder(ticket_id, agent, "release")
            row.update(status="open", agent=None, claimed_at=None, updated_at=now)
            return self._get(ticket_id)

    def reply(self, ticket_id: str, agent: str, text: str) -> dict:
        agent = plain_key(agent) or ""
        now = stamp(self.clock())
        with self._store.lock:
            row = self._require_holder(ticket_id, agent, "reply to")
            self._store.messages[ticket_id].append(_message("agent", agent, text, now))
            row["updated_at"] = now
            return self._get(ticket_id)

    def resolve(self, ticket_id: str, agent: str, resolution: str) -> dict:
        agent = plain_key(agent) or ""
        now = stamp(self.clock())
        with self._store.lock:
            row = self._require_holder(ticket_id, agent, "resolve")
            row.update(status="resolved", resolution=clean(resolution), resolved_at=now,
                       updated_at=now)
            return self._get(ticket_id)

    # ------------------------------------------------------------ users

    def add_user_message(self, ticket_id: str, text: str,
                         details: dict[str, str] | None = None) -> dict:
        """A follow-up from the user on an open or claimed ticket; new details are merged."""
        now = stamp(self.clock())
        with self._store.lock:
            row = self._require(ticket_id)
            if row["status"] not in _ACTIVE:
                raise TicketConflict(state_message(row, "add a message to"))
            message = _message("user", None, text, now)
            merged = {**json.loads(row["details"] or "{}"), **(details or {})}
            self._store.messages[ticket_id].append(message)
            row.update(details=dump(merged), updated_at=now)
            return self._get(ticket_id)

    def rate(self, ticket_id: str, score: int, comment: str | None) -> dict:
        if not 1 <= int(score) <= 5:
            raise QueueError("a rating is a whole number from 1 to 5")
        now = stamp(self.clock())
        with self._store.lock:
            row = self._require(ticket_id)
            if row["status"] != "resolved":
                raise TicketConflict(state_message(row, "rate"))
            row.update(rating=int(score), rating_comment=clean(comment), updated_at=now)
            return self._get(ticket_id)

    def cancel(self, ticket_id: str) -> dict:
        """The user no longer needs help: the ticket leaves the queue as `abandoned`."""
        now = stamp(self.clock())
        with self._store.lock:
            row = self._require(ticket_id)
            if row["status"] not in _ACTIVE:
                raise TicketConflict(state_message(row, "cancel"))
            row.update(status="abandoned", updated_at=now)
            return self._get(ticket_id)

    # ------------------------------------------------------------ teams

    def escalate(self, ticket_id: str, agent: str, team: str, reason: str) -> dict:
        """The holder hands the ticket to another team's queue, saying why."""
        agent, team = plain_key(agent) or "", plain_key(team) or ""
        now = stamp(self.clock())
        with self._store.lock:
            row = self._require_holder(ticket_id, agent, "escalate")
            if row["team"] == team:
                raise TicketConflict(f"cannot escalate this ticket: it is already with {team}")
            message = _message("event", agent, escalation_text(row["team"], team, reason), now)
            row.update(status="open", team=team, agent=None, claimed_at=None, updated_at=now)
            self._store.messages[ticket_id].append(message)
            return self._get(ticket_id)

    def transfer(self, ticket_id: str, agent: str, *, to_agent: str | None = None,
                 to_team: str | None = None) -> dict:
        """The holder passes the ticket to one colleague or to a team's queue."""
        if bool(to_agent) == bool(to_team):
            raise QueueError("transfer to an agent or to a team: name exactly one")
        agent = plain_key(agent) or ""
        now = stamp(self.clock())
        with self._store.lock:
            row = self._require_holder(ticket_id, agent, "transfer")
            if to_agent:
                to_agent = plain_key(to_agent) or ""
                if to_agent == agent:
                    raise TicketConflict("cannot transfer this ticket: you already hold it")
                row.update(agent=to_agent, claimed_at=now, updated_at=now)
                text = f"transferred from {agent} to {to_agent}"
            else:
                to_team = plain_key(to_team) or ""
                text = f"transferred from {agent} ({row['team']}) to the {to_team} queue"
                row.update(status="open", team=to_team, agent=None, claimed_at=None,
                           updated_at=now)
            self._store.messages[ticket_id].append(_message("event", agent, text, now))
            return self._get(ticket_id)

    def note(self, ticket_id: str, agent: str, text: str) -> dict:
        """An internal note for colleagues on any ticket; the user never sees notes."""
        now = stamp(self.clock())
        with self._store.lock:
            row = self._require(ticket_id)
            self._store.messages[ticket_id].append(
                _message("note", plain_key(agent), text, now))
            row["updated_at"] = now
            return self._get(ticket_id)

    def reopen(self, ticket_id: str, text: str, within_seconds: float) -> dict:
        """A resolved ticket back to its team's queue, within the window after resolution."""
        now_t = self.clock()
        now = stamp(now_t)
        with self._store.lock:
            row = self._require(ticket_id)
            if row["status"] != "resolved":
                raise TicketConflict(state_message(row, "reopen"))
            if (not row["resolved_at"]
                    or row["resolved_at"] < stamp(now_t - timedelta(seconds=within_seconds))):
                raise TicketConflict(REOPEN_TOO_LATE)
            said = _message("user", None, text, now)
            row.update(status="open", agent=None, claimed_at=None, resolved_at=None,
                       reopened=row["reopened"] + 1, updated_at=now)
            self._store.messages[ticket_id] += [
                _message("event", None, "reopened by the user", now), said]
            return self._get(ticket_id)

    # ------------------------------------------------------------ conversation state

    def set_pending(self, session_id: str, payload: dict) -> None:
        """Remember a handoff waiting for the user's details (replaces an earlier one)."""
        now = stamp(self.clock())
        with self._store.lock:
            self._store.pending[plain_key(session_id) or ""] = (dump(payload), now)

    def take_pending(self, session_id: str, max_age_seconds: float) -> dict | None:
        """Remove and return the session's pending handoff (exactly one caller gets it);
        an expired one is removed too."""
        oldest = stamp(self.clock() - timedelta(seconds=max_age_seconds))
        with self._store.lock:
            entry = self._store.pending.pop(plain_key(session_id) or "", None)
        if entry is None or entry[1] < oldest:
            return None
        return json.loads(entry[0])

    def record_turn(self, turn: dict) -> None:
        """One answered message (redacted), for the conversation and the content-gap report."""
        row = {"at": stamp(self.clock()), "session_id": plain_key(turn.get("session_id")),
               "lang": plain_key(turn["lang"]), "query": clean(turn["query"]),
               "action": plain_key(turn["action"]), "category": plain_key(turn.get("category")),
               "article_id": plain_key(turn.get("article_id")),
               "confidence": _real(turn.get("confidence")),
               "reason": plain_key(turn.get("reason"))}
        _not_null("turns", row, "lang", "query", "action")
        with self._store.lock:
            self._store.turns.append(row)

    def scrub(self, fragments: tuple[str, ...], *, session_id: str | None = None,
              ticket_id: str | None = None) -> int:
        """Replace earlier parts of a phrase (typed over several messages) wherever this
        session or ticket stored them. Returns the number of rows changed."""
        fragments = scrub_fragments(fragments)
        session_id = plain_key(session_id)
        if not fragments or not (session_id or ticket_id):
            return 0
        s = self._store
        with s.lock:
            rows: builtins.list[tuple[dict, tuple[str, ...]]] = []
            if session_id:
                tickets = [r["id"] for r in s.tickets.values() if r["session_id"] == session_id]
                rows += [(r, ("query",)) for r in s.turns if r["session_id"] == session_id]
                rows += [(r, ("query", "comment")) for r in s.feedback
                         if r["session_id"] == session_id]
                changed = self._scrub_pending(session_id, fragments)
            else:
                tickets, changed = [ticket_id or ""], 0
            for tid in tickets:
                if tid in s.tickets:
                    rows.append((s.tickets[tid], ("query", "details")))
                rows += [(m, ("text",)) for m in s.messages.get(tid, [])]
            for row, columns in rows:
                new = {c: scrub_column(row[c], fragments) for c in columns}
                if any(new[c] != row[c] for c in columns):
                    row.update(new)
                    changed += 1
            return changed

    def _scrub_pending(self, session_id: str, fragments: tuple[str, ...]) -> int:
        entry = self._store.pending.get(session_id)
        if entry is None:
            return 0
        payload = scrub_column(entry[0], fragments)
        if payload == entry[0]:
            return 0
        self._store.pending[session_id] = (payload, entry[1])
        return 1

    def recent_turns(self, session_id: str, limit: int) -> builtins.list[dict]:
        """The session's last `limit` turns, oldest first."""
        session_id = plain_key(session_id) or ""
        with self._store.lock:
            rows = [r for r in self._store.turns if r["session_id"] == session_id]
        rows = rows[max(len(rows) - max(int(limit), 0), 0):]
        return [{c: r[c] for c in ("at", "query", "action", "category", "article_id")}
                for r in rows]

    # ------------------------------------------------------------ events

    def add_feedback(self, feedback: dict) -> int:
        row = {"at": stamp(self.clock()), "session_id": plain_key(feedback.get("session_id")),
               "lang": plain_key(feedback.get("lang")), "query": clean(feedback.get("query")),
               "article_id": plain_key(feedback.get("article_id")),
               "helpful": 1 if feedback["helpful"] else 0,
               "comment": clean(feedback.get("comment"))}
        with self._store.lock:
            self._store.feedback.append(row)
            return len(self._store.feedback)  # ids count from 1, like an auto-increment

    def events(self, since: str) -> dict[str, builtins.list[dict]]:
        """Turns, feedback and tickets since a time: the raw material of stats and gaps."""
        s = self._store
        with s.lock:
            tickets = sorted((r for r in s.tickets.values()
                              if r["created_at"] >= since or r["status"] in _ACTIVE),
                             key=lambda r: r["seq"])
            return {
                "turns": [{c: r[c] for c in _TURN_COLUMNS} for r in s.turns if r["at"] >= since],
                "feedback": [{c: r[c] for c in _FEEDBACK_COLUMNS} for r in s.feedback
                             if r["at"] >= since],
                "tickets": [{c: r[c] for c in _EVENT_TICKET_COLUMNS} for r in tickets],
            }

    # ------------------------------------------------------------ mail

    def link_mail(self, message_id: str, ticket_id: str, subject: str | None = None) -> None:
        """A Message-ID of the ticket's thread: a reply naming it is the ticket's."""
        with self._store.lock:  # dicts keep insertion order: the thread's order
            self._store.threads.setdefault(plain_key(message_id) or "",
                                           (ticket_id, clean(subject)))

    def mail_ticket(self, message_ids: builtins.list[str]) -> str | None:
        with self._store.lock:
            for mid in message_ids:
                found = self._store.threads.get(plain_key(mid) or "")
                if found:
                    return found[0]
        return None

    def mail_thread(self, ticket_id: str) -> tuple[str, builtins.list[str]]:
        with self._store.lock:
            rows = [(mid, subject) for mid, (tid, subject) in self._store.threads.items()
                    if tid == ticket_id]
        return next((sub for _, sub in rows if sub), ""), [mid for mid, _ in rows]

    def enqueue_mail(self, mail: dict) -> int:
        row: dict[str, Any] = {"ticket_id": mail.get("ticket_id"),
               "kind": plain_key(mail["kind"]),
               "to_addr": clean(mail["to"]), "subject": clean(mail["subject"]),
               "body": clean(mail["body"]), "message_id": plain_key(mail["message_id"]),
               "in_reply_to": plain_key(mail.get("in_reply_to")),
               "refs": plain_key(mail.get("references") or ""),
               "created_at": stamp(self.clock()), "sent_at": None, "attempts": 0,
               "last_error": None}
        _not_null("mail_outbox", row, "kind", "to_addr", "subject", "body", "message_id")
        with self._store.lock:
            self._store.outbox.append(row)
            row["id"] = len(self._store.outbox)
            return int(row["id"])

    def due_mail(self, limit: int = 50, max_attempts: int = 5) -> builtins.list[dict]:
        with self._store.lock:
            due = [r for r in self._store.outbox
                   if r["sent_at"] is None and r["attempts"] < max_attempts]
            return [outbox_row(r) for r in due[:max(int(limit), 0)]]

    def mail_sent(self, mail_id: int) -> None:
        with self._store.lock:
            row = self._outbox(mail_id)
            if row:
                row.update(sent_at=stamp(self.clock()), attempts=row["attempts"] + 1,
                           last_error=None)

    def mail_failed(self, mail_id: int, error: str) -> None:
        with self._store.lock:
            row = self._outbox(mail_id)
            if row:
                row.update(attempts=row["attempts"] + 1, last_error=clean(error[:500]))

    def _outbox(self, mail_id: int) -> dict | None:
        rows = self._store.outbox
        return rows[int(mail_id) - 1] if 1 <= int(mail_id) <= len(rows) else None

    # ------------------------------------------------------------ helpers (hold the lock)

    def _ordered(self, **filters: str | tuple[str, ...] | None) -> builtins.list[dict]:
        """Rows matching every given filter, urgent first, then oldest (a falsy filter is
        no filter, as in SQL; a tuple matches any of its values)."""
        def match(value: Any, wanted: str | tuple[str, ...]) -> bool:
            if isinstance(wanted, tuple):
                return value in {plain_key(w) for w in wanted}
            return bool(value == plain_key(wanted))

        rows = [r for r in self._store.tickets.values()
                if all(match(r[k], v) for k, v in filters.items() if v)]
        return sorted(rows, key=lambda r: (r["priority"] != "urgent", r["seq"]))

    def _position(self, ticket_id: str) -> int | None:
        row = self._store.tickets.get(ticket_id)
        if row is None or row["status"] != "open":
            return None
        urgent = row["priority"] == "urgent"
        return sum(1 for r in self._store.tickets.values()
                   if r["status"] == "open" and r["team"] == row["team"] and (
            (r["priority"] == "urgent" and r["seq"] <= row["seq"]) if urgent
            else (r["priority"] == "urgent" or r["seq"] <= row["seq"])))

    def _recent_resolved(self, team: str, lang: str) -> builtins.list[str]:
        times = sorted((r["resolved_at"] for r in self._store.tickets.values()
                        if r["team"] == team and r["lang"] == lang
                        and r["resolved_at"] is not None), reverse=True)
        return times[:self.pace.window]

    def _require(self, ticket_id: str) -> dict:
        row = self._store.tickets.get(ticket_id)
        if row is None:
            raise TicketNotFound(f"no ticket {ticket_id!r}")
        return row

    def _require_holder(self, ticket_id: str, agent: str, verb: str) -> dict:
        row = self._require(ticket_id)
        if row["status"] != "claimed" or row["agent"] != agent:
            raise TicketConflict(state_message(row, verb, agent))
        return row

    def _get(self, ticket_id: str) -> dict:
        data = self.get(ticket_id)
        if data is None:
            raise TicketNotFound(f"no ticket {ticket_id!r}")
        return data


def _message(role: str, author: str | None, text: str | None, at: str) -> dict:
    """A guarded message row; text is required, as the SQL column is NOT NULL."""
    row = {"role": role, "author": author, "text": clean(text), "at": at}
    _not_null("ticket_messages", row, "text")
    return row


def _not_null(table: str, row: dict, *columns: str) -> None:
    """The NOT NULL constraints of the SQL schema, reported the way the SQL backends do."""
    for column in columns:
        if row[column] is None:
            raise QueueError(f"handoff queue error: NOT NULL constraint failed: {table}.{column}")


def _real(value: Any) -> float | None:
    """A REAL column: numbers are stored as floats."""
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise QueueError(f"handoff queue error: {value!r} is not a number") from exc
