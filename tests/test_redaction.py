"""Recovery phrases and private keys are redacted before anything else reads the text."""

from __future__ import annotations

from mnemonic import Mnemonic

from assistant.redaction import KEY_MARK, PHRASE_MARK, redact

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
    assert r.phrase and phrase[:4] not in r.text and "帮我看看" in r.text


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


