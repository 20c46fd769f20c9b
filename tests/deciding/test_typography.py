"""Chinese typography over every reply template, page string and article."""

from __future__ import annotations

import re

import pytest

from assistant.core import languages
from assistant.core.config import ROOT
from assistant.understanding.entities import Entities
from assistant.knowledge.kb import load_kb
from assistant.deciding.templates import SiteFacts, render_article
from assistant.deciding.typography import chinese_problems, placeholder_problems

FACTS = SiteFacts("service@example.com", "https://example.com",
                  {"en": "24 hours a day", "zh": "全天 24 小时"})


@pytest.mark.parametrize("text", [
    "好的,正在为您转接人工客服。",
    "当前排在第 1 位(预计等待约 10 分钟)",
    "请问有什么可以帮您?",
    "钱 包",
    "第一行是中文\n第二行也是中文",
])
def test_each_rule_catches_its_mistake(text):
    assert chinese_problems(text)


@pytest.mark.parametrize("text", [
    "好的，正在为您转接人工客服。",
    "在 TokenPocket 中打开 App 设置，选择 USDT (TRC20)。",
    "发送邮件至 service@example.com，或访问 https://example.com/a,b 。",
    "1. 第一步\n2. 第二步\n- 列表项",
    "代码 `a, b` 和链接 [官网](https://x.com/a?b=1) 不检查",
])
def test_correct_chinese_passes(text):
    assert chinese_problems(text) == []


def test_placeholders_that_render_badly_are_named():
    zh = languages.get("zh").placeholder_defaults
    assert placeholder_problems("选择网络（{chain}）", zh, True)
    assert placeholder_problems("每一笔 {amount} 的转账", zh, True)
    assert placeholder_problems("在{chain}的区块浏览器上查询{tx_hash}", zh, True) == []
    assert placeholder_problems("open the explorer of {chain}", languages.get("en").placeholder_defaults, False) == []


def _zh_catalogue() -> dict[str, str]:
    zh = languages.get("zh")
    out = {f"messages.{k}": v for k, v in zh.messages.items()}
    out |= {f"detail_labels.{k}": v for k, v in zh.detail_labels.items()}
    out |= {f"placeholder_defaults.{k}": v for k, v in zh.placeholder_defaults.items()}
    out |= {f"category_labels.{k}": v for k, v in zh.category_labels.items()}
    return out


@pytest.mark.parametrize("key", sorted(_zh_catalogue()))
def test_every_chinese_template_is_typeset(key):
    assert chinese_problems(_zh_catalogue()[key]) == []


def test_every_chinese_page_string_is_typeset():
    source = (ROOT / "assistant" / "web" / "static" / "i18n.js").read_text("utf-8")
    zh = source[source.index("  zh: {"):source.index("};")]
    strings = re.findall(r'"([^"\n]*[\u4e00-\u9fff][^"\n]*)"|`([^`\n]*[\u4e00-\u9fff][^`\n]*)`', zh)
    assert len(strings) > 40
    problems = {s: chinese_problems(s) for pair in strings for s in pair if s}
    assert {s: p for s, p in problems.items() if p} == {}


_KB = load_kb(ROOT / "kb")


@pytest.mark.parametrize("article", [a for a in _KB.articles if a.lang == "zh"],
                         ids=lambda a: a.id)
def test_every_chinese_article_is_typeset_with_and_without_details(article):
    assert chinese_problems(article.title) == []
    assert chinese_problems(article.body) == []
    assert placeholder_problems(article.body, languages.get("zh").placeholder_defaults, True) == []
    for entities in (Entities(), Entities(chain="TRON", token="USDT", amount="100 USDT",
                                          tx_hash="0x" + "ab" * 32, address="T" + "x" * 33)):
        rendered = render_article(article, entities, FACTS, "zh")
        assert chinese_problems(rendered) == [], entities


@pytest.mark.parametrize("article", [a for a in _KB.articles if a.lang == "en"],
                         ids=lambda a: a.id)
def test_no_english_placeholder_stands_alone_in_brackets(article):
    assert placeholder_problems(article.body, languages.get("en").placeholder_defaults, False) == []
