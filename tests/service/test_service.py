"""The handoff conversation: details asked once, tickets with the conversation, no duplicates."""

from __future__ import annotations

import pytest

from assistant.core.config import Settings
from assistant.service import Assistant

TX = "0x" + "ab" * 32
PHRASE = " ".join(["abandon"] * 11 + ["about"])
NEEDS = {c: ["chain", "tx_hash", "time"] for c in ("account", "transaction", "security",
                                                    "contact", "out_of_scope")}


@pytest.fixture
def assistant(fake_settings: Settings, fake_embedder):
    s = fake_settings.model_copy(update={"handoff_details": NEEDS})
    a = Assistant(s, embedder=fake_embedder).warm_up()
    yield a
    a.close()


def test_missing_details_are_asked_once_then_the_ticket_has_them(assistant):
    first = assistant.answer("转人工", session_id="s1")
    assert first.action == "handoff" and first.ticket is None
    assert [n["field"] for n in first.needs] == ["chain", "tx_hash", "time"]
    assert "交易哈希" in first.answer and "跳过" in first.answer
    assert assistant.queue.open_count() == 0

    second = assistant.answer(f"TRON 链, 哈希 {TX}, 昨天下午3点", session_id="s1")
    assert second.action == "handoff" and second.ticket is not None
    assert second.ticket.position == 1 and second.ticket.eta_minutes == 10
    assert second.ticket.id in second.answer and "10" in second.answer
    ticket = assistant.queue.get(second.ticket.id)
    assert ticket["details"] == {"chain": "TRON", "tx_hash": TX, "time": "昨天下午3点"}
    assert ticket["lang"] == "zh" and ticket["reason"] == "user asked for a person"
    assert [m["text"] for m in ticket["messages"]][-2:] == ["转人工",
                                                          f"TRON 链, 哈希 {TX}, 昨天下午3点"]


def test_the_user_can_skip_the_details(assistant):
    assistant.answer("I want to talk to a human", session_id="s2")
    reply = assistant.answer("skip", session_id="s2")
    assert reply.ticket is not None and reply.lang == "en"
    assert assistant.queue.get(reply.ticket.id)["details"] == {}
    direct = assistant.answer("I want to talk to a human", session_id="s3", skip_details=True)
    assert direct.ticket is not None and direct.needs == ()


def test_details_already_given_are_not_asked_again(assistant):
    reply = assistant.answer(f"my transaction {TX} on TRON failed yesterday, I want to talk to "
                             "a human", session_id="s4")
    assert reply.ticket is not None and reply.needs == ()
    assert assistant.queue.get(reply.ticket.id)["details"]["chain"] == "TRON"


def test_earlier_messages_of_the_session_go_into_the_ticket(assistant):
    assistant.answer("my transaction failed", session_id="s5")
    assistant.answer("转人工", session_id="s5")
    reply = assistant.answer("跳过", session_id="s5")
    texts = [m["text"] for m in assistant.queue.get(reply.ticket.id)["messages"]]
    assert texts[0] == "my transaction failed" and "转人工" in texts


def test_without_a_session_the_ticket_is_created_at_once(assistant):
    reply = assistant.answer("转人工")
    assert reply.ticket is not None and reply.ticket.position == 1
    assert [n["field"] for n in reply.needs] == ["chain", "tx_hash", "time"]


def test_a_theft_is_queued_urgently_at_once_and_details_follow(assistant):
    normal = assistant.answer("转人工")
    theft = assistant.answer("my wallet was drained, someone stole my crypto", session_id="s6")
    assert theft.ticket is not None and theft.ticket.position == 1
    assert assistant.queue.position(normal.ticket.id) == 2
    assert assistant.queue.get(theft.ticket.id)["priority"] == "urgent"
    assert theft.needs  # asked as a follow-up, never blocking the ticket
    more = assistant.answer(f"it happened 2 hours ago, attacker 0x{'cd' * 20}", session_id="s6")
    assert more.ticket.id == theft.ticket.id and "added" in more.answer
    assert assistant.queue.get(theft.ticket.id)["details"]["time"] == "2 hours ago"


def test_retries_never_create_a_second_ticket(assistant):
    keyed = [assistant.answer("转人工", idempotency_key="client-key-1") for _ in range(3)]
    assert len({r.ticket.id for r in keyed}) == 1
    assistant.answer("转人工", session_id="s7")
    done = [assistant.answer("跳过", session_id="s7") for _ in range(2)]  # the reply retried
    assert done[0].ticket.id == done[1].ticket.id
    assert assistant.queue.open_count() == 2


def test_asking_again_while_waiting_adds_to_the_same_ticket(assistant):
    first = assistant.answer("I want to talk to a human", session_id="s8", skip_details=True)
    again = assistant.answer("I need a real person, still waiting", session_id="s8")
    assert again.ticket.id == first.ticket.id
    texts = [m["text"] for m in assistant.queue.get(first.ticket.id)["messages"]]
    assert texts[-1] == "I need a real person, still waiting"
    assert assistant.queue.open_count() == 1


def test_a_pasted_recovery_phrase_never_reaches_the_ticket(assistant):
    reply = assistant.answer(f"转人工 我的助记词是 {PHRASE}", session_id="s9", skip_details=True)
    stored = str(assistant.queue.get(reply.ticket.id))
    assert "abandon" not in stored and reply.redacted
    turns = assistant.queue.recent_turns("s9", 10)
    assert turns and all("abandon" not in t["query"] for t in turns)


def test_offline_scoring_queues_and_records_nothing(assistant):
    reply, _ = assistant.answer_with_trace("转人工", session_id="s10", tickets=False)
    assert reply.action == "handoff" and reply.ticket is None
    assert assistant.queue.open_count() == 0 and assistant.queue.recent_turns("s10", 5) == []


def test_a_bare_request_for_a_person_asks_what_the_problem_is(fake_assistant):
    asked = fake_assistant.answer("转人工", session_id="p1")
    assert asked.ticket is None and asked.needs[0]["field"] == "problem"
    assert "问题的简要描述" in asked.answer
    done = fake_assistant.answer("提币三小时还没到账", session_id="p1")
    assert fake_assistant.queue.get(done.ticket.id)["details"]["problem"] == "提币三小时还没到账"


def test_a_described_problem_is_not_asked_again(fake_assistant):
    fake_assistant.answer("my transaction failed", session_id="p2")
    reply = fake_assistant.answer("I want to talk to a human", session_id="p2")
    assert "problem" not in [n["field"] for n in reply.needs]


def test_a_person_asked_for_after_an_answer_gets_that_problem_and_the_whole_story(fake_assistant):
    """'Talk to a person' after an answer: the ticket is about the answered problem (its
    message, category and article), asks only for what that problem still lacks, and shows
    the agent what the assistant said as well as what the user wrote."""
    sid = "story-1"
    first = fake_assistant.answer("my transaction failed", session_id=sid)
    assert first.action == "answer" and first.article.id == "tx-failed"
    asked = fake_assistant.answer("I want to talk to a human", session_id=sid)
    assert asked.action == "handoff" and asked.ticket is None
    assert "problem" not in [n["field"] for n in asked.needs]
    done = fake_assistant.answer("skip", session_id=sid)
    ticket = fake_assistant.queue.get(done.ticket.id)
    assert ticket["query"] == "my transaction failed"
    assert ticket["category"] == first.article.category
    assert [c["id"] for c in ticket["candidates"]] == ["tx-failed"]
    roles = [(m["role"], m["text"]) for m in ticket["messages"]]
    assert ("user", "my transaction failed") in roles
    assert ("assistant", f"Answered with: {first.article.title}") in roles


def test_a_plain_request_for_a_person_keeps_its_own_words(fake_assistant):
    sid = "story-2"
    asked = fake_assistant.answer("I want to talk to a human", session_id=sid)
    assert asked.action == "handoff"
    done = fake_assistant.answer("my card payment is stuck and I need help", session_id=sid)
    ticket = fake_assistant.queue.get(done.ticket.id)
    assert ticket["query"] == "I want to talk to a human"
    assert ticket["details"]["problem"].startswith("my card payment")
