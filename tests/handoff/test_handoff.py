"""The handoff queue contract, run against every backend (SQLite file, a real PostgreSQL,
process memory; see `conftest.queue_dsn`)."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from assistant.core.errors import QueueError, TicketConflict, TicketNotFound
from assistant.handoff.queue import (
    SCHEMA_VERSION,
    NewTicket,
    Pace,
    SqliteHandoffQueue,
    open_queue,
)
from assistant.understanding.redaction import PHRASE_MARK


def _new(text: str = "help", lang: str = "en", **kw) -> NewTicket:
    base = dict(query=text, lang=lang, reason="low confidence", session_id=kw.pop("session", "s1"),
                category="transaction", candidates=[{"id": "a", "title": "A", "score": 0.3}])
    return NewTicket(**{**base, **kw})


class FakeClock:
    """Time that tests move by hand (the only double here: users never touch a clock)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


def test_tickets_queue_in_order_urgent_first(make_queue):
    q = make_queue()
    t1, t2 = q.create(_new("m0")), q.create(_new("m1"))
    urgent = q.create(_new("stolen", priority="urgent"))
    assert [t1.position, t2.position, urgent.position] == [1, 2, 1]
    assert q.position(t1.id) == 2 and q.position(t2.id) == 3
    assert q.open_count() == 3
    row = q.get(t2.id)
    assert row["query"] == "m1" and row["status"] == "open" and row["lang"] == "en"
    assert row["candidates"] == [{"id": "a", "title": "A", "score": 0.3}]
    listed = q.list(status="open")
    assert [r["id"] for r in listed] == [urgent.id, t1.id, t2.id]


def test_ticket_keeps_conversation_and_details(make_queue):
    q = make_queue()
    t = q.create(_new("转人工", "zh", details={"chain": "TRON"},
                      conversation=[{"role": "user", "text": "提币没到账"},
                                    {"role": "user", "text": "转人工"}]))
    row = q.get(t.id)
    assert row["details"] == {"chain": "TRON"}
    assert [m["text"] for m in row["messages"]] == ["提币没到账", "转人工"]
    assert all(m["role"] == "user" for m in row["messages"])


def test_idempotency_key_never_duplicates(make_queue):
    q = make_queue()
    first = q.create(_new(idempotency_key="k-1"))
    again = q.create(_new(idempotency_key="k-1"))
    other = q.create(_new(idempotency_key="k-2"))
    assert again.id == first.id and other.id != first.id
    assert q.open_count() == 2
    assert q.find_key("k-1").id == first.id and q.find_key("nope") is None


def test_concurrent_creates_with_one_key_make_one_ticket(make_queue):
    queues = [make_queue() for _ in range(4)]
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda i: queues[i % 4].create(_new(idempotency_key="same")).id,
                            range(16)))
    assert len(set(ids)) == 1
    assert queues[0].open_count() == 1


def test_an_old_key_of_a_closed_ticket_is_free_again(make_queue):
    clock = FakeClock()
    q = make_queue()
    q.clock = clock
    t = q.create(_new(idempotency_key="s:hash"))
    q.claim(t.id, "alice")
    q.resolve(t.id, "alice", "done")
    assert q.find_key("s:hash").id == t.id  # a retry within the window
    clock.advance(60)
    assert q.find_key("s:hash") is None
    assert q.create(_new(idempotency_key="s:hash")).id != t.id


def test_agent_lifecycle_and_state_errors(make_queue):
    q = make_queue()
    t = q.create(_new())
    with pytest.raises(TicketConflict, match="claim it first"):
        q.reply(t.id, "alice", "hi")
    claimed = q.claim(t.id, "alice")
    assert claimed["status"] == "claimed" and claimed["agent"] == "alice"
    assert q.claim(t.id, "alice")["agent"] == "alice"  # claiming again is harmless
    with pytest.raises(TicketConflict, match="another agent"):
        q.claim(t.id, "bob")
    with pytest.raises(TicketConflict, match="another agent"):
        q.resolve(t.id, "bob", "x")
    q.reply(t.id, "alice", "Please send the transaction hash.")
    q.add_user_message(t.id, "0xabc", {"tx_hash": "0xabc"})
    with pytest.raises(TicketConflict, match="not|resolved"):
        q.rate(t.id, 5, None)
    done = q.resolve(t.id, "alice", "credited after 12 confirmations")
    assert done["status"] == "resolved" and done["resolution"].startswith("credited")
    assert [(m["role"], m["text"]) for m in done["messages"]][-2:] == [
        ("agent", "Please send the transaction hash."), ("user", "0xabc")]
    assert done["details"]["tx_hash"] == "0xabc"
    rated = q.rate(t.id, 4, "quick")
    assert (rated["rating"], rated["rating_comment"]) == (4, "quick")
    with pytest.raises(QueueError):
        q.rate(t.id, 9, None)
    with pytest.raises(TicketConflict, match="resolved"):
        q.add_user_message(t.id, "more", None)
    with pytest.raises(TicketNotFound):
        q.claim("no-such-ticket", "alice")


def test_release_puts_the_ticket_back(make_queue):
    q = make_queue()
    t = q.create(_new())
    q.claim(t.id, "alice")
    assert q.position(t.id) is None
    released = q.release(t.id, "alice")
    assert released["status"] == "open" and released["agent"] is None
    assert q.claim_next("bob")["id"] == t.id


def test_claim_next_respects_priority_and_filters(make_queue):
    q = make_queue()
    en = q.create(_new("en one"))
    zh = q.create(_new("中文", "zh"))
    urgent = q.create(_new("drained", priority="urgent"))
    assert q.claim_next("a", lang="zh")["id"] == zh.id
    assert q.claim_next("a")["id"] == urgent.id
    assert q.claim_next("a", category="security") is None
    assert q.claim_next("a")["id"] == en.id
    assert q.claim_next("a") is None


def test_concurrent_claimers_take_each_ticket_exactly_once(make_queue):
    """Many agents, each with its own connection, race for the same tickets."""
    producer = make_queue()
    ids = {producer.create(_new(f"m{i}", session=f"s{i}")).id for i in range(60)}
    agents = [make_queue() for _ in range(6)]
    taken: list[tuple[str, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def work(n: int) -> None:
        q, name = agents[n], f"agent{n}"
        start.wait()
        while (row := q.claim_next(name)) is not None:
            with lock:
                taken.append((row["id"], name))
            time.sleep(0.002)  # an agent reads the ticket before taking the next

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    claimed = [i for i, _ in taken]
    assert sorted(claimed) == sorted(ids)  # every ticket, none twice
    assert len({name for _, name in taken}) > 1  # the race really was concurrent
    for i, name in taken:
        assert producer.get(i)["agent"] == name


def test_wait_estimate_follows_the_recent_pace_per_language(make_queue):
    clock = FakeClock()
    q = make_queue(pace=Pace(default_minutes=10, window=20))
    q.clock = clock
    first = q.create(_new("a"))
    assert first.eta_minutes == 10  # no history: the configured default
    done = [q.create(_new(f"r{i}")) for i in range(3)]
    for t in done:
        q.claim(t.id, "alice")
        clock.advance(3)
        q.resolve(t.id, "alice", "ok")
    waiting = q.ticket(first.id)
    assert waiting.position == 1 and waiting.eta_minutes == 3  # one ticket every 3 minutes
    zh = q.create(_new("中文", "zh"))
    assert zh.position == 2 and zh.eta_minutes == 20  # Chinese has no history: default pace


def test_pending_details_are_taken_once_and_expire(make_queue):
    clock = FakeClock()
    q = make_queue()
    q.clock = clock
    q.set_pending("s9", {"query": "转人工", "category": "transaction"})
    assert q.take_pending("s9", 600) == {"category": "transaction", "query": "转人工"}
    assert q.take_pending("s9", 600) is None
    q.set_pending("s9", {"query": "x"})
    clock.advance(11)
    assert q.take_pending("s9", 600) is None


def test_turns_feedback_and_events(make_queue):
    q = make_queue()
    q.record_turn({"session_id": "s1", "lang": "en", "query": "withdrawal missing",
                   "action": "handoff", "category": "deposit_withdrawal"})
    q.record_turn({"session_id": "s1", "lang": "en", "query": "human please",
                   "action": "handoff"})
    assert [t["query"] for t in q.recent_turns("s1", 10)] == ["withdrawal missing",
                                                             "human please"]
    assert [t["query"] for t in q.recent_turns("s1", 1)] == ["human please"]
    fid = q.add_feedback({"session_id": "s1", "lang": "en", "query": "gas fee",
                          "article_id": "gas", "helpful": False, "comment": "too vague"})
    assert fid > 0
    ev = q.events("2000-01-01")
    assert len(ev["turns"]) == 2 and ev["feedback"][0]["helpful"] == 0


def test_a_pending_handoff_goes_to_exactly_one_taker(make_queue):
    queues = [make_queue() for _ in range(6)]
    queues[0].set_pending("s7", {"query": "help"})
    start = threading.Barrier(6)

    def take(q) -> dict | None:
        start.wait()
        return q.take_pending("s7", 600)

    with ThreadPoolExecutor(6) as pool:
        taken = [p for p in pool.map(take, queues) if p is not None]
    assert taken == [{"query": "help"}]


def test_a_missing_required_value_is_a_queue_error_and_stores_nothing(make_queue):
    q = make_queue()
    with pytest.raises(QueueError):
        q.record_turn({"session_id": "s1", "lang": None, "query": "x", "action": "answer"})
    t = q.create(_new())
    q.claim(t.id, "alice")
    with pytest.raises(QueueError):
        q.reply(t.id, "alice", None)
    assert q.events("2000")["turns"] == [] and q.get(t.id)["messages"] == []


def test_scrub_replaces_fragments_wherever_the_session_stored_them(make_queue):
    q = make_queue()
    t = q.create(_new("my words apple river", details={"problem": "apple river lost"},
                      conversation=[{"role": "user", "text": "apple river stone"}]))
    other = q.create(_new("apple river too", session="s2"))
    q.record_turn({"session_id": "s1", "lang": "en", "query": "apple river", "action": "answer"})
    q.add_feedback({"session_id": "s1", "query": "apple", "helpful": True, "comment": "river"})
    q.set_pending("s1", {"query": "apple river"})
    assert q.scrub(("apple river", " "), ticket_id=other.id) == 1  # that ticket's row only
    assert q.scrub(("apple river", "apple", "river"), session_id="s1") == 5  # one per row
    row = q.get(t.id)
    assert row["query"] == f"my words {PHRASE_MARK}"
    assert row["details"] == {"problem": f"{PHRASE_MARK} lost"}
    assert row["messages"][0]["text"] == f"{PHRASE_MARK} stone"
    ev = q.events("2000")
    assert ev["turns"][0]["query"] == PHRASE_MARK
    assert (ev["feedback"][0]["query"], ev["feedback"][0]["comment"]) == (PHRASE_MARK,) * 2
    assert q.take_pending("s1", 600) == {"query": PHRASE_MARK}
    assert q.get(other.id)["query"] == f"{PHRASE_MARK} too"
    assert q.scrub(("apple",), session_id="s1") == 0  # nothing left to change
    assert q.scrub((" ",), session_id="s1") == 0 and q.scrub(("x",)) == 0


def test_user_can_cancel(make_queue):
    q = make_queue()
    t = q.create(_new())
    assert q.cancel(t.id)["status"] == "abandoned"
    assert q.open_count() == 0
    with pytest.raises(TicketConflict):
        q.cancel(t.id)
    assert q.active_for_session("s1") is None


def test_tickets_survive_a_restart(tmp_path):
    path = tmp_path / "q.sqlite3"
    q = SqliteHandoffQueue(path).open()
    t = q.create(_new("转人工", "zh"))
    q.close()
    again = SqliteHandoffQueue(path).open()
    assert again.get(t.id)["query"] == "转人工"
    assert again.position(t.id) == 1


def test_an_old_queue_file_is_migrated_in_place(tmp_path):
    """A file from the first schema (no migrations table) keeps its tickets and gains columns."""
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE tickets (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, created_at TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open', query TEXT NOT NULL, lang TEXT NOT NULL,
            session_id TEXT, category TEXT, reason TEXT, candidates TEXT NOT NULL DEFAULT '[]');
        INSERT INTO tickets (id, seq, created_at, query, lang)
            VALUES ('old1', 1, '2026-01-01T00:00:00+00:00', 'old question', 'en');
    """)
    conn.commit()
    conn.close()
    q = SqliteHandoffQueue(path).open()
    assert q.get("old1")["priority"] == "normal" and q.get("old1")["details"] == {}
    new = q.create(_new("new"))
    assert new.position == 2
    versions = [r[0] for r in q._conn.execute("SELECT version FROM schema_migrations")]
    assert versions == list(range(1, SCHEMA_VERSION + 1))
    assert not q.verify_secret("old1", "")  # a ticket from before secrets: agents only


def test_unknown_dsn_and_unreachable_database_say_what_to_fix(tmp_path):
    with pytest.raises(QueueError, match="ASSISTANT_QUEUE_DSN"):
        open_queue("mysql://x", tmp_path / "q.sqlite3")
    q = open_queue("postgresql://nobody:secret@127.0.0.1:1/none", tmp_path / "q",
                   timeout_seconds=1)
    with pytest.raises(QueueError, match="ASSISTANT_QUEUE_DSN") as err:
        q.open()
    assert "secret" not in str(err.value)


def _process_worker(path: str, n: int) -> list[str]:
    """In its own process: create tickets, then claim until none are left."""
    q = SqliteHandoffQueue(Path(path)).open()
    for i in range(20):
        q.create(_new(f"p{n}-{i}", session=f"p{n}-{i}"))
        q.record_turn({"lang": "en", "query": f"p{n}-{i}", "action": "handoff"})
    claimed = []
    while (row := q.claim_next(f"proc{n}")) is not None:
        claimed.append(row["id"])
    q.close()
    return claimed


def test_several_processes_share_one_sqlite_file(tmp_path):
    """Like several server workers on one machine: no 'database is locked', nothing lost."""
    import multiprocessing

    path = str(tmp_path / "shared.sqlite3")
    SqliteHandoffQueue(Path(path)).open().close()  # migrate once
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        results = pool.starmap(_process_worker, [(path, n) for n in range(3)])
    claimed = [i for r in results for i in r]
    q = SqliteHandoffQueue(Path(path)).open()
    everything = {r["id"] for r in q.list(status=None, limit=1000)}
    assert len(everything) == 60 and sorted(claimed) == sorted(everything)
    assert q.open_count() == 0 and len(q.events("2000")["turns"]) == 60
    q.close()


# ---------------------------------------------------------------- the ticket's secret


def _stored_hash(q, ticket_id: str) -> str | None:
    """The secret column as the backend holds it (what a copy of the database shows)."""
    if hasattr(q, "tx"):
        with q.tx(durable=False) as t:
            return t.one("SELECT secret_hash FROM tickets WHERE id = ?", (ticket_id,))["secret_hash"]
    return q._store.tickets[ticket_id]["secret_hash"]


def test_a_ticket_opens_only_with_the_secret_it_was_created_with(make_queue):
    q = make_queue()
    t, other = q.create(_new()), q.create(_new("other", session="s2"))
    assert t.secret and other.secret and t.secret != other.secret and len(t.secret) >= 32
    assert q.verify_secret(t.id, t.secret) and q.verify_secret(other.id, other.secret)
    for wrong in ("", other.secret, t.secret[:-1], t.secret + "x", "Bearer " + t.secret):
        assert not q.verify_secret(t.id, wrong)
    assert not q.verify_secret("no-such-ticket", t.secret)
    assert not q.verify_secret("bad\x00id", t.secret)
    # Only the hash is stored, and no read gives it back (nor the secret).
    assert _stored_hash(q, t.id) == hashlib.sha256(t.secret.encode()).hexdigest()
    row = q.get(t.id)
    assert "secret_hash" not in row and t.secret not in repr(row)
    assert q.ticket(t.id).secret is None and q.find_key("nope") is None
    assert t.secret not in repr(q.list()) + repr(q.events("2000")) + repr(t)


def test_a_retried_creation_gets_a_new_secret_and_the_old_one_stops_working(make_queue):
    q = make_queue()
    first = q.create(_new(idempotency_key="k-9"))
    again = q.create(_new(idempotency_key="k-9"))  # the reply to the first was lost
    assert again.id == first.id and again.secret and again.secret != first.secret
    assert q.verify_secret(first.id, again.secret) and not q.verify_secret(first.id, first.secret)
    assert q.find_key("k-9").secret is None  # a read: no secret
    third = q.reissue_secret(first.id)
    assert q.verify_secret(first.id, third.secret) and not q.verify_secret(first.id, again.secret)
    with pytest.raises(TicketNotFound):
        q.reissue_secret("no-such-ticket")


# ---------------------------------------------------------------- what any client may send

NUL_TEXT = "line\x00one\x01\x1b[31m\x7f\x85 two\r\nthree\ttab \ud800"
ODD_KEYS = ["s\x00", "s\x01\x1f", "\x00", "s\ud800", "s\x7f\x9f"]


def test_control_characters_are_cleaned_from_every_stored_text(make_queue):
    q = make_queue()
    t = q.create(_new(NUL_TEXT, details={"problem": NUL_TEXT, "k\x00": "v"},
                      category="trans\x00action", conversation=[{"role": "user",
                                                                 "text": NUL_TEXT}]))
    q.add_user_message(t.id, NUL_TEXT, {"amount": "5\x00 USDT"})
    q.claim(t.id, "ali\x00ce")
    q.reply(t.id, "ali\x00ce", NUL_TEXT)
    q.resolve(t.id, "ali\x00ce", NUL_TEXT)
    q.rate(t.id, 5, NUL_TEXT)
    q.record_turn({"session_id": "s\x00", "lang": "en", "query": NUL_TEXT, "action": "answer",
                   "category": "x\x00", "article_id": "a\x00", "reason": "r\x00"})
    q.add_feedback({"session_id": "s\x00", "lang": "en", "query": NUL_TEXT,
                    "article_id": "a\x00", "helpful": False, "comment": NUL_TEXT})
    stored = repr([q.get(t.id), q.events("2000"), q.recent_turns("s\x00", 5), q.list()])
    for bad in ("\\x00", "\\x01", "\\x1b", "\\x7f", "\\x85", "\\r", "\\ud800"):
        assert bad not in stored, bad
    row = q.get(t.id)
    assert row["query"] == "line one  [31m   two\nthree\ttab \ufffd"
    assert [m["text"] for m in row["messages"]] == [row["query"]] * 3
    assert row["details"]["amount"] == "5  USDT" and row["rating_comment"] == row["query"]
    assert row["category"] == "trans\ufffdaction" and row["agent"] == "ali\ufffdce"
    assert q.list(category="trans\x00action", status="resolved")[0]["id"] == t.id
    assert q.claim_next("bob", lang="e\x00n", category="\x00") is None


@pytest.mark.parametrize("odd", ODD_KEYS)
def test_odd_session_ids_and_keys_still_find_their_handoff(make_queue, odd):
    q = make_queue()
    q.set_pending(odd, {"query": "转人工"})
    assert q.take_pending(odd, 600) == {"query": "转人工"}
    t = q.create(_new(session=odd, idempotency_key=odd))
    assert q.create(_new(session=odd, idempotency_key=odd)).id == t.id
    assert q.find_key(odd).id == t.id and q.active_for_session(odd).id == t.id
    q.record_turn({"session_id": odd, "lang": "en", "query": "apple river", "action": "answer"})
    assert [x["query"] for x in q.recent_turns(odd, 5)] == ["apple river"]
    assert q.scrub(("apple river",), session_id=odd) == 1


@pytest.mark.parametrize("bad", ["a\x00b", "\x00", "a b", "a/b", "x" * 65, "", "é", "a\ud800"])
def test_an_id_no_ticket_could_have_is_not_found_on_every_route(make_queue, bad):
    q = make_queue()
    q.create(_new())
    assert q.get(bad) is None and q.ticket(bad) is None and q.position(bad) is None
    assert not q.verify_secret(bad, "x") and q.scrub(("x",), ticket_id=bad) == 0
    for call in (lambda: q.claim(bad, "a"), lambda: q.release(bad, "a"),
                 lambda: q.reply(bad, "a", "t"), lambda: q.resolve(bad, "a", "t"),
                 lambda: q.add_user_message(bad, "t"), lambda: q.rate(bad, 3, None),
                 lambda: q.cancel(bad), lambda: q.reissue_secret(bad)):
        with pytest.raises(TicketNotFound):
            call()


def test_the_readiness_probe_writes(make_queue):
    q = make_queue()
    for _ in range(3):
        q.probe()
    if hasattr(q, "tx"):
        with q.tx(durable=False) as t:
            assert t.one("SELECT COUNT(*) AS n FROM queue_heartbeat")["n"] == 1
