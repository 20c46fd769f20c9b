"""What any client may send, through every route that reaches the queue, on every backend
(a SQLite file, a real PostgreSQL, process memory): control characters and lone surrogates are
cleaned or refused with the error shape, never a 503 and never a lost handoff; a body that
is not UTF-8, or JSON nested past what the parser takes, is a 422 like malformed JSON."""

from __future__ import annotations

import json
import re
import secrets

import pytest
from fastapi.testclient import TestClient

from assistant.service import Assistant
from assistant.web.app import create_app

ALICE = "alice-token-0123456789"
ERROR_KEYS = {"status", "code", "message", "details"}
#: NUL, other C0 controls, DEL and C1, a lone surrogate (sent JSON-escaped, as JS can).
CONTROL = ["\x00", "\x01\x1b\x1f", "\x7f\x85"]
ODD = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
BAD_IDS = ["bad\x00id", "\x00", "bad\x01id", "\x7f"]


@pytest.fixture(params=["sqlite", "postgres", "memory"])
def backend(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    if request.param == "memory":
        return f"memory://bad-input-{secrets.token_hex(6)}"
    return request.getfixturevalue("pg_dsn")


@pytest.fixture
def client(fake_settings, fake_embedder, backend):
    s = fake_settings.model_copy(update={"queue_dsn": backend, "agent_tokens": {"alice": ALICE},
                                         "rate_limit_per_minute": 0})
    with TestClient(create_app(s, Assistant(s, embedder=fake_embedder)),
                    raise_server_exceptions=False) as c:
        yield c


def send(client, method: str, url: str, body=None, headers: dict | None = None):
    """JSON escaped to ASCII, so a lone surrogate travels as `\\ud800` (httpx would refuse
    to encode it)."""
    content = None if body is None else json.dumps(body).encode()
    return client.request(method, url, content=content, headers={
        "content-type": "application/json", **(headers or {})})


def agent() -> dict:
    return {"Authorization": f"Bearer {ALICE}"}


def owner(ticket: dict) -> dict:
    return {"Authorization": f"Bearer {ticket['secret']}"}


def assert_error(resp, status: int, field: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == ERROR_KEYS
    assert body["error"]["status"] == status and body["error"]["message"]
    if field:
        assert field in [d["field"] for d in body["error"]["details"]]
    return body["error"]


def strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in strings(k) + strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def assert_clean(resp) -> None:
    """200, and no control character (but tab and new line) or surrogate anywhere in it."""
    assert resp.status_code == 200, resp.text
    odd = [t for t in strings(resp.json()) if ODD.search(t)]
    assert not odd, odd


def new_ticket(client, session: str = "s1", **extra) -> dict:
    r = send(client, "POST", "/answer", {"query": "转人工", "session_id": session,
                                          "skip_details": True, **extra})
    assert r.status_code == 200, r.text
    ticket = r.json()["ticket"]
    assert ticket is not None and ticket["secret"], r.json()["answer"]
    return ticket


# ---------------------------------------------------------------- text is cleaned


@pytest.mark.parametrize("bad", CONTROL)
def test_answer_with_odd_characters_in_every_field_hands_off(client, bad):
    ticket = new_ticket(client, session=f"s{bad}", idempotency_key=f"k{bad}")
    again = send(client, "POST", "/answer", {"query": "转人工", "session_id": f"s{bad}",
                                              "skip_details": True, "idempotency_key": f"k{bad}"})
    assert again.json()["ticket"]["id"] == ticket["id"]
    for text in (bad, f"转人工{bad}"):  # the query alone may hold them: cleaned, not refused
        r = send(client, "POST", "/answer", {"query": text, "session_id": "q"})
        assert r.status_code in (200, 422), r.text
        if r.status_code == 422:
            assert_error(r, 422, "query")  # nothing left once cleaned
    r = send(client, "POST", "/answer", {"query": f"转人工{bad}, my usdt{bad} is gone",
                                          "session_id": f"other{bad}", "skip_details": True})
    assert_clean(r)
    assert r.json()["ticket"] is not None


@pytest.mark.parametrize("bad", CONTROL)
def test_a_session_id_with_odd_characters_keeps_its_handoff(client, bad):
    """The details asked in one message complete the ticket in the next."""
    session = f"session{bad}"
    asked = send(client, "POST", "/answer", {"query": "转人工", "session_id": session}).json()
    assert asked["ticket"] is None and asked["needs"], asked["answer"]
    done = send(client, "POST", "/answer", {"query": "my USDT withdrawal never arrived",
                                             "session_id": session}).json()
    assert done["ticket"] is not None and done["ticket"]["secret"], done["answer"]
    seen = client.get(f"/tickets/{done['ticket']['id']}", headers=owner(done["ticket"])).json()
    assert seen["details"]["problem"] == "my USDT withdrawal never arrived"


@pytest.mark.parametrize("bad", CONTROL)
def test_feedback_with_odd_characters_is_stored(client, bad):
    r = send(client, "POST", "/feedback", {"helpful": False, "session_id": f"s{bad}",
                                            "query": f"q{bad}", "article_id": f"a{bad}",
                                            "comment": f"c{bad}", "lang": "en"})
    assert_clean(r)
    assert r.json()["stored"] is True
    stored = client.app.state.assistant.queue.events("2000")["feedback"]
    assert [(f["query"], f["comment"]) for f in stored] == [("q" + " " * len(bad),
                                                             "c" + " " * len(bad))]


@pytest.mark.parametrize("bad", CONTROL)
def test_user_ticket_routes_with_odd_characters(client, bad):
    ticket = new_ticket(client)
    r = send(client, "POST", f"/tickets/{ticket['id']}/messages", {"text": f"more{bad}info"},
             owner(ticket))
    assert_clean(r)
    assert r.json()["messages"][-1]["text"].startswith("more")
    assert_clean(client.get(f"/tickets/{ticket['id']}", headers=owner(ticket)))
    send(client, "POST", f"/agent/tickets/{ticket['id']}/claim", headers=agent())
    send(client, "POST", f"/agent/tickets/{ticket['id']}/resolve", {"resolution": "done"},
         agent())
    r = send(client, "POST", f"/tickets/{ticket['id']}/rating",
             {"score": 4, "comment": f"ok{bad}"}, owner(ticket))
    assert_clean(r)
    assert r.json()["rating_comment"].startswith("ok")


@pytest.mark.parametrize("bad", CONTROL)
def test_agent_routes_with_odd_characters(client, bad):
    ticket = new_ticket(client)
    r = send(client, "POST", "/agent/tickets/claim", {"category": f"x{bad}"}, agent())
    assert r.status_code == 200 and r.json() == {"ticket": None}
    r = client.get("/agent/tickets", params={"category": f"contact{bad}"}, headers=agent())
    assert r.status_code == 200 and r.json()["tickets"] == []
    assert send(client, "POST", "/agent/tickets/claim", {}, agent()).json()["ticket"]["id"] \
        == ticket["id"]
    assert_clean(send(client, "POST", f"/agent/tickets/{ticket['id']}/reply",
                      {"text": f"hello{bad}"}, agent()))
    r = send(client, "POST", f"/agent/tickets/{ticket['id']}/resolve",
             {"resolution": f"done{bad}"}, agent())
    assert_clean(r)
    assert r.json()["resolution"].startswith("done")


def test_a_lone_surrogate_is_cleaned_or_refused_by_name_on_every_route(client):
    """Not Unicode at all: the message of `/answer` is cleaned (a message must get through);
    a field with a length limit, ids included, is refused with its name."""
    s = "x\ud800y"
    ticket = new_ticket(client)
    cases = [
        ("/answer", {"query": f"转人工 {s}", "session_id": "u", "skip_details": True}, None, None),
        ("/answer", {"query": "转人工", "session_id": s}, None, "session_id"),
        ("/answer", {"query": "转人工", "idempotency_key": s}, None, "idempotency_key"),
        ("/feedback", {"helpful": False, "session_id": s}, None, "session_id"),
        ("/feedback", {"helpful": False, "query": s, "comment": s}, None, "comment"),
        (f"/tickets/{ticket['id']}/messages", {"text": s}, owner(ticket), "text"),
        (f"/tickets/{ticket['id']}/rating", {"score": 3, "comment": s}, owner(ticket),
         "comment"),
        ("/agent/tickets/claim", {"category": s}, agent(), "category"),
        (f"/agent/tickets/{ticket['id']}/reply", {"text": s}, agent(), "text"),
        (f"/agent/tickets/{ticket['id']}/resolve", {"resolution": s}, agent(), "resolution"),
    ]
    for url, body, headers, field in cases:
        r = send(client, "POST", url, body, headers)
        if field is None:
            assert_clean(r)
        else:
            err = assert_error(r, 422, field)
            assert "UTF-8" in err["message"], err


# ---------------------------------------------------------------- ids no ticket has


@pytest.mark.parametrize("bad", BAD_IDS)
def test_an_id_with_odd_characters_is_an_unknown_ticket(client, bad):
    ticket = new_ticket(client)
    path = "/tickets/" + bad.replace("\x00", "%00").replace("\x01", "%01").replace("\x7f", "%7F")
    for method, url, body in (("GET", path, None), ("POST", f"{path}/messages", {"text": "hi"}),
                              ("POST", f"{path}/rating", {"score": 3}),
                              ("POST", f"{path}/cancel", None)):
        assert_error(send(client, method, url, body, owner(ticket)), 404)
    for action, body in (("claim", None), ("reply", {"text": "x"}),
                         ("resolve", {"resolution": "x"}), ("release", None)):
        assert_error(send(client, "POST", f"/agent{path}/{action}", body, agent()), 404)
    assert_error(client.get(f"/agent{path}", headers=agent()), 404)


# ---------------------------------------------------------------- bodies that are not JSON


UNREADABLE = {
    "invalid UTF-8": b'{"query": "\xff\xfe caf\xe9"}',
    "latin-1": '{"text": "café", "query": "café"}'.encode("latin-1"),
    "nested 1,000 deep": b"[" * 1000 + b"]" * 1000,
    "nested 1,000 deep in an object": b'{"query": ' + b'{"a": ' * 1000 + b"1" + b"}" * 1001,
}


@pytest.mark.parametrize("raw", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_a_body_that_is_not_json_is_a_422_on_every_route(client, raw):
    ticket = new_ticket(client)
    routes = ["/answer", "/feedback", f"/tickets/{ticket['id']}/messages",
              f"/tickets/{ticket['id']}/rating", f"/agent/tickets/{ticket['id']}/reply",
              "/agent/tickets/claim", f"/agent/tickets/{ticket['id']}/resolve"]
    for url in routes:
        headers = agent() if url.startswith("/agent") else owner(ticket)
        r = client.post(url, content=raw, headers={"content-type": "application/json",
                                                     **headers})
        err = assert_error(r, 422, "body")
        assert err["code"] == "invalid_request", url
