"""The queue in portable SQL, on SQLite (the embedded default, one WAL file) and PostgreSQL
(several API replicas sharing one queue).

Claims are atomic on both: SQLite serialises writers (`BEGIN IMMEDIATE`), PostgreSQL picks the
next ticket with `FOR UPDATE SKIP LOCKED`, so two agents never hold one ticket. Database errors
surface as `QueueError`; the state rules and the storage guard come from `protocols`.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Iterator

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


# ---------------------------------------------------------------- schema

#: Versioned migrations. `{id}` is the auto-increment key column of each dialect.
MIGRATIONS: list[tuple[int, list[str]]] = [
    (1, [
        """CREATE TABLE IF NOT EXISTS tickets (
            id          TEXT PRIMARY KEY,
            seq         BIGINT NOT NULL,
            created_at  TEXT NOT NULL,
            status      TEXT NOT NULL DEFAULT 'open',
            query       TEXT NOT NULL,
            lang        TEXT NOT NULL,
            session_id  TEXT,
            category    TEXT,
            reason      TEXT,
            candidates  TEXT NOT NULL DEFAULT '[]',
            priority    TEXT NOT NULL DEFAULT 'normal')""",
        "CREATE INDEX IF NOT EXISTS tickets_status_seq ON tickets(status, seq)",
    ]),
    (2, [
        "ALTER TABLE tickets ADD COLUMN updated_at TEXT",
        "ALTER TABLE tickets ADD COLUMN agent TEXT",
        "ALTER TABLE tickets ADD COLUMN claimed_at TEXT",
        "ALTER TABLE tickets ADD COLUMN resolved_at TEXT",
        "ALTER TABLE tickets ADD COLUMN resolution TEXT",
        "ALTER TABLE tickets ADD COLUMN details TEXT NOT NULL DEFAULT '{}'",
        "ALTER TABLE tickets ADD COLUMN rating INTEGER",
        "ALTER TABLE tickets ADD COLUMN rating_comment TEXT",
        "CREATE INDEX IF NOT EXISTS tickets_session ON tickets(session_id)",
        "CREATE INDEX IF NOT EXISTS tickets_resolved ON tickets(lang, resolved_at)",
        """CREATE TABLE IF NOT EXISTS ticket_messages (
            id {id}, ticket_id TEXT NOT NULL, role TEXT NOT NULL, author TEXT,
            text TEXT NOT NULL, at TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS ticket_messages_ticket ON ticket_messages(ticket_id, id)",
        """CREATE TABLE IF NOT EXISTS idempotency (
            key TEXT PRIMARY KEY, ticket_id TEXT NOT NULL, created_at TEXT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS pending_handoffs (
            session_id TEXT PRIMARY KEY, payload TEXT NOT NULL, created_at TEXT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS turns (
            id {id}, at TEXT NOT NULL, session_id TEXT, lang TEXT NOT NULL,
            query TEXT NOT NULL, action TEXT NOT NULL, category TEXT, article_id TEXT,
            confidence REAL, reason TEXT)""",
        "CREATE INDEX IF NOT EXISTS turns_session ON turns(session_id, id)",
        "CREATE INDEX IF NOT EXISTS turns_at ON turns(at)",
        """CREATE TABLE IF NOT EXISTS feedback (
            id {id}, at TEXT NOT NULL, session_id TEXT, lang TEXT, query TEXT,
            article_id TEXT, helpful INTEGER NOT NULL, comment TEXT)""",
        "CREATE INDEX IF NOT EXISTS feedback_at ON feedback(at)",
    ]),
    (3, [
        # The hash of the ticket's secret (see `protocols.new_secret`); NULL on older tickets,
        # which then open for agents only.
        "ALTER TABLE tickets ADD COLUMN secret_hash TEXT",
        # One row the readiness probe rewrites: a real, durable write.
        """CREATE TABLE IF NOT EXISTS queue_heartbeat (
            id INTEGER PRIMARY KEY, at TEXT NOT NULL)""",
    ]),
    (4, [
        # Teams (tiers), channels and reopening. Tickets from before teams are the first
        # tier's, which is every ticket they had.
        "ALTER TABLE tickets ADD COLUMN team TEXT NOT NULL DEFAULT 'tier1'",
        "ALTER TABLE tickets ADD COLUMN channel TEXT NOT NULL DEFAULT 'chat'",
        "ALTER TABLE tickets ADD COLUMN contact TEXT",
        "ALTER TABLE tickets ADD COLUMN reopened INTEGER NOT NULL DEFAULT 0",
        "CREATE INDEX IF NOT EXISTS tickets_team_status ON tickets(team, status, seq)",
        # Every Message-ID of a ticket's email thread, in and out, in order: a reply names
        # one of them, and the next mail's In-Reply-To and References come from them.
        """CREATE TABLE IF NOT EXISTS mail_threads (
            id {id}, message_id TEXT NOT NULL UNIQUE, ticket_id TEXT NOT NULL,
            subject TEXT, at TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS mail_threads_ticket ON mail_threads(ticket_id, id)",
        # Mail waiting for the relay (durable: a relay down loses nothing).
        """CREATE TABLE IF NOT EXISTS mail_outbox (
            id {id}, ticket_id TEXT, kind TEXT NOT NULL, to_addr TEXT NOT NULL,
            subject TEXT NOT NULL, body TEXT NOT NULL, message_id TEXT NOT NULL,
            in_reply_to TEXT, refs TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL,
            sent_at TEXT, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT)""",
        "CREATE INDEX IF NOT EXISTS mail_outbox_due ON mail_outbox(sent_at, id)",
    ]),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]
#: How long the readiness probe waits for a connection or the write lock: a probe answers
#: within a load balancer's timeout even when the database does not.
PROBE_TIMEOUT_SECONDS = 2.0

_PRIORITY_ORDER = "CASE priority WHEN 'urgent' THEN 0 ELSE 1 END"
_LIST_COLUMNS = ("id, seq, created_at, updated_at, status, priority, lang, category, query, "
                 "reason, agent, claimed_at, resolved_at, rating, team, channel, reopened")


class Tx:
    """One transaction: run SQL written with `?` placeholders; rows come back as dicts."""

    def __init__(self, run: Callable[[str, tuple], list[dict]]) -> None:
        self._run = run

    def all(self, sql: str, params: tuple = ()) -> list[dict]:
        return self._run(sql, params)

    def one(self, sql: str, params: tuple = ()) -> dict | None:
        rows = self._run(sql, params)
        return rows[0] if rows else None


class SqlHandoffQueue:
    """The queue logic in portable SQL; subclasses supply connections and dialect bits."""

    #: Row lock for "pick the next open ticket" (PostgreSQL only).
    skip_locked = ""
    row_lock = ""

    def __init__(self, *, pace: Pace | None = None, clock: Clock = utc_now,
                 idempotency_seconds: float = 600.0, default_team: str = DEFAULT_TEAM) -> None:
        self.pace = pace or Pace(default_minutes=10.0)
        self.clock = clock
        self.idempotency_seconds = idempotency_seconds
        self.default_team = default_team

    # Subclasses implement these three.
    @contextmanager
    def tx(self, durable: bool = True,
           timeout: float | None = None) -> Iterator[Tx]:  # pragma: no cover - abstract
        """A transaction; `timeout` (seconds) bounds the wait for a connection or lock."""
        raise NotImplementedError
        yield

    def _next_seq(self, t: Tx) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def _lock_key(self, t: Tx, key: str) -> None:
        """Serialise creators of one idempotency key (SQLite already serialises writers)."""

    # ------------------------------------------------------------ tickets

    def create(self, new: NewTicket) -> Ticket:
        """Store a ticket with its conversation; a repeated idempotency key returns the first."""
        if new.priority not in PRIORITIES:
            raise QueueError(f"priority {new.priority!r} is not one of {', '.join(PRIORITIES)}")
        now = stamp(self.clock())
        ticket_id = new_ticket_id()
        secret, hashed = new_secret()
        key = plain_key(new.idempotency_key)
        with self.tx() as t:
            seen = None
            if key:
                self._lock_key(t, key)
                seen = self._keyed(t, key)
            if seen is not None:  # the same request again: the same ticket, a new secret
                ticket_id = seen
                t.all("UPDATE tickets SET secret_hash = ? WHERE id = ?", (hashed, ticket_id))
            else:
                self._insert(t, ticket_id, new, now, hashed)
        ticket = self.ticket(ticket_id)
        assert ticket is not None
        return replace(ticket, secret=secret)

    def _insert(self, t: Tx, ticket_id: str, new: NewTicket, now: str, hashed: str) -> None:
        t.all("INSERT INTO tickets (id, seq, created_at, updated_at, status, query, lang,"
              " session_id, category, reason, candidates, priority, details, secret_hash,"
              " team, channel, contact)"
              " VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
              (ticket_id, self._next_seq(t), now, now, clean(new.query), plain_key(new.lang),
               plain_key(new.session_id), plain_key(new.category), plain_key(new.reason),
               dump(new.candidates), new.priority, dump(new.details), hashed,
               plain_key(new.team or self.default_team), plain_key(new.channel),
               clean(new.contact)))
        for m in new.conversation:
            role = m.get("role", "user")
            t.all("INSERT INTO ticket_messages (ticket_id, role, author, text, at)"
                  " VALUES (?, ?, NULL, ?, ?)",
                  (ticket_id, role if role in ROLES else "user", clean(m["text"]),
                   m.get("at") or now))
        key = plain_key(new.idempotency_key)
        if key:
            t.all("DELETE FROM idempotency WHERE key = ?", (key,))
            t.all("INSERT INTO idempotency (key, ticket_id, created_at) VALUES (?, ?, ?)",
                  (key, ticket_id, now))

    def _keyed(self, t: Tx, key: str) -> str | None:
        """The ticket a key created, while that ticket is active or the key is recent.

        A key older than the window whose ticket is closed is free again: the same person may
        need help with the same words another day.
        """
        recent = stamp(self.clock() - timedelta(seconds=self.idempotency_seconds))
        row = t.one("SELECT i.ticket_id FROM idempotency i JOIN tickets k ON k.id = i.ticket_id"
                    " WHERE i.key = ? AND (k.status IN ('open', 'claimed') OR i.created_at >= ?)",
                    (key, recent))
        return row["ticket_id"] if row else None

    def find_key(self, key: str) -> Ticket | None:
        """The ticket a retried request already created (see `_keyed`), else None."""
        with self.tx(durable=False) as t:
            ticket_id = self._keyed(t, plain_key(key) or "")
        return self.ticket(ticket_id) if ticket_id else None

    def verify_secret(self, ticket_id: str, secret: str) -> bool:
        """Whether `secret` is the one last issued for this ticket (compared as hashes, in
        constant time; an unknown ticket costs the same)."""
        row = None
        if issued_id(ticket_id):
            with self.tx(durable=False) as t:
                row = t.one("SELECT secret_hash FROM tickets WHERE id = ?", (ticket_id,))
        return secret_matches(row["secret_hash"] if row else None, secret)

    def reissue_secret(self, ticket_id: str) -> Ticket:
        """The ticket with a new secret for a retried request (the earlier secret stops
        working)."""
        self._known(ticket_id)
        secret, hashed = new_secret()
        with self.tx() as t:
            self._require(t, ticket_id)
            t.all("UPDATE tickets SET secret_hash = ? WHERE id = ?", (hashed, ticket_id))
        ticket = self.ticket(ticket_id)
        assert ticket is not None
        return replace(ticket, secret=secret)

    def ticket(self, ticket_id: str) -> Ticket | None:
        """The user-facing summary: status, place in the queue and the estimated wait."""
        if not issued_id(ticket_id):
            return None
        with self.tx(durable=False) as t:
            row = t.one("SELECT id, status, lang, team FROM tickets WHERE id = ?", (ticket_id,))
            if row is None:
                return None
            position = self._position(t, ticket_id) if row["status"] == "open" else None
            eta = self.pace.eta(position, self._recent_resolved(t, row["team"], row["lang"]))
        return Ticket(id=row["id"], position=position or 0, status=row["status"],
                      eta_minutes=eta)

    def active_for_session(self, session_id: str) -> Ticket | None:
        """The session's open or claimed ticket, if any (one person, one ticket at a time)."""
        with self.tx(durable=False) as t:
            row = t.one("SELECT id FROM tickets WHERE session_id = ? AND status IN "
                        "('open', 'claimed') ORDER BY seq DESC LIMIT 1",
                        (plain_key(session_id),))
        return self.ticket(row["id"]) if row else None

    def get(self, ticket_id: str) -> dict | None:
        """Everything about one ticket, with its messages in order (never its secret's hash)."""
        if not issued_id(ticket_id):
            return None
        with self.tx(durable=False) as t:
            row = t.one("SELECT * FROM tickets WHERE id = ?", (ticket_id,))
            if row is None:
                return None
            messages = t.all("SELECT role, author, text, at FROM ticket_messages "
                             "WHERE ticket_id = ? ORDER BY id", (ticket_id,))
            position = self._position(t, ticket_id) if row["status"] == "open" else None
            recent = self._recent_resolved(t, row["team"], row["lang"])
        data = dict(row)
        data.pop("secret_hash", None)
        data["candidates"] = json.loads(data["candidates"] or "[]")
        data["details"] = json.loads(data["details"] or "{}")
        data["messages"] = messages
        data["position"] = position
        data["eta_minutes"] = self.pace.eta(position, recent)
        return data

    def position(self, ticket_id: str) -> int | None:
        """1-based place among open tickets (urgent first, then oldest); None if not open."""
        if not issued_id(ticket_id):
            return None
        with self.tx(durable=False) as t:
            return self._position(t, ticket_id)

    def open_count(self) -> int:
        with self.tx(durable=False) as t:
            row = t.one("SELECT COUNT(*) AS n FROM tickets WHERE status = 'open'")
        return int(row["n"]) if row else 0

    def list(self, *, status: str | None = None, priority: str | None = None,
             lang: str | None = None, category: str | None = None,
             team: Teams = None, limit: int = 50) -> list[dict]:
        """Tickets for the agent console, in the order agents should take them."""
        where, params = _filters(status=status, priority=priority, lang=lang, category=category,
                                 team=team)
        with self.tx(durable=False) as t:
            return t.all(f"SELECT {_LIST_COLUMNS} FROM tickets {where} "
                         f"ORDER BY {_PRIORITY_ORDER}, seq LIMIT ?", (*params, int(limit)))

    # ------------------------------------------------------------ agents

    def claim_next(self, agent: str, *, lang: str | None = None,
                   category: str | None = None, team: Teams = None) -> dict | None:
        """Atomically take the most urgent, oldest open ticket (of the team or teams, when
        given); None when there is none."""
        where, params = _filters(status="open", lang=lang, category=category, team=team)
        now = stamp(self.clock())
        with self.tx() as t:
            row = t.one(
                "UPDATE tickets SET status = 'claimed', agent = ?, claimed_at = ?, updated_at = ?"
                f" WHERE status = 'open' AND id = (SELECT id FROM tickets {where}"
                f" ORDER BY {_PRIORITY_ORDER}, seq LIMIT 1{self.skip_locked}) RETURNING id",
                (plain_key(agent), now, now, *params))
        return self.get(row["id"]) if row else None

    def claim(self, ticket_id: str, agent: str) -> dict:
        self._known(ticket_id)
        agent = plain_key(agent) or ""
        now = stamp(self.clock())
        with self.tx() as t:
            row = t.one("UPDATE tickets SET status = 'claimed', agent = ?, claimed_at = ?,"
                        " updated_at = ? WHERE id = ? AND status = 'open' RETURNING id",
                        (agent, now, now, ticket_id))
            if row is None:
                current = self._require(t, ticket_id)
                if not (current["status"] == "claimed" and current["agent"] == agent):
                    raise TicketConflict(state_message(current, "claim"))
        return self._get(ticket_id)

    def release(self, ticket_id: str, agent: str) -> dict:
        self._known(ticket_id)
        agent = plain_key(agent) or ""
        now = stamp(self.clock())
        with self.tx() as t:
            self._require_holder(t, ticket_id, agent, "release")
            t.all("UPDATE tickets SET status = 'open', agent = NULL, claimed_at = NULL,"
                  " updated_at = ? WHERE id = ?", (now, ticket_id))
        return self._get(ticket_id)

    def reply(self, ticket_id: str, agent: str, text: str) -> dict:
        self._known(ticket_id)
        agent = plain_key(agent) or ""
        now = stamp(self.clock())
        with self.tx() as t:
            self._require_holder(t, ticket_id, agent, "reply to")
            t.all("INSERT INTO ticket_messages (ticket_id, role, author, text, at)"
                  " VALUES (?, 'agent', ?, ?, ?)", (ticket_id, agent, clean(text), now))
            t.all("UPDATE tickets SET updated_at = ? WHERE id = ?", (now, ticket_id))
        return self._get(ticket_id)

    def resolve(self, ticket_id: str, agent: str, resolution: str) -> dict:
        self._known(ticket_id)
        agent = plain_key(agent) or ""
        now = stamp(self.clock())
        with self.tx() as t:
            self._require_holder(t, ticket_id, agent, "resolve")
            t.all("UPDATE tickets SET status = 'resolved', resolution = ?, resolved_at = ?,"
                  " updated_at = ? WHERE id = ?", (clean(resolution), now, now, ticket_id))
        return self._get(ticket_id)

    # ------------------------------------------------------------ users

    def add_user_message(self, ticket_id: str, text: str,
                         details: dict[str, str] | None = None) -> dict:
        """A follow-up from the user on an open or claimed ticket; new details are merged."""
        self._known(ticket_id)
        now = stamp(self.clock())
        with self.tx() as t:
            row = self._require(t, ticket_id)
            if row["status"] not in ("open", "claimed"):
                raise TicketConflict(state_message(row, "add a message to"))
            t.all("INSERT INTO ticket_messages (ticket_id, role, author, text, at)"
                  " VALUES (?, 'user', NULL, ?, ?)", (ticket_id, clean(text), now))
            merged = {**json.loads(row["details"] or "{}"), **(details or {})}
            t.all("UPDATE tickets SET details = ?, updated_at = ? WHERE id = ?",
                  (dump(merged), now, ticket_id))
        return self._get(ticket_id)

    def rate(self, ticket_id: str, score: int, comment: str | None) -> dict:
        if not 1 <= int(score) <= 5:
            raise QueueError("a rating is a whole number from 1 to 5")
        self._known(ticket_id)
        now = stamp(self.clock())
        with self.tx() as t:
            row = self._require(t, ticket_id)
            if row["status"] != "resolved":
                raise TicketConflict(state_message(row, "rate"))
            t.all("UPDATE tickets SET rating = ?, rating_comment = ?, updated_at = ? "
                  "WHERE id = ?", (int(score), clean(comment), now, ticket_id))
        return self._get(ticket_id)

    def cancel(self, ticket_id: str) -> dict:
        """The user no longer needs help: the ticket leaves the queue as `abandoned`."""
        self._known(ticket_id)
        now = stamp(self.clock())
        with self.tx() as t:
            row = self._require(t, ticket_id)
            if row["status"] not in ("open", "claimed"):
                raise TicketConflict(state_message(row, "cancel"))
            t.all("UPDATE tickets SET status = 'abandoned', updated_at = ? WHERE id = ?",
                  (now, ticket_id))
        return self._get(ticket_id)

    # ------------------------------------------------------------ teams

    def escalate(self, ticket_id: str, agent: str, team: str, reason: str) -> dict:
        """The holder hands the ticket to another team's queue, saying why (the note stays
        with the ticket for the next agent; the user never sees it)."""
        self._known(ticket_id)
        agent, team = plain_key(agent) or "", plain_key(team) or ""
        now = stamp(self.clock())
        with self.tx() as t:
            row = self._require_holder(t, ticket_id, agent, "escalate")
            if row["team"] == team:
                raise TicketConflict(f"cannot escalate this ticket: it is already with {team}")
            self._to_team(t, ticket_id, team, now)
            self._add(t, ticket_id, "event", agent,
                      escalation_text(row["team"], team, reason), now)
        return self._get(ticket_id)

    def transfer(self, ticket_id: str, agent: str, *, to_agent: str | None = None,
                 to_team: str | None = None) -> dict:
        """The holder passes the ticket to one colleague (who then holds it) or to a team's
        queue (open there, for whoever claims it next)."""
        if bool(to_agent) == bool(to_team):
            raise QueueError("transfer to an agent or to a team: name exactly one")
        self._known(ticket_id)
        agent = plain_key(agent) or ""
        now = stamp(self.clock())
        with self.tx() as t:
            row = self._require_holder(t, ticket_id, agent, "transfer")
            if to_agent:
                to_agent = plain_key(to_agent) or ""
                if to_agent == agent:
                    raise TicketConflict("cannot transfer this ticket: you already hold it")
                t.all("UPDATE tickets SET agent = ?, claimed_at = ?, updated_at = ? WHERE id = ?",
                      (to_agent, now, now, ticket_id))
                text = f"transferred from {agent} to {to_agent}"
            else:
                to_team = plain_key(to_team) or ""
                self._to_team(t, ticket_id, to_team, now)
                text = f"transferred from {agent} ({row['team']}) to the {to_team} queue"
            self._add(t, ticket_id, "event", agent, text, now)
        return self._get(ticket_id)

    def note(self, ticket_id: str, agent: str, text: str) -> dict:
        """An internal note for colleagues on any ticket; the user never sees notes."""
        self._known(ticket_id)
        now = stamp(self.clock())
        with self.tx() as t:
            self._require(t, ticket_id)
            self._add(t, ticket_id, "note", plain_key(agent), text, now)
            t.all("UPDATE tickets SET updated_at = ? WHERE id = ?", (now, ticket_id))
        return self._get(ticket_id)

    def reopen(self, ticket_id: str, text: str, within_seconds: float) -> dict:
        """The user says a resolved ticket is not solved after all: back to the queue of the
        team that had it, with the history and their message. Only within the window after
        resolution; later, a new conversation starts (the old one is likely stale)."""
        self._known(ticket_id)
        now_t = self.clock()
        now = stamp(now_t)
        with self.tx() as t:
            row = self._require(t, ticket_id)
            if row["status"] != "resolved":
                raise TicketConflict(state_message(row, "reopen"))
            oldest = stamp(now_t - timedelta(seconds=within_seconds))
            if not row["resolved_at"] or row["resolved_at"] < oldest:
                raise TicketConflict(REOPEN_TOO_LATE)
            t.all("UPDATE tickets SET status = 'open', agent = NULL, claimed_at = NULL,"
                  " resolved_at = NULL, reopened = reopened + 1, updated_at = ? WHERE id = ?",
                  (now, ticket_id))
            self._add(t, ticket_id, "event", None, "reopened by the user", now)
            self._add(t, ticket_id, "user", None, text, now)
        return self._get(ticket_id)

    def _to_team(self, t: Tx, ticket_id: str, team: str, now: str) -> None:
        t.all("UPDATE tickets SET status = 'open', team = ?, agent = NULL, claimed_at = NULL,"
              " updated_at = ? WHERE id = ?", (team, now, ticket_id))

    @staticmethod
    def _add(t: Tx, ticket_id: str, role: str, author: str | None, text: str, now: str) -> None:
        t.all("INSERT INTO ticket_messages (ticket_id, role, author, text, at)"
              " VALUES (?, ?, ?, ?, ?)", (ticket_id, role, author, clean(text), now))

    # ------------------------------------------------------------ conversation state

    def set_pending(self, session_id: str, payload: dict) -> None:
        """Remember a handoff waiting for the user's details (shared by every replica)."""
        session_id = plain_key(session_id) or ""
        now = stamp(self.clock())
        with self.tx() as t:
            t.all("DELETE FROM pending_handoffs WHERE session_id = ?", (session_id,))
            t.all("INSERT INTO pending_handoffs (session_id, payload, created_at) VALUES (?, ?, ?)",
                  (session_id, dump(payload), now))

    def take_pending(self, session_id: str, max_age_seconds: float) -> dict | None:
        """Remove and return the session's pending handoff (exactly one caller gets it)."""
        oldest = stamp(self.clock() - timedelta(seconds=max_age_seconds))
        session_id = plain_key(session_id) or ""
        with self.tx(durable=False) as t:  # most messages have nothing pending: read first
            if t.one("SELECT 1 AS x FROM pending_handoffs WHERE session_id = ?",
                     (session_id,)) is None:
                return None
        with self.tx() as t:
            row = t.one("DELETE FROM pending_handoffs WHERE session_id = ? RETURNING payload,"
                        " created_at", (session_id,))
        if row is None or row["created_at"] < oldest:
            return None
        return json.loads(row["payload"])

    def record_turn(self, turn: dict) -> None:
        """One answered message (redacted), for the conversation and the content-gap report."""
        with self.tx(durable=False) as t:
            t.all("INSERT INTO turns (at, session_id, lang, query, action, category, article_id,"
                  " confidence, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  (stamp(self.clock()), plain_key(turn.get("session_id")),
                   plain_key(turn["lang"]), clean(turn["query"]), plain_key(turn["action"]),
                   plain_key(turn.get("category")), plain_key(turn.get("article_id")),
                   turn.get("confidence"), plain_key(turn.get("reason"))))

    def scrub(self, fragments: tuple[str, ...], *, session_id: str | None = None,
              ticket_id: str | None = None) -> int:
        """Replace earlier parts of a phrase (typed over several messages) wherever this
        session or ticket stored them. Returns the number of rows changed."""
        fragments = scrub_fragments(fragments)
        session_id = plain_key(session_id)
        if ticket_id is not None and not issued_id(ticket_id):
            ticket_id = None
        if not fragments or not (session_id or ticket_id):
            return 0
        changed = 0
        with self.tx() as t:
            if session_id:
                tickets = [r["id"] for r in t.all("SELECT id FROM tickets WHERE session_id = ?",
                                                  (session_id,))]
                where = [("turns", "id", ("query",), "session_id", session_id),
                         ("feedback", "id", ("query", "comment"), "session_id", session_id),
                         ("pending_handoffs", "session_id", ("payload",), "session_id",
                          session_id)]
            else:
                tickets = [ticket_id]
                where = []
            for tid in tickets:
                where += [("tickets", "id", ("query", "details"), "id", tid),
                          ("ticket_messages", "id", ("text",), "ticket_id", tid)]
            for table, key, columns, column, value in where:
                rows = t.all(f"SELECT {key} AS k, {', '.join(columns)} FROM {table} "
                             f"WHERE {column} = ?", (value,))
                for row in rows:
                    new = {c: scrub_column(row[c], fragments) for c in columns}
                    if any(new[c] != row[c] for c in columns):
                        sets = ", ".join(f"{c} = ?" for c in columns)
                        t.all(f"UPDATE {table} SET {sets} WHERE {key} = ?",
                              (*new.values(), row["k"]))
                        changed += 1
        return changed

    def recent_turns(self, session_id: str, limit: int) -> builtins.list[dict]:
        with self.tx(durable=False) as t:
            rows = t.all("SELECT at, query, action, category, article_id FROM turns"
                         " WHERE session_id = ? ORDER BY id DESC LIMIT ?",
                         (plain_key(session_id), int(limit)))
        return list(reversed(rows))

    def add_feedback(self, feedback: dict) -> int:
        with self.tx() as t:
            row = t.one("INSERT INTO feedback (at, session_id, lang, query, article_id, helpful,"
                        " comment) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                        (stamp(self.clock()), plain_key(feedback.get("session_id")),
                         plain_key(feedback.get("lang")), clean(feedback.get("query")),
                         plain_key(feedback.get("article_id")),
                         1 if feedback["helpful"] else 0, clean(feedback.get("comment"))))
        return int(row["id"]) if row else 0

    def events(self, since: str) -> dict[str, builtins.list[dict]]:
        """Turns, feedback and tickets since a time: the raw material of stats and gaps."""
        with self.tx(durable=False) as t:
            return {
                "turns": t.all("SELECT at, lang, query, action, category, article_id, "
                               "confidence, reason FROM turns WHERE at >= ? ORDER BY id",
                               (since,)),
                "feedback": t.all("SELECT at, lang, query, article_id, helpful, comment FROM "
                                  "feedback WHERE at >= ? ORDER BY id", (since,)),
                "tickets": t.all("SELECT id, created_at, claimed_at, resolved_at, status, "
                                 "priority, lang, category, query, rating, rating_comment, "
                                 "team, agent, channel, reopened FROM tickets "
                                 "WHERE created_at >= ? OR status IN ('open', 'claimed') "
                                 "ORDER BY seq", (since,)),
            }

    # ------------------------------------------------------------ mail

    def link_mail(self, message_id: str, ticket_id: str, subject: str | None = None) -> None:
        """A Message-ID of the ticket's thread (a mail in or out): a reply naming it is the
        ticket's. An id already linked keeps its ticket."""
        with self.tx() as t:
            t.all("INSERT INTO mail_threads (message_id, ticket_id, subject, at) VALUES"
                  " (?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING",
                  (plain_key(message_id), ticket_id, clean(subject), stamp(self.clock())))

    def mail_thread(self, ticket_id: str) -> tuple[str, builtins.list[str]]:
        """The thread's subject (the first one linked) and its Message-IDs, oldest first."""
        with self.tx(durable=False) as t:
            rows = t.all("SELECT message_id, subject FROM mail_threads WHERE ticket_id = ?"
                         " ORDER BY id", (ticket_id,))
        subject = next((r["subject"] for r in rows if r["subject"]), "")
        return subject, [r["message_id"] for r in rows]

    def mail_ticket(self, message_ids: builtins.list[str]) -> str | None:
        """The ticket of the first id that belongs to a thread (In-Reply-To, then References
        from the newest)."""
        with self.tx(durable=False) as t:
            for mid in message_ids:
                row = t.one("SELECT ticket_id FROM mail_threads WHERE message_id = ?",
                            (plain_key(mid),))
                if row:
                    return str(row["ticket_id"])
        return None

    def enqueue_mail(self, mail: dict) -> int:
        """A mail for the relay, stored before any attempt: a relay down loses nothing."""
        with self.tx() as t:
            row = t.one("INSERT INTO mail_outbox (ticket_id, kind, to_addr, subject, body,"
                        " message_id, in_reply_to, refs, created_at) VALUES"
                        " (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                        (mail.get("ticket_id"), plain_key(mail["kind"]), clean(mail["to"]),
                         clean(mail["subject"]), clean(mail["body"]),
                         plain_key(mail["message_id"]), plain_key(mail.get("in_reply_to")),
                         plain_key(mail.get("references") or ""), stamp(self.clock())))
        return int(row["id"]) if row else 0

    def due_mail(self, limit: int = 50, max_attempts: int = 5) -> builtins.list[dict]:
        """Unsent mail, oldest first, that has not failed `max_attempts` times."""
        with self.tx(durable=False) as t:
            rows = t.all("SELECT id, ticket_id, kind, to_addr, subject, body, message_id,"
                         " in_reply_to, refs, created_at, attempts, last_error FROM mail_outbox"
                         " WHERE sent_at IS NULL AND attempts < ? ORDER BY id LIMIT ?",
                         (int(max_attempts), int(limit)))
        return [outbox_row(r) for r in rows]

    def mail_sent(self, mail_id: int) -> None:
        with self.tx() as t:
            t.all("UPDATE mail_outbox SET sent_at = ?, attempts = attempts + 1, last_error ="
                  " NULL WHERE id = ?", (stamp(self.clock()), int(mail_id)))

    def mail_failed(self, mail_id: int, error: str) -> None:
        with self.tx() as t:
            t.all("UPDATE mail_outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                  (clean(error[:500]), int(mail_id)))

    # ------------------------------------------------------------ helpers

    def _position(self, t: Tx, ticket_id: str) -> int | None:
        row = t.one("SELECT seq, priority, team FROM tickets WHERE id = ? AND status = 'open'",
                    (ticket_id,))
        if row is None:
            return None
        if row["priority"] == "urgent":
            sql = ("SELECT COUNT(*) AS n FROM tickets WHERE status = 'open' AND team = ? AND "
                   "priority = 'urgent' AND seq <= ?")
        else:
            sql = ("SELECT COUNT(*) AS n FROM tickets WHERE status = 'open' AND team = ? AND "
                   "(priority = 'urgent' OR seq <= ?)")
        found = t.one(sql, (row["team"], row["seq"]))
        return int(found["n"]) if found else None

    def _recent_resolved(self, t: Tx, team: str, lang: str) -> builtins.list[str]:
        """When the team last resolved tickets in this language: its pace sets the wait."""
        rows = t.all("SELECT resolved_at FROM tickets WHERE team = ? AND lang = ? AND "
                     "resolved_at IS NOT NULL ORDER BY resolved_at DESC LIMIT ?",
                     (team, lang, self.pace.window))
        return [r["resolved_at"] for r in rows]

    def probe(self) -> None:
        """Readiness: one durable write of the heartbeat row (QueueError when it fails)."""
        with self.tx(timeout=PROBE_TIMEOUT_SECONDS) as t:
            t.all("INSERT INTO queue_heartbeat (id, at) VALUES (1, ?) ON CONFLICT (id) "
                  "DO UPDATE SET at = excluded.at", (stamp(utc_now()),))

    @staticmethod
    def _known(ticket_id: str) -> None:
        """TicketNotFound for an id `create` never issues (before it reaches a database)."""
        if not issued_id(ticket_id):
            raise TicketNotFound(f"no ticket {ticket_id!r}")

    def _require(self, t: Tx, ticket_id: str) -> dict:
        row = t.one(f"SELECT status, agent, details, team, resolved_at FROM tickets "
                    f"WHERE id = ?{self.row_lock}",
                    (ticket_id,))
        if row is None:
            raise TicketNotFound(f"no ticket {ticket_id!r}")
        return row

    def _require_holder(self, t: Tx, ticket_id: str, agent: str, verb: str) -> dict:
        row = self._require(t, ticket_id)
        if row["status"] != "claimed" or row["agent"] != agent:
            raise TicketConflict(state_message(row, verb, agent))
        return row

    def _get(self, ticket_id: str) -> dict:
        data = self.get(ticket_id)
        if data is None:
            raise TicketNotFound(f"no ticket {ticket_id!r}")
        return data


class SqliteHandoffQueue(SqlHandoffQueue):
    """Tickets in one SQLite file (WAL). Safe for the threads of a process and for several
    processes on one machine (writers take the database lock with BEGIN IMMEDIATE)."""

    def __init__(self, path: Path, *, pace: Pace | None = None, clock: Clock = utc_now,
                 busy_timeout_seconds: float = 10.0,
                 setting: str = "ASSISTANT_DATA_DIR", default_team: str = DEFAULT_TEAM) -> None:
        super().__init__(pace=pace, clock=clock, default_team=default_team)
        self.path = Path(path)
        self.busy_timeout = busy_timeout_seconds
        self.setting = setting  # what an operator changes when the file cannot be used
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._sync = ""

    def open(self) -> "SqliteHandoffQueue":
        with self._lock:
            if self._conn is None:
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    conn = sqlite3.connect(self.path, check_same_thread=False,
                                           timeout=self.busy_timeout, isolation_level=None)
                    conn.row_factory = sqlite3.Row
                    conn.execute("PRAGMA journal_mode=WAL")
                    self._conn = conn
                    self._migrate()
                except (OSError, sqlite3.Error) as exc:
                    if self._conn is not None:
                        self._conn.close()
                    self._conn = None
                    raise QueueError(f"cannot open the handoff queue at {self.path}: "
                                     f"{_reason(exc)}; check {self.setting}") from exc
        return self

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    @contextmanager
    def tx(self, durable: bool = True, timeout: float | None = None) -> Iterator[Tx]:
        """A write transaction. `durable=False` skips the fsync (analytics, reads)."""
        self.open()
        with self._lock:
            conn = self._conn
            assert conn is not None
            sync = "FULL" if durable else "NORMAL"
            wait = self.busy_timeout if timeout is None else min(timeout, self.busy_timeout)
            try:
                if sync != self._sync:
                    conn.execute(f"PRAGMA synchronous={sync}")
                    self._sync = sync
                if timeout is not None:
                    conn.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
                try:
                    conn.execute("BEGIN IMMEDIATE" if durable else "BEGIN")
                finally:
                    if timeout is not None:
                        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            except sqlite3.Error as exc:
                raise QueueError(f"handoff queue at {self.path} is unavailable: {exc}") from exc

            def run(sql: str, params: tuple) -> list[dict]:
                return [dict(r) for r in conn.execute(sql, params).fetchall()]

            try:
                yield Tx(run)
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:  # a failed COMMIT leaves it open: never leak it
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise QueueError(f"handoff queue error: {exc}") from exc
                raise

    def _next_seq(self, t: Tx) -> int:
        row = t.one("SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM tickets")
        return int(row["n"]) if row else 1

    def _migrate(self) -> None:
        conn = self._conn
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER "
                         "PRIMARY KEY, applied_at TEXT NOT NULL)")
            done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
            for version, statements in MIGRATIONS:
                if version in done:
                    continue
                for sql in statements:
                    sql = sql.replace("{id}", "INTEGER PRIMARY KEY AUTOINCREMENT")
                    if sql.startswith("ALTER TABLE tickets ADD COLUMN"):
                        column = sql.split()[5]
                        if column in {r[1] for r in conn.execute("PRAGMA table_info(tickets)")}:
                            continue
                    conn.execute(sql)
                if version == 1:  # files from before priorities existed
                    columns = {r[1] for r in conn.execute("PRAGMA table_info(tickets)")}
                    if "priority" not in columns:
                        conn.execute("ALTER TABLE tickets ADD COLUMN priority TEXT NOT NULL "
                                     "DEFAULT 'normal'")
                conn.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                             (version, stamp(utc_now())))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


class PostgresHandoffQueue(SqlHandoffQueue):
    """The same queue on PostgreSQL, for several API replicas behind a load balancer."""

    skip_locked = " FOR UPDATE SKIP LOCKED"
    row_lock = " FOR UPDATE"

    def __init__(self, dsn: str, *, pace: Pace | None = None, clock: Clock = utc_now,
                 pool_size: int = 4, timeout_seconds: float = 10.0,
                 default_team: str = DEFAULT_TEAM) -> None:
        super().__init__(pace=pace, clock=clock, default_team=default_team)
        self.dsn = dsn
        self.pool_size = pool_size
        self.timeout = timeout_seconds
        self._pool: Any = None
        self._lock = threading.Lock()

    def open(self) -> "PostgresHandoffQueue":
        import psycopg
        from psycopg_pool import ConnectionPool

        with self._lock:
            if self._pool is None:
                try:
                    pool = ConnectionPool(self.dsn, min_size=1, max_size=self.pool_size,
                                          timeout=self.timeout, open=False)
                    pool.open(wait=True, timeout=self.timeout)
                except (psycopg.Error, Exception) as exc:  # PoolTimeout is not a psycopg.Error
                    raise QueueError(f"cannot connect to the handoff queue at "
                                     f"{safe_dsn(self.dsn)}: {self._why_not(exc)}; check "
                                     "ASSISTANT_QUEUE_DSN") from exc
                self._pool = pool
                try:
                    self._migrate()
                except BaseException:
                    self._pool = None
                    pool.close()
                    raise
        return self

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None

    def _why_not(self, exc: BaseException) -> str:
        """The server's reason (refused, unknown database, bad password) rather than the
        pool's "incomplete after N sec": one direct connection attempt says it."""
        import psycopg

        try:
            psycopg.connect(self.dsn, connect_timeout=max(1, int(self.timeout))).close()
        except psycopg.Error as direct:
            return " ".join(str(direct).split())
        return " ".join(str(exc).split())

    @contextmanager
    def tx(self, durable: bool = True, timeout: float | None = None) -> Iterator[Tx]:
        import psycopg
        from psycopg.rows import dict_row

        if self._pool is None:
            self.open()
        try:
            with self._pool.connection(timeout=timeout) as conn:
                with conn.transaction():
                    cur = conn.cursor(row_factory=dict_row)
                    if not durable:
                        cur.execute("SET LOCAL synchronous_commit = off")

                    def run(sql: str, params: tuple) -> list[dict]:
                        cur.execute(sql.replace("?", "%s"), params)
                        return list(cur.fetchall()) if cur.description else []

                    yield Tx(run)
        except psycopg.Error as exc:
            raise QueueError(f"handoff queue error: {exc}") from exc

    def _next_seq(self, t: Tx) -> int:
        row = t.one("SELECT nextval('tickets_seq') AS n")
        return int(row["n"]) if row else 1

    def _lock_key(self, t: Tx, key: str) -> None:
        digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        t.all("SELECT pg_advisory_xact_lock(?)", (digest,))

    def _migrate(self) -> None:
        with self.tx() as t:
            t.all("SELECT pg_advisory_xact_lock(7031977)")  # one replica migrates at a time
            t.all("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
                  " applied_at TEXT NOT NULL)")
            t.all("CREATE SEQUENCE IF NOT EXISTS tickets_seq")
            done = {r["version"] for r in t.all("SELECT version FROM schema_migrations")}
            for version, statements in MIGRATIONS:
                if version in done:
                    continue
                for sql in statements:
                    sql = sql.replace("{id}", "BIGSERIAL PRIMARY KEY")
                    sql = sql.replace("ADD COLUMN", "ADD COLUMN IF NOT EXISTS")
                    t.all(sql)
                t.all("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                      (version, stamp(utc_now())))


def _filters(**values: str | tuple[str, ...] | None) -> tuple[str, tuple]:
    """WHERE clauses for the given filters; a tuple matches any of its values."""
    clauses: list[str] = []
    params: list[str | None] = []
    for k, v in values.items():
        if not v:
            continue
        if isinstance(v, tuple):
            clauses.append(f"{k} IN ({', '.join('?' for _ in v)})")
            params += [plain_key(x) for x in v]
        else:
            clauses.append(f"{k} = ?")
            params.append(plain_key(v))
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", tuple(params)


def _reason(exc: BaseException) -> str:
    """An OS or database error in a few words (the file it names is already in the message)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def safe_dsn(dsn: str) -> str:
    """A DSN without its password, for messages."""
    if "@" in dsn and "://" in dsn:
        scheme, rest = dsn.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}@{host}"
    return dsn
