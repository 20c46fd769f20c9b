"""The HTTP API through TestClient with the real model, in both languages."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from assistant.web.app import create_app
from assistant.service import Assistant

pytestmark = pytest.mark.slow

ERROR_KEYS = {"status", "code", "message", "details"}


@pytest.fixture
def client(tiny_settings, embedder):
    app = create_app(tiny_settings, Assistant(tiny_settings, embedder=embedder))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def assert_error(resp, status: int, field: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == ERROR_KEYS
    assert body["error"]["status"] == status and body["error"]["message"]
    assert "Traceback" not in resp.text
    if field:
        assert field in [d["field"] for d in body["error"]["details"]]
    return body["error"]


def test_answer_contract_in_english(client):
    body = client.post("/answer", json={"query": "my transaction failed, why?"}).json()
    assert set(body) >= {"action", "answer", "lang", "article", "intent", "confidence",
                         "candidates", "ticket"}
    assert body["action"] == "answer" and body["lang"] == "en"
    assert body["article"] == {"id": "tx-failed", "title": "Why did my transaction fail",
                               "category": "transaction"}
    assert body["intent"]["category"] == "transaction" and 0 < body["intent"]["confidence"] <= 1
    assert all(set(c) == {"id", "title", "category", "score"} for c in body["candidates"])
    assert body["ticket"] is None
    assert "Failed transactions still pay gas" in body["answer"]


def test_answer_in_chinese_fills_placeholders(client):
    body = client.post("/answer", json={"query": "波场链上转账失败了 0x" + "ab" * 32}).json()
    assert body["action"] == "answer" and body["lang"] == "zh"
    assert body["article"]["id"] == "tx-failed" and body["article"]["title"] == "转账失败的原因"
    assert "TRON" in body["answer"] and "0x" + "ab" * 32 in body["answer"]
    assert "{" not in body["answer"]


def test_placeholders_have_defaults(client):
    body = client.post("/answer", json={"query": "交易失败但扣了手续费"}).json()
    assert "对应网络" in body["answer"] and "您的交易哈希" in body["answer"]


def test_lang_parameter_overrides_detection(client):
    body = client.post("/answer", json={"query": "my transaction failed", "lang": "zh"}).json()
    assert body["lang"] == "zh" and body["article"]["title"] == "转账失败的原因"


def test_handoff_creates_a_ticket_with_position(client):
    first = client.post("/answer", json={"query": "I want to talk to a human",
                                         "session_id": "abc", "skip_details": True}).json()
    second = client.post("/answer", json={"query": "转人工"}).json()
    assert first["action"] == "handoff" and first["ticket"]["position"] == 1
    assert second["action"] == "handoff" and second["ticket"]["position"] == 2
    assert second["lang"] == "zh" and second["ticket"]["id"] in second["answer"]
    assert second["ticket"]["status"] == "open" and second["ticket"]["eta_minutes"] >= 1


def test_article_with_handoff_answers_and_routes(client):
    body = client.post("/answer", json={"query": "my wallet was drained, someone stole my crypto"}
                       ).json()
    assert body["action"] == "handoff" and body["article"]["id"] == "stolen-funds"
    assert "new wallet" in body["answer"] and body["ticket"] is not None


def test_out_of_scope_declines_politely_in_both_languages(client):
    en = client.post("/answer", json={"query": "what's the weather tomorrow"}).json()
    zh = client.post("/answer", json={"query": "明天天气怎么样"}).json()
    assert en["action"] == zh["action"] == "decline"
    assert en["article"] is None and en["ticket"] is None and en["candidates"] == []
    assert "wallet" in en["answer"] and "钱包" in zh["answer"]


def test_secrets_are_not_echoed(client):
    phrase = " ".join(["abandon"] * 11 + ["about"])
    resp = client.post("/answer", json={"query": f"转人工 my phrase is {phrase}"})
    assert "abandon" not in resp.text
    assert resp.json()["redacted"] is True


@pytest.mark.parametrize("payload,field", [
    ({"query": ""}, "query"), ({"query": "   \n"}, "query"), ({"query": 42}, "query"),
    ({}, "query"), ({"query": "x" * 2001}, "query"), ({"query": "hi", "lang": "fr"}, "lang"),
    ({"query": "hi", "session_id": 5}, "session_id"), ([1, 2], "body"),
])
def test_bad_answer_requests_get_422(client, payload, field):
    assert_error(client.post("/answer", json=payload), 422, field)


def test_malformed_json_gets_422(client):
    resp = client.post("/answer", content=b'{"query": ', headers={"content-type": "application/json"})
    assert assert_error(resp, 422, "body")["message"].endswith("malformed JSON")


def test_search_returns_results_in_the_requested_language(client):
    body = client.get("/search", params={"q": "password", "k": 3, "lang": "zh"}).json()
    assert body["query"] == "password"
    top = body["results"][0]
    assert top["id"] == "forgot-password" and top["lang"] == "zh" and top["title"] == "忘记钱包密码"
    assert set(top) >= {"id", "title", "category", "lang", "snippet", "score", "fallback"}
    assert len(body["results"]) <= 3 and "{" not in top["snippet"]


def test_search_chinese_partial_input(client):
    body = client.get("/search", params={"q": "手续费"}).json()
    assert body["results"][0]["id"] in {"tx-failed", "tron-energy"}


@pytest.mark.parametrize("params,field", [
    ({}, "q"), ({"q": " "}, "q"), ({"q": "x", "k": 0}, "k"), ({"q": "x", "k": "many"}, "k"),
    ({"q": "x", "lang": "de"}, "lang"),
])
def test_bad_search_requests_get_422(client, params, field):
    assert_error(client.get("/search", params=params), 422, field)


def test_healthz_reports_index_and_model(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["articles"] == 12 and body["article_ids"] == 6
    assert body["model"] == "all-MiniLM-L6-v2" and body["index_version"]


def test_unknown_route_uses_the_error_shape(client):
    assert_error(client.get("/nope"), 404)
    assert_error(client.get("/answer"), 405)


def test_unexpected_errors_are_500_with_request_id_only(tiny_settings, embedder, monkeypatch):
    a = Assistant(tiny_settings, embedder=embedder)
    with TestClient(create_app(tiny_settings, a), raise_server_exceptions=False) as c:
        monkeypatch.setattr(a, "answer", lambda *args, **kw: 1 / 0)
        err = assert_error(c.post("/answer", json={"query": "hello"}), 500)
    assert err["code"] == "internal_error" and "request id" in err["message"]
    assert "ZeroDivision" not in err["message"]


def test_server_refuses_to_start_with_another_model(tiny_settings):
    from assistant.core.errors import IndexMismatchError

    other = tiny_settings.model_copy(update={"model": "some-other-model"})
    with pytest.raises(IndexMismatchError, match="build_index.py"):
        with TestClient(create_app(other)):
            pass


PHRASE = "legal winner thank year wave sausage worth useful legal winner thank yellow"


def test_pasted_phrase_is_warned_about_answered_and_never_kept(client, tiny_settings, caplog):
    caplog.set_level("DEBUG")
    resp = client.post("/answer", json={"query": f"my transaction failed, phrase: {PHRASE}"})
    body = resp.json()
    assert body["redacted"] is True and body["answer"].startswith("⚠️")
    assert body["article"]["id"] == "tx-failed"
    handoff = client.post("/answer", json={"query": f"转人工 {PHRASE}"})
    assert handoff.json()["ticket"] is not None
    for blob in (resp.text, handoff.text, caplog.text):
        assert "sausage" not in blob and "legal winner" not in blob
    db = (tiny_settings.data_dir / "handoff.sqlite3").read_bytes()
    wal = tiny_settings.data_dir / "handoff.sqlite3-wal"
    data = db + (wal.read_bytes() if wal.exists() else b"")
    assert b"sausage" not in data and b"[REDACTED RECOVERY PHRASE]" in data


def test_scam_message_gets_warning_and_scam_article(client):
    body = client.post("/answer", json={"query": "有人在电报上自称管理员让我提供助记词"}).json()
    assert body["action"] == "answer" and body["article"]["id"] == "fake-support"
    # The article is the warning, first and said once (no template repeating it).
    assert body["answer"].startswith("官方客服绝不会") and body["lang"] == "zh"
    assert "诈骗" not in body["answer"]


def test_theft_is_urgent_with_steps_first(client):
    body = client.post("/answer", json={"query": "someone stole all my usdt last night"}).json()
    assert body["action"] == "handoff" and body["article"]["id"] == "stolen-funds"
    assert body["ticket"]["position"] == 1
    assert body["answer"].index("new wallet") < body["answer"].index(body["ticket"]["id"])
