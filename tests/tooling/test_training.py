"""Training the intent classifier and the lexical index (build time, scikit-learn)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.core.types import OUT_OF_SCOPE
from assistant.tooling.training import IntentClassifier
from assistant.understanding.text import analyze

pytestmark = pytest.mark.slow


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


def _tiny_training(tiny_index):
    from assistant.tooling.build import _entries
    from assistant.knowledge.kb import load_kb

    kb = load_kb(tiny_index[0])
    entries = _entries(kb.articles)
    texts = [e.text for e in entries] + list(kb.out_of_scope)
    labels = [kb.get(e.article_id, e.lang).category for e in entries] + \
        [OUT_OF_SCOPE] * len(kb.out_of_scope)
    return texts, labels


def test_serving_form_predicts_like_sklearn(tiny_index, embedder, tmp_path):
    from assistant.understanding.intent import load_serving

    texts, labels = _tiny_training(tiny_index)
    clf = IntentClassifier().fit(texts, labels, embedder.encode(texts))
    clf.save(tmp_path)
    serving = load_serving(tmp_path)
    for q in ["my transfer failed", "钱包被盗了", "tell me a joke"]:
        v = embedder.encode([q])[0]
        x = clf._vectorizer.transform([analyze(q)])
        ref = 0.5 * clf._lexical.predict_proba(x)[0] + 0.5 * clf._dense.predict_proba(
            v.reshape(1, -1))[0]
        got = serving.predict(q, v).probabilities
        assert [got[lab] for lab in clf.labels] == pytest.approx(list(ref / ref.sum()), abs=1e-6)


def test_warm_start_after_a_small_edit_agrees_with_full_training(tiny_index, embedder):
    texts, labels = _tiny_training(tiny_index)
    vectors = embedder.encode(texts)
    first = IntentClassifier().fit(texts, labels, vectors)
    edited = texts[:1] + ["my transfer failed on polygon"] + texts[2:]
    edited_labels = labels[:1] + ["transaction"] + labels[2:]
    vecs = embedder.encode(edited)
    warm = IntentClassifier().fit(edited, edited_labels, vecs, previous=first)
    cold = IntentClassifier().fit(edited, edited_labels, vecs)
    assert warm.warm_started and not cold.warm_started
    for q in ["transfer failed on polygon", "忘记密码", "what's the weather"]:
        v = embedder.encode([q])[0]
        pw, pc = warm.predict(q, v).probabilities, cold.predict(q, v).probabilities
        assert max(abs(pw[k] - pc[k]) for k in pc) < 0.05
        assert warm.predict(q, v).category == cold.predict(q, v).category


def test_no_warm_start_when_much_changed_or_labels_differ(tiny_index, embedder):
    texts, labels = _tiny_training(tiny_index)
    vectors = embedder.encode(texts)
    first = IntentClassifier().fit(texts, labels, vectors)
    half = len(texts) // 2
    changed = [t + " please" for t in texts[:half]] + texts[half:]
    assert not IntentClassifier().fit(changed, labels, vectors, previous=first).warm_started
    relabeled = ["other" if lab == "contact" else lab for lab in labels]
    assert not IntentClassifier().fit(texts, relabeled, vectors, previous=first).warm_started
