"""Article HTML: links to other articles open them in the help centre, in the reader's language."""

from __future__ import annotations

import pytest

from assistant.knowledge.articles import link_articles, to_html


@pytest.mark.parametrize("target", ["article:import-wallet", "#import-wallet", "import-wallet.md",
                                    "../zh/import-wallet.md"])
def test_every_way_of_linking_an_article_opens_it(target):
    html = to_html(f"See [the steps]({target}).", "zh")
    assert 'href="/?article=import-wallet&amp;lang=zh"' in html


def test_other_links_are_left_alone():
    text = "[site](https://example.com/a.md) and [mail](mailto:a@b.c)"
    assert link_articles(text, "en") == text
    assert "href=\"javascript" not in to_html("[x](javascript:alert(1))")
