"""Real secrets typed every way people type them, a leak checker, and ordinary text to keep.

The assistant promises that a recovery phrase (BIP39 mnemonic) or a private key pasted into a
message is never stored, logged or echoed, whatever its shape, and that an ordinary message is
never redacted by mistake. The tests and the eval use this module to attack the redaction
(`assistant.understanding.redaction`) from the outside; it was written without reading the redaction code.

- `secret_cases` draws real secrets -- BIP39 phrases with a valid checksum from the English,
  simplified and traditional Chinese word lists; secp256k1 private keys as hex, WIF and master
  xprv; keystore v3 JSON -- and types them as people do: inside a sentence or bare, misspelt,
  truncated, numbered, bulleted, quoted, glued to Chinese text, split across messages.
- `leaks` finds what of a case's secret survives in anything the server wrote (a DB dump, a log,
  a JSON response), raw or escaped.
- `ordinary_sentences` writes wallet-support messages that talk about phrases and keys and are
  full of common words, hashes, addresses and numbers, but hold no secret: none of them may be
  redacted.

Everything is deterministic for a given seed. `python -m assistant.tooling.secret_cases` runs a
self-check and prints the shapes and their counts.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import random
import re
import time
import urllib.parse
import uuid
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache, partial

from mnemonic import Mnemonic

__all__ = ["SecretCase", "leaks", "ordinary_sentences", "secret_cases"]


@dataclass(frozen=True)
class SecretCase:
    """One way a user pastes a secret: the messages sent and the secret material as typed."""

    shape: str  # a short stable name, e.g. "en12_typo1", "zh12_glued_hint", "hex_0x_wallet_key"
    messages: tuple[str, ...]  # what the user sends, in order (2-3 for split cases, else 1)
    lang: str  # "en" or "zh"
    words: tuple[str, ...] = ()  # the phrase's words in order as typed (Chinese: one char each)
    keys: tuple[str, ...] = ()  # key material as typed (hex without 0x, WIF, xprv, ciphertext)


# --------------------------------------------------------------------------------------------
# Encodings: base58check (WIF, xprv, TRON), bech32 (bc1 addresses)
# --------------------------------------------------------------------------------------------

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_WIF_VERSION = b"\x80"
_XPRV_VERSION = bytes.fromhex("0488ade4")
_TRON_VERSION = b"\x41"


def _checksum(payload: bytes) -> bytes:
    """The base58check checksum: the first 4 bytes of a double SHA-256."""
    return hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]


def _b58encode(data: bytes) -> str:
    """Base58 with the Bitcoin alphabet; each leading zero byte becomes a '1'."""
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, digit = divmod(number, 58)
        digits.append(_B58_ALPHABET[digit])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(digits))


def _b58decode(text: str) -> bytes:
    """Inverse of `_b58encode`; ValueError on a character outside the alphabet."""
    number = 0
    for char in text:
        number = number * 58 + _B58_ALPHABET.index(char)
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")


def _b58check_encode(payload: bytes) -> str:
    return _b58encode(payload + _checksum(payload))


def _b58check_decode(text: str) -> bytes:
    """The payload of a base58check string; ValueError when the checksum does not match."""
    raw = _b58decode(text)
    payload, check = raw[:-4], raw[-4:]
    if _checksum(payload) != check:
        raise ValueError(f"bad base58check checksum: {text!r}")
    return payload


_BECH32_ALPHABET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _bech32_polymod(values: Sequence[int]) -> int:
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i, generator in enumerate(_BECH32_GENERATOR):
            if (top >> i) & 1:
                check ^= generator
    return check


def _segwit_address(program: bytes, hrp: str = "bc") -> str:
    """A native segwit v0 address (BIP173, bc1q...) for a 20- or 32-byte witness program."""
    groups = -(-len(program) * 8 // 5)
    value = int.from_bytes(program, "big") << (groups * 5 - len(program) * 8)
    data = [0] + [(value >> 5 * (groups - 1 - i)) & 31 for i in range(groups)]
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    polymod = _bech32_polymod(expanded + data + [0] * 6) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32_ALPHABET[d] for d in data + checksum)


# --------------------------------------------------------------------------------------------
# Real secrets
# --------------------------------------------------------------------------------------------

_WORDLISTS = ("english", "chinese_simplified", "chinese_traditional")


@cache
def _mnemo(wordlist: str) -> Mnemonic:
    return Mnemonic(wordlist)


@cache
def _wordset(wordlist: str) -> frozenset[str]:
    return frozenset(_mnemo(wordlist).wordlist)


def _private_key(rng: random.Random) -> bytes:
    """32 random bytes that are a valid secp256k1 private key (0 < k < n)."""
    while True:
        key = rng.randbytes(32)
        if 0 < int.from_bytes(key, "big") < _SECP256K1_ORDER:
            return key


def _wif(key: bytes, compressed: bool) -> str:
    """Wallet Import Format: base58check of 0x80 + key (+ 0x01 for a compressed public key)."""
    return _b58check_encode(_WIF_VERSION + key + (b"\x01" if compressed else b""))


def _master_xprv(seed: bytes) -> str | None:
    """The BIP32 master extended private key of a seed, or None for the rare invalid seed."""
    digest = hmac.new(b"Bitcoin seed", seed, hashlib.sha512).digest()
    key, chain_code = digest[:32], digest[32:]
    if not 0 < int.from_bytes(key, "big") < _SECP256K1_ORDER:
        return None
    depth, parent_fingerprint, child_number = b"\x00", bytes(4), bytes(4)
    payload = _XPRV_VERSION + depth + parent_fingerprint + child_number + chain_code + b"\x00" + key
    return _b58check_encode(payload)


class _Draw:
    """The randomness of one case and the real secrets drawn from it (kept for the self-check)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        #: (word list, mnemonic as generated, before any typo or truncation)
        self.phrases: list[tuple[str, str]] = []
        #: ("wif" | "xprv", encoded key, the raw key for a WIF or the seed for an xprv)
        self.encoded: list[tuple[str, str, bytes]] = []

    def phrase(self, wordlist: str, n_words: int) -> list[str]:
        """A valid BIP39 mnemonic of `n_words` words (12-24) from random entropy."""
        entropy = self.rng.randbytes(n_words * 4 // 3)
        mnemonic = _mnemo(wordlist).to_mnemonic(entropy)
        self.phrases.append((wordlist, mnemonic))
        return mnemonic.split(" ")

    def hex_key(self) -> str:
        """A private key as 64 lower-case hex digits."""
        return _private_key(self.rng).hex()

    def wif(self, compressed: bool) -> str:
        key = _private_key(self.rng)
        encoded = _wif(key, compressed)
        self.encoded.append(("wif", encoded, key))
        return encoded

    def xprv(self) -> str:
        while True:
            seed = self.rng.randbytes(64)
            encoded = _master_xprv(seed)
            if encoded:
                self.encoded.append(("xprv", encoded, seed))
                return encoded

    def keystore(self) -> tuple[str, str]:
        """A keystore v3 JSON as pasted (compact, spaced or indented) and its ciphertext.

        The fields have the sizes and encodings geth writes. The ciphertext and the MAC are random
        bytes -- indistinguishable from real AES-128-CTR output and Keccak MAC, which the standard
        library cannot compute.
        """
        rng = self.rng
        ciphertext = rng.randbytes(32).hex()
        n, p = rng.choice(((262144, 1), (4096, 6), (8192, 1)))  # geth standard, geth light, web
        document = {
            "address": rng.randbytes(20).hex(),
            "crypto": {
                "cipher": "aes-128-ctr",
                "ciphertext": ciphertext,
                "cipherparams": {"iv": rng.randbytes(16).hex()},
                "kdf": "scrypt",
                "kdfparams": {
                    "dklen": 32,
                    "n": n,
                    "p": p,
                    "r": 8,
                    "salt": rng.randbytes(32).hex(),
                },
                "mac": rng.randbytes(32).hex(),
            },
            "id": str(uuid.UUID(bytes=rng.randbytes(16), version=4)),
            "version": 3,
        }
        style = rng.choice(({"separators": (",", ":")}, {}, {"indent": 2}))
        return json.dumps(document, **style), ciphertext


# --------------------------------------------------------------------------------------------
# How people type a phrase: word transforms and layouts
# --------------------------------------------------------------------------------------------

#: (words, rng, word list name) -> the words as typed
Transform = Callable[[list[str], random.Random, str], list[str]]
#: (words as typed, rng) -> (text, whether it is a multi-line block)
Layout = Callable[[list[str], random.Random], tuple[str, bool]]

_KEYBOARD_NEIGHBOURS = {
    "q": "wa", "w": "qes", "e": "wrd", "r": "etf", "t": "ryg", "y": "tuh", "u": "yij", "i": "uok",
    "o": "ipl", "p": "ol", "a": "qsz", "s": "adwx", "d": "sfec", "f": "dgrv", "g": "fhtb",
    "h": "gjyn", "j": "hkum", "k": "jlim", "l": "kop", "z": "asx", "x": "zsdc", "c": "xdfv",
    "v": "cfgb", "b": "vghn", "n": "bhjm", "m": "njk",
}  # fmt: skip
#: Common characters, the same in simplified and traditional script; those in neither BIP39
#: Chinese list are a typo's "character outside the list".
_CHAT_HAN = "嗯哦啊呢吧喔咱俺啥您咋哈嘛嘿哟哇呀噢唉咯呗嗨哎哼咦"


def _circled(number: int) -> str:
    """The circled number ① .. ㊿."""
    if number <= 20:
        return chr(0x2460 + number - 1)
    return chr(0x3251 + number - 21) if number <= 35 else chr(0x32B1 + number - 36)


@cache
def _off_list_han() -> str:
    return "".join(c for c in _CHAT_HAN if not any(c in _wordset(n) for n in _WORDLISTS[1:]))


def _misspell(word: str, rng: random.Random) -> str:
    """One typo -- a dropped, swapped, doubled or wrong (neighbouring key) letter -- that is not
    itself a BIP39 word."""
    english = _wordset("english")
    while True:
        kind = rng.choice(("drop", "swap", "double", "wrong"))
        i = rng.randrange(len(word))
        if kind == "drop":
            typed = word[:i] + word[i + 1 :]
        elif kind == "swap":
            i = min(i, len(word) - 2)
            typed = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        elif kind == "double":
            typed = word[: i + 1] + word[i:]
        else:
            typed = word[:i] + rng.choice(_KEYBOARD_NEIGHBOURS[word[i]]) + word[i + 1 :]
        if typed != word and len(typed) >= 3 and typed not in english:
            return typed


def _as_is(words: list[str], rng: random.Random, wordlist: str) -> list[str]:
    return list(words)


def _typos(count: int) -> Transform:
    def transform(words: list[str], rng: random.Random, wordlist: str) -> list[str]:
        typed = list(words)
        for i in rng.sample(range(len(typed)), count):
            typed[i] = _misspell(typed[i], rng)
        return typed

    return transform


def _capitalised(words: list[str], rng: random.Random, wordlist: str) -> list[str]:
    return [words[0].capitalize(), *words[1:]]


def _all_caps(words: list[str], rng: random.Random, wordlist: str) -> list[str]:
    return [word.upper() for word in words]


def _prefixes(words: list[str], rng: random.Random, wordlist: str) -> list[str]:
    """The first 4 letters of each word, which identify a BIP39 English word."""
    return [word[:4] for word in words]


def _drop_one(words: list[str], rng: random.Random, wordlist: str) -> list[str]:
    """The phrase with one word forgotten."""
    i = rng.randrange(len(words))
    return words[:i] + words[i + 1 :]


def _run_of(size: int) -> Transform:
    """`size` consecutive words of the phrase."""

    def transform(words: list[str], rng: random.Random, wordlist: str) -> list[str]:
        start = rng.randrange(len(words) - size + 1)
        return words[start : start + size]

    return transform


def _wrong_char(in_list: bool) -> Transform:
    """One character replaced by another list character, or by a character outside the list."""

    def transform(chars: list[str], rng: random.Random, wordlist: str) -> list[str]:
        typed = list(chars)
        i = rng.randrange(len(typed))
        pool = _mnemo(wordlist).wordlist if in_list else _off_list_han()
        while (replacement := rng.choice(pool)) == typed[i]:
            pass
        typed[i] = replacement
        return typed

    return transform


def _joined(separator: str) -> Layout:
    return lambda words, rng: (separator.join(words), "\n" in separator)


def _numbered(template: str, separator: str = " ") -> Layout:
    """Words numbered by `template`: {i} the number from 1, {c} it circled, {w} the word."""

    def layout(words: list[str], rng: random.Random) -> tuple[str, bool]:
        items = (template.format(i=i, c=_circled(i), w=w) for i, w in enumerate(words, 1))
        return separator.join(items), "\n" in separator

    return layout


def _numbered_lines(words: list[str], rng: random.Random) -> tuple[str, bool]:
    template = rng.choice(("{i}. {w}", "{i} {w}", "{i}) {w}", "{i}.{w}", "{i}: {w}"))
    return "\n".join(template.format(i=i, w=w) for i, w in enumerate(words, 1)), True


def _multi_spaced(words: list[str], rng: random.Random) -> tuple[str, bool]:
    text = words[0]
    for word in words[1:]:
        text += " " * rng.randint(2, 4) + word
    return text, False


def _json_array(words: list[str], rng: random.Random) -> tuple[str, bool]:
    separators = rng.choice(((",", ":"), (", ", ": ")))
    return json.dumps(words, separators=separators), False


def _quoted(quote: str) -> Layout:
    def layout(words: list[str], rng: random.Random) -> tuple[str, bool]:
        return rng.choice((" ", ", ", ",")).join(f"{quote}{w}{quote}" for w in words), False

    return layout


def _code_block(words: list[str], rng: random.Random) -> tuple[str, bool]:
    return rng.choice(("```\n", "```text\n")) + " ".join(words) + "\n```", True


def _grouped(size: int, separator: str = " ") -> Layout:
    """Characters written in groups of `size` ("字字 字字 ...")."""

    def layout(chars: list[str], rng: random.Random) -> tuple[str, bool]:
        groups = ("".join(chars[i : i + size]) for i in range(0, len(chars), size))
        return separator.join(groups), False

    return layout


def _glued_or_spaced(chars: list[str], rng: random.Random) -> tuple[str, bool]:
    return rng.choice(("", " ")).join(chars), False


# --------------------------------------------------------------------------------------------
# The sentences around a secret
# --------------------------------------------------------------------------------------------

#: (before, after) around a phrase; "{n}" is the phrase's word count. ("", "") is no hint at all.
_PHRASE_FRAMES: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("english", "default"): (
        ("my seed is ", ""),
        ("pls help, here are my words: ", " what do I do"),
        ("", ""),
        ("My recovery phrase is ", ". Why does the import fail?"),
        ("I wrote my {n} words on paper: ", " but the app says invalid"),
        ("can you check this ", " thanks"),
        ("hi ", " is this right?"),
        ("The support agent asked me for my mnemonic so here: ", ""),
        ("", " <- that's my backup, import keeps failing"),
        ("restore not working!! ", ""),
        ("Hello, I need help restoring my wallet. Phrase: ", ". Thank you."),
        ("", "\nwhy do I get a different address?"),
        ("seed phrase ", " balance shows 0 please help"),
        ("please check ", ""),
    ),
    ("chinese_simplified", "default"): (
        ("我的助记词是：", ""),
        ("助记词 ", " 导入一直提示无效"),
        ("", ""),
        ("帮我看看这个助记词对不对：", ""),
        ("客服你好，我的助记词是 ", "，为什么导入以后余额是零？"),
        ("", " 这是我抄在纸上的"),
        ("恢复钱包失败 ", ""),
        ("你们客服说要提供助记词，", ""),
        ("助记词：", "\n麻烦帮我看一下"),
    ),
    ("chinese_simplified", "glued_hint"): (
        ("我的助记词是", ""),
        ("助记词", "，帮我恢复一下"),
        ("我的钱包助记词是", "。导入不了"),
        ("备份的助记词", "，是不是抄错了"),
    ),
    ("chinese_simplified", "glued_after"): (
        ("", "是我的助记词"),
        ("助记词：", "导入不了怎么办"),
        ("", "这个助记词对吗"),
        ("请帮我看看 ", "为什么恢复不了"),
    ),
    ("chinese_simplified", "glued_both"): (
        ("我的助记词是", "怎么导入不了"),
        ("助记词", "帮忙看下对不对"),
        ("我抄的是", "但是恢复出来是空钱包"),
    ),
    ("chinese_simplified", "no_hint"): (
        ("帮我看看这个", ""),
        ("这个对吗", ""),
        ("", "帮我看看"),
        ("麻烦看下", "谢谢"),
    ),
    ("chinese_traditional", "default"): (
        ("我的助記詞是：", ""),
        ("助記詞 ", " 匯入一直顯示無效"),
        ("", ""),
        ("幫我看看這個助記詞對不對：", ""),
        ("客服您好，我的助記詞是 ", "，為什麼匯入以後餘額是零？"),
        ("", " 這是我抄在紙上的"),
        ("恢復錢包失敗 ", ""),
        ("你們客服說要提供助記詞，", ""),
        ("助記詞：", "\n麻煩幫我看一下"),
    ),
    ("chinese_traditional", "glued_hint"): (
        ("我的助記詞是", ""),
        ("助記詞", "，幫我恢復一下"),
        ("我的錢包助記詞是", "。匯入不了"),
        ("備份的助記詞", "，是不是抄錯了"),
    ),
    ("chinese_traditional", "glued_after"): (
        ("", "是我的助記詞"),
        ("助記詞：", "匯入不了怎麼辦"),
        ("", "這個助記詞對嗎"),
        ("請幫我看看 ", "為什麼恢復不了"),
    ),
    ("chinese_traditional", "glued_both"): (
        ("我的助記詞是", "怎麼匯入不了"),
        ("助記詞", "幫忙看一下對不對"),
        ("我抄的是", "但是恢復出來是空錢包"),
    ),
    ("chinese_traditional", "no_hint"): (
        ("幫我看看這個", ""),
        ("這個對嗎", ""),
        ("", "幫我看看"),
        ("麻煩看一下", "謝謝"),
    ),
}

#: Split phrases: one template per message, "{}" is that message's part of the phrase.
_SPLIT_FRAMES: dict[tuple[str, int], tuple[tuple[str, ...], ...]] = {
    ("english", 2): (
        ("my seed phrase part 1: {}", "part 2: {}"),
        ("{}", "{}"),
        ("here are the first words {}", "{} that's all of them"),
        ("ok first half: {}", "second half: {} pls check"),
    ),
    ("english", 3): (
        ("{}", "{}", "{}"),
        ("words 1-4: {}", "5-8: {}", "9-12: {}"),
        ("my phrase {}", "{}", "{} that's it"),
    ),
    ("chinese_simplified", 2): (
        ("我的助记词前六个：{}", "后六个：{}"),
        ("{}", "{}"),
        ("助记词{}", "{}帮我看看"),
        ("前面是{}", "后面是{}"),
    ),
    ("chinese_traditional", 2): (
        ("我的助記詞前六個：{}", "後六個：{}"),
        ("{}", "{}"),
        ("助記詞{}", "{}幫我看看"),
        ("前面是{}", "後面是{}"),
    ),
}


def _embed(rng: random.Random, body: str, frames: Sequence[tuple[str, str]], *,
           block: bool, n_words: int) -> str:
    """`body` inside a randomly chosen frame; a multi-line body gets its own lines."""
    before, after = (part.replace("{n}", str(n_words)) for part in rng.choice(frames))
    if block:
        return "\n".join(part for part in (before.strip(), body, after.strip()) if part)
    return before + body + after


# --------------------------------------------------------------------------------------------
# Shapes
# --------------------------------------------------------------------------------------------

_LANG_OF = {"english": "en", "chinese_simplified": "zh", "chinese_traditional": "zh"}

#: A shape builder: (shape name, draw) -> the case.
Builder = Callable[[str, _Draw], SecretCase]


def _phrase_case(shape: str, draw: _Draw, *, wordlist: str, n_words: int, layout: Layout,
                 transform: Transform = _as_is, frames: str = "default") -> SecretCase:
    """A fresh phrase, transformed, laid out and put in one of the word list's `frames`."""
    words = draw.phrase(wordlist, n_words)
    typed = transform(words, draw.rng, wordlist)
    body, block = layout(typed, draw.rng)
    text = _embed(draw.rng, body, _PHRASE_FRAMES[wordlist, frames], block=block, n_words=n_words)
    return SecretCase(shape, (text,), _LANG_OF[wordlist], words=tuple(typed))


def _split_phrase_case(shape: str, draw: _Draw, *, wordlist: str, parts: int) -> SecretCase:
    """A 12-word phrase sent as `parts` equal parts, one message each."""
    words = draw.phrase(wordlist, 12)
    size = len(words) // parts
    joiner = " " if wordlist == "english" else draw.rng.choice(("", " "))
    chunks = [joiner.join(words[i : i + size]) for i in range(0, len(words), size)]
    templates = draw.rng.choice(_SPLIT_FRAMES[wordlist, parts])
    messages = tuple(t.format(chunk) for t, chunk in zip(templates, chunks, strict=True))
    return SecretCase(shape, messages, _LANG_OF[wordlist], words=tuple(words))


def _split_key_case(shape: str, draw: _Draw) -> SecretCase:
    """A hex private key sent in two messages of 32 digits each."""
    key = draw.hex_key()
    templates = draw.rng.choice((
        ("my private key first part 0x{}", "second part {}"),
        ("{}", "{}"),
        ("key part 1: {}", "part 2: {}"),
        ("0x{}", "{} <- rest of it"),
    ))
    messages = (templates[0].format(key[:32]), templates[1].format(key[32:]))
    return SecretCase(shape, messages, "en", keys=(key,))


def _key_case(shape: str, draw: _Draw, *, lang: str, frames: Sequence[str],
              make: Callable[[_Draw], tuple[str, str]]) -> SecretCase:
    """A key typed as `make` returns it ((text typed, key material)) inside one of `frames`."""
    typed, material = make(draw)
    return SecretCase(shape, (draw.rng.choice(frames).format(typed),), lang, keys=(material,))


def _hex(draw: _Draw) -> tuple[str, str]:
    key = draw.hex_key()
    return key, key


def _hex_upper(draw: _Draw) -> tuple[str, str]:
    key = draw.hex_key().upper()
    return key, key


def _hex_groups(draw: _Draw) -> tuple[str, str]:
    key = draw.hex_key()
    return " ".join(key[i : i + 16] for i in range(0, 64, 16)), key


def _wif_typed(draw: _Draw, compressed: bool) -> tuple[str, str]:
    key = draw.wif(compressed)
    return key, key


def _xprv_typed(draw: _Draw) -> tuple[str, str]:
    key = draw.xprv()
    return key, key


def _keystore_typed(draw: _Draw) -> tuple[str, str]:
    return draw.keystore()


_EN_SEPARATORS = {
    "comma": ",", "comma_space": ", ", "semicolon": ";", "fw_semicolon": "；", "dunhao": "、",
    "dash": " - ", "plus": " + ", "underscore": "_", "slash": "/", "pipe": "|", "newline": "\n",
    "tab": "\t", "zwsp": "\u200b", "dot": ".",
}  # fmt: skip
_EN_NUMBERING = {
    "num_dot": "{i}. {w}", "num_paren": "{i}) {w}", "num_colon": "{i}:{w}",
    "num_fw_colon": "{i}：{w}", "num_parens": "({i}) {w}", "num_hash": "#{i} {w}",
    "num_dash": "{i}-{w}", "num_di": "第{i}个{w}", "num_circled": "{c}{w}",
}  # fmt: skip
_ZH_SEPARATORS = {"space": " ", "fw_comma": "，", "dunhao": "、", "fw_semicolon": "；",
                  "comma": ",", "fw_space": "\u3000"}


def _shapes() -> dict[str, Builder]:
    """Every shape, in a stable order, with its builder."""
    shapes: dict[str, Builder] = {}
    english = partial(_phrase_case, wordlist="english")
    spaced = _joined(" ")

    for n in (12, 15, 18, 21, 24):
        shapes[f"en{n}"] = partial(english, n_words=n, layout=spaced)
    shapes["en12_typo1"] = partial(english, n_words=12, layout=spaced, transform=_typos(1))
    shapes["en12_typo2"] = partial(english, n_words=12, layout=spaced, transform=_typos(2))
    shapes["en24_typo3"] = partial(english, n_words=24, layout=spaced, transform=_typos(3))
    shapes["en12_capitalised"] = partial(english, n_words=12, layout=spaced, transform=_capitalised)
    shapes["en12_allcaps"] = partial(english, n_words=12, layout=spaced, transform=_all_caps)
    shapes["en12_partial11"] = partial(english, n_words=12, layout=spaced, transform=_drop_one)
    shapes["en12_partial8"] = partial(english, n_words=12, layout=spaced, transform=_run_of(8))
    shapes["en12_partial6"] = partial(english, n_words=12, layout=spaced, transform=_run_of(6))
    for name, separator in _EN_SEPARATORS.items():
        shapes[f"en12_sep_{name}"] = partial(english, n_words=12, layout=_joined(separator))
    shapes["en12_sep_multispace"] = partial(english, n_words=12, layout=_multi_spaced)
    for name, template in _EN_NUMBERING.items():
        shapes[f"en12_{name}"] = partial(english, n_words=12, layout=_numbered(template))
    shapes["en12_num_lines"] = partial(english, n_words=12, layout=_numbered_lines)
    for name, bullet in (("star", "* "), ("dot", "• "), ("dash", "- ")):
        layout = _numbered(bullet + "{w}", separator="\n")
        shapes[f"en12_bullet_{name}"] = partial(english, n_words=12, layout=layout)
    shapes["en12_json_array"] = partial(english, n_words=12, layout=_json_array)
    shapes["en12_quoted_single"] = partial(english, n_words=12, layout=_quoted("'"))
    shapes["en12_quoted_double"] = partial(english, n_words=12, layout=_quoted('"'))
    shapes["en12_code_block"] = partial(english, n_words=12, layout=_code_block)
    shapes["en12_prefix4"] = partial(english, n_words=12, layout=spaced, transform=_prefixes)

    for prefix, wordlist in (("zh", "chinese_simplified"), ("zht", "chinese_traditional")):
        chinese = partial(_phrase_case, wordlist=wordlist)
        glued = _joined("")
        for frames in ("glued_hint", "glued_after", "glued_both", "no_hint"):
            shapes[f"{prefix}12_{frames}"] = partial(chinese, n_words=12, layout=glued,
                                                     frames=frames)
        for name, in_list in (("offlist", False), ("inlist", True)):
            shapes[f"{prefix}12_wrong_{name}"] = partial(
                chinese, n_words=12, layout=_glued_or_spaced, transform=_wrong_char(in_list))
        for name, separator in _ZH_SEPARATORS.items():
            shapes[f"{prefix}12_sep_{name}"] = partial(chinese, n_words=12,
                                                       layout=_joined(separator))
        shapes[f"{prefix}12_circled"] = partial(
            chinese, n_words=12, layout=_numbered("{c}{w}", separator=""))
        shapes[f"{prefix}12_num_dot"] = partial(chinese, n_words=12, layout=_numbered("{i}.{w}"))
        shapes[f"{prefix}12_pairs"] = partial(chinese, n_words=12, layout=_grouped(2))
        shapes[f"{prefix}12_threes"] = partial(chinese, n_words=12, layout=_grouped(3))
        shapes[f"{prefix}24"] = partial(chinese, n_words=24, layout=_glued_or_spaced)
        shapes[f"{prefix}12_partial11"] = partial(chinese, n_words=12, layout=_glued_or_spaced,
                                                  transform=_drop_one)

    shapes["en12_split_6_6"] = partial(_split_phrase_case, wordlist="english", parts=2)
    shapes["en12_split_4_4_4"] = partial(_split_phrase_case, wordlist="english", parts=3)
    shapes["zh12_split_6_6"] = partial(_split_phrase_case, wordlist="chinese_simplified", parts=2)
    shapes["zht12_split_6_6"] = partial(_split_phrase_case, wordlist="chinese_traditional",
                                        parts=2)
    shapes["hex_split_halves"] = _split_key_case

    english_key = partial(_key_case, lang="en")
    shapes["hex_0x_wallet_key"] = partial(english_key, make=_hex, frames=(
        "my wallet key is 0x{}",
        "My wallet key is 0x{} - can you get my funds back?",
        "this is the key of my wallet: 0x{}",
        "wallet key 0x{} please check why the balance is 0",
    ))
    shapes["hex_0x_pk"] = partial(english_key, make=_hex, frames=(
        "pk: 0x{}", "pk 0x{}", "PK=0x{}", "my pk is 0x{} what now",
    ))
    shapes["hex_0x_here"] = partial(english_key, make=_hex, frames=(
        "here 0x{}", "here you go: 0x{}", "0x{}", "ok here it is 0x{}",
    ))
    shapes["hex_bare_transfer"] = partial(english_key, make=_hex, frames=(
        "transfer failed, my key {}",
        "my transfer of 200 USDT failed. key: {} pls check",
        "transfer stuck for 3 hours!! my key {}",
        "Transfer not arriving, this is my key {}, what should I do?",
    ))
    shapes["hex_upper"] = partial(english_key, make=_hex_upper, frames=(
        "my key {}", "{}", "KEY: {}", "is this right {}",
    ))
    shapes["hex_groups4"] = partial(english_key, make=_hex_groups, frames=(
        "my private key {}", "{}", "key is {} please help", "here: {}",
    ))
    shapes["hex_zh_glued"] = partial(_key_case, lang="zh", make=_hex, frames=(
        "我的私钥是0x{}", "私钥{}帮我看看", "钱包密钥：0x{}，转账一直失败", "這是我的私鑰{}",
    ))
    wif_frames = (
        "my WIF key {}", "private key: {}", "import this {}", "{}",
        "I exported {} from my old bitcoin wallet, how do I import it?",
    )
    shapes["wif_compressed"] = partial(english_key, frames=wif_frames,
                                       make=partial(_wif_typed, compressed=True))
    shapes["wif_uncompressed"] = partial(english_key, frames=wif_frames,
                                         make=partial(_wif_typed, compressed=False))
    shapes["xprv"] = partial(english_key, make=_xprv_typed, frames=(
        "my xprv {}", "extended private key: {}", "{}",
        "backup from my old wallet {} please restore",
    ))
    shapes["keystore_json"] = partial(english_key, make=_keystore_typed, frames=(
        "here is my keystore file {}", "{}", "keystore:\n{}\nI forgot the password",
        "I exported this JSON, can you decrypt it? {}",
    ))
    return shapes


_SHAPES = _shapes()


def _drawn_cases(seed: int, per_shape: int) -> Iterator[tuple[SecretCase, _Draw]]:
    """Every case with the draw that made it; each (seed, shape, index) has its own generator."""
    for shape, build in _SHAPES.items():
        for index in range(per_shape):
            draw = _Draw(random.Random(f"secret-cases/{seed}/{shape}/{index}"))
            yield build(shape, draw), draw


def secret_cases(seed: int = 0, per_shape: int = 3) -> list[SecretCase]:
    """`per_shape` cases of every shape, with real secrets drawn deterministically from `seed`."""
    return [case for case, _ in _drawn_cases(seed, per_shape)]


# --------------------------------------------------------------------------------------------
# Leak checker
# --------------------------------------------------------------------------------------------

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HAN_RE = re.compile(f"[{_HAN}]")
_NON_HAN_RE = re.compile(f"[^{_HAN}]+")
_LETTERS_RE = re.compile(r"[a-z]+")
_ALNUM_RUN_RE = re.compile(r"[0-9A-Za-z]{16,}")
_HEX_RE = re.compile(r"[0-9a-fA-F]+")
_BACKSLASH_RE = re.compile(
    r"\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})|((?:\\x[0-9a-fA-F]{2})+)|\\([nrtbf\"'\\/])"
)
_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
_KEY_WINDOW = 16  # a key leaks when any 16 of its characters in a row appear
_KEY_CHUNK = 8  # half the window: any 16-character run holds an aligned 8-character chunk
_PHRASE_WINDOW = 4  # a phrase leaks when any 4 of its words in a row appear


def _unescape_match(match: re.Match[str]) -> str:
    code4, code8, byte_run, simple = match.groups()
    if code4 or code8:
        code = int(code4 or code8, 16)
        return chr(code) if code <= 0x10FFFF else match.group()
    if byte_run:
        data = bytes.fromhex(byte_run.replace("\\x", ""))
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("latin-1")
    return _SIMPLE_ESCAPES.get(simple, simple)


def _decoded(text: str) -> str:
    """`text` with backslash escapes (JSON, Python; nested up to 3 deep), URL-encoding and HTML
    entities decoded."""
    for _ in range(3):
        unescaped = _BACKSLASH_RE.sub(_unescape_match, text)
        if unescaped == text:
            break
        text = unescaped
    return html.unescape(urllib.parse.unquote(text))


class _HashedSet:
    """A membership test over millions of n-grams that keeps only their hashes.

    Smaller than a set of the n-grams themselves. A hit may be a hash collision (odds about
    1e-13 per lookup against a 5 MB blob), so callers confirm hits on the text.
    """

    def __init__(self, items: Iterable[Hashable]) -> None:
        self._hashes = frozenset(map(hash, items))

    def __contains__(self, item: Hashable) -> bool:
        return hash(item) in self._hashes


class _RunIndex:
    """The alphanumeric runs of 16+ characters of a text, for finding 16-character key windows.

    Any 16 characters in a row of a run contain one of the run's 8-character chunks aligned to
    its start, so a key whose 8-character windows hit no chunk cannot have leaked; the others
    are confirmed by searching the runs.
    """

    def __init__(self, runs: list[str]) -> None:
        self._runs = "\n".join(runs)
        self._chunks = _HashedSet(
            run[i : i + _KEY_CHUNK]
            for run in runs
            for i in range(0, len(run) - _KEY_CHUNK + 1, _KEY_CHUNK)
        )

    def offsets(self, key: str) -> set[int]:
        """Where the 16-character windows of `key` found in the runs start."""
        windows = range(len(key) - _KEY_CHUNK + 1)
        if not any(key[i : i + _KEY_CHUNK] in self._chunks for i in windows):
            return set()
        windows = range(len(key) - _KEY_WINDOW + 1)
        return {i for i in windows if key[i : i + _KEY_WINDOW] in self._runs}


@dataclass(frozen=True)
class _View:
    """One reading of a blob (as written, or decoded), indexed once for every case."""

    words: str  # the lower-case letter tokens, each between spaces
    word_grams: _HashedSet  # the 4-token tuples
    han: str  # the Han characters in order, everything else removed
    han_grams: _HashedSet  # the 4-character strings of `han`
    runs: _RunIndex  # alphanumeric runs as written (base58 keys)
    folded_runs: _RunIndex  # the same, lower-cased (hex keys)

    @classmethod
    def of(cls, text: str) -> _View:
        tokens = _LETTERS_RE.findall(text.lower())
        han = _NON_HAN_RE.sub("", text)
        runs = _ALNUM_RUN_RE.findall(text)
        return cls(
            words=" " + " ".join(tokens) + " ",
            word_grams=_HashedSet(zip(tokens, tokens[1:], tokens[2:], tokens[3:], strict=False)),
            han=han,
            han_grams=_HashedSet(han[i : i + 4] for i in range(len(han) - 3)),
            runs=_RunIndex(runs),
            folded_runs=_RunIndex([run.lower() for run in runs]),
        )

    def has_words(self, gram: tuple[str, ...]) -> bool:
        return gram in self.word_grams and f" {' '.join(gram)} " in self.words

    def has_han(self, gram: str) -> bool:
        return gram in self.han_grams and gram in self.han

    def key_offsets(self, key: str) -> set[int]:
        """Where the key's 16-character windows found in the text start (any case for hex)."""
        if _HEX_RE.fullmatch(key):
            return self.folded_runs.offsets(key.lower())
        return self.runs.offsets(key)


@lru_cache(maxsize=2)
def _views(blob: str) -> tuple[_View, ...]:
    """The blob as written and, when escaping changes it, decoded; cached for the next case."""
    decoded = _decoded(blob)
    return (_View.of(blob),) if decoded == blob else (_View.of(blob), _View.of(decoded))


def _spans(offsets: set[int], width: int) -> list[tuple[int, int]]:
    """Windows of `width` at `offsets`, consecutive ones merged, as (start, end) spans."""
    spans: list[tuple[int, int]] = []
    for offset in sorted(offsets):
        if spans and offset == spans[-1][1] - width + 1:
            spans[-1] = (spans[-1][0], offset + width)
        else:
            spans.append((offset, offset + width))
    return spans


def _phrase_leaks(words: tuple[str, ...], views: tuple[_View, ...]) -> list[str]:
    """The runs of 4+ consecutive phrase words found in any view."""
    chinese = all(_HAN_RE.fullmatch(word) for word in words)
    offsets = set()
    for i in range(len(words) - _PHRASE_WINDOW + 1):
        window = words[i : i + _PHRASE_WINDOW]
        if chinese:
            found = any(view.has_han("".join(window)) for view in views)
        else:
            found = any(view.has_words(tuple(w.lower() for w in window)) for view in views)
        if found:
            offsets.add(i)
    joiner = "" if chinese else " "
    return [joiner.join(words[a:b]) for a, b in _spans(offsets, _PHRASE_WINDOW)]


def _key_leaks(key: str, views: tuple[_View, ...]) -> list[str]:
    """The runs of 16+ consecutive key characters found in any view."""
    offsets = set().union(*(view.key_offsets(key) for view in views))
    return [key[a:b] for a, b in _spans(offsets, _KEY_WINDOW)]


def leaks(case: SecretCase, blob: str) -> list[str]:
    """The fragments of the case's secret found in `blob` (anything the server wrote); [] if none.

    A phrase leaks when 4 of its words in a row appear: English as consecutive lower-case letter
    tokens of the blob; Chinese as 4 consecutive Han characters of the blob, whatever non-Han
    text separates them. A key leaks when 16 of its characters in a row appear (any case for hex).
    The blob is read as written and again with JSON/Python backslash escapes, URL-encoding and
    HTML entities decoded. Consecutive hits are merged into one fragment. The blob's index is
    cached, so checking many cases against one blob scans it once.
    """
    views = _views(blob)
    found = _phrase_leaks(case.words, views) if case.words else []
    for key in case.keys:
        found += _key_leaks(key, views)
    return list(dict.fromkeys(found))


# --------------------------------------------------------------------------------------------
# Ordinary sentences: they talk about secrets and look secret-ish, but hold none
# --------------------------------------------------------------------------------------------

# One frame per line. {name} (or {name2}, a second draw) is filled by _FILLERS[name]. Transaction
# hashes ({tx}, {txid}) only appear next to transaction wording.
_EN_ORDINARY = """
How do I import my wallet with the 12-word recovery phrase?
Where do I type my seed phrase when I restore a wallet on a new phone?
I lost the paper with my recovery phrase, can I still get into my wallet?
Is it safe to keep my seed phrase in a notes app on my phone?
Someone on Telegram asked me for my private key, is that really your support team?
The app says "invalid mnemonic" when I paste my words, what am I doing wrong?
Should I write my seed phrase on paper or stamp it on a metal plate?
I never backed up my private key and now the app will not open after the update to {version}.
How can I export the private key of my {chain} account?
Does TokenPocket keep a copy of my recovery phrase on its servers?
I typed the {words} words in the wrong order, can the wallet fix the order for me?
What is the difference between a keystore file and a private key?
My keystore password does not work any more, what can I do?
Can I use the same seed phrase in two different wallet apps at the same time?
The app asks me to confirm my mnemonic but I only wrote down 11 words.
A website asked me to enter my seed phrase to claim an airdrop of {amount} {coin}, is that a scam?
Is a 24-word phrase safer than a 12-word one?
My friend saw my recovery phrase on my screen, should I create a new wallet now?
How do I back up my wallet if I do not want the phrase to be shown on screen?
Can support reset my private key if I lost it?
Why does importing my private key give a different address than importing my seed phrase?
Do I need the recovery phrase to change my transaction password?
I think my seed phrase was stolen because {amount} {coin} left my wallet at {time} on {date}.
If I delete the app, can I restore everything with my mnemonic later?
How many words does a valid recovery phrase have, 12 or 24?
Is the BIP39 passphrase the same thing as the seed phrase?
I have the private key but not the mnemonic, can I still import the wallet?
You never ask for the seed phrase, right? Not even the official support team?
My old phone broke and I only have the keystore JSON file and its password.
I saved the recovery phrase as a screenshot in my gallery, is that a problem?
One word in my paper backup is smudged and I cannot read it, what now?
Please tell me how to show the private key of my {chain} wallet in the app.
I imported my mnemonic but the {coin} balance shows zero.
After restoring with the seed phrase all my custom tokens are gone.
Can someone steal my coins if they only know my wallet address {addr}?
A "support agent" sent me a link to validate my wallet phrase, is that you?
How do I know if my private key has leaked?
My recovery phrase works in MetaMask but your app says it is wrong.
I will not paste my seed phrase here, but can you tell me why the import fails?
Which derivation path does the app use when I import a 12-word phrase on {chain}?
I created the wallet on {date} and wrote the words down, now it asks for a password I never set.
Does the word "abandon" have to be the first word of every phrase?
Is it normal that my recovery phrase has the same word twice?
My brother wants a photo of my seed phrase so he can help me, should I send it?
How do I move from a private key wallet to a wallet with a recovery phrase?
Can I change my recovery phrase without creating a new wallet?
I exported the private key of my {chain} wallet and the app showed a red warning, was that safe?
The import screen has one box for the mnemonic and one for the private key, which one do I use?
Why does the keystore import need a password if the file already has the key inside?
If my phone is stolen, can the thief get my seed phrase out of the app?
What happens to my funds if I forget both the password and the recovery phrase?
Is there any way to recover a wallet with only 10 of the 12 words?
My seed phrase backup was in a cloud drive that got hacked, what should I do first?
Can I split my recovery phrase between two safe places?
The backup check asks me to tap the words in order, but the 7th word is not shown.
Someone called me from {phone} claiming to be TokenPocket and asked for my {words} words.
Before I import my private key on a new device, do I need to remove the wallet on the old one?
I have two seed phrases written on the same card and do not know which one holds my {coin}.
Is a private key that starts with 0x different from one that does not?
My hardware wallet has a 24-word phrase, can I import it here as a hot wallet?
I want to move all my coins to a new wallet because the old one is not safe any more.
Please check my account balance again because the number you show is wrong.
I keep all my funds in one wallet and only open the app when I need to send something.
My seed phrase is written on a card in a safe place, but what happens if the card gets lost?
You can find the recovery phrase under settings, then security, then back up wallet.
The old phone is broken so I cannot open the app and I need my coins back.
I found an old paper wallet in a drawer and want to check if there is any balance left.
I never gave anyone my key but my wallet is empty and I am very worried.
Every time I open the app it asks me to back up the phrase again, how do I stop that?
I had to pay a fee of {amount} {coin} just to move a small amount, that seems like too much.
The price of the token went down while my swap was still pending, can I cancel it?
That was a good trade but the network fee ate half of my profit.
My daughter made a new wallet on her phone and now she wants to know where the words are kept.
Each time I try to swap it says not enough gas even though I have enough balance.
When I tap receive the address looks different from last time, is that normal?
There is a strange token in my account that I never bought, should I sell it?
The market was moving fast and my order did not fill, where did my money go?
Before I trade again I want to be sure my private key is safe on this phone.
I have been waiting for over an hour and the transfer is still pending.
Good morning, my wallet shows the right balance on the web but zero on the phone.
Just like last time the swap failed and I still paid the gas fee.
Can you explain in simple words what a seed phrase is and why I must never share it?
My father gave me his old phone with a wallet on it but he does not remember the phrase.
I moved to a new country and the app store here does not have your app, how do I get it?
We run a small shop, can the wallet make a new receive code for each order?
When I first opened the wallet it showed a list of words, I closed it without writing them down.
I only want to check the balance, not send anything, is that possible without the key?
After the update the app keeps asking me to verify my phrase again and again.
My wife and I share one wallet, can we both use it on different phones with the same words?
Every word of my phrase is correct but the app still opens an empty wallet.
I tried again this morning and the same error came back after the same step.
The wallet asked me to pick the right word for number three and I picked the wrong one, now what?
Please help, my screen is black after I opened the app and I do not know if my money is safe.
I can see my coins on the explorer but the app shows nothing, did I lose them?
What should I do first if I think someone else can open my wallet?
Since last week my balance goes up and down by itself, is there a bug in the app?
I bought a new phone, moved the app over and now it asks for the words I never wrote down.
please help check account balance again today, swap fail twice
urgent help please, account empty, coin balance zero, private key never shared
Bitcoin gone from wallet, never share seed phrase, never click any link, what happen?
please check again: seed phrase correct, order correct, still wrong address
help please, swap token, gas fee high, balance low, what next?
hello, account balance zero again today, please check, money gone
help! balance zero, swap history empty, seed phrase never shared, what now?
seed phrase safe, private key safe, still lost all coins, how?
I keep seed phrase safe, never share, never screenshot, just paper, is that enough?
ok so seed phrase safe, private key never shared, still balance zero, explain please
good morning team, please check my account, balance wrong since update
Can you explain what happen when network busy, transfer still pending since morning?
My transfer of {amount} {coin} is still pending, tx hash {tx}.
TxID: {txid}. The exchange says they never received it.
The explorer shows "Fail" for transaction {tx}, why did I still pay gas?
Here is the transaction hash {tx}, the {coin} has not arrived after {hours} hours.
I withdrew {amount} {coin} from {exchange}, the withdrawal TxID is {txid}.
Can you check tx {tx} on {chain}? It has been stuck since {date}.
The swap on {dapp} reverted, tx hash: {tx}
Transaction hash {tx} shows success on the block explorer but my balance did not change.
tx hash = {tx} (I think I sent it to the wrong network)
Bitcoin TxID {txid} still has 0 confirmations after {hours} hours.
I sped up the transaction and now there are two tx hashes: {tx} and {tx2}. Which one counts?
Transfer details: tx hash {tx}, amount {amount} {coin}, to {addr}.
The TRON transaction {txid} failed with OUT_OF_ENERGY, what does that mean?
Please look at this transaction on the explorer: https://etherscan.io/tx/{tx}
Deposit not credited. Chain: {chain}. TxHash: {tx}. Amount: {amount} {coin}.
My approval transaction {tx} is pending with nonce {nonce}, can I cancel it?
The bridge says the source tx {tx} is confirmed but nothing arrived on {chain}.
TxID {txid} shows SUCCESS on TRONSCAN but {exchange} has not credited my USDT.
Is transaction {tx} a scam? I did not send it but it is in my history.
Why do I see a 0 {coin} transfer with tx hash {tx} from an address that looks like mine?
Here is the BscScan link of my failed swap: https://bscscan.com/tx/{tx}
The exchange support wants the transaction ID, is it this one: {txid}?
Withdrawal of {amount} {coin} on {date}, tx {tx}, block {block}, still not in my wallet.
I sent {amount} {coin} to the token contract {contract} by mistake. Can I get it back?
Is {tron} a valid TRON address? The app shows a warning when I paste it.
My BTC receiving address is {btc} but the sender says it is invalid.
Please whitelist {sol}, it is my Solana wallet address.
The token contract is {contract} on {chain}, how do I add it as a custom token?
Why does my address {addr} show a different balance on the explorer?
The exchange asked for a memo when I send to {tron}, do I need one?
I pasted {addr} but the app shows another address, could my clipboard be hacked?
My Solana address {sol} has SOL but the USDC token account is missing.
My address {btc} starts with bc1, can an exchange that only supports legacy addresses send to it?
Can I receive USDT-TRC20 at {tron} and USDT-ERC20 at {addr} in the same wallet?
I approved the contract {contract} on {dapp}, how do I revoke it?
Is {contract} the official contract of {coin}? The price looks strange.
Which network should I choose on {exchange} to send to {addr}?
My friend sent {amount} {coin} to {sol}, but I cannot see it.
The app shows my BTC address as {btc} but my old wallet used an address starting with 1.
I need to change the payout address on my account from {addr} to {addr2}.
Scam alert: someone keeps sending tiny amounts from {addr} to fill my history.
What does it mean that {tron} is not activated yet?
I want to save {addr} in my address book with the label "cold wallet".
I sent {amount} {coin} on {date} at {time} and it still has not arrived.
My order number is {order}, please check the status.
The verification code {code} expired before I could type it in.
Please call me back at {phone}, I prefer to talk on the phone.
I set the gas price to {gwei} gwei, is that too low?
Block {block} includes my transaction but the wallet still says pending.
I have {count} wallets in the app, how do I rename them?
My code is {code} but the app says it is wrong.
I bought {amount} {coin} on {date} and the receipt number is {order}.
The fee estimate jumped from {amount} to {amount2} {coin} in a minute, why?
It has been {hours} hours since I sent {amount} {coin}, my ticket number is {order}.
My phone number changed to {phone}, can I update it for notifications?
Is the withdrawal limit {amount} {coin} per day? I need to move more than that.
The gas limit was {gaslimit} and the transaction ran out of gas.
Please refund order {order} from {date}, the swap never happened.
The slippage was set to {pct}% and I still lost a lot on the trade.
I got an SMS from {phone} with the code {code} that I never asked for.
The staking reward for {date} was {amount} {coin}, less than last month.
Why is my balance {amount} {coin} on the phone but {amount2} on the web?
The transaction with nonce {nonce} is blocking all the newer ones.
I paid {amount} {coin} for the NFT on {date} but it does not show in my collection.
What is the RPC URL for {chain}? I tried {rpc} and it times out.
Chain ID {chainid} is not recognised when I add the custom network.
I am on version {version} of the app, is there an update?
After updating to {version} my custom RPC {rpc} disappeared.
Adding a network: RPC {rpc}, chain ID {chainid}, symbol {coin}. Is this right?
Which chain ID should I use for {chain}, {chainid} or {chainid2}?
The node {rpc} returns "header not found", should I switch to another RPC?
Version {version} crashes on my {device} when I open the DApp browser.
Is chain ID {chainid} the mainnet or a testnet?
My custom network with chain ID {chainid} shows the wrong symbol.
Since version {version} the swap page will not load on {chain}.
Does version {version} support WalletConnect v2?
The browser extension {version} cannot connect to {rpc}.
I added the RPC {rpc} from a random website, is that dangerous?
Can I change the default RPC of {chain} to {rpc}?
"""

_ZHS_ORDINARY = """
我想用助记词导入钱包但不知道在哪里输入
助记词导入以后发现余额是零怎么回事大家帮我看看
私钥导出来以后要放在什么地方才安全
密钥忘记了还能不能找回来我里面还有很多钱
助记词抄在本子上了但是本子找不到了现在怎么办
私钥是不是和助记词一样重要我一直没有备份过
助记词一共有几个字我记得是十二个但是导入的时候说不对
密钥和密码是一回事吗为什么我输入密码还是打不开
助记词顺序写错了还能恢复钱包吗
有人在群里说帮我找回资产要我提供私钥，这是真的客服吗？
请问怎么备份助记词？
助记词可以截图保存吗
我的助记词被别人看到了，要不要马上换钱包？
换了新手机以后怎么用助记词恢复钱包？
导入私钥和导入助记词有什么区别？
中文助记词和英文助记词有什么不一样
私钥导入提示格式错误，是不是少复制了几位？
忘记了钱包密码但是助记词还在，可以重置吗？
keystore文件和私钥有什么区别，哪个更安全？
官方客服会不会找我要助记词？
助记词丢了，钱包里还有{amount}个{coin}，还有办法吗？
助记词可以改吗我想换一组新的
私钥泄露了以后别人能不能转走我的钱
密钥文件放在电脑里安全吗还是应该打印出来
助记词备份的时候第七个字没看清楚现在导入一直失败
我不会把助记词发给你们，只想问一下为什么导入不了
用助记词导入以后地址和原来不一样是什么原因
私钥从哪里导出，在设置里面找不到
助记词输入框里要不要加空格
我的两个钱包用的是不是同一组助记词
助记词要抄几份放在不同的地方比较好
私钥被盗了钱包里的{coin}全部被转走了怎么办
怎么判断我的助记词有没有泄露
一个网站让我输入助记词领取{amount}{coin}空投，是骗局吗？
助记词导入成功了但是代币都不显示
私钥导入到别的钱包里可以用吗
如果手机丢了别人能从手机里拿到我的私钥吗
助记词和私钥都忘了钱包还能找回吗
密钥是不是每条链都不一样
我在{date}创建的钱包，当时助记词写在纸上了，现在纸找不到了
十二个助记词只记得十个，能不能找回
助记词里有一个字我写成了别的字，导入提示无效
我想把私钥钱包换成助记词钱包，怎么操作
备份助记词的页面一直打不开
导出私钥的时候需要输入密码吗
助记词放在云盘里是不是很危险
我爸爸的手机里有钱包但是他不记得助记词了
有人打电话{phone}说是官方客服让我报助记词
助记词验证的时候一直说顺序不对
导入钱包的时候选助记词还是私钥
私钥的格式是什么样的，是不是以0x开头
助记词是不是一定要十二个，二十四个可以吗
观察钱包需要私钥吗
助记词我写在手机备忘录里了会不会被盗
硬件钱包的助记词能导入到这里吗
私钥导入成功了但是里面的钱都不见了是不是被人转走了
助记词输入完了一直提示无效请问是哪里出了问题
密钥找不到了以前的老手机也坏了现在还有什么办法
助记词我一个字一个字对过了都没有错为什么还是不行
私钥给了朋友帮我操作现在钱包里的币少了一半
助记词写在一张纸上后来搬家的时候不小心弄丢了
密钥文件打开以后是一串很长的字符我不知道怎么用
助记词是我自己生成的从来没有给过别人但是钱还是没了
私钥和地址是不是一一对应的我换一个钱包还能用吗
助记词要是被人知道了是不是就等于把钱包给了别人
私钥导出以后我放在了电脑桌面上现在有点担心
助记词备份完了以后应用还是一直提醒我去备份
密钥输入以后没有反应是不是网络的问题
助记词恢复的钱包里面只有主网币其他的代币都没有了
助记词抄好了放在家里最安全的地方还需要做什么吗
私钥被别人知道了我现在马上转走还来得及吗
我想把所有的币转到一个新钱包因为旧的那个已经不安全了
我的钱包在网页上显示余额是对的但是在手机上显示是零
每次打开应用都要我重新备份一次这个怎么关掉
这次兑换又失败了但是手续费还是被扣了
我只是想看一下余额不转账也需要私钥吗
老手机坏了打不开应用现在想把币找回来
早上又试了一次还是同样的问题在同一步出错
我和家人共用一个钱包可以在两个手机上同时用吗
请用简单的话解释一下什么是助记词为什么不能告诉别人
我的资产在区块浏览器上能看到但是钱包里什么都没有
如果怀疑别人能打开我的钱包第一步应该做什么
这几天余额总是自己变来变去是不是应用有问题
我妈妈不会用手机想让我帮她开一个钱包应该注意什么
我们是一家小店想收数字货币能不能每个订单生成一个收款码
第一次打开钱包的时候出来一排字我没来得及抄就关掉了
转账已经过去{hours}个小时了还没到账，交易哈希是{tx}
交易哈希：{tx}，区块浏览器上显示成功但是交易所没有到账
我在{exchange}提币{amount}{coin}，TxID是{txid}，一直没到
这笔转账{tx}一直显示打包中，可以加速吗？
区块浏览器里查到交易{tx}失败了，手续费还扣了
帮忙查一下这个交易哈希{tx}，是不是转错链了
TxID：{txid}，波场浏览器上显示成功，但是钱包里看不到
转账{amount}{coin}到{addr}，交易哈希{tx}，对方说没收到
在区块浏览器上看 https://tronscan.org/#/transaction/{txid} 显示能量不足
闪兑失败了，交易哈希是{tx}，币会退回来吗？
昨天晚上转的{coin}，交易哈希{tx}，到现在还是待确认
跨链桥的源链交易{tx}已经确认了，但是{chain}上面没收到
交易哈希{tx}不是我发起的，是不是钱包被盗了？
交易所客服让我提供交易哈希，是这个吗{txid}
授权交易{tx}卡住了，nonce是{nonce}，后面的转账都发不出去
我加速了一次，现在有两个交易哈希{tx}和{tx2}，以哪个为准？
{date}转的{amount}{coin}，交易哈希{tx}，区块高度{block}
这笔转账的TxID是{txid}，确认数一直是0
充值没到账，链：{chain}，交易哈希：{tx}，金额：{amount}{coin}
转账记录里有一笔0{coin}的转账，交易哈希是{tx}，是什么意思？
区块浏览器链接 https://etherscan.io/tx/{tx} 显示失败，原因是out of gas
提现的交易哈希{tx}在区块浏览器里查不到
我把{amount}{coin}转到了合约地址{contract}，还能找回来吗？
{tron}这个波场地址是不是有效的？粘贴以后有提示
我的比特币收款地址是{btc}，对方说地址无效
我的Solana地址是{sol}，为什么收不到USDC
代币合约地址是{contract}，怎么添加自定义代币？
为什么我的地址{addr}在浏览器上的余额和钱包里不一样
转到交易所的波场地址{tron}需要填写备注吗
粘贴的地址{addr}变成了另一个地址，是不是剪贴板被病毒改了
朋友往{sol}转了{amount}{coin}但是我看不到
我的地址{tron}提示未激活是什么意思
这个合约{contract}是不是官方的，价格看起来很奇怪
在{exchange}提币到{addr}应该选哪个网络
我授权过{dapp}的合约{contract}，怎么取消授权
我的收款地址{btc}是bc1开头的，有的交易所不支持怎么办
USDT转到了{addr}，这是以太坊地址，但我选的是波场网络
有人一直往我的地址{addr}转很小的金额，这是什么诈骗
地址簿里{tron}的备注写错了怎么改
我想把收款地址从{addr}改成{addr2}
冷钱包地址{addr}可以设置成观察钱包吗
我在{date} {time}转了{amount}{coin}，到现在还没到账
我的订单号是{order}，麻烦帮我查一下
验证码{code}还没输入就过期了
有问题可以打我电话{phone}
gas设置成{gwei} gwei是不是太低了
我有{count}个钱包，怎么改名字
验证码是{code}，但是提示错误
订单{order}的闪兑没有成功，钱扣了
手续费一下子从{amount}涨到了{amount2}{coin}
已经过了{hours}个小时，工单号是{order}
手机号换成了{phone}，怎么修改
每天提币上限是{amount}{coin}吗？
滑点设置成{pct}%还是亏了很多
收到{phone}发来的验证码{code}，我没有申请过
{date}的质押收益只有{amount}{coin}，比上个月少
手机上显示余额{amount}{coin}，网页上显示{amount2}
nonce {nonce}的那笔交易卡住了，后面的都发不出去
gas limit是{gaslimit}，结果交易失败说gas不够
我{date}花了{amount}{coin}买的NFT在收藏里看不到
区块高度{block}已经包含我的交易了，钱包还是显示打包中
{chain}的RPC地址是什么？我用{rpc}一直超时
添加自定义网络的时候链ID{chainid}识别不了
我的App版本是{version}，需要更新吗？
更新到{version}以后自定义节点{rpc}不见了
添加网络：RPC {rpc}，链ID {chainid}，符号{coin}，这样对吗？
{chain}的链ID是{chainid}还是{chainid2}？
节点{rpc}返回错误，要不要换一个
{version}版本在{device}上一打开DApp浏览器就闪退
链ID {chainid}是主网还是测试网
自定义网络链ID{chainid}显示的币种符号不对
从{version}版本开始{chain}上的闪兑页面打不开
网上找的RPC {rpc}可以直接用吗，安全吗
可以把{chain}的默认节点改成{rpc}吗
插件钱包{version}连不上{rpc}
"""

_ZHT_ORDINARY = """
我想用助記詞匯入錢包但不知道在哪裡輸入
助記詞匯入以後發現餘額是零怎麼回事大家幫我看看
私鑰匯出來以後要放在什麼地方才安全
密鑰忘記了還能不能找回來我裡面還有很多錢
助記詞抄在本子上了但是本子找不到了現在怎麼辦
私鑰是不是和助記詞一樣重要我一直沒有備份過
助記詞一共有幾個字我記得是十二個但是匯入的時候說不對
密鑰和密碼是一回事嗎為什麼我輸入密碼還是打不開
助記詞順序寫錯了還能恢復錢包嗎
有人在群組裡說幫我找回資產要我提供私鑰，這是真的客服嗎？
請問怎麼備份助記詞？
助記詞可以截圖保存嗎
我的助記詞被別人看到了，要不要馬上換錢包？
換了新手機以後怎麼用助記詞恢復錢包？
匯入私鑰和匯入助記詞有什麼差別？
中文助記詞和英文助記詞有什麼不一樣
私鑰匯入顯示格式錯誤，是不是少複製了幾位？
忘記了錢包密碼但是助記詞還在，可以重設嗎？
keystore檔案和私鑰有什麼差別，哪個比較安全？
官方客服會不會跟我要助記詞？
助記詞丟了，錢包裡還有{amount}個{coin}，還有辦法嗎？
助記詞可以改嗎我想換一組新的
私鑰外洩了以後別人能不能轉走我的錢
密鑰檔案放在電腦裡安全嗎還是應該印出來
助記詞備份的時候第七個字沒看清楚現在匯入一直失敗
我不會把助記詞傳給你們，只想問一下為什麼匯入不了
用助記詞匯入以後地址和原來不一樣是什麼原因
私鑰從哪裡匯出，在設定裡面找不到
助記詞輸入框裡要不要加空格
我的兩個錢包用的是不是同一組助記詞
助記詞要抄幾份放在不同的地方比較好
私鑰被盜了錢包裡的{coin}全部被轉走了怎麼辦
怎麼判斷我的助記詞有沒有外洩
一個網站叫我輸入助記詞領取{amount}{coin}空投，是詐騙嗎？
助記詞匯入成功了但是代幣都不顯示
私鑰匯入到別的錢包裡可以用嗎
如果手機丟了別人能從手機裡拿到我的私鑰嗎
助記詞和私鑰都忘了錢包還能找回嗎
密鑰是不是每條鏈都不一樣
我在{date}建立的錢包，當時助記詞寫在紙上了，現在紙找不到了
十二個助記詞只記得十個，能不能找回
助記詞裡有一個字我寫成了別的字，匯入顯示無效
我想把私鑰錢包換成助記詞錢包，要怎麼操作
備份助記詞的頁面一直打不開
匯出私鑰的時候需要輸入密碼嗎
助記詞放在雲端硬碟裡是不是很危險
我爸爸的手機裡有錢包但是他不記得助記詞了
有人打電話{phone}說是官方客服叫我報助記詞
助記詞驗證的時候一直說順序不對
匯入錢包的時候選助記詞還是私鑰
私鑰的格式是什麼樣子，是不是0x開頭
助記詞是不是一定要十二個，二十四個可以嗎
觀察錢包需要私鑰嗎
助記詞我寫在手機備忘錄裡了會不會被盜
硬體錢包的助記詞能匯入到這裡嗎
私鑰匯入成功了但是裡面的錢都不見了是不是被人轉走了
助記詞輸入完了一直顯示無效請問是哪裡出了問題
密鑰找不到了以前的舊手機也壞了現在還有什麼辦法
助記詞我一個字一個字對過了都沒有錯為什麼還是不行
私鑰給了朋友幫我操作現在錢包裡的幣少了一半
助記詞寫在一張紙上後來搬家的時候不小心弄丟了
密鑰檔案打開以後是一串很長的字元我不知道怎麼用
助記詞是我自己產生的從來沒有給過別人但是錢還是沒了
私鑰和地址是不是一對一的我換一個錢包還能用嗎
助記詞要是被人知道了是不是就等於把錢包給了別人
私鑰匯出以後我放在了電腦桌面上現在有點擔心
助記詞備份完了以後應用程式還是一直提醒我去備份
密鑰輸入以後沒有反應是不是網路的問題
助記詞恢復的錢包裡面只有主網幣其他的代幣都沒有了
助記詞抄好了放在家裡最安全的地方還需要做什麼嗎
私鑰被別人知道了我現在馬上轉走還來得及嗎
我想把所有的幣轉到一個新錢包因為舊的那個已經不安全了
我的錢包在網頁上顯示餘額是對的但是在手機上顯示是零
每次打開應用程式都要我重新備份一次這個怎麼關掉
這次兌換又失敗了但是手續費還是被扣了
我只是想看一下餘額不轉帳也需要私鑰嗎
舊手機壞了打不開應用程式現在想把幣找回來
早上又試了一次還是同樣的問題在同一步出錯
我和家人共用一個錢包可以在兩支手機上同時用嗎
請用簡單的話解釋一下什麼是助記詞為什麼不能告訴別人
我的資產在區塊瀏覽器上看得到但是錢包裡什麼都沒有
如果懷疑別人能打開我的錢包第一步應該做什麼
這幾天餘額總是自己變來變去是不是應用程式有問題
我媽媽不太會用手機想讓我幫她開一個錢包應該注意什麼
我們是一家小店想收數位貨幣能不能每筆訂單產生一個收款碼
第一次打開錢包的時候出來一排字我還沒抄就關掉了
轉帳已經過了{hours}個小時還沒到帳，交易哈希是{tx}
交易哈希：{tx}，區塊瀏覽器上顯示成功但是交易所沒有入帳
我在{exchange}提幣{amount}{coin}，TxID是{txid}，一直沒到
這筆轉帳{tx}一直顯示處理中，可以加速嗎？
區塊瀏覽器裡查到交易{tx}失敗了，手續費還是扣了
幫忙查一下這個交易哈希{tx}，是不是轉錯鏈了
TxID：{txid}，波場瀏覽器上顯示成功，但是錢包裡看不到
轉帳{amount}{coin}到{addr}，交易哈希{tx}，對方說沒收到
在區塊瀏覽器上看 https://tronscan.org/#/transaction/{txid} 顯示能量不足
閃兌失敗了，交易哈希是{tx}，幣會退回來嗎？
昨天晚上轉的{coin}，交易哈希{tx}，到現在還是待確認
跨鏈橋的來源鏈交易{tx}已經確認了，但是{chain}上面沒收到
交易哈希{tx}不是我發起的，是不是錢包被盜了？
交易所客服要我提供交易哈希，是這個嗎{txid}
授權交易{tx}卡住了，nonce是{nonce}，後面的轉帳都送不出去
我加速了一次，現在有兩個交易哈希{tx}和{tx2}，以哪個為準？
{date}轉的{amount}{coin}，交易哈希{tx}，區塊高度{block}
這筆轉帳的TxID是{txid}，確認數一直是0
儲值沒到帳，鏈：{chain}，交易哈希：{tx}，金額：{amount}{coin}
轉帳紀錄裡有一筆0{coin}的轉帳，交易哈希是{tx}，是什麼意思？
區塊瀏覽器連結 https://etherscan.io/tx/{tx} 顯示失敗，原因是out of gas
提領的交易哈希{tx}在區塊瀏覽器裡查不到
我把{amount}{coin}轉到了合約地址{contract}，還能找回來嗎？
{tron}這個波場地址是不是有效的？貼上以後有提示
我的比特幣收款地址是{btc}，對方說地址無效
我的Solana地址是{sol}，為什麼收不到USDC
代幣合約地址是{contract}，要怎麼新增自訂代幣？
為什麼我的地址{addr}在瀏覽器上的餘額和錢包裡不一樣
轉到交易所的波場地址{tron}需要填寫備註嗎
貼上的地址{addr}變成了另一個地址，是不是剪貼簿被病毒改了
朋友往{sol}轉了{amount}{coin}但是我看不到
我的地址{tron}顯示未啟用是什麼意思
這個合約{contract}是不是官方的，價格看起來很奇怪
在{exchange}提幣到{addr}應該選哪個網路
我授權過{dapp}的合約{contract}，要怎麼取消授權
我的收款地址{btc}是bc1開頭的，有的交易所不支援怎麼辦
USDT轉到了{addr}，這是以太坊地址，但我選的是波場網路
有人一直往我的地址{addr}轉很小的金額，這是什麼詐騙
地址簿裡{tron}的備註寫錯了怎麼改
我想把收款地址從{addr}改成{addr2}
冷錢包地址{addr}可以設成觀察錢包嗎
我在{date} {time}轉了{amount}{coin}，到現在還沒到帳
我的訂單編號是{order}，麻煩幫我查一下
驗證碼{code}還沒輸入就過期了
有問題可以打我電話{phone}
gas設成{gwei} gwei是不是太低了
我有{count}個錢包，要怎麼改名字
驗證碼是{code}，但是顯示錯誤
訂單{order}的閃兌沒有成功，錢被扣了
手續費一下子從{amount}漲到了{amount2}{coin}
已經過了{hours}個小時，案件編號是{order}
手機號碼換成了{phone}，要怎麼修改
每天提幣上限是{amount}{coin}嗎？
滑價設成{pct}%還是虧了很多
收到{phone}傳來的驗證碼{code}，我沒有申請過
{date}的質押收益只有{amount}{coin}，比上個月少
手機上顯示餘額{amount}{coin}，網頁上顯示{amount2}
nonce {nonce}的那筆交易卡住了，後面的都送不出去
gas limit是{gaslimit}，結果交易失敗說gas不夠
我{date}花了{amount}{coin}買的NFT在收藏裡看不到
區塊高度{block}已經包含我的交易了，錢包還是顯示處理中
{chain}的RPC網址是什麼？我用{rpc}一直逾時
新增自訂網路的時候鏈ID{chainid}無法辨識
我的App版本是{version}，需要更新嗎？
更新到{version}以後自訂節點{rpc}不見了
新增網路：RPC {rpc}，鏈ID {chainid}，符號{coin}，這樣對嗎？
{chain}的鏈ID是{chainid}還是{chainid2}？
節點{rpc}回傳錯誤，要不要換一個
{version}版本在{device}上一打開DApp瀏覽器就閃退
鏈ID {chainid}是主網還是測試網
自訂網路鏈ID{chainid}顯示的幣種符號不對
從{version}版本開始{chain}上的閃兌頁面打不開
網路上找的RPC {rpc}可以直接用嗎，安全嗎
可以把{chain}的預設節點改成{rpc}嗎
擴充功能錢包{version}連不上{rpc}
"""

Filler = Callable[[random.Random], str]


def _pick(*options: str) -> Filler:
    return lambda rng: rng.choice(options)


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def _amount(rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return str(rng.randint(1, 500))
    if kind == 1:
        return f"{rng.uniform(0.001, 10):.4f}".rstrip("0").rstrip(".")
    if kind == 2:
        return f"{rng.randint(1000, 50000):,}"
    return f"{rng.uniform(10, 999):.2f}"


def _evm_address(rng: random.Random) -> str:
    return "0x" + rng.randbytes(20).hex()


def _tron_address(rng: random.Random) -> str:
    return _b58check_encode(_TRON_VERSION + rng.randbytes(20))


def _solana_address(rng: random.Random) -> str:
    while len(address := _b58encode(rng.randbytes(32))) != 44:
        pass
    return address


def _rpc_url(rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return "https://mainnet.infura.io/v3/" + rng.randbytes(16).hex()
    if kind == 1:
        token = "".join(rng.choice(_B58_ALPHABET + "_-") for _ in range(32))
        return "https://eth-mainnet.g.alchemy.com/v2/" + token
    return rng.choice((
        "https://bsc-dataseed.binance.org", "https://rpc.ankr.com/eth", "https://polygon-rpc.com",
        "https://arb1.arbitrum.io/rpc", "https://mainnet.optimism.io", "https://api.trongrid.io",
        "https://api.mainnet-beta.solana.com", "https://mainnet.base.org",
        "https://api.avax.network/ext/bc/C/rpc", "https://eth.llamarpc.com",
        "https://bsc-dataseed1.defibit.io/", "https://rpc.ankr.com/bsc",
    ))


def _order_number(rng: random.Random) -> str:
    year, month, day = rng.randint(2023, 2025), rng.randint(1, 12), rng.randint(1, 28)
    return f"{year}{month:02d}{day:02d}{_digits(rng, rng.randint(6, 10))}"


def _en_phone(rng: random.Random) -> str:
    return rng.choice((
        f"+1 {rng.randint(201, 989)} 555 {_digits(rng, 4)}",
        f"({rng.randint(201, 989)}) 555-{_digits(rng, 4)}",
        f"+44 7700 {_digits(rng, 6)}",
        f"+65 {rng.choice('89')}{_digits(rng, 3)} {_digits(rng, 4)}",
    ))


def _zhs_phone(rng: random.Random) -> str:
    number = f"1{rng.choice('3456789')}{_digits(rng, 9)}"
    return rng.choice((number, f"{number[:3]} {number[3:7]} {number[7:]}",
                       f"+86 {number[:3]}-{number[3:7]}-{number[7:]}"))


def _zht_phone(rng: random.Random) -> str:
    return rng.choice((
        f"09{_digits(rng, 2)}-{_digits(rng, 3)}-{_digits(rng, 3)}",
        f"09{_digits(rng, 8)}",
        f"+886 9{_digits(rng, 2)} {_digits(rng, 3)} {_digits(rng, 3)}",
        f"+852 {rng.choice('569')}{_digits(rng, 3)} {_digits(rng, 4)}",
    ))


_COMMON_FILLERS: dict[str, Filler] = {
    "addr": _evm_address,
    "contract": _evm_address,
    "tx": lambda rng: "0x" + rng.randbytes(32).hex(),
    "txid": lambda rng: rng.randbytes(32).hex(),
    "tron": _tron_address,
    "btc": lambda rng: _segwit_address(rng.randbytes(20)),
    "sol": _solana_address,
    "rpc": _rpc_url,
    "chainid": _pick("1", "56", "137", "42161", "10", "8453", "43114", "128", "66", "250", "324",
                     "59144", "11155111", "97", "728126428", "204"),
    "version": lambda rng: f"{rng.randint(1, 2)}.{rng.randint(0, 9)}.{rng.randint(0, 20)}",
    "order": _order_number,
    "code": lambda rng: _digits(rng, 6),
    "block": lambda rng: str(rng.randint(15_000_000, 65_000_000)),
    "gwei": _pick("0.1", "1", "3", "5", "12", "25", "50"),
    "gaslimit": _pick("21000", "60000", "100000", "250000", "300000"),
    "nonce": lambda rng: str(rng.randint(0, 400)),
    "count": lambda rng: str(rng.randint(2, 12)),
    "pct": _pick("0.5", "1", "3", "5", "12", "49"),
    "hours": lambda rng: str(rng.randint(1, 48)),
    "amount": _amount,
    "coin": _pick("USDT", "ETH", "BNB", "TRX", "BTC", "SOL", "USDC", "MATIC", "ARB", "OP", "DOGE",
                  "SHIB"),
    "words": _pick("12", "24"),
    "dapp": _pick("Uniswap", "PancakeSwap", "SunSwap", "OpenSea", "Curve", "1inch", "JustLend",
                  "Raydium"),
}


@dataclass(frozen=True)
class _Script:
    """How to write ordinary messages in one language or script."""

    name: str  # "en", "zh-Hans" or "zh-Hant"
    lang: str
    frames: tuple[str, ...]
    fillers: dict[str, Filler]
    openers: tuple[str, ...]
    closers: tuple[str, ...]

    def write(self, frame: str, rng: random.Random) -> str:
        """The frame with its slots filled, sometimes with a greeting before or thanks after."""
        text = _SLOT_RE.sub(lambda match: self.fillers[match.group(1)](rng), frame)
        if rng.random() < 0.3:
            text = rng.choice(self.openers) + text
        if rng.random() < 0.3:
            closer = rng.choice(self.closers)
            if self.lang == "en":
                text = text + " " + closer if text[-1] in ".?!" else text
            else:
                text += ("" if text[-1] in "。？！?!" else "，") + closer
        return text


_SLOT_RE = re.compile(r"\{([a-z]+)\d?\}")


def _frames(block: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in block.splitlines() if line.strip())


_ORDINARY_SCRIPTS: tuple[tuple[_Script, float], ...] = (
    (_Script(
        name="en",
        lang="en",
        frames=_frames(_EN_ORDINARY),
        fillers=_COMMON_FILLERS | {
            "chain": _pick("Ethereum", "BNB Chain", "BSC", "TRON", "Polygon", "Arbitrum",
                           "Optimism", "Base", "Solana", "Avalanche"),
            "date": _pick("March 3", "2024-03-15", "15/03/2024", "Jan 28", "Monday",
                          "Friday night", "the 12th"),
            "time": _pick("14:32", "9:05 am", "around midnight", "8 pm", "03:17"),
            "exchange": _pick("Binance", "OKX", "Coinbase", "Kraken", "Bybit", "Gate.io",
                              "KuCoin", "HTX"),
            "device": _pick("iPhone 13", "Pixel 7", "Samsung Galaxy S23", "Xiaomi 13", "iPad"),
            "phone": _en_phone,
        },
        openers=("Hi! ", "Hello. ", "Hey support, quick question. ", "Sorry to bother you. ",
                 "Good evening. ", "Quick question: "),
        closers=("Thanks.", "Thank you!", "Please help.", "Any idea?", "thx"),
    ), 0.4),
    (_Script(
        name="zh-Hans",
        lang="zh",
        frames=_frames(_ZHS_ORDINARY),
        fillers=_COMMON_FILLERS | {
            "chain": _pick("以太坊", "币安链", "BSC", "波场", "Polygon", "马蹄链", "Arbitrum",
                           "Solana", "Base"),
            "date": _pick("3月15日", "2024年3月15日", "昨天", "上周五", "2024-03-15", "前天"),
            "time": _pick("下午3点", "14:32", "晚上十点", "早上8点半", "凌晨两点"),
            "exchange": _pick("币安", "欧易", "OKX", "火币", "Gate", "Bitget"),
            "device": _pick("iPhone 13", "华为Mate 60", "小米14", "OPPO Reno 10", "vivo X100"),
            "phone": _zhs_phone,
        },
        openers=("你好，", "客服你好，", "请问一下，", "麻烦问下，", "在吗？"),
        closers=("谢谢", "谢谢！", "急，在线等", "麻烦了"),
    ), 0.4),
    (_Script(
        name="zh-Hant",
        lang="zh",
        frames=_frames(_ZHT_ORDINARY),
        fillers=_COMMON_FILLERS | {
            "chain": _pick("以太坊", "幣安鏈", "BSC", "波場", "Polygon", "Arbitrum", "Solana"),
            "date": _pick("3月15日", "2024年3月15日", "昨天", "上週五", "2024/03/15", "前天"),
            "time": _pick("下午3點", "14:32", "晚上十點", "早上8點半", "凌晨兩點"),
            "exchange": _pick("幣安", "OKX", "MAX", "BitoPro", "火幣"),
            "device": _pick("iPhone 15", "三星S23", "Pixel 8", "小米13"),
            "phone": _zht_phone,
        },
        openers=("你好，", "客服您好，", "請問一下，", "麻煩問一下，", "在嗎？"),
        closers=("謝謝", "謝謝！", "急，線上等", "麻煩了"),
    ), 0.2),
)


def _script_sentences(script: _Script, quota: int, rng: random.Random) -> list[tuple[str, str]]:
    """`quota` distinct (script name, text), going through the frames in a new order each round."""
    sentences: list[tuple[str, str]] = []
    seen: set[str] = set()
    frames = list(script.frames)
    for _ in range(quota):  # rounds; far more than needed, as nearly every round adds new texts
        rng.shuffle(frames)
        for frame in frames:
            if len(sentences) == quota:
                return sentences
            text = script.write(frame, rng)
            if text not in seen:
                seen.add(text)
                sentences.append((script.name, text))
    raise ValueError(f"cannot write {quota} distinct {script.name} sentences")


def _scripted_sentences(seed: int, n: int) -> list[tuple[str, str]]:
    """The ordinary sentences as (script name, text)."""
    rng = random.Random(f"ordinary/{seed}")
    sentences: list[tuple[str, str]] = []
    remaining = n
    for i, (script, share) in enumerate(_ORDINARY_SCRIPTS):
        quota = remaining if i == len(_ORDINARY_SCRIPTS) - 1 else round(n * share)
        sentences += _script_sentences(script, quota, rng)
        remaining -= quota
    rng.shuffle(sentences)
    return sentences


def ordinary_sentences(seed: int = 0, n: int = 3000) -> list[tuple[str, str]]:
    """`n` distinct (lang, text) support messages that must NOT be redacted, deterministic.

    About 40% English, 40% simplified and 20% traditional Chinese, mixed. They mention recovery
    phrases, private keys and keystores without containing any, run long strings of common words
    (many English words and most common Chinese characters are BIP39 words), and carry
    transaction hashes (with transaction wording), addresses, contract addresses, RPC URLs,
    chain IDs, versions, amounts, dates, order numbers, phone numbers and 6-digit codes.
    """
    return [(_SCRIPT_LANG[name], text) for name, text in _scripted_sentences(seed, n)]


_SCRIPT_LANG = {script.name: script.lang for script, _ in _ORDINARY_SCRIPTS}


# --------------------------------------------------------------------------------------------
# Self-check: python -m assistant.tooling.secret_cases
# --------------------------------------------------------------------------------------------


def _list_runs(script: str, text: str) -> list[tuple[str, list[str]]]:
    """The maximal runs of consecutive BIP39 words (English) or list characters (Chinese), each
    with its word list."""
    wordlists: tuple[str, ...]
    if script == "en":
        wordlists, tokens = ("english",), [t.lower() for t in re.findall(r"[A-Za-z]+", text)]
    else:
        wordlists, tokens = _WORDLISTS[1:], list(text)
    runs = []
    for wordlist in wordlists:
        run: list[str] = []
        for token in [*tokens, ""]:
            if token in _wordset(wordlist):
                run.append(token)
            elif run:
                runs.append((wordlist, run))
                run = []
    return runs


def _bip39_stats(script: str, text: str) -> tuple[int, int]:
    """(longest run of BIP39 words or characters, number of its windows with a valid checksum)."""
    runs = _list_runs(script, text)
    valid = sum(
        _mnemo(wordlist).check(" ".join(run[start : start + size]))
        for wordlist, run in runs
        for size in (12, 15, 18, 21, 24)
        for start in range(len(run) - size + 1)
    )
    return max((len(run) for _, run in runs), default=0), valid


def _verify_encoded(kind: str, text: str, source: bytes) -> bool:
    """A WIF or xprv decodes with a valid checksum back to what it was made from."""
    payload = _b58check_decode(text)
    if kind == "wif":
        compressed = len(payload) == 34
        return payload[:1] == _WIF_VERSION and payload[1:33] == source and (
            payload[33:] == (b"\x01" if compressed else b""))
    return (len(payload) == 78 and payload[:4] == _XPRV_VERSION and payload[45] == 0
            and text == Mnemonic.to_hd_master_key(source))


def _is_keystore(case: SecretCase) -> bool:
    """The case's message holds a keystore v3 (scrypt) JSON whose ciphertext is the case's key."""
    text = case.messages[0]
    document = json.loads(text[text.index("{") : text.rindex("}") + 1])
    crypto = document["crypto"]
    return (document["version"] == 3 and crypto["kdf"] == "scrypt"
            and crypto["ciphertext"] == case.keys[0] and len(bytes.fromhex(crypto["mac"])) == 32)


def _self_check() -> None:
    """Print the shapes and counts and check the secrets, the leak checker and the sentences."""
    from collections import Counter

    drawn = list(_drawn_cases(seed=0, per_shape=3))
    cases = [case for case, _ in drawn]
    counts = Counter(case.shape for case in cases)
    print(f"{len(counts)} shapes, {len(cases)} cases (seed 0, 3 per shape):")
    for shape, count in counts.items():
        example = next(case for case in cases if case.shape == shape).messages[0]
        print(f"  {shape:<22} {count}  {example[:64]!r}")

    phrases = [phrase for _, draw in drawn for phrase in draw.phrases]
    valid = sum(_mnemo(wordlist).check(mnemonic) for wordlist, mnemonic in phrases)
    print(f"phrases: {valid}/{len(phrases)} pass Mnemonic.check (before typos/truncation)")
    encoded = [item for _, draw in drawn for item in draw.encoded]
    for kind, how in (("wif", "base58check, version 0x80"),
                      ("xprv", "base58check, 78 bytes, == Mnemonic.to_hd_master_key(seed)")):
        items = [item for item in encoded if item[0] == kind]
        good = sum(_verify_encoded(*item) for item in items)
        print(f"{kind}: {good}/{len(items)} verify ({how})")
    hex_keys = [key for case in cases if case.shape.startswith("hex_") for key in case.keys]
    good = sum(len(key) == 64 and 0 < int(key, 16) < _SECP256K1_ORDER for key in hex_keys)
    print(f"hex keys: {good}/{len(hex_keys)} are 64 hex digits and valid secp256k1 keys")
    keystores = [case for case in cases if case.shape == "keystore_json"]
    good = sum(_is_keystore(case) for case in keystores)
    print(f"keystores: {good}/{len(keystores)} are v3 scrypt JSON holding the case's ciphertext")
    bip173 = _segwit_address(bytes.fromhex("751e76e8199196d454941c45d1b3a323f1433bd6"))
    print(f"bech32 BIP173 vector: {bip173 == 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4'}")
    print(f"deterministic: {secret_cases(0) == cases}, seeds differ: {secret_cases(1) != cases}")

    own = sum(bool(leaks(case, "\n".join(case.messages))) for case in cases)
    escaped = sum(bool(leaks(case, json.dumps(json.dumps(list(case.messages))))) for case in cases)
    clean = sum(not leaks(case, "unrelated text") for case in cases)
    print(f"leaks in own messages: {own}/{len(cases)}; in double-JSON-escaped messages: "
          f"{escaped}/{len(cases)}; none in 'unrelated text': {clean}/{len(cases)}")

    scripted = _scripted_sentences(seed=0, n=3000)
    sentences = ordinary_sentences()
    frames = ", ".join(f"{script.name} {len(script.frames)}" for script, _ in _ORDINARY_SCRIPTS)
    print(f"ordinary sentences: {len(sentences)} ({len(set(sentences))} distinct), by script "
          f"{dict(Counter(name for name, _ in scripted))}; frames: {frames}")
    ordinary_blob = "\n".join(text for _, text in sentences)
    print(f"cases leaking into the ordinary sentences: "
          f"{sum(bool(leaks(case, ordinary_blob)) for case in cases)}")
    for script, _ in _ORDINARY_SCRIPTS:
        stats = [_bip39_stats(script.name, text) for name, text in scripted if name == script.name]
        print(f"ordinary {script.name}: longest run of BIP39 words/characters "
              f"{max(longest for longest, _ in stats)}; sentences with a checksum-valid window of "
              f"12+ {sum(valid > 0 for _, valid in stats)} (natural text all the same)")

    _time_big_blob()


def _time_big_blob() -> None:
    """Time `leaks` for 500 cases over a 5 MB blob (a mixed raw/JSON log) with 3 planted leaks."""
    cases = secret_cases(seed=7, per_shape=6)[:500]
    rng = random.Random("blob")
    lines: list[str] = []
    size, seed = 0, 100
    while size < 5_000_000:
        for lang, text in ordinary_sentences(seed=seed):
            line = json.dumps({"lang": lang, "text": text}) if rng.random() < 0.5 else text
            lines.append(line)
            size += len(line.encode()) + 1
        seed += 1
    planted = {3: "raw", 250: "json", 480: "raw"}
    for index, style in planted.items():
        text = "\n".join(cases[index].messages)
        lines.insert(rng.randrange(len(lines)), json.dumps(text) if style == "json" else text)
    blob = "\n".join(lines)
    start = time.perf_counter()
    found = [i for i, case in enumerate(cases) if leaks(case, blob)]
    elapsed = time.perf_counter() - start
    print(f"leaks over a {len(blob.encode()) / 1e6:.1f} MB blob for {len(cases)} cases: "
          f"{elapsed:.2f} s; found {found} (planted {sorted(planted)})")


if __name__ == "__main__":
    _self_check()
