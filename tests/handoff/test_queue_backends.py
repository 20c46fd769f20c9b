"""The backends against the interface and against each other.

Every backend class must satisfy each narrow Protocol with the same signatures, and the
in-memory queue must give the same answers as the SQL ones to the same long, random sequence
of calls (errors included), so tests run on it mean something for production.
"""

from __future__ import annotations

import dataclasses
import inspect
import random
import threading
import typing
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

import pytest

from assistant.core.config import Settings
from assistant.core.errors import QueueError
from assistant.core.types import Ticket
from assistant.handoff.queue import (
    EventLog,
    HandoffQueue,
    Mailbox,
    MemoryHandoffQueue,
    NewTicket,
    Pace,
    PostgresHandoffQueue,
    SessionState,
    SqlHandoffQueue,
    SqliteHandoffQueue,
    TicketStore,
    open_queue,
    stamp,
)
from tests.handoff.test_handoff import FakeClock, _new

PARTS = (TicketStore, SessionState, EventLog, Mailbox)
BACKENDS = (SqliteHandoffQueue, PostgresHandoffQueue, MemoryHandoffQueue)


# ---------------------------------------------------------------- the interface


def _methods(protocol: type) -> list[str]:
    return sorted(n for n in dir(protocol) if not n.startswith("_")
                  and callable(getattr(protocol, n)))


def _shape(fn: Callable) -> tuple[list[tuple], Any]:
    """Parameters (name, kind, default, resolved type) and the resolved return type."""
    hints = typing.get_type_hints(fn)
    params = [(p.name, p.kind, p.default, hints.get(p.name))
              for p in inspect.signature(fn).parameters.values()]
    return params, hints.get("return")


def test_the_parts_split_the_whole_interface():
    parts = [set(_methods(p)) for p in PARTS]
    assert not any(a & b for i, a in enumerate(parts) for b in parts[i + 1:])  # disjoint
    assert set(_methods(HandoffQueue)) == set().union(*parts) | {"open", "close", "probe"}
    assert all(issubclass(HandoffQueue, p) for p in PARTS)


@pytest.mark.parametrize("protocol", (*PARTS, HandoffQueue), ids=lambda p: p.__name__)
@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.__name__)
def test_each_backend_satisfies_each_protocol_with_the_same_signatures(backend, protocol):
    assert issubclass(backend, protocol)
    for name in _methods(protocol):
        want_params, want_return = _shape(getattr(protocol, name))
        got_params, got_return = _shape(getattr(backend, name))
        assert got_params == want_params, f"{backend.__name__}.{name} parameters"
        if name == "open":  # returns itself: its own class, which is a HandoffQueue
            assert got_return is backend and issubclass(got_return, want_return)
        else:
            assert got_return == want_return, f"{backend.__name__}.{name} return type"


def test_the_shared_sql_logic_satisfies_the_parts(tmp_path):
    """The SQL base class alone holds every narrow part; the dialects add only the lifecycle."""
    assert all(issubclass(SqlHandoffQueue, p) for p in PARTS)
    assert not issubclass(SqlHandoffQueue, HandoffQueue)
    queues = [SqliteHandoffQueue(tmp_path / "q.sqlite3"),
              PostgresHandoffQueue("postgresql://nobody@127.0.0.1:1/none"),
              MemoryHandoffQueue()]  # none of them connects before first use
    assert all(isinstance(q, HandoffQueue) for q in queues)


# ---------------------------------------------------------------- choosing the backend


def test_memory_dsn_opens_the_memory_backend_and_names_share_a_store(tmp_path):
    unnamed = [open_queue("memory://", tmp_path / "unused").open() for _ in range(2)]
    assert all(isinstance(q, MemoryHandoffQueue) for q in unnamed)
    unnamed[0].create(_new())
    assert unnamed[1].open_count() == 0  # `memory://` alone: a private store each time

    a = open_queue("memory://shared-test", tmp_path / "unused")
    b = open_queue("memory://shared-test", tmp_path / "unused")
    other = open_queue("memory://other-test", tmp_path / "unused")
    t = a.create(_new())
    assert b.get(t.id)["query"] == "help" and other.get(t.id) is None
    a.close()
    assert b.position(t.id) == 1 and a.position(t.id) == 1  # closing keeps the rows
    assert not (tmp_path / "unused").exists()  # nothing touches the disk


def test_settings_accept_a_memory_queue(tmp_path):
    settings = Settings(queue_dsn="memory://", data_dir=tmp_path)
    assert settings.queue_dsn == "memory://"
    queue = open_queue(settings.queue_dsn, settings.queue_path)
    assert isinstance(queue, MemoryHandoffQueue)


def test_the_assistant_hands_off_into_a_memory_queue(fake_settings, fake_embedder):
    from assistant.service import Assistant

    settings = fake_settings.model_copy(update={"queue_dsn": "memory://"})
    a = Assistant(settings, embedder=fake_embedder).warm_up()
    try:
        assert isinstance(a.queue, MemoryHandoffQueue)
        reply = a.answer("转人工")
        assert reply.ticket is not None and reply.ticket.position == 1
        assert a.queue.get(reply.ticket.id)["lang"] == "zh"
    finally:
        a.close()
    assert not settings.queue_path.exists()


# ---------------------------------------------------------------- memory under threads


def test_threads_on_one_memory_queue_never_lose_or_double_claim_a_ticket():
    """Creators and claimers interleave on one object: every ticket once, seqs unique."""
    q = MemoryHandoffQueue()
    start = threading.Barrier(8)

    def work(n: int) -> list[str]:
        start.wait()
        claimed = []
        for i in range(25):
            q.create(_new(f"w{n}-{i}", session=f"w{n}-{i}"))
            if (row := q.claim_next(f"agent{n}")) is not None:
                claimed.append(row["id"])
        while (row := q.claim_next(f"agent{n}")) is not None:
            claimed.append(row["id"])
        return claimed

    with ThreadPoolExecutor(8) as pool:
        claimed = [i for ids in pool.map(work, range(8)) for i in ids]
    everything = q.list(limit=1000)
    assert len(claimed) == len(set(claimed)) == len(everything) == 200
    assert sorted(r["seq"] for r in everything) == list(range(1, 201))
    assert q.open_count() == 0


def test_racing_claims_of_one_ticket_have_one_winner():
    q = MemoryHandoffQueue("race-test")
    t = q.create(_new())
    agents = [MemoryHandoffQueue("race-test") for _ in range(8)]
    start = threading.Barrier(8)

    def claim(n: int) -> str:
        start.wait()
        try:
            return agents[n].claim(t.id, f"agent{n}")["agent"]
        except QueueError as exc:
            return type(exc).__name__

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(claim, range(8)))
    winners = [r for r in results if r.startswith("agent")]
    assert len(winners) == 1 and results.count("TicketConflict") == 7
    assert q.get(t.id)["agent"] == winners[0]


def test_returned_rows_are_copies():
    """Changing what a read returned never changes the queue (as with rows from SQL)."""
    q = MemoryHandoffQueue()
    t = q.create(_new(details={"chain": "TRON"}))
    row = q.get(t.id)
    row["status"] = "resolved"
    row["details"]["chain"] = "ETH"
    row["messages"].append({"role": "user", "text": "x"})
    q.list()[0]["status"] = "claimed"
    again = q.get(t.id)
    assert again["status"] == "open" and again["details"] == {"chain": "TRON"}
    assert again["messages"] == []


# ---------------------------------------------------------------- same answers as SQL

WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")
AGENTS = ("ann", "bob", "cy")
SESSIONS = ("s0", "s1", "s2", "s3")
KEYS = ("k0", "k1", "k2")
SEEDS = (1, 2, 3)


def _text(rng: random.Random) -> str:
    return " ".join(rng.sample(WORDS, rng.randint(1, 3)))


def _ref(rng: random.Random) -> int:
    """A ticket by the order ids were first seen; -1 is an id that does not exist."""
    return rng.choice([-1, *range(12)])


def _script(seed: int, n: int) -> list[tuple[float, str, tuple]]:
    """`n` calls as (minutes to wait before, method, arguments), tickets named by `_ref`."""
    rng = random.Random(seed)
    ops: list[tuple[float, str, tuple]] = []
    for _ in range(n):
        wait = rng.choice([0, 0, 0.5, 1, 3, 7])
        kind = rng.choice(["create"] * 6 + ["claim_next"] * 3 + [
            "claim", "release", "reply", "resolve", "resolve", "add_user_message", "rate",
            "cancel", "get", "ticket", "position", "find_key", "active_for_session",
            "verify_secret", "reissue_secret",
            "open_count", "list", "set_pending", "take_pending", "record_turn",
            "recent_turns", "add_feedback", "events", "scrub"])
        args: tuple
        if kind == "create":
            args = (_text(rng), rng.choice(["en", "zh"]),
                    rng.choice(["normal"] * 6 + ["urgent"] * 2 + ["high"]),
                    rng.choice(SESSIONS), rng.choice(["transaction", "account", None]),
                    rng.choice([None, None, *KEYS]),
                    rng.choice([{}, {"chain": rng.choice(WORDS)}]),
                    [{"role": rng.choice(["user", "assistant", "bot"]), "text": _text(rng)}
                     for _ in range(rng.randint(0, 2))])
        elif kind == "claim_next":
            args = (rng.choice(AGENTS), rng.choice([None, None, "en", "zh"]),
                    rng.choice([None, None, "account"]))
        elif kind in ("claim", "release"):
            args = (_ref(rng), rng.choice(AGENTS))
        elif kind in ("reply", "resolve"):
            args = (_ref(rng), rng.choice(AGENTS), _text(rng))
        elif kind == "add_user_message":
            args = (_ref(rng), _text(rng), rng.choice([None, {"amount": "5"}]))
        elif kind == "rate":
            args = (_ref(rng), rng.randint(0, 6), rng.choice([None, _text(rng)]))
        elif kind in ("cancel", "get", "ticket", "position", "reissue_secret"):
            args = (_ref(rng),)
        elif kind == "verify_secret":
            args = (_ref(rng), rng.choice(["", "not-the-secret"]))
        elif kind == "find_key":
            args = (rng.choice(KEYS),)
        elif kind in ("active_for_session", "take_pending"):
            args = (rng.choice(SESSIONS), rng.choice([60, 600, 100000]))
        elif kind == "list":
            args = (rng.choice([None, "open", "claimed", "resolved"]),
                    rng.choice([None, "urgent"]), rng.choice([None, "zh"]),
                    rng.choice([1, 3, 50]))
        elif kind == "set_pending":
            args = (rng.choice(SESSIONS), {"query": _text(rng), "n": rng.randint(0, 9)})
        elif kind == "record_turn":
            args = (rng.choice([*SESSIONS, None]), _text(rng),
                    rng.choice(["answer", "handoff"]), rng.choice([None, 0.5, 0.75]))
        elif kind == "recent_turns":
            args = (rng.choice(SESSIONS), rng.choice([0, 1, 5]))
        elif kind == "add_feedback":
            args = (rng.choice(SESSIONS), _text(rng), rng.choice([True, False]),
                    rng.choice([None, _text(rng)]))
        elif kind == "events":
            args = (rng.choice([5, 60, 100000]),)
        elif kind == "open_count":
            args = ()
        else:
            assert kind == "scrub"
            args = (tuple(rng.sample(WORDS, rng.randint(1, 2))) + ("  ",),
                    rng.choice([*SESSIONS, None]), _ref(rng))
        ops.append((wait, kind, args))
    return ops


def _call(q: HandoffQueue, clock: FakeClock, kind: str, args: tuple,
          ticket: Callable[[int], str]) -> Any:
    if kind == "create":
        text, lang, priority, session, category, key, details, conversation = args
        return q.create(_new(text, lang, priority=priority, session=session, category=category,
                             idempotency_key=key, details=details, conversation=conversation))
    if kind == "claim_next":
        return q.claim_next(args[0], lang=args[1], category=args[2])
    if kind in ("claim", "release", "reply", "resolve", "add_user_message", "rate", "cancel",
                "get", "ticket", "position", "verify_secret", "reissue_secret"):
        return getattr(q, kind)(ticket(args[0]), *args[1:])
    if kind == "active_for_session":
        return q.active_for_session(args[0])
    if kind == "list":
        status, priority, lang, limit = args
        return q.list(status=status, priority=priority, lang=lang, limit=limit)
    if kind == "record_turn":
        session, text, action, confidence = args
        return q.record_turn({"session_id": session, "lang": "en", "query": text,
                              "action": action, "confidence": confidence, "category": "x"})
    if kind == "add_feedback":
        session, text, helpful, comment = args
        return q.add_feedback({"session_id": session, "lang": "en", "query": text,
                               "article_id": "a", "helpful": helpful, "comment": comment})
    if kind == "events":
        return q.events(stamp(clock.now - timedelta(minutes=args[0])))
    if kind == "scrub":
        fragments, session, ref = args
        return q.scrub(fragments, session_id=session, ticket_id=ticket(ref))
    return getattr(q, kind)(*args)


def _trace(q: HandoffQueue, ops: list[tuple[float, str, tuple]]) -> list:
    """Every call's result (or error type and message), ticket ids replaced by their order."""
    clock = FakeClock()
    q.clock = clock
    ids: list[str] = []

    def ticket(ref: int) -> str:
        return ids[ref % len(ids)] if ids and ref >= 0 else "no-such-ticket"

    trace = []
    for wait, kind, args in ops:
        clock.advance(wait)
        try:
            out = _call(q, clock, kind, args, ticket)
        except QueueError as exc:
            out = (type(exc).__name__, str(exc))
        if isinstance(out, Ticket):  # secrets are random: compare whether one was issued
            out = {**dataclasses.asdict(out), "secret": out.secret is not None}
        if isinstance(out, dict) and isinstance(out.get("id"), str) and out["id"] not in ids:
            ids.append(out["id"])
        trace.append((kind, out))
    return _renamed(trace, {t: f"#{n}" for n, t in enumerate(ids)})


def _renamed(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, dict):
        return {k: _renamed(v, names) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_renamed(v, names) for v in value]
    return value


@pytest.fixture(params=["sqlite", "postgres"])
def sql_dsn(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    return request.getfixturevalue("pg_dsn")


@pytest.mark.parametrize("seed", SEEDS)
def test_memory_answers_every_call_like_sql(sql_dsn, seed):
    ops = _script(seed, 400)
    pace = Pace(default_minutes=10, window=5)
    sql = open_queue(sql_dsn, Path("unused"), pace=pace).open()
    try:
        want = _trace(sql, ops)
    finally:
        sql.close()
    got = _trace(MemoryHandoffQueue(pace=pace), ops)
    errors = {out[0] for _, out in want if isinstance(out, list) and len(out) == 2
              and out[0] in ("QueueError", "TicketConflict", "TicketNotFound")}
    assert errors == {"QueueError", "TicketConflict", "TicketNotFound"}
    for n, (mine, theirs) in enumerate(zip(got, want)):
        assert mine == theirs, f"call {n} ({ops[n][1]}{ops[n][2]}) differs"
    assert len(got) == len(want)


def test_the_scripts_reach_every_state():
    """Guards the comparison above from scripts that never get past empty answers."""
    trace, statuses = [], set()
    for seed in SEEDS:
        q = MemoryHandoffQueue()
        trace += _trace(q, _script(seed, 400))
        statuses |= {r["status"] for r in q.list(limit=1000)}
    assert {"open", "claimed", "resolved", "abandoned"} <= statuses
    assert any(kind == "scrub" and isinstance(out, int) and out > 0 for kind, out in trace)
    assert any(kind == "take_pending" and isinstance(out, dict) for kind, out in trace)
    assert any(kind == "rate" and isinstance(out, dict) for kind, out in trace)


def test_new_ticket_is_the_one_service_type():
    """`queue` re-exports the value types from `protocols`: one class, not two copies."""
    from assistant.handoff import protocols

    assert NewTicket is protocols.NewTicket and Pace is protocols.Pace
