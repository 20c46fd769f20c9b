"""The human handoff queue (first version: one SQLite file, durable across restarts).

`HandoffQueue` is the protocol other backends implement. Tickets store the redacted query
only: the service redacts before anything reaches this module.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from assistant.errors import QueueError
from assistant.types import Ticket

PRIORITIES = ("normal", "urgent")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    id          TEXT PRIMARY KEY,
    seq         INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'open',
    query       TEXT NOT NULL,
    lang        TEXT NOT NULL,
    session_id  TEXT,
    category    TEXT,
    reason      TEXT,
    candidates  TEXT NOT NULL DEFAULT '[]',
    priority    TEXT NOT NULL DEFAULT 'normal'
);
CREATE INDEX IF NOT EXISTS tickets_status_seq ON tickets(status, seq);
"""


class HandoffQueue(Protocol):
    def create(self, *, query: str, lang: str, session_id: str | None, category: str | None,
               reason: str, candidates: list[dict], priority: str = "normal") -> Ticket: ...

    def get(self, ticket_id: str) -> dict | None: ...

    def position(self, ticket_id: str) -> int | None: ...

    def open_count(self) -> int: ...

    def close(self) -> None: ...


class SqliteHandoffQueue:
    """Tickets in a SQLite file (WAL mode), safe for the threads of one process."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def open(self) -> "SqliteHandoffQueue":
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, check_same_thread=False, timeout=10,
                                       isolation_level=None)
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                conn.executescript(_SCHEMA)
                columns = {r[1] for r in conn.execute("PRAGMA table_info(tickets)")}
                if "priority" not in columns:  # a queue file from before priorities
                    conn.execute("ALTER TABLE tickets ADD COLUMN priority TEXT NOT NULL "
                                 "DEFAULT 'normal'")
            except (OSError, sqlite3.Error) as exc:
                raise QueueError(f"cannot open the handoff queue at {self.path}: {exc}; "
                                 "check ASSISTANT_DATA_DIR") from exc
            self._conn = conn
        return self

    @property
    def conn(self) -> sqlite3.Connection:
        return self.open()._conn  # type: ignore[return-value]

    def create(self, *, query: str, lang: str, session_id: str | None, category: str | None,
               reason: str, candidates: list[dict], priority: str = "normal") -> Ticket:
        if priority not in PRIORITIES:
            raise QueueError(f"priority {priority!r} is not one of {', '.join(PRIORITIES)}")
        ticket_id = secrets.token_urlsafe(12)
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                seq = self.conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM tickets").fetchone()[0]
                self.conn.execute(
                    "INSERT INTO tickets (id, seq, created_at, query, lang, session_id, category,"
                    " reason, candidates, priority) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (ticket_id, seq, now, query, lang, session_id, category, reason,
                     json.dumps(candidates, ensure_ascii=False), priority),
                )
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise QueueError(f"cannot store the ticket: {exc}") from exc
        position = self.position(ticket_id) or 1
        return Ticket(id=ticket_id, position=position)

    def get(self, ticket_id: str) -> dict | None:
        with self._lock:  # one statement at a time on the shared connection (see position)
            row = self.conn.execute("SELECT * FROM tickets WHERE id = ?",
                                    (ticket_id,)).fetchone()
        if row is None:
            return None
        data = dict(row)
        data["candidates"] = json.loads(data["candidates"])
        return data

    def position(self, ticket_id: str) -> int | None:
        """1-based place among open tickets (urgent first, then oldest); None if not open.

        Reads hold the lock too: a read in flight on the shared connection pins an old
        snapshot, and another thread's BEGIN IMMEDIATE then fails at once with "database is
        locked" when a second server worker has written meanwhile.
        """
        with self._lock:
            row = self.conn.execute(
                "SELECT seq, priority FROM tickets WHERE id = ? AND status = 'open'",
                (ticket_id,)).fetchone()
            if row is None:
                return None
            seq, priority = row
            if priority == "urgent":
                query = ("SELECT COUNT(*) FROM tickets WHERE status = 'open' AND "
                         "priority = 'urgent' AND seq <= ?")
            else:
                query = ("SELECT COUNT(*) FROM tickets WHERE status = 'open' AND "
                         "(priority = 'urgent' OR seq <= ?)")
            return int(self.conn.execute(query, (seq,)).fetchone()[0])

    def open_count(self) -> int:
        with self._lock:
            return int(self.conn.execute(
                "SELECT COUNT(*) FROM tickets WHERE status = 'open'").fetchone()[0])

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
