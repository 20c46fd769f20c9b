"""The hand-over conversation on the in-memory queue: ask once, complete, skip, retry."""

from __future__ import annotations

import pytest

from assistant.core.config import Settings
from assistant.core.errors import QueueError
from assistant.core.types import Action, Hit
from assistant.deciding.answerer import REASON_HUMAN, Decision
from assistant.handoff.conversation import HandoffConversation, PendingHandoff, digest
from assistant.handoff.memory import MemoryHandoffQueue

LOW = Decision(Action.HANDOFF, None, (Hit("tx-failed", "transaction", 0.4),), 0.4,
               "low confidence")


def title(article_id: str) -> str:
    return f"Title of {article_id}"


@pytest.fixture
def talk(tmp_path):
    queue = MemoryHandoffQueue()
    settings = Settings(data_dir=tmp_path, thresholds_file=tmp_path / "none.json")
    return HandoffConversation(queue, settings), queue


def test_missing_details_are_asked_once_and_kept_typed(talk):
    conv, queue = talk
    done = conv.hand_over(LOW, "my USDT transfer failed", "en", "transaction", "s1", {}, False,
                          None, title)
    assert (done.ticket, done.outcome) == (None, "asking")
    assert "tx_hash" in done.needs and "problem" not in done.needs
    stored = queue.take_pending("s1", 600)
    pending = PendingHandoff.from_dict(stored)
    assert pending.category == "transaction" and pending.asked == digest("my USDT transfer failed")
    assert pending.details["problem"] == "my USDT transfer failed"
    assert PendingHandoff.from_dict(pending.to_dict()) == pending


def test_the_next_message_completes_the_ticket_with_its_details(talk):
    conv, queue = talk
    conv.hand_over(LOW, "my USDT transfer failed", "en", "transaction", "s2", {}, False, None,
                   title)
    follow = conv.in_progress("on TRON, 50 USDT", "en", "s2", None, False, lambda lang: title)
    assert follow is not None and follow.opening == "" and follow.category == "transaction"
    ticket = queue.get(follow.ticket.id)
    assert ticket["details"]["chain"].lower() == "tron"
    assert [m["text"] for m in ticket["messages"] if m["role"] == "user"][-1] == "on TRON, 50 USDT"


def test_skip_creates_the_ticket_without_details_in_either_language(talk):
    conv, queue = talk
    for sid, lang, skip in (("s3", "en", "skip"), ("s4", "zh", "跳过")):
        conv.hand_over(LOW, "转账失败了好几次", lang, "transaction", sid, {}, False, None, title)
        follow = conv.in_progress(skip, lang, sid, None, False, lambda lg: title)
        assert follow is not None
        assert "chain" not in queue.get(follow.ticket.id)["details"]


def test_the_same_message_again_asks_again_and_a_retried_key_finds_the_ticket(talk):
    conv, queue = talk
    conv.hand_over(LOW, "my transfer failed", "en", "transaction", "s5", {}, False, None, title)
    assert conv.in_progress("my transfer failed", "en", "s5", None, False,
                            lambda lg: title) is None
    assert queue.take_pending("s5", 600) is not None  # still waiting
    done = conv.hand_over(LOW, "help", "en", None, None, {}, True, "key-1", title)
    again = conv.in_progress("help", "en", None, "key-1", False, lambda lg: title)
    assert again is not None and again.opening == "handoff_retry"
    assert again.ticket.id == done.ticket.id


def test_a_person_asked_for_after_an_answer_takes_that_topic(talk):
    conv, queue = talk
    queue.record_turn({"session_id": "s6", "query": "my transaction failed", "lang": "en",
                       "action": "answer", "article_id": "tx-failed", "category": "transaction",
                       "confidence": 0.9, "redacted": False})
    person = Decision(Action.HANDOFF, None, (), 0.1, REASON_HUMAN)
    done = conv.hand_over(person, "talk to a human", "en", "contact", "s6", {}, True, None, title)
    ticket = queue.get(done.ticket.id)
    assert ticket["category"] == "transaction" and ticket["query"] == "my transaction failed"
    assert ticket["candidates"][0]["title"] == "Title of tx-failed"
    assert any(m["text"] == "Answered with: Title of tx-failed" for m in ticket["messages"])


def test_a_queue_failure_is_an_outcome_not_an_exception(talk, monkeypatch):
    conv, queue = talk

    def down(*_a, **_k):
        raise QueueError("database down")

    monkeypatch.setattr(queue, "create", down)
    done = conv.hand_over(LOW, "help me", "en", None, None, {}, True, None, title)
    assert (done.ticket, done.outcome) == (None, "failed")
