"""The SQLite handoff queue: positions, durability, concurrency within a process."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from assistant.handoff import SqliteHandoffQueue


def _create(q: SqliteHandoffQueue, text: str = "help", lang: str = "en"):
    return q.create(query=text, lang=lang, session_id="s1", category="transaction",
                    reason="low confidence", candidates=[{"id": "a", "title": "A", "score": 0.3}])


def test_tickets_queue_in_order(tmp_path):
    q = SqliteHandoffQueue(tmp_path / "q.sqlite3").open()
    t1, t2, t3 = (_create(q, f"m{i}") for i in range(3))
    assert [t1.position, t2.position, t3.position] == [1, 2, 3]
    assert q.open_count() == 3
    row = q.get(t2.id)
    assert row["query"] == "m1" and row["status"] == "open" and row["lang"] == "en"
    assert row["candidates"] == [{"id": "a", "title": "A", "score": 0.3}]


def test_tickets_survive_a_restart(tmp_path):
    path = tmp_path / "q.sqlite3"
    q = SqliteHandoffQueue(path).open()
    t = _create(q, "转人工", "zh")
    q.close()
    again = SqliteHandoffQueue(path).open()
    assert again.get(t.id)["query"] == "转人工"
    assert again.position(t.id) == 1


def test_ids_are_unguessable_and_unique(tmp_path):
    q = SqliteHandoffQueue(tmp_path / "q.sqlite3").open()
    ids = {_create(q).id for _ in range(50)}
    assert len(ids) == 50 and all(len(i) >= 16 for i in ids)


def test_concurrent_creates_get_distinct_positions(tmp_path):
    q = SqliteHandoffQueue(tmp_path / "q.sqlite3").open()
    with ThreadPoolExecutor(8) as pool:
        tickets = list(pool.map(lambda i: _create(q, f"m{i}"), range(40)))
    assert q.open_count() == 40
    assert sorted(q.position(t.id) for t in tickets) == list(range(1, 41))


def test_unknown_ticket(tmp_path):
    q = SqliteHandoffQueue(tmp_path / "q.sqlite3").open()
    assert q.get("nope") is None and q.position("nope") is None


def test_urgent_tickets_go_first(tmp_path):
    q = SqliteHandoffQueue(tmp_path / "q.sqlite3").open()
    normal = [_create(q, f"n{i}") for i in range(3)]
    urgent = q.create(query="stolen", lang="en", session_id=None, category="security",
                      reason="reported theft", candidates=[], priority="urgent")
    assert urgent.position == 1
    assert [q.position(t.id) for t in normal] == [2, 3, 4]
    assert q.get(urgent.id)["priority"] == "urgent"


def test_unknown_priority_is_refused(tmp_path):
    import pytest

    from assistant.errors import QueueError

    q = SqliteHandoffQueue(tmp_path / "q.sqlite3").open()
    with pytest.raises(QueueError, match="priority"):
        q.create(query="x", lang="en", session_id=None, category=None, reason="",
                 candidates=[], priority="vip")


def _worker_process(path: str, n: int) -> int:
    """One server worker: several request threads creating tickets and reading positions."""
    q = SqliteHandoffQueue(path).open()
    def one(i: int):
        ticket = _create(q, f"p{i}")
        q.open_count()  # reads in flight while other threads begin writes
        return ticket

    with ThreadPoolExecutor(max_workers=8) as pool:
        tickets = list(pool.map(one, range(n)))
    q.close()
    return len(tickets)


def test_two_worker_processes_write_tickets_at_once(tmp_path):
    """Two server workers share the queue file; neither may fail with 'database is locked'."""
    import multiprocessing

    path = str(tmp_path / "q.sqlite3")
    SqliteHandoffQueue(path).open().close()
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        made = pool.starmap(_worker_process, [(path, 300), (path, 300)])
    assert made == [300, 300]
    assert SqliteHandoffQueue(path).open().open_count() == 600
