"""Intent classification on the tiny KB with the real model (training: tests/tooling/test_training.py)."""

from __future__ import annotations

import pytest

from assistant.core.types import OUT_OF_SCOPE

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("query,category", [
    ("my transfer did not go through", "transaction"),
    ("转账失败扣了手续费", "transaction"),
    ("I can't remember my password", "account"),
    ("密码忘了", "account"),
    ("a fake admin wants my mnemonic", "security"),
    ("what's the weather like", OUT_OF_SCOPE),
    ("今天天气怎么样啊", OUT_OF_SCOPE),
])
def test_predicts_category(tiny_assistant, query, category):
    intent = tiny_assistant.understand(query)[0].intent
    assert intent.category == category, intent.probabilities


def test_probabilities_are_a_distribution(tiny_assistant):
    intent = tiny_assistant.understand("transfer failed")[0].intent
    assert sum(intent.probabilities.values()) == pytest.approx(1.0)
    assert intent.confidence == max(intent.probabilities.values())
    assert set(intent.probabilities) == {"account", "transaction", "security", "contact",
                                         OUT_OF_SCOPE}
