"""`POST /agent/tickets/{id}/draft`: a resolved ticket becomes a draft article on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.knowledge.kb import parse_article
from assistant.service import Assistant
from assistant.web.app import create_app
from tests.web.test_bad_input import assert_error

ALICE = "alice-token-0123456789"
PHRASE = "zebra oyster canyon frost lumber velvet quiz dragon pilot amber wagon tissue"


@pytest.fixture
def client(fake_settings, fake_embedder):
    s = fake_settings.model_copy(update={"agent_tokens": {"alice": ALICE},
                                         "rate_limit_per_minute": 0})
    with TestClient(create_app(s, Assistant(s, embedder=fake_embedder)),
                    raise_server_exceptions=False) as c:
        yield c


def agent() -> dict:
    return {"Authorization": f"Bearer {ALICE}"}


def _ticket(client) -> dict:
    ticket = client.post("/answer", json={"query": "I want to talk to a human",
                                          "skip_details": True}).json()["ticket"]
    owner = {"Authorization": f"Bearer {ticket['secret']}"}
    for text in ("my withdrawal from the exchange never arrived",
                 "the exchange shows the withdrawal as completed",
                 "withdrawal complete on the exchange but the wallet balance is zero", "ok",
                 f"my recovery phrase is {PHRASE}, is that why"):
        assert client.post(f"/tickets/{ticket['id']}/messages", json={"text": text},
                           headers=owner).status_code == 200
    return ticket


def test_a_resolved_ticket_is_drafted_and_an_open_one_is_a_conflict(client, fake_settings):
    ticket = _ticket(client)
    url = f"/agent/tickets/{ticket['id']}/draft"
    assert_error(client.post(url, headers=agent()), 409)  # open: nothing solved yet
    assert client.post(f"/agent/tickets/{ticket['id']}/claim", headers=agent()).status_code \
        == 200
    assert client.post(f"/agent/tickets/{ticket['id']}/reply", headers=agent(), json={
        "text": "The exchange has not broadcast it yet: ask them to broadcast it."}).status_code \
        == 200
    err = assert_error(client.post(url, headers=agent()), 409)  # claimed, not resolved
    assert "resolve it first" in err["message"]
    assert client.post(f"/agent/tickets/{ticket['id']}/resolve", headers=agent(), json={
        "resolution": "The exchange broadcast the withdrawal and it arrived."}).status_code \
        == 200

    made = client.post(url, headers=agent())
    assert made.status_code == 200, made.text
    body = made.json()
    assert set(body) == {"path", "id", "lang", "markdown", "created"} and body["created"]
    path = Path(body["path"])
    assert path.parent == fake_settings.data_dir / "drafts"  # ASSISTANT_DRAFTS_DIR's default
    assert path.read_text("utf-8") == body["markdown"]
    assert body["lang"] == "en" and body["id"] == "my-withdrawal-from-exchange-never-arrived"
    assert f'source_ticket: "{ticket["id"]}"' in body["markdown"]
    assert "The exchange broadcast the withdrawal and it arrived." in body["markdown"]
    assert not set(PHRASE.split()) & set(body["markdown"].lower().split())
    copy = path.parent / "en" / f"{body['id']}.md"
    copy.parent.mkdir()
    copy.write_text(body["markdown"], "utf-8")
    article, _ = parse_article(copy, expected_lang="en")
    assert article is not None and article.questions == (
        "my withdrawal from the exchange never arrived",
        "the exchange shows the withdrawal as completed",
        "withdrawal complete on the exchange but the wallet balance is zero")

    # Drafting again returns the draft already written: an editor may be editing it.
    path.write_text(body["markdown"] + "\nAn editor's line.\n", "utf-8")
    again = client.post(url, headers=agent()).json()
    assert again["path"] == body["path"] and not again["created"]
    assert again["markdown"].endswith("An editor's line.\n") and again["id"] == body["id"]


def test_drafting_needs_an_agent_and_a_known_ticket(client):
    ticket = client.post("/answer", json={"query": "I want to talk to a human",
                                          "skip_details": True}).json()["ticket"]
    assert_error(client.post(f"/agent/tickets/{ticket['id']}/draft"), 401)
    assert_error(client.post(f"/agent/tickets/{ticket['id']}/draft",
                             headers={"Authorization": f"Bearer {ticket['secret']}"}), 401)
    assert_error(client.post("/agent/tickets/no-such-ticket/draft", headers=agent()), 404)
