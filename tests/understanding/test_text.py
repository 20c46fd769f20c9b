"""Normalisation, language detection and the lexical analyzer."""

from __future__ import annotations

import pytest

from assistant.understanding.text import analyze, detect_lang, normalize


@pytest.mark.parametrize("text,lang", [
    ("钱包密码忘了怎么办", "zh"), ("My transaction failed, why?", "en"), ("USDT转账一直pending", "zh"),
    ("波场转账失败 0x" + "ab" * 32, "zh"), ("my 钱包 is not working at all", "en"), ("", "en"),
])
def test_detect_lang(text, lang):
    assert detect_lang(text) == lang


def test_normalize_folds_width_and_case():
    assert normalize("  ＵＳＤＴ   Transfer\n") == "usdt transfer"


def test_chinese_gets_unigrams_and_bigrams():
    feats = analyze("提币失败")
    assert {"提", "币", "提币", "币失", "失败"} <= set(feats)


def test_english_gets_words_without_stopwords_and_char_ngrams():
    feats = analyze("How do I withdraw")
    assert "w:withdraw" in feats and "w:how" not in feats
    assert " wi" in feats and "draw" in feats


def test_typo_shares_most_ngrams():
    a, b = set(analyze("password")), set(analyze("pasword"))
    assert len(a & b) / len(a | b) > 0.35


def test_sparse_tfidf_and_dot_match_sklearn():
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    from assistant.understanding.retrieval import CsrRows
    from assistant.understanding.text import SparseTfidf, pre_analyzed, sparse_dot

    docs = ["my transfer failed", "transfer stuck pending pending", "钱包密码忘了怎么办",
            "忘记密码", "how to contact support"]
    v = TfidfVectorizer(analyzer=pre_analyzed, sublinear_tf=True)
    matrix = v.fit_transform([analyze(d) for d in docs])
    fast = SparseTfidf.from_vectorizer(v)
    rows = CsrRows.transpose_of(matrix)
    for q in ["transfer failed failed", "密码忘了", "nothing in common zzz"]:
        ref = v.transform([analyze(q)])
        idx, vals = fast(analyze(q))
        dense = np.zeros(ref.shape[1])
        dense[idx] = vals
        assert np.allclose(dense, ref.toarray()[0])
        expected = (matrix @ ref.T).toarray().ravel()
        got = sparse_dot(rows, idx, vals) if len(idx) else np.zeros(len(docs))
        assert np.allclose(got, expected)


@pytest.mark.parametrize("typed,read", [
    ("助记词怎么到入钱包", "助记词怎么导入钱包"),
    ("提了100 USTD", "提了100 usdt"),
    ("轉帳失敗", "转账失败"),
    ("帐户被盗", "账户被盗"),
])
def test_common_misspellings_are_read_as_meant(typed, read):
    assert normalize(typed) == read


@pytest.mark.parametrize("text", ["收到入账通知了吗", "custody fees", "mustdo"])
def test_misspelling_rules_leave_other_words_alone(text):
    assert normalize(text) == text.lower()
