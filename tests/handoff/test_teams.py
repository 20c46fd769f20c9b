"""Teams, escalation, transfer, internal notes, reopening and the mail store, on every backend
(SQLite file, a real PostgreSQL, process memory)."""

from __future__ import annotations

import pytest

from assistant.core.errors import QueueError, TicketConflict, TicketNotFound
from assistant.handoff.queue import Pace
from tests.handoff.test_handoff import FakeClock, _new

DAY = 86400.0


def _claimed(q, text: str = "help", agent: str = "alice", **kw) -> str:
    t = q.create(_new(text, **kw))
    q.claim(t.id, agent)
    return t.id


def test_new_tickets_join_the_default_team_or_the_one_named(make_queue):
    q = make_queue(default_team="front")
    a = q.create(_new("a"))
    b = q.create(_new("b", team="experts"))
    assert q.get(a.id)["team"] == "front" and q.get(b.id)["team"] == "experts"
    assert q.get(a.id)["channel"] == "chat" and q.get(a.id)["reopened"] == 0
    assert [r["id"] for r in q.list(team="experts")] == [b.id]
    assert {r["id"] for r in q.list(team=("front", "experts"))} == {a.id, b.id}


def test_escalation_moves_the_ticket_to_the_other_queue_with_the_reason(make_queue):
    q = make_queue()
    tid = _claimed(q, "withdrawal stuck for 3 days")
    row = q.escalate(tid, "alice", "tier2", "needs a chain lookup")
    assert row["status"] == "open" and row["team"] == "tier2" and row["agent"] is None
    event = row["messages"][-1]
    assert event["role"] == "event" and event["author"] == "alice"
    assert "tier1" in event["text"] and "tier2" in event["text"]
    assert "needs a chain lookup" in event["text"]
    assert q.claim_next("alice", team="tier1") is None  # not in tier 1 any more
    assert q.claim_next("bob", team="tier2")["id"] == tid


def test_only_the_holder_escalates_and_not_to_the_same_team(make_queue):
    q = make_queue()
    tid = _claimed(q)
    with pytest.raises(TicketConflict, match="another agent"):
        q.escalate(tid, "bob", "tier2", "x")
    with pytest.raises(TicketConflict, match="already with tier1"):
        q.escalate(tid, "alice", "tier1", "x")
    open_one = q.create(_new("open"))
    with pytest.raises(TicketConflict, match="claim it first"):
        q.escalate(open_one.id, "alice", "tier2", "x")
    with pytest.raises(TicketNotFound):
        q.escalate("nope", "alice", "tier2", "x")


def test_transfer_to_an_agent_hands_over_the_claim(make_queue):
    q = make_queue()
    tid = _claimed(q)
    row = q.transfer(tid, "alice", to_agent="bob")
    assert row["status"] == "claimed" and row["agent"] == "bob" and row["team"] == "tier1"
    assert row["messages"][-1]["role"] == "event"
    with pytest.raises(TicketConflict):
        q.reply(tid, "alice", "alice no longer holds it")
    assert q.reply(tid, "bob", "bob does")["messages"][-1]["author"] == "bob"
    with pytest.raises(TicketConflict, match="already hold"):
        q.transfer(tid, "bob", to_agent="bob")


def test_transfer_to_a_team_opens_it_there(make_queue):
    q = make_queue()
    tid = _claimed(q)
    row = q.transfer(tid, "alice", to_team="tier2")
    assert row["status"] == "open" and row["team"] == "tier2" and row["agent"] is None
    with pytest.raises(QueueError, match="exactly one"):
        q.transfer(tid, "alice")
    with pytest.raises(QueueError, match="exactly one"):
        q.transfer(tid, "alice", to_agent="bob", to_team="tier2")


def test_notes_are_messages_of_their_own_role_and_redacted(make_queue):
    q = make_queue()
    t = q.create(_new())
    phrase = ("abandon ability able about above absent absorb abstract absurd abuse access "
              "accident")
    row = q.note(t.id, "alice", f"user pasted {phrase} earlier")
    note = row["messages"][-1]
    assert note["role"] == "note" and note["author"] == "alice"
    assert "absorb" not in note["text"]
    assert row["status"] == "open"  # a note changes nothing else


def test_positions_and_waits_follow_the_team(make_queue):
    clock = FakeClock()
    q = make_queue(pace=Pace(default_minutes=10, window=20))
    q.clock = clock
    t1_a, t1_b = q.create(_new("a")), q.create(_new("b"))
    t2_a = q.create(_new("c", team="tier2"))
    assert (t1_a.position, t1_b.position, t2_a.position) == (1, 2, 1)
    for i in range(3):  # tier 1 resolves one every 2 minutes; tier 2 has no history
        tid = _claimed(q, f"r{i}")
        clock.advance(2)
        q.resolve(tid, "alice", "ok")
    assert q.ticket(t1_b.id).eta_minutes == 4  # 2nd in tier 1 at its pace
    assert q.ticket(t2_a.id).eta_minutes == 10  # tier 2: the default pace
    q.claim(t1_a.id, "alice")
    q.escalate(t1_a.id, "alice", "tier2", "specialist")
    assert q.ticket(t1_b.id).position == 1
    # It has waited longest, so it is first in tier 2 too.
    assert q.ticket(t1_a.id).position == 1 and q.ticket(t2_a.id).position == 2


def test_a_resolved_ticket_reopens_within_the_window_in_the_same_team(make_queue):
    clock = FakeClock()
    q = make_queue()
    q.clock = clock
    tid = _claimed(q, "swap failed")
    q.escalate(tid, "alice", "tier2", "contract issue")
    q.claim(tid, "bob")
    q.reply(tid, "bob", "refunded")
    q.resolve(tid, "bob", "refunded the gas")
    clock.advance(60 * 24 * 3)
    row = q.reopen(tid, "still not solved, the refund never came", 7 * DAY)
    assert row["status"] == "open" and row["team"] == "tier2" and row["agent"] is None
    assert row["reopened"] == 1 and row["resolved_at"] is None
    roles = [m["role"] for m in row["messages"]]
    assert roles[-2:] == ["event", "user"] and "agent" in roles  # the history stays
    assert row["messages"][-1]["text"].startswith("still not solved")
    assert q.ticket(tid).position == 1
    with pytest.raises(TicketConflict, match="open"):
        q.reopen(tid, "again", 7 * DAY)


def test_reopening_is_refused_after_the_window(make_queue):
    clock = FakeClock()
    q = make_queue()
    q.clock = clock
    tid = _claimed(q)
    q.resolve(tid, "alice", "done")
    clock.advance(60 * 24 * 8)
    with pytest.raises(TicketConflict, match="too long ago"):
        q.reopen(tid, "still broken", 7 * DAY)
    assert q.get(tid)["status"] == "resolved"


def test_events_carry_team_agent_rating_and_comment(make_queue):
    q = make_queue()
    tid = _claimed(q)
    q.resolve(tid, "alice", "done")
    q.rate(tid, 4, "quick")
    row = next(t for t in q.events("2000")["tickets"] if t["id"] == tid)
    assert (row["team"], row["agent"], row["rating"], row["rating_comment"]) == (
        "tier1", "alice", 4, "quick")
    assert row["channel"] == "chat" and row["reopened"] == 0


def test_mail_threads_find_their_ticket(make_queue):
    q = make_queue()
    t = q.create(_new("by mail", channel="email", contact="user@example.org"))
    assert q.get(t.id)["channel"] == "email" and q.get(t.id)["contact"] == "user@example.org"
    q.link_mail("<in-1@example.org>", t.id)
    q.link_mail("<out-1@support.example>", t.id)
    q.link_mail("<out-1@support.example>", "another")  # an id belongs to its first ticket
    assert q.mail_ticket(["<unknown@x>", "<out-1@support.example>"]) == t.id
    assert q.mail_ticket(["<unknown@x>"]) is None and q.mail_ticket([]) is None
    assert q.mail_thread(t.id) == ("", ["<in-1@example.org>", "<out-1@support.example>"])
    q.link_mail("<in-2@example.org>", t.id, "Withdrawal missing 提币")
    q.link_mail("<out-2@support.example>", t.id, "Re: Withdrawal missing 提币")
    assert q.mail_thread(t.id) == ("Withdrawal missing 提币", [
        "<in-1@example.org>", "<out-1@support.example>", "<in-2@example.org>",
        "<out-2@support.example>"])
    assert q.mail_thread("another") == ("", [])


def test_the_outbox_keeps_mail_until_sent_and_counts_failures(make_queue):
    q = make_queue()
    phrase = ("abandon ability able about above absent absorb abstract absurd abuse access "
              "accident")
    first = q.enqueue_mail({"ticket_id": None, "kind": "ack", "to": "u@example.org",
                            "subject": "Re: help", "body": f"you wrote {phrase}",
                            "message_id": "<m1@support.example>", "in_reply_to": "<u1@x>",
                            "references": "<u0@x> <u1@x>"})
    second = q.enqueue_mail({"ticket_id": "t", "kind": "reply", "to": "u@example.org",
                             "subject": "Re: help", "body": "hello",
                             "message_id": "<m2@support.example>"})
    due = q.due_mail()
    assert [m["id"] for m in due] == [first, second]
    assert due[0]["references"] == "<u0@x> <u1@x>" and due[0]["in_reply_to"] == "<u1@x>"
    assert "absorb" not in due[0]["body"]  # the storage guard applies to mail too
    q.mail_failed(first, "connection refused")
    q.mail_sent(second)
    due = q.due_mail()
    assert [(m["id"], m["attempts"], m["last_error"]) for m in due] == [
        (first, 1, "connection refused")]
    for _ in range(4):
        q.mail_failed(first, "still down")
    assert q.due_mail(max_attempts=5) == []  # given up after five attempts
    assert [m["id"] for m in q.due_mail(max_attempts=6)] == [first]
