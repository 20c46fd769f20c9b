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

from assistant.core import languages
from assistant.core.types import Lang

ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"},
                      "td": {"align"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"

@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    # "commonmark" with html=False: raw HTML in the source is escaped, never passed through.
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


#: Links from one article to another, as editors write them: `article:<id>`, `#<id>`, `<id>.md`.
_ARTICLE_TARGET = re.compile(
    r"\]\((?:article:|#|(?:\.\./[a-z]{2,3}(?:-[a-z0-9]+)?/|\./)?(?=[a-z0-9][a-z0-9_-]*\.md\)))"
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
    return languages.get(lang).category_labels.get(category) or category.replace("_", " ")
