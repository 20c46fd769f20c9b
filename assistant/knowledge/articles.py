"""Articles for display: Markdown to safe HTML, and the category names shown in the pages.

KB files are written by editors, but the HTML ends up in users' pages, so it is made safe
twice: markdown-it renders with raw HTML disabled (a `<script>` in a body comes out as
text) and refuses `javascript:`-style links; nh3 (the ammonia sanitizer) then keeps only an
allow-list of tags, attributes and URL schemes.
"""

from __future__ import annotations

import re

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

from assistant.core.types import Lang

ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"},
                      "td": {"align"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"

#: Names of the wallet KB's categories; a KB with its own categories shows their ids.
CATEGORY_LABELS: dict[Lang, dict[str, str]] = {
    "en": {"account": "Account, password and backup", "transaction": "Transfers and fees",
           "security": "Security and scams", "deposit_withdrawal": "Deposits and withdrawals",
           "how_to": "Using the app", "contact": "Contact support"},
    "zh": {"account": "账户、密码与备份", "transaction": "转账与手续费", "security": "安全与防骗",
           "deposit_withdrawal": "充值与提币", "how_to": "使用指南", "contact": "联系客服"},
}


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    # "commonmark" with html=False: raw HTML in the source is escaped, never passed through.
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


#: Links from one article to another, as editors write them: `article:<id>`, `#<id>`, `<id>.md`.
_ARTICLE_TARGET = re.compile(
    r"\]\((?:article:|#|(?:\.\./(?:en|zh)/|\./)?(?=[a-z0-9][a-z0-9_-]*\.md\)))"
    r"([a-z0-9][a-z0-9_-]*)(?:\.md)?\)")


def link_articles(markdown: str, lang: str) -> str:
    """Links to other articles as help-centre addresses, in the reader's language."""
    return _ARTICLE_TARGET.sub(lambda m: f"](/?article={m.group(1)}&lang={lang})", markdown)


def to_html(markdown: str, lang: str = "en") -> str:
    """Safe HTML for a Markdown text: no raw HTML, no scripts, links http(s)/mailto only
    (links to other articles become help-centre addresses first)."""
    rendered = _markdown().render(link_articles(markdown, lang))
    return nh3.clean(rendered, tags=set(ALLOWED_TAGS), attributes=ALLOWED_ATTRIBUTES,
                     url_schemes=set(URL_SCHEMES), link_rel=LINK_REL)


def category_label(category: str, lang: Lang) -> str:
    """The category's name in `lang` (its id, spaced, when the KB has its own categories)."""
    return CATEGORY_LABELS.get(lang, {}).get(category) or category.replace("_", " ")
