"""The shipped knowledge base: valid, complete, bilingual, and it answers the basics."""

from __future__ import annotations

from collections import Counter

import pytest

from assistant.config import ROOT, Settings
from assistant.kb import load_kb
from assistant.types import CATEGORIES


@pytest.fixture(scope="module")
def kb():
    return load_kb(ROOT / "kb")


def test_starter_kb_is_valid_and_large_enough(kb):
    per_lang = Counter(a.lang for a in kb.articles)
    assert per_lang["en"] >= 45 and per_lang["zh"] >= 45
    assert kb.warnings == (), [str(w) for w in kb.warnings]


def test_every_category_is_covered_in_both_languages(kb):
    seen = {(a.lang, a.category) for a in kb.articles}
    assert {(lang, c) for lang in ("en", "zh") for c in CATEGORIES} <= seen


def test_every_article_has_a_counterpart(kb):
    ids = {lang: {a.id for a in kb.articles if a.lang == lang} for lang in ("en", "zh")}
    assert ids["en"] == ids["zh"]


def test_out_of_scope_list_has_both_languages(kb):
    zh = [q for q in kb.out_of_scope if any("\u4e00" <= ch <= "\u9fff" for ch in q)]
    assert len(zh) >= 20 and len(kb.out_of_scope) - len(zh) >= 20


@pytest.mark.parametrize("phrase", ["recovery phrase", "private key"])
def test_security_articles_say_support_never_asks(kb, phrase):
    art = kb.get("fake-support-scam", "en")
    assert art is not None and phrase in art.body.lower()


@pytest.fixture(scope="module")
def starter(starter_index, embedder, tmp_path_factory):
    from assistant.service import Assistant

    data = tmp_path_factory.mktemp("starter-data")
    a = Assistant(Settings(index_dir=starter_index, data_dir=data), embedder=embedder).warm_up()
    yield a
    a.close()


@pytest.mark.slow
@pytest.mark.parametrize("query,action,lang,category", [
    ("钱包密码忘了怎么办", "answer", "zh", "account"),
    ("My transaction failed, why?", "answer", "en", "transaction"),
    ("I want to talk to a human", "handoff", "en", None),
    ("转人工", "handoff", "zh", None),
    ("what's the weather tomorrow", "decline", "en", None),
    ("明天比特币会涨吗", "decline", "zh", None),
])
def test_done_when_queries(starter, query, action, lang, category):
    reply = starter.answer(query)
    assert reply.action == action, reply.to_dict()
    assert reply.lang == lang
    if category:
        assert reply.article is not None and reply.article.category == category
        assert reply.article.lang == lang
    if action == "handoff":
        assert reply.ticket is not None and reply.ticket.position >= 1
