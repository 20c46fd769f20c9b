"""The search box's language: the page's, unless the query clearly is in another registered
language; Chinese in the script the user typed (tiny KB, fake embedder)."""

from __future__ import annotations

import pytest

from assistant.service import Assistant


@pytest.mark.parametrize("query,page,used,top", [
    ("忘记密码", "en", "zh", "忘记钱包密码"),
    ("资产被盗", "en", "zh", "资产被盗怎么办"),
    ("how do I reset my password", "zh", "en", "I forgot my wallet password"),
    ("my transaction failed", "zh", "en", "Why did my transaction fail"),
    ("how do I reset my password", "en", "en", "I forgot my wallet password"),
])
def test_the_query_language_wins_when_it_is_clear(fake_assistant: Assistant, query, page, used,
                                                  top):
    shown, lang, results = fake_assistant.search_box(query, k=3, lang=page)
    assert shown == query and lang == used
    assert results[0].title == top
    assert {r.lang for r in results} == {used} and not any(r.fallback for r in results)


@pytest.mark.parametrize("query", ["USDT", "TRX", "TokenPocket", "BSC", "usdt trc20", "us",
                                   "0x" + "ab" * 20, "100", "password", "trc20 fee"])
def test_names_codes_and_single_words_keep_the_page_language(fake_assistant: Assistant, query):
    for page in ("zh", "en"):
        _, lang, results = fake_assistant.search_box(query, k=3, lang=page)
        assert lang == page
        assert all(r.lang == page for r in results), (query, page)


def test_without_a_page_language_the_query_decides(fake_assistant: Assistant):
    assert fake_assistant.search_box("忘记密码", k=1)[1] == "zh"
    assert fake_assistant.search_box("password", k=1)[1] == "en"  # the default


def test_traditional_chinese_gets_traditional_titles_and_keeps_its_marks(fake_assistant):
    _, _, simplified = fake_assistant.search_box("忘记密码", k=1, lang="en")
    _, lang, traditional = fake_assistant.search_box("忘記密碼", k=1, lang="en")
    assert simplified[0].title == "忘记钱包密码"  # one cache entry each, not shared
    top = traditional[0].to_dict()
    assert lang == "zh" and top["lang"] == "zh"
    assert top["title"] == "忘記錢包密碼"
    assert top["title_html"] == "<mark>忘記</mark>錢包<mark>密碼</mark>"
    assert "密碼" in top["snippet"] and "密码" not in top["snippet"]
    for start, end in top["highlights"]["snippet"]:
        assert top["snippet"][start:end] in {"忘記", "密碼"}


def test_search_and_the_search_box_agree(fake_assistant: Assistant):
    query = "how do I reset my password"
    assert fake_assistant.search(query, k=3, lang="zh") == \
        fake_assistant.search_box(query, k=3, lang="zh")[2]


def test_the_cache_keys_on_the_language_used_not_the_page(fake_assistant: Assistant):
    cache = fake_assistant.state.search_cache
    before = len(cache)
    first = fake_assistant.search_box("how do I reset my password", k=3, lang="zh")[2]
    assert fake_assistant.search_box("how do I reset my password", k=3, lang="en")[2] == first
    assert len(cache) == before + 1  # both pages asked for English results
    fake_assistant.search_box("password", k=3, lang="zh")
    fake_assistant.search_box("password", k=3, lang="en")
    assert len(cache) == before + 3
