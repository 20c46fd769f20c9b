"""Intent classification on the tiny KB with the real model."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.intent import IntentClassifier
from assistant.types import OUT_OF_SCOPE

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


def test_save_and_load_round_trip(tmp_path, embedder):
    texts = ["reset password", "forgot password", "lost password",
             "transfer failed", "transaction failed", "tx failed"]
    labels = ["account"] * 3 + ["transaction"] * 3
    clf = IntentClassifier().fit(texts, labels, embedder.encode(texts))
    clf.save(tmp_path)
    loaded = IntentClassifier.load(tmp_path)
    q = "my password is forgotten"
    v = embedder.encode([q])[0]
    assert loaded.predict(q, v).probabilities == clf.predict(q, v).probabilities
    assert loaded.predict(q, v).category == "account"


def test_needs_two_categories(embedder):
    with pytest.raises(ValueError, match="two categories"):
        IntentClassifier().fit(["a", "b"], ["x", "x"], np.zeros((2, 384), dtype=np.float32))
