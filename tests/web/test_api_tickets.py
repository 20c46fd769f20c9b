"""Tickets, feedback and the agent API over HTTP (TestClient, real model, SQLite queue)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from assistant.web.app import create_app
from assistant.service import Assistant
from tests.web.test_api import assert_error

pytestmark = pytest.mark.slow

ALICE = "alice-token-0123456789"
BOB = "bob-token-0123456789ab"
NEEDS = {c: ["chain", "tx_hash"] for c in ("account", "transaction", "security", "contact",
                                           "out_of_scope")}


@pytest.fixture
def client(tiny_settings, embedder):
    s = tiny_settings.model_copy(update={"agent_tokens": {"alice": ALICE, "bob": BOB},
                                         "handoff_details": NEEDS})
    with TestClient(create_app(s, Assistant(s, embedder=embedder)),
                    raise_server_exceptions=False) as c:
        yield c


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def owner(ticket: dict) -> dict:
    """The header a ticket's user sends: the secret from the reply that created it."""
    return auth(ticket["secret"])


def test_the_whole_handoff_from_user_to_agent_and_back(client):
    asked = client.post("/answer", json={"query": "转人工", "session_id": "u1"}).json()
    assert asked["action"] == "handoff" and asked["ticket"] is None
    assert [n["field"] for n in asked["needs"]] == ["chain", "tx_hash"]
    assert all(n["label"] for n in asked["needs"])
    done = client.post("/answer", json={"query": "波场 TRON", "session_id": "u1"}).json()
    ticket = done["ticket"]
    assert ticket["position"] == 1 and ticket["eta_minutes"] >= 1 and ticket["status"] == "open"

    mine = client.get(f"/tickets/{ticket['id']}", headers=owner(ticket)).json()
    assert mine["status"] == "open" and mine["position"] == 1 and mine["details"]["chain"] == "TRON"
    assert "agent" not in mine and "candidates" not in mine  # agents' view only

    listed = client.get("/agent/tickets", headers=auth(ALICE)).json()
    assert [t["id"] for t in listed["tickets"]] == [ticket["id"]] and listed["open"] == 1
    claimed = client.post("/agent/tickets/claim", headers=auth(ALICE)).json()["ticket"]
    assert claimed["id"] == ticket["id"] and claimed["agent"] == "alice"
    assert [m["text"] for m in claimed["messages"]] == ["转人工", "波场 TRON"]
    assert client.post("/agent/tickets/claim", headers=auth(BOB)).json() == {"ticket": None}
    assert_error(client.post(f"/agent/tickets/{ticket['id']}/reply", headers=auth(BOB),
                             json={"text": "hi"}), 409)
    r = client.post(f"/agent/tickets/{ticket['id']}/reply", headers=auth(ALICE),
                    json={"text": "请提供交易哈希"})
    assert r.status_code == 200
    follow = client.post(f"/tickets/{ticket['id']}/messages", json={"text": "0x" + "ef" * 32},
                         headers=owner(ticket))
    assert follow.json()["details"]["tx_hash"] == "0x" + "ef" * 32
    assert_error(client.post(f"/tickets/{ticket['id']}/rating", json={"score": 5},
                             headers=owner(ticket)), 409)
    resolved = client.post(f"/agent/tickets/{ticket['id']}/resolve", headers=auth(ALICE),
                           json={"resolution": "到账延迟,已确认"}).json()
    assert resolved["status"] == "resolved"

    seen = client.get(f"/tickets/{ticket['id']}", headers=owner(ticket)).json()
    assert seen["status"] == "resolved" and seen["position"] is None
    assert ("agent", "请提供交易哈希") in [(m["role"], m["text"]) for m in seen["messages"]]
    rated = client.post(f"/tickets/{ticket['id']}/rating", json={"score": 5, "comment": "快"},
                        headers=owner(ticket))
    assert rated.status_code == 200 and rated.json()["rating"] == 5
    assert_error(client.post(f"/tickets/{ticket['id']}/messages", json={"text": "more"},
                             headers=owner(ticket)), 409)


def test_agent_api_needs_a_valid_token(client):
    assert_error(client.get("/agent/tickets"), 401)
    assert_error(client.get("/agent/tickets", headers=auth("wrong-token-0123456789")), 401)
    assert client.get("/agent/tickets", headers=auth(BOB)).status_code == 200


def test_agent_api_is_off_without_tokens(tiny_settings, embedder):
    with TestClient(create_app(tiny_settings, Assistant(tiny_settings, embedder=embedder))) as c:
        err = assert_error(c.get("/agent/tickets", headers=auth(ALICE)), 404)
        assert "ASSISTANT_AGENT_TOKENS" in err["message"]


def test_release_and_claim_a_given_ticket(client):
    t = client.post("/answer", json={"query": "转人工"}).json()["ticket"]
    assert client.post(f"/agent/tickets/{t['id']}/claim", headers=auth(ALICE)).json()["agent"] \
        == "alice"
    assert_error(client.post(f"/agent/tickets/{t['id']}/claim", headers=auth(BOB)), 409)
    assert client.post(f"/agent/tickets/{t['id']}/release", headers=auth(ALICE)).json()[
        "status"] == "open"
    assert client.post(f"/agent/tickets/{t['id']}/claim", headers=auth(BOB)).json()["agent"] \
        == "bob"
    assert_error(client.post("/agent/tickets/nope/claim", headers=auth(BOB)), 404)


def test_unknown_ticket_and_bad_input(client):
    assert_error(client.get("/tickets/does-not-exist"), 404)
    t = client.post("/answer", json={"query": "转人工"}).json()["ticket"]
    assert_error(client.get("/tickets/does-not-exist", headers=owner(t)), 404)
    assert_error(client.post(f"/tickets/{t['id']}/rating", json={"score": 9},
                             headers=owner(t)), 422, "score")
    assert_error(client.post(f"/tickets/{t['id']}/messages", json={"text": ""},
                             headers=owner(t)), 422, "text")
    assert_error(client.get("/agent/tickets?status=lost", headers=auth(ALICE)), 422, "status")


def test_user_can_cancel_their_ticket(client):
    t = client.post("/answer", json={"query": "转人工"}).json()["ticket"]
    assert client.post(f"/tickets/{t['id']}/cancel", headers=owner(t)).json()["status"] \
        == "abandoned"
    assert client.get("/agent/tickets", headers=auth(ALICE)).json()["open"] == 0


def test_idempotency_key_header_prevents_duplicates(client):
    first = client.post("/answer", json={"query": "转人工"}, headers={"Idempotency-Key": "k1"})
    again = client.post("/answer", json={"query": "转人工"}, headers={"Idempotency-Key": "k1"})
    assert first.json()["ticket"]["id"] == again.json()["ticket"]["id"]
    assert client.get("/agent/tickets", headers=auth(ALICE)).json()["open"] == 1


# ---------------------------------------------------------------- the ticket's secret

USER_ROUTES = [("GET", "", None), ("POST", "/messages", {"text": "refund to 0xabc please"}),
               ("POST", "/rating", {"score": 1, "comment": "bad"}), ("POST", "/cancel", None)]


def _user_call(client, method, path, body, ticket_id, headers):
    return client.request(method, f"/tickets/{ticket_id}{path}", json=body, headers=headers)


@pytest.mark.parametrize("method,path,body", USER_ROUTES)
def test_the_ticket_id_alone_opens_nothing(client, method, path, body):
    """Whoever sees a ticket number (a screenshot, a shoulder) cannot read the conversation,
    post as the user, cancel or rate: without the ticket's secret every user route is the 404
    of an unknown ticket."""
    mine = client.post("/answer", json={"query": "转人工 my usdt is gone"}).json()["ticket"]
    theirs = client.post("/answer", json={"query": "转人工"},
                         headers={"Idempotency-Key": "other"}).json()["ticket"]
    unknown = _user_call(client, method, path, body, "does-not-exist", owner(mine)).json()
    for headers in ({}, auth(""), auth("wrong-" + mine["secret"]), owner(theirs),
                    {"Authorization": mine["secret"]}, {"Authorization": f"Basic {mine['secret']}"},
                    {"X-Ticket-Secret": mine["secret"]}):
        r = _user_call(client, method, path, body, mine["id"], headers)
        err = assert_error(r, 404)
        assert r.json() == unknown  # the same answer as an id that does not exist
        assert "Authorization: Bearer" in err["message"]
    row = client.get(f"/agent/tickets/{mine['id']}", headers=auth(ALICE)).json()
    assert row["status"] == "open" and row["rating"] is None
    assert [m["text"] for m in row["messages"]] == ["转人工 my usdt is gone"]
    assert mine["secret"] not in repr(row) and "secret" not in repr(row)


def test_the_secret_is_returned_once_and_opens_only_its_ticket(client):
    created = client.post("/answer", json={"query": "转人工", "session_id": "u7",
                                           "skip_details": True}).json()
    ticket = created["ticket"]
    assert set(ticket) == {"id", "position", "status", "eta_minutes", "secret"}
    assert len(ticket["secret"]) >= 32 and ticket["secret"] not in created["answer"]
    seen = client.get(f"/tickets/{ticket['id']}", headers=owner(ticket))
    assert seen.status_code == 200 and ticket["secret"] not in seen.text
    assert "secret" not in seen.json()
    # The same session asking again gets its open ticket, not a copy of the secret.
    existing = client.post("/answer", json={"query": "still waiting, 转人工",
                                            "session_id": "u7"}).json()["ticket"]
    assert existing["id"] == ticket["id"] and existing["secret"] is None
    agents = client.get("/agent/tickets", headers=auth(ALICE)).text \
        + client.get(f"/agent/tickets/{ticket['id']}", headers=auth(ALICE)).text
    assert ticket["secret"] not in agents
    assert client.post(f"/tickets/{ticket['id']}/cancel", headers=owner(ticket)).json()[
        "status"] == "abandoned"


def test_a_retry_whose_reply_was_lost_gets_a_new_secret(client):
    """The retry carries the same idempotency key: the key holder gets the ticket again with a
    new secret, and the first (never received) stops working."""
    first = client.post("/answer", json={"query": "转人工"},
                        headers={"Idempotency-Key": "lost-reply"}).json()["ticket"]
    again = client.post("/answer", json={"query": "转人工"},
                        headers={"Idempotency-Key": "lost-reply"}).json()["ticket"]
    assert again["id"] == first["id"] and again["secret"] and again["secret"] != first["secret"]
    assert client.get(f"/tickets/{first['id']}", headers=owner(again)).status_code == 200
    assert_error(client.get(f"/tickets/{first['id']}", headers=owner(first)), 404)


def test_feedback_is_stored_and_not_helpful_offers_a_person(client):
    good = client.post("/feedback", json={"helpful": True, "article_id": "tx-failed",
                                          "query": "tx failed", "lang": "en"}).json()
    assert good == {"stored": True, "offer_handoff": False, "handoff_query": None}
    bad = client.post("/feedback", json={"helpful": False, "article_id": "tx-failed",
                                         "query": "提币没到账", "lang": "zh",
                                         "comment": "没用"}).json()
    assert bad["offer_handoff"] and bad["handoff_query"] == "转人工"
    events = client.app.state.assistant.queue.events("2000")
    assert [f["helpful"] for f in events["feedback"]] == [1, 0]
    assert_error(client.post("/feedback", json={"article_id": "x"}), 422, "helpful")


def test_secrets_in_follow_ups_are_removed(client):
    t = client.post("/answer", json={"query": "转人工"}).json()["ticket"]
    phrase = " ".join(["abandon"] * 11 + ["about"])
    r = client.post(f"/tickets/{t['id']}/messages", json={"text": f"my words: {phrase}"},
                    headers=owner(t))
    assert r.json()["redacted"] is True and "abandon" not in r.text


def test_agent_console_page_is_served_with_a_strict_policy(client):
    page = client.get("/agent")
    assert page.status_code == 200 and "Agent token" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static/agent.js").status_code == 200
