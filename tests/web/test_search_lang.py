"""`GET /search` answers in the query's language when it clearly is another than the page's,
and says which in `lang` (tiny KB, fake embedder)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from assistant.service import Assistant
from assistant.web.app import create_app


@pytest.fixture
def client(fake_settings, fake_embedder):
    s = fake_settings.model_copy(update={"rate_limit_per_minute": 0})
    with TestClient(create_app(s, Assistant(s, embedder=fake_embedder)),
                    raise_server_exceptions=False) as c:
        yield c


def search(client, q: str, lang: str | None = None) -> dict:
    params = {"q": q, "k": 3} | ({"lang": lang} if lang else {})
    resp = client.get("/search", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_chinese_on_the_english_page_gets_chinese_results(client):
    body = search(client, "忘记密码", "en")
    assert body["lang"] == "zh"
    top = body["results"][0]
    assert (top["id"], top["lang"], top["title"], top["fallback"]) == \
        ("forgot-password", "zh", "忘记钱包密码", False)


def test_traditional_chinese_gets_results_in_its_script(client):
    body = search(client, "忘記密碼", "en")
    assert body["lang"] == "zh" and body["query"] == "忘記密碼"
    assert body["results"][0]["title"] == "忘記錢包密碼"
    assert body["results"][0]["title_html"] == "<mark>忘記</mark>錢包<mark>密碼</mark>"


def test_english_on_the_chinese_page_gets_english_results(client):
    body = search(client, "how do I reset my password", "zh")
    assert body["lang"] == "en"
    top = body["results"][0]
    assert (top["id"], top["lang"], top["title"]) == \
        ("forgot-password", "en", "I forgot my wallet password")
    assert all(r["lang"] == "en" for r in body["results"])


@pytest.mark.parametrize("q", ["USDT", "TRX", "TokenPocket", "BSC", "0x" + "12" * 20, "100",
                               "us", "password", "usdt trc20", "trc20 fee"])
@pytest.mark.parametrize("page", ["zh", "en"])
def test_names_codes_and_single_words_keep_the_page_language(client, q, page):
    body = search(client, q, page)
    assert body["lang"] == page
    assert all(r["lang"] == page for r in body["results"])


def test_without_lang_the_query_decides(client):
    assert search(client, "忘记密码")["lang"] == "zh"
    assert search(client, "how do I reset my password")["lang"] == "en"
    assert search(client, "USDT")["lang"] == "en"  # the default language


def test_a_pasted_secret_is_not_echoed_whatever_the_language(client):
    phrase = " ".join(["abandon"] * 11 + ["about"])
    resp = client.get("/search", params={"q": f"how do I import {phrase}", "lang": "zh"})
    assert resp.status_code == 200 and "abandon" not in resp.text
    assert resp.json()["lang"] == "en"
