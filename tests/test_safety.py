"""Recovery phrases and private keys are redacted before anything else reads the text."""

from __future__ import annotations

from mnemonic import Mnemonic

from assistant.safety import KEY_MARK, PHRASE_MARK, redact

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
