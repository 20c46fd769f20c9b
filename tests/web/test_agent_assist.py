"""Agent assist over HTTP: `GET /agent/tickets/{id}/assist` (fake embedder, tiny KB)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from assistant.core import languages
from assistant.core.languages.language import CANNED_KEYS
from assistant.handoff.queue import NewTicket
from assistant.service import Assistant
from assistant.web.app import create_app
from tests.web.test_api import assert_error

ALICE = "alice-token-0123456789"
AUTH = {"Authorization": f"Bearer {ALICE}"}
HASH = "0x" + "ab" * 32


@pytest.fixture
def desk(fake_settings, fake_embedder):
    s = fake_settings.model_copy(update={"agent_tokens": {"alice": ALICE}})
    a = Assistant(s, embedder=fake_embedder)
    with TestClient(create_app(s, a), raise_server_exceptions=False) as c:
        yield c, a


def _ticket(a: Assistant, said: list[str], lang: str, **kw):
    return a.queue.create(NewTicket(query=said[0], lang=lang, reason="low confidence",
                                    conversation=[{"role": "user", "text": t} for t in said],
                                    **kw))


def _assist(c: TestClient, ticket_id: str) -> dict:
    r = c.get(f"/agent/tickets/{ticket_id}/assist", headers=AUTH)
    assert r.status_code == 200, r.text
    return r.json()


def test_details_come_first_in_the_categorys_order_with_the_missing_ones(desk):
    c, a = desk
    t = _ticket(a, ["my transfer failed"], "en", category="transaction",
                details={"time": "yesterday", "token": "USDT", "chain": "TRON",
                         "problem": "my transfer failed"})
    got = _assist(c, t.id)
    assert list(got)[:2] == ["details", "missing"]
    # transaction needs problem, chain, tx_hash, amount, time (ASSISTANT_HANDOFF_DETAILS);
    # what else was extracted follows.
    assert [(d["field"], d["value"]) for d in got["details"]] == [
        ("problem", "my transfer failed"), ("chain", "TRON"), ("time", "yesterday"),
        ("token", "USDT")]
    assert got["missing"] == ["tx_hash", "amount"]


def test_a_chinese_ticket_gets_chinese_articles_with_its_details_filled_in(desk):
    c, a = desk
    t = _ticket(a, ["转账失败了，转人工"], "zh", category="transaction",
                details={"chain": "TRON", "tx_hash": HASH})
    got = _assist(c, t.id)
    assert got["lang"] == "zh" and got["ticket_id"] == t.id
    top = got["articles"][0]
    assert top["id"] == "tx-failed" and top["title"] == "转账失败的原因"
    assert {x["lang"] for x in got["articles"]} == {"zh"}
    assert not any(x["fallback"] for x in got["articles"])
    # The steps are the body as the answer templates fill it: the ticket's chain and hash.
    assert top["steps"] == f"请在TRON的区块浏览器查询{HASH}。失败的交易也会消耗矿工费。"
    assert 0 < top["score"] <= 1 and len(got["articles"]) <= 3
    scores = [x["score"] for x in got["articles"]]
    assert scores == sorted(scores, reverse=True)

    english = _assist(c, _ticket(a, ["my transaction failed"], "en").id)
    assert english["articles"][0]["id"] == "tx-failed"
    assert english["articles"][0]["title"] == "Why did my transaction fail"
    assert {x["lang"] for x in english["articles"]} == {"en"}
    # No details on that ticket: the placeholders get the language's neutral wording.
    assert english["articles"][0]["steps"].startswith(
        "Check your transaction hash on the the network explorer")


def test_site_facts_fill_the_steps_as_in_answers(desk):
    c, a = desk
    got = _assist(c, _ticket(a, ["how do I contact support"], "en").id)
    contact = next(x for x in got["articles"] if x["id"] == "contact-support")
    assert a.settings.support_email in contact["steps"] and "{" not in contact["steps"]


def test_the_users_latest_messages_make_the_query_not_the_request_for_a_person(desk):
    c, a = desk
    only_asking = _ticket(a, ["转人工"], "zh")
    assert _assist(c, only_asking.id)["articles"] == []
    t = _ticket(a, ["talk to a human", "skip", "I forgot my wallet password"], "en")
    assert _assist(c, t.id)["articles"][0]["id"] == "forgot-password"
    # An agent's note is not the user's words: it does not move the articles.
    c.post(f"/agent/tickets/{t.id}/notes", headers=AUTH, json={"text": "my transaction failed"})
    assert _assist(c, t.id)["articles"][0]["id"] == "forgot-password"


def test_canned_replies_come_in_the_tickets_language(desk):
    c, a = desk
    zh = _assist(c, _ticket(a, ["转账失败了"], "zh").id)
    en = _assist(c, _ticket(a, ["my transaction failed"], "en").id)
    assert [x["key"] for x in zh["canned"]] == [x["key"] for x in en["canned"]] == list(
        CANNED_KEYS)
    chinese = languages.get("zh").canned_replies
    assert zh["canned"][0]["text"] == chinese["greeting"].format(ticket_id=zh["ticket_id"])
    assert [x["text"] for x in zh["canned"][1:]] == [chinese[k] for k in CANNED_KEYS[1:]]
    assert en["canned"][0]["text"] == languages.get("en").canned_replies["greeting"].format(
        ticket_id=en["ticket_id"])
    assert "recovery phrase" in next(x["text"] for x in en["canned"]
                                     if x["key"] == "never_share_secret")


def test_a_traditional_chinese_user_gets_traditional_titles_and_steps(desk):
    c, a = desk
    got = _assist(c, _ticket(a, ["轉賬失敗了，為什麼"], "zh").id)
    top = got["articles"][0]
    assert top["id"] == "tx-failed" and top["title"] == "轉賬失敗的原因"
    assert "區塊瀏覽器" in top["steps"]


def test_a_pasted_recovery_phrase_never_reaches_the_assist_panel(desk):
    c, _ = desk
    phrase = ("abandon ability able about above absent absorb abstract absurd abuse access "
              "accident")
    made = c.post("/answer", json={"query": f"转人工，转账失败了 {phrase}",
                                   "skip_details": True}).json()
    assert made["redacted"] and made["ticket"]
    got = c.get(f"/agent/tickets/{made['ticket']['id']}/assist", headers=AUTH)
    assert got.status_code == 200 and "absorb" not in got.text and "abandon" not in got.text
    assert "tx-failed" in [x["id"] for x in got.json()["articles"]]  # the rest is read


def test_unknown_tickets_and_missing_tokens_are_refused(desk):
    c, a = desk
    assert_error(c.get("/agent/tickets/no-such-ticket/assist", headers=AUTH), 404)
    t = _ticket(a, ["my transaction failed"], "en")
    assert_error(c.get(f"/agent/tickets/{t.id}/assist"), 401)
    assert_error(c.get(f"/agent/tickets/{t.id}/assist",
                       headers={"Authorization": "Bearer wrong-token-0123456789"}), 401)
    # The ticket's own secret is the user's, not an agent's.
    assert_error(c.get(f"/agent/tickets/{t.id}/assist",
                       headers={"Authorization": f"Bearer {t.secret}"}), 401)
