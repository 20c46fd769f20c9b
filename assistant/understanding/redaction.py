"""Recovery phrases and private keys in user text, found in every shape a person types.

Redaction runs before anything else reads a message, so retrieval, logs, tickets and replies
only ever see the placeholder. A phrase is found as a run of BIP39 words (English, simplified
or traditional Chinese lists shipped by `mnemonic`, and any other list a registered
language declares) whatever separates or numbers them, with
typos (one edit per word), 4-letter prefixes and partial runs; a key as hex (64 digits),
WIF (checksum-verified), an extended private key, a Solana secret or a keystore file.

Ordinary sentences use list words all the time, so every rule weighs how list-like a run is:
English prose breaks runs with words that are not on the list ("the", "to", "my") and uses
the list's most frequent words; Chinese prose is made of dictionary words, while a phrase's
characters are drawn at random (English: `assistant/data/`, from `scripts/make-wordlists`;
Chinese: jieba's word frequencies).
`SessionWindow` catches a phrase typed over several messages of one conversation.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from mnemonic import Mnemonic

from assistant.core import languages
from assistant.understanding.text import to_simplified, word_log_probability

PHRASE_MARK = "[REDACTED RECOVERY PHRASE]"
KEY_MARK = "[REDACTED PRIVATE KEY]"
PHRASE_LENGTHS = (12, 15, 18, 21, 24)
#: A run this long is a phrase whatever surrounds it (11 of 12 words is as good as 12).
STRONG_WORDS = 11
#: A shorter run is a phrase when it is typed like a list, near a hint, or not like prose.
PARTIAL_WORDS = 6
#: English list words this frequent (zipf, log10 per billion words: "what" 6.5, "please"
#: 5.7, "sausage" 3.8) are everyday chat, not evidence of a phrase.
EVERYDAY_ZIPF = 5.5
#: Chinese: single characters needed between separators; pairs or threes need 11.
PARTIAL_CHARS = 8
HINT_CHARS = 11
#: Chinese naturalness (log probability per character under a word model) below which a run
#: of list characters reads as random, where a checksum also holds. Chosen on 20,000 random
#: phrases (99.9% below -8.2) and every 12-character window of the KB, eval, blind and
#: safety sentences (none below -7.95).
ZH_RANDOM_BELOW = -7.9
#: Stricter where no checksum confirms the run (typos, partial phrases).
ZH_HINT_BELOW = -8.25

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_WORD = re.compile(r"[A-Za-z]+")
_HAN = re.compile(r"[\u3400-\u9fff]+")
#: What may stand between two words of a typed phrase: spaces, punctuation of either width,
#: numbering (1. 1) 1: 1： (1) #1 第1个 ①), bullets, quotes, brackets, joiners.
_SEP = re.compile(r"^(?:[\s\d.,;:：；、，。()（）\[\]{}<>《》\"'“”‘’`*•·#+_|/\\\-–—=~>]"
                  r"|第\d+[个個]?|[①-⑳㉑-㉟]|\\n|\\t)*$")
_SEP_MAX = 14
_LISTY = re.compile(r"[\d,;:：；、，\n\r\t*•#+_|/\"'“”‘’`\[\]()①-⑳]|\\n")
_HINT = re.compile(
    r"助记词|助記詞|记词|記詞|恢复词|恢復詞|备份词|備份詞|私钥|私鑰|密钥|密鑰|秘钥|钱包词|單詞|单词|"
    r"seed|phrase|mnemonic|recovery|secret|backup|words?\b|pass\s*phrase",
    re.IGNORECASE)

# Keys ------------------------------------------------------------------------------------
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_HEX64 = re.compile(r"(?<![0-9a-zA-Z])(0x)?([0-9a-fA-F]{64})(?![0-9a-zA-Z])")
_HEX_GROUPS = re.compile(r"(?<![0-9a-fA-F])(?:[0-9a-fA-F]{8,32}[\s\-:_]+){1,7}[0-9a-fA-F]{8,32}"
                         r"(?![0-9a-fA-F])")
_WIF = re.compile(r"(?<![1-9A-Za-z])[59KLc][1-9A-HJ-NP-Za-km-z]{50,51}(?![1-9A-Za-z])")
_XPRV = re.compile(r"(?<![0-9A-Za-z])[xyztuvYZUV]pr[vi]v?[1-9A-HJ-NP-Za-km-z]{100,112}",
                   re.IGNORECASE)
_LONG_B58 = re.compile(r"(?<![1-9A-Za-z])[1-9A-HJ-NP-Za-km-z]{80,90}(?![1-9A-Za-z])")
_BYTE_ARRAY = re.compile(r"\[\s*(?:\d{1,3}\s*,\s*){63}\d{1,3}\s*\]")
_KEYSTORE = re.compile(r"\{[^{}]*(?:\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}[^{}]*)*\}", re.DOTALL)
_KEYSTORE_FIELD = re.compile(r"ciphertext|kdfparams|cipherparams", re.IGNORECASE)
_KEY_WORDS = re.compile(
    r"private|priv\b|privkey|\bpk\b|\bkey\b|keys\b|secret|export|私钥|私鑰|密钥|密鑰|秘钥|秘鑰|钥匙|鑰匙",
    re.IGNORECASE)
_HASH_WORDS = re.compile(
    r"\btx|txid|txn|hash|transaction|explorer|scan\.|/tx/|/transaction/|pending|stuck|"
    r"confirm|arriv|credit|deposit|withdr|sent\b|received|fail|[te]rc-?20|bep-?20|交易|哈希|失败|失敗|"
    r"转出|轉出|转入|轉入|到账|到帳|没到|沒到|收到|提币|提幣|提的|提现|提現|充值|充币|確認|确认|区块|區塊|"
    r"浏览器|瀏覽器|单号|單號|记录|紀錄|被黑|被盗|被盜|盗走|盜走|这笔|這筆|打包|加速|处理中|處理中|"
    r"speed|accelerat",
    re.IGNORECASE)


@dataclass(frozen=True)
class Redaction:
    """The text with secrets replaced, what was found, and the raw spans that were removed."""

    text: str
    phrase: bool = False
    private_key: bool = False
    removed: tuple[str, ...] = ()
    held: str = ""  # the end of the text, kept in memory in case a phrase goes on

    @property
    def found(self) -> bool:
        return self.phrase or self.private_key

    @property
    def loggable(self) -> str:
        """The text with a possible phrase start left out too: a log cannot be scrubbed."""
        return self.text.replace(self.held, "[...]") if self.held else self.text


# ------------------------------------------------------------------------------ word lists

@dataclass(frozen=True)
class _English:
    words: frozenset[str]
    prefixes: dict[str, str]   # unique 4-letter prefix -> word
    deletes: dict[str, str]    # word with one letter deleted -> word
    common: frozenset[str]     # list words of everyday chat (and of wallet support)
    prose: frozenset[str]      # frequent words not on the list (never a misspelt list word)
    zipf: dict[str, float]     # list word -> frequency in English (log10 per billion words)


#: List words that a wallet's users write all the time: prose here, not a phrase.
_WALLET_WORDS = frozenset(
    "account add address again agent amount approve arrive asset balance bridge card cash "
    "check code coin confirm connect cost credit custom day deposit device energy error "
    "exchange fee gas help hour install issue label limit link lock market minute mobile "
    "month morning name network night online permit phone please price problem question "
    "receive remove reward right risk safe scan screen security sell sign still success swap "
    "tag ticket time today token trade transfer unlock update upgrade verify version wrong "
    "year".split())


@lru_cache(maxsize=1)
def _english() -> _English:
    words = Mnemonic("english").wordlist
    deletes: dict[str, str] = {}
    for w in words:
        for i in range(len(w)):
            deletes.setdefault(w[:i] + w[i + 1:], w)
    _, prose, freqs = _data_sections("english_common.txt")
    zipf = {w: float(f) for w, f in (line.split() for line in freqs)}
    everyday = frozenset(w for w, f in zipf.items() if f >= EVERYDAY_ZIPF)
    return _English(frozenset(words), {w[:4]: w for w in words if len(w) > 4}, deletes,
                    everyday | _WALLET_WORDS, frozenset(prose), zipf)


@dataclass(frozen=True)
class _Chinese:
    rank: dict[str, int]  # character -> frequency rank (the two scripts' lists share ranks)
    lists: tuple[Mnemonic, Mnemonic]


@lru_cache(maxsize=1)
def _chinese() -> _Chinese:
    simplified, traditional = Mnemonic("chinese_simplified"), Mnemonic("chinese_traditional")
    rank = {c: i + 1 for i, c in enumerate(simplified.wordlist)}
    for i, c in enumerate(traditional.wordlist):
        rank.setdefault(c, i + 1)
    return _Chinese(rank, (simplified, traditional))


def _data_sections(name: str) -> list[list[str]]:
    """The lines of a data file, split at `[section]` headers; comments skipped."""
    text = resources.files("assistant").joinpath("data", name).read_text(encoding="utf-8")
    sections: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith("[") and line.endswith("]"):
            if sections[-1]:
                sections.append([])
            continue
        sections[-1].append(line.strip())
    return sections


# ------------------------------------------------------------------------------ English

#: Words that name a phrase rather than belong to one: those on the list may stand inside a
#: run (a phrase can hold "secret" or "key") but never count as one of its words; the
#: others ("phrase", "mnemonic") end a run.
_EN_HINT_WORDS = frozenset("seed phrase mnemonic words word recovery secret backup private key "
                           "keys wallet".split())
#: Words too common to be a typo of a list word: they end a run.
_EN_FUNCTION = frozenset(
    "a an the i me my we our you your it its is are was were be been am do does did to of in "
    "on at for from and or but so if can could would should will how what why when where "
    "which who this that these those there here with about into not no".split())


@dataclass
class _Run:
    """Consecutive list-like words: (start, end, kind, list word), kind 'exact', 'near'
    (one edit or a 4-letter prefix away) or 'miss' (a typo too far to place)."""

    tokens: list[tuple[int, int, str, str]] = field(default_factory=list)
    listy: int = 0  # gaps that only a list uses (numbers, commas, new lines, quotes...)

    def trimmed(self) -> list[tuple[int, int, str, str]]:
        toks = self.tokens
        while toks and (toks[-1][2] == "miss" or toks[-1][2:] == ("hint", "")):
            toks = toks[:-1]
        while toks and toks[0][2:] == ("hint", ""):
            toks = toks[1:]
        return toks

    @property
    def hits(self) -> int:
        return sum(k in ("exact", "near") for _s, _e, k, _w in self.trimmed())

    @property
    def words(self) -> int:
        """Words that may belong to a phrase, hint words included ("secret" is on the list)."""
        return sum(k != "miss" for _s, _e, k, _w in self.trimmed())

    @property
    def span(self) -> tuple[int, int]:
        toks = self.trimmed()
        return toks[0][0], toks[-1][1]


def _classify(token: str) -> tuple[str, str]:
    """('exact'|'near'|'miss'|'other', the list word it stands for). A miss is a word that
    could be a bad typo (not a known English word); 'other' ends a run."""
    en = _english()
    w = token.lower()
    if w in _EN_HINT_WORDS:  # "phrase" ends a run; "secret" may be one of its words
        return ("hint", w) if w in en.words else ("other", "")
    if w in en.words:
        return "exact", w
    if len(w) == 4 and w in en.prefixes:
        return "near", en.prefixes[w]
    if len(w) >= 4 and w not in en.prose:
        found = _near(w, en)
        if found:
            return "near", found
    if len(w) >= 3 and w not in _EN_FUNCTION:
        return "miss", ""
    return "other", ""


def _near(w: str, en: _English) -> str | None:
    """A list word one edit away (substitution, insertion, deletion, adjacent swap)."""
    if w in en.deletes:
        return en.deletes[w]
    for i in range(len(w)):
        d = w[:i] + w[i + 1:]
        if d in en.words:
            return d
        if d in en.deletes:
            return en.deletes[d]
    return None


def _english_runs(text: str) -> list[_Run]:
    """Runs of list words joined by separators a typed phrase uses; a bad typo may stand in
    for one word in four (never two in a row)."""
    runs: list[_Run] = []
    run = _Run()
    prev_end = -1

    def flush() -> None:
        nonlocal run
        if run.hits:
            runs.append(run)
        run = _Run()

    for m in _WORD.finditer(text):
        kind, word = _classify(m.group(0))
        gap = text[prev_end:m.start()] if prev_end >= 0 else ""
        joined = bool(run.tokens) and len(gap) <= _SEP_MAX and _SEP.match(gap) is not None
        if not joined:
            flush()
        if kind == "hint" and run.tokens and run.tokens[-1][2] == "hint":
            run.tokens.pop()  # "seed phrase", "private key": a name for a phrase, not one
            flush()
            prev_end = -1
            continue
        if kind == "other" or (kind == "miss" and (
                not run.tokens or run.tokens[-1][2] == "miss"
                or sum(k == "miss" for *_, k, _w in run.tokens) >= 1 + run.hits // 4)):
            flush()
            prev_end = m.end()
            if kind == "other":
                prev_end = -1
            continue
        if run.tokens and _LISTY.search(gap):
            run.listy += 1
        run.tokens.append((m.start(), m.end(), kind, word))
        prev_end = m.end()
    flush()
    return runs


def _english_is_phrase(run: _Run, hint: bool, pure: bool = False) -> bool:
    """Eleven words are a phrase anywhere unless nearly all are everyday words; eight to
    ten when typed as a list, after a hint or made of words prose seldom uses; six or seven
    only when all of that points to it, or when they are the whole message. (`hint`: a hint
    word just before or after the run; `pure`: the message holds no other word.)"""
    hits = run.hits
    if hits < PARTIAL_WORDS:
        return False
    en = _english()
    toks = run.trimmed()
    rare = sum(1 for *_, k, w in toks if k in ("exact", "near") and w not in en.common)
    if hits >= STRONG_WORDS:
        return rare >= 4
    listy = run.listy >= (len(toks) - 1) * 2 // 3
    if hits >= 8:
        return ((listy or hint) and rare >= hits // 2) or rare >= hits - 3
    return ((listy or hint) and rare >= hits - 1) or (pure and rare >= hits - 2) \
        or (hits == 7 and rare >= 6)


def _core(run: _Run) -> _Run:
    """The run without everyday words at its ends ("please check" before a phrase)."""
    common = _english().common
    toks = run.trimmed()
    while toks and toks[0][3] in common:
        toks = toks[1:]
    while toks and toks[-1][3] in common:
        toks = toks[:-1]
    core = _Run(toks, run.listy)
    return core if core.trimmed() else run


def _redact_english(text: str) -> list[tuple[int, int]]:
    hints = [m.span() for m in _HINT.finditer(text)]
    spans = []
    for whole in _english_runs(text):
        for run in (whole, _core(whole)):
            if not run.hits:
                continue
            start, end = run.span
            hint = any(start - 60 <= b <= start or end <= a <= end + 40 for a, b in hints)
            rest = text[:start] + text[end:]
            pure = not _WORD.search(rest) and not _HAN.search(rest)
            if _english_is_phrase(run, hint, pure):
                spans.append(whole.span)
                break
    return spans


# ------------------------------------------------------------------------------ Chinese

def naturalness(chars: str) -> float:
    """How well a word model explains `chars`: the log probability per character of the best
    segmentation under jieba's word frequencies (traditional characters read as simplified).
    Prose is made of frequent words (above about -7.9); characters drawn at random from the
    list are not (below)."""
    simple = to_simplified(chars)
    return word_log_probability(simple) / len(simple) if simple else 0.0


def _listed(c: str) -> bool:
    return c in _chinese().rank


def _checksum_ok(chars: str) -> bool:
    zh = _chinese()
    spaced = " ".join(chars)
    return any(all(c in m.wordlist for c in chars) and m.check(spaced) for m in zh.lists)


def _redact_chinese(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    spans += _chinese_separated(text)
    for m in _HAN.finditer(text):
        if len(m.group(0)) >= 11:
            spans += _chinese_glued(m.group(0), m.start())
    return spans


def _chinese_separated(text: str) -> list[tuple[int, int]]:
    """Chinese typed in pieces with separators between them: single characters, pairs or
    threes (a phrase when they add up to a phrase's worth and do not read as prose), across
    a short lead-in such as 后六个：; and longer pieces read together as one run."""
    spans = []
    run: list[re.Match[str]] = []

    def close() -> None:
        chars = "".join(m.group(0) for m in run)
        unlisted = sum(not _listed(c) for c in chars)
        singles = all(len(m.group(0)) == 1 for m in run)
        enough = len(chars) >= (PARTIAL_CHARS if singles else HINT_CHARS)
        if enough and len(run) >= 4 and unlisted <= 1 + len(chars) // 12:
            if singles or naturalness(chars) < ZH_RANDOM_BELOW:
                spans.append((run[0].start(), run[-1].end()))

    last_end = 0
    bridged = False
    for m in _HAN.finditer(text):
        tok = m.group(0)
        gap = text[last_end:m.start()] if run else ""
        same = run and len(run[-1].group(0)) == len(tok)  # singles, pairs or threes
        if len(tok) <= 3 and same and (gap or bridged) and len(gap) <= _SEP_MAX \
                and _SEP.match(gap):
            run.append(m)
            last_end, bridged = m.end(), False
            continue
        bridge = _BRIDGE.match(text, m.end())
        if run and len(run[-1].group(0)) == 1 and len(tok) <= 4 and bridge and (
                not gap.strip() or _SEP.match(gap)):
            last_end, bridged = bridge.end(), True  # "后六个：" between two stretches
            continue
        close()
        run = [m] if len(tok) <= 3 else []
        last_end, bridged = m.end(), False
    close()
    # Longer pieces with only spaces between them: read as one run (6 + 6 characters).
    pieces = [m for m in _HAN.finditer(text) if len(m.group(0)) >= 4]
    group: list[re.Match[str]] = []
    ends: list[re.Match[str] | None] = [*pieces, None]
    for piece in ends:
        gap = text[group[-1].end():piece.start()] if piece is not None and group else ""
        if piece is not None and group and gap and not gap.strip() and len(gap) <= 3:
            group.append(piece)
            continue
        if len(group) >= 2:
            stream = "".join(g.group(0) for g in group)
            for a, b in _chinese_glued(stream, 0):
                spans.append((_stream_pos(group, a), _stream_pos(group, b - 1) + 1))
        group = [piece] if piece is not None else []
    return spans


def _stream_pos(group: list[re.Match[str]], i: int) -> int:
    """Where the i-th character of the joined pieces is in the text."""
    for m in group:
        if i < len(m.group(0)):
            return m.start() + i
        i -= len(m.group(0))
    return group[-1].end() - 1


def _chinese_glued(run: str, offset: int) -> list[tuple[int, int]]:
    """Phrases inside a run of Chinese text (glued to other words, with or without a hint):
    a window of a phrase's length whose checksum holds and which does not read as prose; or,
    typos and partial phrases included, 11 or 12 characters that read as drawn at random."""
    spans = []
    for length in PHRASE_LENGTHS:
        for i in range(0, len(run) - length + 1):
            window = run[i:i + length]
            if all(_listed(c) for c in window) and _checksum_ok(window) \
                    and naturalness(window) < ZH_RANDOM_BELOW:
                spans.append((offset + i, offset + i + length))
    for length in (12, 11):
        if len(run) < length:
            continue
        for i in range(0, len(run) - length + 1):
            window = run[i:i + length]
            listed = "".join(c for c in window if _listed(c))
            if len(listed) >= 11 and _few_common(listed) and naturalness(listed) < ZH_HINT_BELOW:
                spans.append((offset + i, offset + i + length))
        if spans:
            break
    return spans


def _few_common(chars: str) -> bool:
    """A cheap filter before the word model: prose is full of the 100 most frequent
    characters (的, 了, 我, 是...); a random draw from 2,048 holds few of them."""
    rank = _chinese().rank
    return sum(rank[c] <= 100 for c in chars) <= 4


# ------------------------------------------------------------------------------ keys

def _b58decode(s: str) -> bytes | None:
    n = 0
    for c in s:
        i = _B58.find(c)
        if i < 0:
            return None
        n = n * 58 + i
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    pad = len(s) - len(s.lstrip("1"))
    return b"\x00" * pad + raw


def _b58check(s: str) -> bool:
    raw = _b58decode(s)
    if raw is None or len(raw) < 5:
        return False
    body, check = raw[:-4], raw[-4:]
    return hashlib.sha256(hashlib.sha256(body).digest()).digest()[:4] == check


def _key_spans(text: str, expect_hash: bool = False) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for m in _KEYSTORE.finditer(text):
        if _KEYSTORE_FIELD.search(m.group(0)):
            spans.append(m.span())
    for m in _WIF.finditer(text):
        if _b58check(m.group(0)):
            spans.append(m.span())
    spans += [m.span() for m in _XPRV.finditer(text)]
    spans += [m.span() for m in _LONG_B58.finditer(text)]
    spans += [m.span() for m in _BYTE_ARRAY.finditer(text)]
    for m in _HEX64.finditer(text):
        if _hex_is_key(text, m.start(), m.end(), expect_hash):
            spans.append(m.span())
    for m in _HEX_GROUPS.finditer(text):
        digits = re.sub(r"[^0-9a-fA-F]", "", m.group(0))
        if len(digits) == 64 and " " in m.group(0) or len(digits) == 64 and "-" in m.group(0):
            spans.append(m.span())
    return spans


def _hex_is_key(text: str, start: int, end: int, expect_hash: bool = False) -> bool:
    """64 hex digits are a key or a transaction hash; they look the same. The words just
    before decide; then the message's words; with no word either way it is a key, unless
    a hash was asked for."""
    before = text[max(0, start - 40):start]
    after = text[end:end + 16]
    key_near = [m.end() for m in _KEY_WORDS.finditer(before)]
    hash_near = [m.end() for m in _HASH_WORDS.finditer(before)]
    if key_near or hash_near:
        return max(key_near, default=-1) >= max(hash_near, default=-1)
    if _KEY_WORDS.search(after):
        return True
    if _HASH_WORDS.search(after):
        return False
    if _KEY_WORDS.search(text):
        return True
    return not expect_hash and _HASH_WORDS.search(text) is None


# ------------------------------------------------------------- other registered lists

#: The lists with their own tuned rules above; any other list a registered language declares
#: (Spanish, French, ...) is caught by the plainer rule below.
_TUNED_LISTS = frozenset({"english", "chinese_simplified", "chinese_traditional"})
_LATIN_WORD = re.compile(r"(?:[^\W\d_]|[\u0300-\u036f])+")  # letters and their accents


def _fold(word: str) -> str:
    """Lower case without accents: people type "arbol" for "árbol"."""
    return "".join(c for c in unicodedata.normalize("NFKD", word.lower())
                   if not unicodedata.combining(c))


@lru_cache(maxsize=8)
def _word_lists(names: tuple[str, ...]) -> tuple[frozenset[str], ...]:
    return tuple(frozenset(_fold(w) for w in Mnemonic(n).wordlist) for n in names)


def _redact_other_lists(text: str) -> list[tuple[int, int]]:
    """Runs of at least `STRONG_WORDS` words of one other registered BIP39 list, whatever
    separates or numbers them. Prose in any language breaks such runs with short function
    words, which no list contains."""
    names = tuple(sorted({n for lang in languages.all_languages() for n in lang.bip39}
                         - _TUNED_LISTS))
    if not names:
        return []
    words = [(m.start(), m.end(), _fold(m.group(0))) for m in _LATIN_WORD.finditer(text)]
    spans: list[tuple[int, int]] = []
    for wordlist in _word_lists(names):
        run: list[tuple[int, int, str]] = []
        for w in [*words, (len(text), len(text), "")]:
            if w[2] and w[2] in wordlist:
                run.append(w)
                continue
            if len(run) >= STRONG_WORDS:
                spans.append((run[0][0], run[-1][1]))
            run = []
    return spans


# ------------------------------------------------------------------------------ entry

def redact(text: str, *, expect_hash: bool = False) -> Redaction:
    """Replace recovery phrases and private keys in `text`; say what was found.

    `expect_hash`: the text answers a request for a transaction hash, so 64 hex digits with
    no word about a key are the hash (words about a key still make them a key).
    """
    text = _ZERO_WIDTH.sub("", text)
    key = _merge(_key_spans(text, expect_hash))
    masked = _HINT.sub(lambda m: " " * len(m.group(0)), text)  # a hint is never phrase
    phrase = _merge(_redact_english(text)
                    + _redact_chinese(masked)
                    + _redact_other_lists(masked))
    phrase = [s for s in phrase if not any(k[0] <= s[0] and s[1] <= k[1] for k in key)]
    spans = _merge([(a, b, PHRASE_MARK) for a, b in phrase] + [(a, b, KEY_MARK) for a, b in key])
    out = text
    removed = []
    for a, b, mark in sorted(spans, reverse=True):
        removed.append(text[a:b])
        out = out[:a] + mark + out[b:]
    return Redaction(out, phrase=any(m == PHRASE_MARK for *_, m in spans),
                     private_key=any(m == KEY_MARK for *_, m in spans),
                     removed=tuple(reversed(removed)))


def _merge(spans: list) -> list:
    """Overlapping spans joined (the first span's extra fields win)."""
    out: list = []
    for s in sorted(spans):
        if out and s[0] <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], s[1]), *out[-1][2:])
        else:
            out.append(tuple(s))
    return out


# ------------------------------------------------------------------------------ sessions

@dataclass(frozen=True)
class _Edge:
    """Phrase-like text at one end of a message: how many words (Chinese characters, hex
    digits) it holds, where it is, and how it was typed."""

    kind: str  # "en", "zh" or "hex"
    size: int
    span: tuple[int, int]
    listy: bool
    pure: bool  # the message holds nothing else

    def raw(self, text: str) -> str:
        return text[self.span[0]:self.span[1]]


@dataclass
class _Tail:
    """The end of a session's last message when it could begin a phrase (memory only)."""

    edge: _Edge
    size: int
    raw: tuple[str, ...]
    hint: bool
    pure: bool
    expires: float


class SessionWindow:
    """Catches a phrase or key typed over several messages of one conversation.

    Only the phrase-like end of the last message is kept, in this process's memory, for
    `ttl` seconds: never written anywhere. When the next message starts where it stopped and
    together they make a phrase (or 64 hex digits), the new part is redacted and the earlier
    raw parts are returned, for the caller to scrub from storage.
    """

    def __init__(self, ttl: float = 600.0, max_sessions: int = 10_000) -> None:
        self.ttl = ttl
        self.max_sessions = max_sessions
        self._tails: OrderedDict[str, _Tail] = OrderedDict()
        self._removed: OrderedDict[str, tuple[float, tuple[str, ...]]] = OrderedDict()
        self._lock = threading.Lock()

    def scrub_known(self, session_id: str | None, text: str) -> Redaction:
        """`text` (feedback on a message, say) with every part of a phrase this session
        already sent replaced, and the usual redaction."""
        red = redact(text)
        with self._lock:
            expires, parts = self._removed.get(session_id or "", (0.0, ()))
        if expires < time.monotonic():
            return red
        clean = red.text
        for part in sorted(parts, key=len, reverse=True):
            clean = clean.replace(part, PHRASE_MARK)
        if clean == red.text:
            return red
        return Redaction(clean, phrase=True, private_key=red.private_key, removed=red.removed)

    def redact(self, session_id: str | None, text: str, *, expect_hash: bool = False
               ) -> tuple[Redaction, tuple[str, ...]]:
        """The redaction of `text` in its session, and earlier raw parts to scrub."""
        red = redact(text, expect_hash=expect_hash)
        if not session_id:
            return red, ()
        text = _ZERO_WIDTH.sub("", text)
        now = time.monotonic()
        with self._lock:
            tail = self._tails.pop(session_id, None)
        if tail is not None and tail.expires < now:
            tail = None
        hint = bool(_HINT.search(text))
        heads, tails = _edges(text)
        head = heads.get(tail.edge.kind) if tail is not None else None
        scrub: tuple[str, ...] = ()
        if tail is not None and head is not None:
            size = tail.size + head.size
            pure = tail.pure and head.pure
            # A message that is nothing but the continuation counts as typed like a list.
            if _continues(head.kind, size, tail.edge.listy or head.listy, tail.hint or hint,
                          head.pure) and not _reads_as_prose(
                              head.kind, "".join(tail.raw) + " " + head.raw(text)):
                raw = head.raw(text)
                clean = red.text.replace(raw, PHRASE_MARK if head.kind != "hex" else KEY_MARK)
                red = Redaction(clean, phrase=red.phrase or head.kind != "hex",
                                private_key=red.private_key or head.kind == "hex",
                                removed=red.removed + (raw,))
                scrub = tail.raw
                self._remember(session_id, (*tail.raw, raw), now)
                if tails.get(head.kind) == head:  # the message continued the phrase only
                    self._keep(session_id, _Tail(head, size, tail.raw + (raw,),
                                                 tail.hint or hint, pure, now + self.ttl))
                    return red, scrub
        last = max(tails.values(), key=lambda e: e.span[1], default=None)
        if last is not None:  # kept even when redacted: the phrase may go on
            raw = last.raw(text)
            self._keep(session_id, _Tail(last, last.size, (raw,), hint, last.pure,
                                         now + self.ttl))
            if raw in red.text and _looks_begun(last, raw, text, hint):
                mark = KEY_MARK if last.kind == "hex" else PHRASE_MARK
                red = Redaction(red.text.replace(raw, mark), phrase=red.phrase or mark ==
                                PHRASE_MARK, private_key=red.private_key or mark == KEY_MARK,
                                removed=red.removed + (raw,))
                self._remember(session_id, (raw,), now)
            elif raw in red.text:
                red = Redaction(red.text, red.phrase, red.private_key, red.removed, held=raw)
        return red, scrub

    def _keep(self, session_id: str, tail: _Tail) -> None:
        with self._lock:
            self._tails[session_id] = tail
            while len(self._tails) > self.max_sessions:
                self._tails.popitem(last=False)

    def _remember(self, session_id: str, parts: tuple[str, ...], now: float) -> None:
        """The raw parts of a phrase this session typed, to remove them from later text."""
        with self._lock:
            _, known = self._removed.pop(session_id, (0.0, ()))
            self._removed[session_id] = (now + self.ttl, tuple(dict.fromkeys((*known, *parts))))
            while len(self._removed) > self.max_sessions:
                self._removed.popitem(last=False)


def _looks_begun(edge: _Edge, raw: str, text: str, hint: bool) -> bool:
    """Whether the end of a message is most likely the first part of a phrase or key, and
    is removed at once rather than stored and scrubbed later: four or more words of the
    list that prose seldom uses, alone in the message or after a hint; Chinese list
    characters that read as random (not as prose), alone, after a hint or typed as a list; 16 or more hex digits
    alone or next to words about a key."""
    if edge.kind == "hex":  # 64 digits or more were judged whole by `redact`
        return 16 <= edge.size < 64 and (edge.pure or _KEY_WORDS.search(text) is not None)
    if edge.size < 4 or not (edge.pure or hint or edge.listy):
        return False
    if edge.kind == "zh":  # list characters that read as prose are a question, not a phrase
        return naturalness(raw) < ZH_HINT_BELOW
    words = [w for _s, _e, kind, w in _english_runs(raw)[0].trimmed() if kind != "miss"] \
        if _english_runs(raw) else []
    common = _english().common
    return sum(w not in common for w in words) >= len(words) - 1


def _reads_as_prose(kind: str, joined: str) -> bool:
    """Whether the parts joined read as language rather than a phrase: Chinese that a word
    model explains, English whose words are mostly everyday ones ("please help check account
    balance" is all list words)."""
    if kind == "zh":
        return naturalness("".join(_HAN.findall(joined))) >= ZH_HINT_BELOW
    if kind == "en":
        words = [w.lower() for w in _WORD.findall(joined)]
        common = _english().common
        return bool(words) and sum(w in common for w in words) * 2 > len(words)
    return False


def _continues(kind: str, size: int, listy: bool, hint: bool, pure: bool) -> bool:
    """Whether the parts of two or more messages together make a phrase or a key."""
    if kind == "hex":  # a key is 64 digits: two parts of a hash and an address are not
        return size == 64
    if kind == "zh":
        return size >= HINT_CHARS or (size >= PARTIAL_CHARS and (hint or listy or pure))
    return size >= STRONG_WORDS or (size >= 8 and (listy or hint or pure))


_BRIDGE = re.compile(r"[:：]\s*")
_LEAD_IN = re.compile(r"^[^:：]{0,16}[:：]")
_EDGE_LEAD = re.compile(r"^[^A-Za-z\u3400-\u9fff]*$")
_HEX_RUN = re.compile(r"(?:0x)?([0-9a-fA-F]{16,})")


def _edges(text: str) -> tuple[dict[str, _Edge], dict[str, _Edge]]:
    """The phrase-like text at the start and at the end of a message, by kind."""
    heads: dict[str, _Edge] = {}
    tails: dict[str, _Edge] = {}
    masked = _HINT.sub(lambda m: " " * len(m.group(0)), text)
    runs = _english_runs(text)
    if runs:
        for run, bucket in ((runs[0], heads), (runs[-1], tails)):
            a, b = run.span
            rest = text[:a] + text[b:]
            edge = _Edge("en", run.words, (a, b), run.listy > 0,
                         not _WORD.search(rest) and not _HAN.search(rest))
            before = masked[:a].rstrip()
            at_start = _EDGE_LEAD.match(before) is not None or before[-1:] in (":", "：")
            if (bucket is heads and at_start) or (bucket is tails and _EDGE_LEAD.match(
                    text[b:])):
                bucket["en"] = edge
    lead, trail = _chinese_edges(masked)
    if lead:
        heads["zh"] = lead
    if trail:
        tails["zh"] = trail
    # Hex that may be half a key: at the very start or end of the message, shorter than a
    # whole key, and not an address (0x and 40 digits) or a hash quoted whole.
    hexes = [m for m in _HEX_RUN.finditer(text) if len(m.group(1)) < 64
             and not (m.group(0)[:2].lower() == "0x" and len(m.group(1)) == 40)]
    if hexes:
        first, last = hexes[0], hexes[-1]
        before = masked[:first.start()].rstrip()
        if _EDGE_LEAD.match(before) or before[-1:] in (":", "："):
            rest = (text[:first.start()] + text[first.end():]).strip()
            heads["hex"] = _Edge("hex", len(first.group(1)), first.span(), False, not rest)
        if _EDGE_LEAD.match(text[last.end():]):
            rest = (text[:last.start()] + text[last.end():]).strip()
            tails["hex"] = _Edge("hex", len(last.group(1)), last.span(), False, not rest)
    return heads, tails


def _chinese_edges(text: str) -> tuple[_Edge | None, _Edge | None]:
    """Random-looking list characters that start or end the Chinese text of a message:
    single characters with separators, or the random-looking end of a glued run."""
    lead_in = _LEAD_IN.match(text)
    start = lead_in.end() if lead_in else 0  # "后六个：" introduces what follows
    runs = list(_HAN.finditer(text, start))
    if not runs:
        return None, None
    singles = _singles(text, runs)
    # Single characters after at most five characters of lead-in ("前面是合 细 聚 ...").
    lead = singles[0] if singles and singles[0][0] - runs[0].start() <= 5 else None
    if lead is not None and lead[0] > runs[0].start():
        lead = (runs[0].start(), lead[1], lead[2] + 1, lead[3])
    if lead is None:
        n = _random_prefix(runs[0].group(0))
        lead = (runs[0].start(), runs[0].start() + n, n, False) if n else None
    trail = singles[-1] if singles and singles[-1][1] == runs[-1].end() else None
    if trail is None:
        n = _random_prefix(runs[-1].group(0)[::-1])
        trail = (runs[-1].end() - n, runs[-1].end(), n, False) if n else None

    def edge(part: tuple[int, int, int, bool] | None) -> _Edge | None:
        if part is None:
            return None
        a, b, size, listy = part
        return _Edge("zh", size, (a, b), listy, _HAN.search(text[start:a] + text[b:]) is None)

    head = edge(lead) if lead and _EDGE_LEAD.match(text[start:lead[0]]) else None
    tail = edge(trail) if trail and _EDGE_LEAD.match(text[trail[1]:]) else None
    return head, tail


def _singles(text: str, runs: list[re.Match[str]]) -> list[tuple[int, int, int, bool]]:
    """Stretches of single list characters with separators: (start, end, count, listy)."""
    out = []
    group: list[re.Match[str]] = []
    ends: list[re.Match[str] | None] = [*runs, None]
    for m in ends:
        single: list[re.Match[str]] = []
        if m is not None and len(m.group(0)) == 1 and _listed(m.group(0)):
            if group and _SEP.match(text[group[-1].end():m.start()]):
                group.append(m)
                continue
            single = [m]
        if len(group) >= 3:
            out.append((group[0].start(), group[-1].end(), len(group), True))
        group = single
    return out


def _random_prefix(run: str) -> int:
    """How many characters at the start of `run` (after at most four characters of lead-in
    such as 后面是) read as drawn at random from the list, lead-in included."""
    for skip in range(0, min(5, len(run))):
        best = 0
        for n in range(skip + 4, min(len(run), skip + max(PHRASE_LENGTHS)) + 1):
            part = run[skip:n]
            if not all(_listed(c) for c in part):
                break
            if naturalness(part) < ZH_HINT_BELOW:
                best = n
        if best:
            return best
    return 0
