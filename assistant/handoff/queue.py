"""The human handoff queue: tickets, their conversation, pending detail requests, feedback.

This module is the public face of the queue: other modules import from here, whatever file
the code lives in. The interface is `HandoffQueue` (the narrow parts `TicketStore`,
`SessionState` and `EventLog` together, see `protocols`); three backends implement it:
SQLite (the embedded default, one WAL file), PostgreSQL (several API replicas sharing one
queue), both in `sql`, and process memory (`memory`, for tests and demos). `open_queue`
picks one from `ASSISTANT_QUEUE_DSN`.

Everything stored is already redacted: the service removes recovery phrases and keys before
text reaches the queue. As a second line of defence every backend checks each free-text value
again on its way in (`protocols.clean`): what still looks like a secret is replaced, never
written. Claims are atomic on every backend, so two agents never hold one ticket.
"""

from __future__ import annotations

from pathlib import Path

from assistant.core.errors import QueueError
from assistant.handoff.memory import MemoryHandoffQueue
from assistant.handoff.protocols import (
    DEFAULT_TEAM,
    PRIORITIES,
    ROLES,
    STATUSES,
    Clock,
    EventLog,
    HandoffQueue,
    Mailbox,
    NewTicket,
    Pace,
    SessionState,
    TicketStore,
    stamp,
    utc_now,
)
from assistant.handoff.sql import (
    MIGRATIONS,
    SCHEMA_VERSION,
    PostgresHandoffQueue,
    SqlHandoffQueue,
    SqliteHandoffQueue,
    Tx,
    safe_dsn,
)

__all__ = [
    "MIGRATIONS", "PRIORITIES", "ROLES", "SCHEMA_VERSION", "STATUSES", "Clock", "EventLog",
    "Mailbox",
    "HandoffQueue", "MemoryHandoffQueue", "NewTicket", "Pace", "PostgresHandoffQueue",
    "SessionState", "SqlHandoffQueue", "SqliteHandoffQueue", "TicketStore", "Tx", "open_queue",
    "stamp", "utc_now",
]

MEMORY_SCHEME = "memory://"


def open_queue(dsn: str | None, sqlite_path: Path, *, pace: Pace | None = None,
               pool_size: int = 4, timeout_seconds: float = 10.0,
               default_team: str = DEFAULT_TEAM) -> HandoffQueue:
    """The backend a DSN names: empty → the SQLite file, `sqlite:///path`, `postgresql://…`,
    or `memory://[name]` (callers see the protocol, not the class behind it). New tickets
    that name no team join `default_team`."""
    if not dsn:
        return SqliteHandoffQueue(sqlite_path, pace=pace, busy_timeout_seconds=timeout_seconds,
                                  default_team=default_team)
    if dsn.startswith("sqlite:///"):
        return SqliteHandoffQueue(Path(dsn[len("sqlite:///"):]), pace=pace,
                                  busy_timeout_seconds=timeout_seconds,
                                  setting="ASSISTANT_QUEUE_DSN", default_team=default_team)
    if dsn.startswith(("postgresql://", "postgres://")):
        return PostgresHandoffQueue(dsn, pace=pace, pool_size=pool_size,
                                    timeout_seconds=timeout_seconds, default_team=default_team)
    if dsn.startswith(MEMORY_SCHEME):
        return MemoryHandoffQueue(dsn[len(MEMORY_SCHEME):], pace=pace,
                                  default_team=default_team)
    raise QueueError(f"ASSISTANT_QUEUE_DSN={safe_dsn(dsn)!r} is not understood; use "
                     "sqlite:///path/to/file.sqlite3, postgresql://user@host:5432/db "
                     "or memory://")
