"""Recovery phrases and private keys are redacted before anything else reads the text."""

from __future__ import annotations

from mnemonic import Mnemonic

from pathlib import Path

import pytest

from assistant.understanding.redaction import KEY_MARK, PHRASE_MARK, SessionWindow, redact

ROOT = Path(__file__).resolve().parents[2]

# Published BIP39 test vectors (trezor/python-mnemonic vectors.json).
VECTOR_12 = "legal winner thank year wave sausage worth useful legal winner thank yellow"
VECTOR_24 = ("letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd "
             "amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic bless")


def test_vectors_are_valid_bip39():
    m = Mnemonic("english")
    assert m.check(VECTOR_12) and m.check(VECTOR_24)


def test_twelve_word_phrase_is_redacted():
    r = redact(f"my words are {VECTOR_12} what now")
    assert r.phrase and PHRASE_MARK in r.text
    assert not any(w in r.text.split() for w in ("sausage", "legal", "winner"))


def test_numbered_multiline_phrase_with_a_typo():
    words = VECTOR_24.split()
    words[5] = "doctr"
    numbered = "\n".join(f"{i}. {w}" for i, w in enumerate(words, 1))
    r = redact(numbered)
    assert r.phrase and "acoustic" not in r.text and "doctr" not in r.text


def test_ordinary_sentences_are_untouched():
    text = "I sent some tokens to the exchange yesterday and they never arrived, please help me"
    assert redact(text).text == text and not redact(text).found


def test_private_key_near_the_words_private_key():
    key = "e8f32e723decf4051aefac8e2c93c9c5b214313817cdb01a1494b917c8436b35"
    r = redact(f"here is my private key {key}")
    assert r.private_key and key not in r.text and KEY_MARK in r.text


def test_wif_key_is_redacted():
    wif = "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ"
    r = redact(f"wif {wif}")
    assert r.private_key and wif not in r.text


def test_transaction_hash_alone_is_kept():
    tx = "0x" + "ab" * 32
    assert redact(f"tx {tx} failed").text == f"tx {tx} failed"


# Published simplified-Chinese BIP39 vector (entropy 0x00..00, 12 words).
ZH_VECTOR = "的 的 的 的 的 的 的 的 的 的 的 在"


def test_chinese_vector_is_valid():
    assert Mnemonic("chinese_simplified").check(ZH_VECTOR)


def test_space_separated_chinese_phrase_is_redacted():
    r = redact(f"我的助记词是 {ZH_VECTOR} 怎么导入")
    assert r.phrase and ZH_VECTOR not in r.text and "怎么导入" in r.text


def test_contiguous_chinese_phrase_with_checksum_and_hint():
    phrase = Mnemonic("chinese_simplified").to_mnemonic(bytes(range(16))).replace(" ", "")
    r = redact("助记词:" + phrase + " 帮我看看")
    # The characters next to a phrase may go with it; the rest of the message stays.
    assert r.phrase and phrase[:4] not in r.text and r.text.endswith("看看")


def test_ordinary_chinese_sentences_are_untouched():
    for text in ("我的钱包是不是被人盗了怎么办啊", "我在交易所提币到钱包一直不到账是什么原因",
                 "助记词忘了怎么办 我的钱包是不是被人盗了"):
        assert redact(text).text == text


def test_keystore_json_is_redacted():
    ks = ('{"address":"abc","crypto":{"cipher":"aes-128-ctr","ciphertext":"5318b4d5bcd28de6",'
          '"kdf":"scrypt","kdfparams":{"n":262144}},"version":3}')
    r = redact(f"my keystore {ks} help")
    assert r.private_key and "ciphertext" not in r.text and "help" in r.text


def test_bare_hex_without_transaction_words_is_treated_as_a_key():
    key = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
    assert key not in redact(f"is this ok {key}").text
    assert key in redact(f"my transfer {key} has not arrived").text




# ---------------------------------------------------------------- attacked from outside

def test_every_generated_secret_leaves_nothing_behind():
    """Every shape the red-team generator types (typos, partial runs, separators, numbering,
    glued Chinese, keys, phrases split over messages), three seeds: nothing left."""
    from assistant.tooling.redaction_check import recall_report

    rep = recall_report(range(3))
    assert rep["shapes"] >= 90 and rep["cases"] >= 800
    assert rep["leaked_shapes"] == {} and rep["recall"] == 1.0
    six = rep["best_effort"]["en12_partial6"]
    assert six["caught"] >= six["cases"] // 3  # measured, not promised (66 bits remain)


def test_no_ordinary_sentence_is_redacted():
    """KB sentences (Chinese also in traditional characters), every eval row and generated
    sentences about phrases and keys with numbers, hashes and addresses."""
    from assistant.tooling.redaction_check import false_positive_report, ordinary_corpus

    corpus = ordinary_corpus(ROOT / "kb", ROOT / "eval")
    rep = false_positive_report(corpus)
    assert rep["sentences"] >= 5000 and {"kb-zh-hant", "generated-zh", "kb-en"} <= set(
        rep["by_source"])
    assert rep["redacted"] == 0, rep["examples"]
    # In conversations a few long stories lose four characters after a word like 助记词.
    assert rep["redacted_in_sessions"] <= 5, rep["examples_in_sessions"]


@pytest.mark.parametrize("second", ["钱包密码忘了怎么办", "怎么添加代币", "錢包密碼忘了怎麼辦",
                                    "please help check account balance again today"])
def test_short_questions_later_in_a_conversation_are_never_taken_for_a_phrase(second):
    window = SessionWindow()
    window.redact("s", "money missing")
    red, earlier = window.redact("s", second)
    assert red.text == second and not red.found and earlier == ()


def test_addresses_and_hashes_in_successive_messages_are_not_a_split_key():
    window = SessionWindow()
    window.redact("s", "sent to 0x65d022524c64ed7c401de344f940c084669d7819")
    red, earlier = window.redact(
        "s", "0x72c91f698d316c98e96a5469cba9708ec7539bdadc4165c588b1deb538137dd2 is the hash")
    assert "0x72c91f698d316c98e96a5469cba9708ec7539bdadc4165c588b1deb538137dd2" in red.text
    assert earlier == ()


@pytest.mark.parametrize("text", [
    "我想用助记词导入钱包但是不知道在哪里输入",
    "助记词导入以后发现余额是零怎么回事大家帮我看看",
    "律師團隊要我先付諮詢費跟區塊鏈分析費才接案，他們保證一定能追回",
    "help please, swap token, gas fee high, balance low, what next?",
    "please check again: seed phrase correct, order correct, still wrong address",
    "这笔转账0x255f9a1b4caf68241b85e58fee8c0799d217e6596954b85926177118174f4718一直显示打包中",
])
def test_sentences_that_look_like_secrets_are_kept(text):
    assert redact(text).text == text


def test_a_phrase_split_over_messages_is_caught_and_the_first_part_returned_for_scrubbing():
    words = VECTOR_24.split()[:12]
    window = SessionWindow()
    first, earlier = window.redact("s", "ok so it goes " + " ".join(words[:4]))
    assert not first.found and first.held == " ".join(words[:4])  # kept in memory only
    assert "[...]" in first.loggable and words[0] not in first.loggable
    second, earlier = window.redact("s", " ".join(words[4:8]))
    assert second.text == PHRASE_MARK and earlier == (" ".join(words[:4]),)
    third, _ = window.redact("s", " ".join(words[8:]))
    assert third.text == PHRASE_MARK


def test_a_first_part_that_looks_begun_is_removed_at_once():
    words = VECTOR_24.split()[:12]
    window = SessionWindow()
    first, _ = window.redact("s", " ".join(words[:4]))  # nothing else in the message
    assert first.text == PHRASE_MARK
    second, _ = window.redact("s", " ".join(words[4:]))
    assert second.text == PHRASE_MARK
    later = window.scrub_known("s", "was it " + " ".join(words[:4]) + "?")
    assert words[1] not in later.text


def test_the_window_forgets_other_sessions_and_old_parts():
    words = VECTOR_24.split()[:12]
    window = SessionWindow(ttl=0.0)
    window.redact("s", " ".join(words[:6]))
    second, earlier = window.redact("s", " ".join(words[6:]))
    assert earlier == ()  # expired
    other = SessionWindow()
    other.redact("a", " ".join(words[:6]))
    _, earlier = other.redact("b", " ".join(words[6:]))
    assert earlier == ()


def test_a_key_split_in_halves_is_caught():
    key = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
    window = SessionWindow()
    window.redact("s", f"key part 1: {key[:32]}")
    second, earlier = window.redact("s", f"part 2: {key[32:]}")
    assert KEY_MARK in second.text and key[32:] not in second.text
    assert key[:32] in earlier[0]
