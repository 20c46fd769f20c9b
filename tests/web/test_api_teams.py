"""Teams over HTTP: escalation, transfer, internal notes, team queues and reopening
(fake embedder, tiny KB, SQLite queue)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from assistant.handoff.queue import NewTicket
from assistant.service import Assistant
from assistant.web.app import create_app
from tests.web.test_api import assert_error

ALICE = "alice-token-0123456789"
BOB = "bob-token-0123456789ab"
CAROL = "carol-token-0123456789"


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def desk(fake_settings, fake_embedder):
    s = fake_settings.model_copy(update={
        "agent_tokens": {"alice": ALICE, "bob": BOB, "carol": CAROL},
        "agent_teams": {"alice": ["tier1"], "bob": ["tier2"]}})
    a = Assistant(s, embedder=fake_embedder)
    with TestClient(create_app(s, a), raise_server_exceptions=False) as c:
        yield c, a


def _ticket(a: Assistant, text: str = "my USDT withdrawal is stuck", **kw):
    return a.queue.create(NewTicket(query=text, lang="en", reason="low confidence",
                                    conversation=[{"role": "user", "text": text}], **kw))


def test_teams_and_my_teams_are_listed(desk):
    c, _ = desk
    teams = c.get("/agent/teams", headers=auth(ALICE)).json()
    assert [t["id"] for t in teams["teams"]] == ["tier1", "tier2"] and teams["default"] == "tier1"
    assert {x["id"]: x["teams"] for x in teams["agents"]} == {
        "alice": ["tier1"], "bob": ["tier2"], "carol": ["tier1", "tier2"]}
    assert c.get("/agent/me", headers=auth(BOB)).json() == {"agent": "bob", "teams": ["tier2"]}
    assert c.get("/agent/teams").status_code == 401


def test_escalation_reaches_tier_two_with_the_reason_and_not_the_user(desk):
    c, a = desk
    t = _ticket(a)
    assert c.post("/agent/tickets/claim", headers=auth(BOB)).json() == {"ticket": None}
    claimed = c.post("/agent/tickets/claim", headers=auth(ALICE)).json()["ticket"]
    assert claimed["id"] == t.id and claimed["team"] == "tier1"
    r = c.post(f"/agent/tickets/{t.id}/escalate", headers=auth(ALICE),
               json={"team": "tier2", "reason": "needs the node logs"})
    assert r.status_code == 200 and r.json()["team"] == "tier2" and r.json()["status"] == "open"
    assert [x["id"] for x in c.get("/agent/tickets?team=tier2", headers=auth(BOB))
            .json()["tickets"]] == [t.id]
    assert c.get("/agent/tickets?team=tier1", headers=auth(BOB)).json()["tickets"] == []
    taken = c.post("/agent/tickets/claim", headers=auth(BOB)).json()["ticket"]
    assert taken["id"] == t.id and taken["agent"] == "bob"
    assert any(m["role"] == "event" and "needs the node logs" in m["text"]
               for m in taken["messages"])
    mine = c.get(f"/tickets/{t.id}", headers=auth(t.secret)).json()
    assert all(m["role"] in ("user", "assistant", "agent") for m in mine["messages"])
    assert "node logs" not in str(mine) and "team" not in mine


def test_bad_escalations_and_transfers_say_what_is_wrong(desk):
    c, a = desk
    t = _ticket(a)
    c.post(f"/agent/tickets/{t.id}/claim", headers=auth(ALICE))
    bad_team = c.post(f"/agent/tickets/{t.id}/escalate", headers=auth(ALICE),
                      json={"team": "tier9", "reason": "x"})
    assert_error(bad_team, 422)
    assert bad_team.json()["error"]["details"][0]["field"] == "team"
    assert "tier1, tier2" in bad_team.json()["error"]["message"]
    assert_error(c.post(f"/agent/tickets/{t.id}/escalate", headers=auth(ALICE),
                        json={"team": "tier2"}), 422)  # a reason is required
    assert_error(c.post(f"/agent/tickets/{t.id}/escalate", headers=auth(BOB),
                        json={"team": "tier2", "reason": "x"}), 409)  # alice holds it
    assert_error(c.post(f"/agent/tickets/{t.id}/transfer", headers=auth(ALICE),
                        json={"agent": "mallory"}), 422)
    assert_error(c.post(f"/agent/tickets/{t.id}/transfer", headers=auth(ALICE),
                        json={}), 422)
    assert_error(c.post(f"/agent/tickets/{t.id}/transfer", headers=auth(ALICE),
                        json={"agent": "bob", "team": "tier2"}), 422)
    assert_error(c.get("/agent/tickets?team=tier9", headers=auth(ALICE)), 422)
    assert_error(c.post("/agent/tickets/nope/notes", headers=auth(ALICE),
                        json={"text": "x"}), 404)


def test_transfer_to_a_colleague_or_a_team(desk):
    c, a = desk
    t = _ticket(a)
    c.post(f"/agent/tickets/{t.id}/claim", headers=auth(ALICE))
    moved = c.post(f"/agent/tickets/{t.id}/transfer", headers=auth(ALICE),
                   json={"agent": "carol"}).json()
    assert moved["agent"] == "carol" and moved["status"] == "claimed"
    assert c.post(f"/agent/tickets/{t.id}/reply", headers=auth(CAROL),
                  json={"text": "on it"}).status_code == 200
    queued = c.post(f"/agent/tickets/{t.id}/transfer", headers=auth(CAROL),
                    json={"team": "tier2"}).json()
    assert queued["status"] == "open" and queued["team"] == "tier2"


def test_notes_stay_internal_and_are_redacted(desk):
    c, a = desk
    t = _ticket(a)
    phrase = ("abandon ability able about above absent absorb abstract absurd abuse access "
              "accident")
    r = c.post(f"/agent/tickets/{t.id}/notes", headers=auth(ALICE),
               json={"text": f"VIP customer; they pasted {phrase}"})
    note = r.json()["messages"][-1]
    assert note["role"] == "note" and note["author"] == "alice" and "absorb" not in note["text"]
    mine = c.get(f"/tickets/{t.id}", headers=auth(t.secret)).json()
    assert "VIP" not in str(mine)


def test_the_user_reopens_a_resolved_ticket_and_it_returns_to_its_team(desk):
    c, a = desk
    t = _ticket(a)
    c.post(f"/agent/tickets/{t.id}/claim", headers=auth(ALICE))
    c.post(f"/agent/tickets/{t.id}/escalate", headers=auth(ALICE),
           json={"team": "tier2", "reason": "chain issue"})
    c.post(f"/agent/tickets/{t.id}/claim", headers=auth(BOB))
    assert_error(c.post(f"/tickets/{t.id}/reopen", headers=auth(t.secret),
                        json={"text": "still stuck"}), 409)  # not resolved yet
    c.post(f"/agent/tickets/{t.id}/resolve", headers=auth(BOB), json={"resolution": "resent"})
    seen = c.get(f"/tickets/{t.id}", headers=auth(t.secret)).json()
    assert seen["reopen_until"] and seen["status"] == "resolved"
    assert_error(c.post(f"/tickets/{t.id}/reopen", json={"text": "x"}), 404)  # no secret
    r = c.post(f"/tickets/{t.id}/reopen", headers=auth(t.secret),
               json={"text": "still not solved: nothing arrived"})
    assert r.status_code == 200 and r.json()["status"] == "open"
    assert r.json()["messages"][-1] == {"role": "user", "at": r.json()["messages"][-1]["at"],
                                        "text": "still not solved: nothing arrived"}
    assert r.json()["reopen_until"] is None and r.json()["position"] == 1
    agent_view = c.get(f"/agent/tickets/{t.id}", headers=auth(BOB)).json()
    assert agent_view["team"] == "tier2" and agent_view["reopened"] == 1
    listed = c.get("/agent/tickets", params={"team": "tier2"}, headers=auth(BOB)).json()
    assert [x["reopened"] for x in listed["tickets"]] == [1]


def test_reopening_after_the_window_or_when_turned_off_is_refused(desk, fake_settings,
                                                                  fake_embedder):
    c, a = desk
    t = _ticket(a)
    c.post(f"/agent/tickets/{t.id}/claim", headers=auth(ALICE))
    c.post(f"/agent/tickets/{t.id}/resolve", headers=auth(ALICE), json={"resolution": "ok"})
    real_clock = a.queue.clock
    a.queue.clock = lambda: real_clock() + timedelta(days=8)  # type: ignore[attr-defined]
    late = c.post(f"/tickets/{t.id}/reopen", headers=auth(t.secret), json={"text": "again"})
    assert_error(late, 409)
    assert "new conversation" in late.json()["error"]["message"]
    a.queue.clock = real_clock  # type: ignore[attr-defined]

    off = fake_settings.model_copy(update={"reopen_days": 0, "queue_dsn": None,
                                           "data_dir": a.settings.data_dir})
    b = Assistant(off, embedder=fake_embedder)
    with TestClient(create_app(off, b), raise_server_exceptions=False) as c2:
        refused = c2.post(f"/tickets/{t.id}/reopen", headers=auth(t.secret),
                          json={"text": "again"})
        assert_error(refused, 409)
        assert "turned off" in refused.json()["error"]["message"]
        assert c2.get(f"/tickets/{t.id}", headers=auth(t.secret)).json()["reopen_until"] is None
