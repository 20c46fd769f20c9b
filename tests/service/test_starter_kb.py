"""The shipped knowledge base: valid, complete, bilingual, and it answers the basics."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from assistant.core.config import ROOT, load_settings
from assistant.knowledge.kb import load_kb
from assistant.core.types import CATEGORIES


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
    a = Assistant(load_settings(index_dir=starter_index, data_dir=data), embedder=embedder).warm_up()
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


# Messages of the kinds that were answered wrongly before the blind set (each a situation
# the starter KB must handle): long stories, traditional Chinese, typos, the wallet's own
# name, other apps' problems, and the topics that had no article.
_RIGHT_ARTICLE = [
    ("我昨天晚上从币安提了500个USDT到我的TP钱包，选的是TRC20网络，币安那边显示已完成，也有交易哈希，"
     "可是我打开钱包一看USDT余额还是0，我都急死了，这钱到底去哪了，是不是丢了？",
     {"exchange-withdrawal-not-arrived"}),
    ("My uncle passed away and his phone is broken. We found a paper with 12 words written on "
     "it in his drawer. How do we see what's in his wallet?", {"import-wallet"}),
    ("怎麼新增自訂代幣", {"add-custom-token"}),
    ("助记词怎么到入钱包", {"import-wallet"}),
    ("从交易所提USTD到TP钱包没到账", {"exchange-withdrawal-not-arrived"}),
    ("提U到TP一直没到", {"exchange-withdrawal-not-arrived"}),
    ("how do I set up a multisig wallet", {"multisig-wallets"}),
    ("can I use my Ledger hardware wallet with TokenPocket", {"hardware-wallets"}),
    ("how can I stake TRX to earn rewards", {"staking-earning"}),
    ("当我复制地址粘贴后地址变了", {"address-changes-when-pasted"}),
    ("how do I pay less gas on ethereum", {"lower-gas-fees"}),
    ("I sent USDT and the app says success but my friend says he didn't get it",
     {"sent-but-not-received"}),
    ("对方给了我一个T开头的地址，我应该选什么网络转USDT", {"choose-network-for-address"}),
    ("my transfer fails with nonce too low", {"error-messages"}),
    ("swap failed with TRANSFER_FROM_FAILED", {"error-messages", "transaction-failed"}),
]


@pytest.mark.slow
@pytest.mark.parametrize("query,articles", _RIGHT_ARTICLE)
def test_blind_kinds_of_message_get_the_right_article(starter, query, articles):
    """Answered with the article, or (never wrongly) offered it first among choices."""
    reply = starter.answer(query)
    offered = reply.article.id if reply.article else (
        reply.candidates[0].id if reply.action == "clarify" and reply.candidates else None)
    assert offered in articles, reply.to_dict()


@pytest.mark.slow
def test_traditional_chinese_is_answered_in_traditional(starter):
    reply = starter.answer("怎麼新增自訂代幣")
    assert reply.action == "answer" and reply.article.id == "add-custom-token"
    assert "代幣" in reply.answer and "代币" not in reply.answer


@pytest.mark.slow
@pytest.mark.parametrize("query", ["提U到TP一直没到", "TP钱包收不到USDT"])
def test_the_wallet_name_is_never_a_token(starter, query):
    reply = starter.answer(query)
    from assistant.understanding.entities import extract

    assert extract(query).token != "TP"
    assert "代币 TP" not in reply.answer and "TP 代币" not in reply.answer


@pytest.mark.slow
@pytest.mark.parametrize("query", [
    "My food delivery order was cancelled but the refund hasn't come back to my card",
    "支付宝转账限额是多少",
])
def test_other_apps_problems_are_declined(starter, query):
    assert starter.answer(query).action == "decline"


@pytest.mark.slow
def test_another_makers_app_is_pointed_to_its_maker(starter):
    reply = starter.answer("My Ledger Live app keeps crashing when I open it, how do I fix it?")
    assert reply.action == "decline" or (
        reply.article is not None and reply.article.id == "hardware-wallets"
        and "device maker's support" in reply.answer), reply.to_dict()


# Each decision kind in each language and script: the reply says each thing once, in the
# user's script, set as Chinese is set.
_KINDS = {
    "answer": ("I forgot my wallet password", "钱包密码忘了怎么办", "錢包密碼忘了怎麼辦"),
    "clarify": ("money missing", "手续费太贵", "手續費太貴"),
    "decline": ("what's the weather tomorrow", "明天比特币会涨吗", "明天天氣怎麼樣"),
    "human": ("I want to talk to a human", "转人工", "轉人工"),
    "scam": ("someone from support on telegram asked for my recovery phrase",
             "客服让我提供助记词来验证钱包", "客服要我提供助記詞來驗證錢包"),
    "theft": ("my wallet was drained, all my usdt is gone", "我的币被盗了，钱包里的USDT全没了",
              "我的幣被盜了，錢包裡的USDT全沒了"),
}
_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?")
_APOLOGY = re.compile(r"sorry|抱歉|遗憾|遺憾", re.IGNORECASE)
_SCAM_CALL = re.compile(r"(looks like|almost certainly) a scam|很可能是(诈骗|詐騙)|几乎可以肯定是骗局|幾乎可以肯定是騙局")


@pytest.mark.slow
@pytest.mark.parametrize("kind,script", [(k, s) for k in _KINDS for s in range(3)],
                         ids=lambda v: v if isinstance(v, str) else ("en", "hans", "hant")[v])
def test_every_reply_says_each_thing_once_in_the_users_script(starter, kind, script):
    from rapidfuzz import fuzz

    from assistant.understanding.text import to_traditional
    from assistant.deciding.typography import chinese_problems

    query = _KINDS[kind][script]
    reply = starter.answer(query, session_id=f"once-{kind}-{script}")
    if kind == "clarify":
        assert reply.action == "clarify", reply.to_dict()
    text = reply.answer
    sentences = [s.strip() for s in _SENTENCE.findall(text) if len(s.strip()) >= 8]
    repeated = [(a, b) for i, a in enumerate(sentences) for b in sentences[i + 1:]
                if fuzz.ratio(a, b) >= 85]
    assert repeated == []
    assert len(_APOLOGY.findall(text)) <= 1, text
    assert len(_SCAM_CALL.findall(text)) <= 1, text
    for c in reply.candidates if reply.action == "clarify" else ():
        assert text.count(reply.candidate_titles.get(c.id, c.id)) <= 1
    if script:
        assert chinese_problems(text) == [], text
    if script == 2:
        assert to_traditional(text) == text, text
