"""Secrets sent through every route of a real server: nothing stored, logged or echoed.

Every shape of the red-team generator goes to `/answer` (as a conversation, split messages
included), `/search`, `/feedback`, a ticket's messages, an agent's internal note, escalation
reason, reply and resolution, the rating comment and the user's reopening message; the agent
assist view and the draft article made from the ticket are searched too. Then everything the server wrote is searched: the SQLite file and its
WAL, a SQL dump, the log (queries logged at DEBUG), `/metrics`, `/admin/stats`, the gaps
report and every response.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from assistant.tooling.redaction_check import BEST_EFFORT_SHAPES
from assistant.tooling.secret_cases import leaks, secret_cases
from tests.browser_support import AGENT_TOKEN, LiveServer, server_env

pytestmark = pytest.mark.slow

ADMIN = "secret-routes-admin-token-0123456789"


@pytest.fixture(scope="module")
def server(starter_index, tmp_path_factory):
    data = tmp_path_factory.mktemp("secret-routes")
    env = server_env(starter_index, data, ASSISTANT_LOG_QUERIES="true",
                     ASSISTANT_LOG_LEVEL="DEBUG", ASSISTANT_ADMIN_TOKEN=ADMIN)
    srv = LiveServer(env, data / "server.log")
    yield srv, data, env
    srv.stop()


def _send_case(client: httpx.Client, case, responses: list[str]) -> None:
    """The case's messages through every route that takes text."""
    session = uuid.uuid4().hex
    agent = {"Authorization": f"Bearer {AGENT_TOKEN}"}
    for message in case.messages:
        r = client.post("/answer", json={"query": message, "session_id": session})
        responses.append(r.text)
        if len(case.messages) == 1:  # the search box is not a conversation: a fragment of a
            r = client.get("/search", params={"q": message[:2000]})  # phrase there is words
            responses.append(r.text)
        r = client.post("/feedback", json={"query": message, "comment": message,
                                           "helpful": False, "session_id": session})
        responses.append(r.text)
    # A ticket of its own: the messages follow up on it, the agent quotes them back.
    person = "转人工" if case.lang == "zh" else "talk to a human"
    r = client.post("/answer", json={"query": person, "session_id": uuid.uuid4().hex,
                                     "skip_details": True})
    responses.append(r.text)
    ticket = r.json().get("ticket")
    if not ticket:
        return
    tid = ticket["id"]
    owner = {"Authorization": f"Bearer {ticket['secret']}"}
    for message in case.messages:
        responses.append(client.post(f"/tickets/{tid}/messages", json={"text": message},
                                     headers=owner).text)
    responses.append(client.post(f"/agent/tickets/{tid}/claim", headers=agent).text)
    joined = " ".join(case.messages)
    ticket_api = f"/agent/tickets/{tid}"
    responses.append(client.post(ticket_api + "/notes", headers=agent,
                                 json={"text": joined}).text)
    responses.append(client.post(ticket_api + "/escalate", headers=agent,
                                 json={"team": "tier2", "reason": joined}).text)
    responses.append(client.post(ticket_api + "/claim", headers=agent).text)
    responses.append(client.get(ticket_api + "/assist", headers=agent).text)
    responses.append(client.post(ticket_api + "/reply", headers=agent,
                                 json={"text": joined}).text)
    responses.append(client.post(ticket_api + "/resolve", headers=agent,
                                 json={"resolution": joined}).text)
    responses.append(client.post(f"/tickets/{tid}/rating", headers=owner,
                                 json={"score": 1, "comment": joined}).text)
    responses.append(client.post(ticket_api + "/draft", headers=agent).text)
    responses.append(client.post(f"/tickets/{tid}/reopen", headers=owner,
                                 json={"text": joined}).text)
    responses.append(client.get(f"/tickets/{tid}", headers=owner).text)
    responses.append(client.get(ticket_api, headers=agent).text)


def _everything_written(srv: LiveServer, data: Path, env: dict, responses: list[str]) -> str:
    db = data / "handoff.sqlite3"
    parts = list(responses)
    with httpx.Client(base_url=srv.url, timeout=30) as client:
        parts.append(client.get("/metrics").text)
        parts.append(client.get("/admin/stats", headers={"Authorization": f"Bearer {ADMIN}"}).text)
    gaps = subprocess.run([sys.executable, "-m", "assistant.cli", "gaps", "--days", "1",
                           "--format", "json"], env={**env, "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=600, check=False)
    parts += [gaps.stdout, gaps.stderr]
    with sqlite3.connect(db) as conn:
        parts.append("\n".join(conn.iterdump()))
    for f in data.rglob("*"):  # the database, its WAL and shared memory, the log, drafts
        if f.is_file():
            parts.append(f.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def test_no_secret_survives_any_route(server):
    srv, data, env = server
    cases = [c for c in secret_cases(seed=0) if c.shape not in BEST_EFFORT_SHAPES]
    responses: list[str] = []
    with httpx.Client(base_url=srv.url, timeout=60) as client:
        for case in cases:
            _send_case(client, case, responses)
    blob = _everything_written(srv, data, env, responses)
    assert "ticket" in blob and len(blob) > 100_000  # the routes did store and answer
    assert '"role": "note"' in blob or "'note'" in blob or '"note"' in blob  # notes stored
    assert "reopened by the user" in blob and "escalated from tier1 to tier2" in blob
    leaked = {c.shape: found for c in cases if (found := leaks(c, blob))}
    assert leaked == {}, json.dumps(leaked, ensure_ascii=False)[:2000]
