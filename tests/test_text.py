"""Normalisation, language detection and the lexical analyzer."""

from __future__ import annotations

import pytest

from assistant.text import analyze, detect_lang, normalize


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
