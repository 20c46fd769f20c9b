"""Scam and theft signals."""

from __future__ import annotations

import pytest

from assistant.safety import looks_like_scam, looks_like_theft


@pytest.mark.parametrize("text", [
    "客服让我提供助记词", "support asked me to send coins to verify my wallet",
    "a guy on telegram says he is admin and wants my seed phrase",
    "someone DM'd me to sync my wallet", "管理员私聊我说要验证钱包", "they told me to validate wallet",
])
def test_scams_are_recognised(text):
    assert looks_like_scam(text)


@pytest.mark.parametrize("text", [
    "how do I contact support", "客服电话是多少", "how do I back up my seed phrase",
])
def test_ordinary_questions_are_not_scams(text):
    assert not looks_like_scam(text)


@pytest.mark.parametrize("text", [
    "my wallet was drained last night", "钱包被盗了", "我的U被人转走了",
    "I didn't make this transfer, 500 usdt gone", "all my tokens are gone",
])
def test_theft_reports_are_recognised(text):
    assert looks_like_theft(text)


@pytest.mark.parametrize("text", ["my transfer failed", "how do I send tokens", "转账失败了"])
def test_ordinary_questions_are_not_theft(text):
    assert not looks_like_theft(text)
