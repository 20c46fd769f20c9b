"""Canned replies are language data: every registered language has the same ones."""

from __future__ import annotations

import re

import pytest

from assistant.core import languages
from assistant.core.languages.language import CANNED_KEYS


@pytest.mark.parametrize("lang", languages.all_languages(), ids=lambda lg: lg.code)
def test_every_registered_language_has_the_same_canned_reply_keys(lang):
    assert tuple(lang.canned_replies) == CANNED_KEYS == tuple(languages.default().canned_replies)
    for key, text in lang.canned_replies.items():
        assert text.strip(), key
        # Only what the service fills (Assistant.assist).
        assert set(re.findall(r"{(\w*)}", text)) <= {"ticket_id", "support_email"}, key


def test_canned_replies_are_in_their_own_language():
    assert re.search(r"[\u4e00-\u9fff]", languages.get("zh").canned_replies["greeting"])
    assert not re.search(r"[\u4e00-\u9fff]", "".join(languages.get("en").canned_replies.values()))
