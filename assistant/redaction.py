"""Recovery phrases and private keys in user text, found in every shape a person types.

Redaction runs before anything else reads a message, so retrieval, logs, tickets and replies
only ever see the placeholder. A phrase is found as a run of BIP39 words (English, simplified
or traditional Chinese lists shipped by `mnemonic`) whatever separates or numbers them, with
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
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from mnemonic import Mnemonic

PHRASE_MARK = "[REDACTED RECOVERY PHRASE]"
KEY_MARK = "[REDACTED PRIVATE KEY]"
PHRASE_LENGTHS = (12, 15, 18, 21, 24)
#: A run this long is a phrase whatever surrounds it (11 of 12 words is as good as 12).
STRONG_WORDS = 11
#: A shorter run is a phrase when it is typed like a list, near a hint, or not like prose.
PARTIAL_WORDS = 6
#: Chinese: characters needed between separators, and glued to a hint (no checksum there).
PARTIAL_CHARS = 8
HINT_CHARS = 11
#: Chinese naturalness (log probability per character under a word model) below which a run
#: of list characters reads as random: 20,000 random phrases all fall below it and no
#: 12-character window of the KB, eval, blind or safety sentences does.
ZH_RANDOM_BELOW = -7.95
#: Stricter next to a hint, where no checksum confirms the run (typos, partial phrases).
ZH_HINT_BELOW = -8.2

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
_HINT_GAP = re.compile(r"^[\s是为為:：,，、如下是的我这這个個共\d]*")

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
    r"confirm|arriv|credit|deposit|withdr|sent\b|received|failed|[te]rc-?20|bep-?20|交易|哈希|"
    r"转出|轉出|转入|轉入|到账|到帳|没到|沒到|收到|提币|提幣|提的|提现|提現|充值|充币|確認|确认|区块|區塊|"
    r"浏览器|瀏覽器|单号|單號|记录|紀錄|被黑|被盗|被盜|盗走|盜走",
    re.IGNORECASE)


@dataclass(frozen=True)
class Redaction:
    """The text with secrets replaced, what was found, and the raw spans that were removed."""

    text: str
    phrase: bool = False
    private_key: bool = False
    removed: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        return self.phrase or self.private_key


# ------------------------------------------------------------------------------ word lists

@dataclass(frozen=True)
class _English:
    words: frozenset[str]
    prefixes: dict[str, str]   # unique 4-letter prefix -> word
    deletes: dict[str, str]    # word with one letter deleted -> word
    common: frozenset[str]     # list words frequent in prose
    prose: frozenset[str]      # frequent words not on the list (never a misspelt list word)


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
    common, prose = _data_sections("english_common.txt")
    return _English(frozenset(words), {w[:4]: w for w in words if len(w) > 4}, deletes,
                    frozenset(common) | _WALLET_WORDS, frozenset(prose))


@dataclass(frozen=True)
class _Chinese:
    rank: dict[str, int]          # character -> frequency rank (both scripts share ranks)
    to_simplified: dict[str, str]
    lists: tuple[Mnemonic, Mnemonic]


@lru_cache(maxsize=1)
def _chinese() -> _Chinese:
    simplified, traditional = Mnemonic("chinese_simplified"), Mnemonic("chinese_traditional")
    rank = {c: i + 1 for i, c in enumerate(simplified.wordlist)}
    to_simplified = {}
    for i, c in enumerate(traditional.wordlist):
        rank.setdefault(c, i + 1)
        to_simplified[c] = simplified.wordlist[i]
    return _Chinese(rank, to_simplified, (simplified, traditional))


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

@dataclass
class _Run:
    """Consecutive list-like tokens: (start, end, kind) with kind 'exact'|'near'|'miss'."""

    tokens: list[tuple[int, int, str, str]] = field(default_factory=list)
    listy: int = 0  # separators that only a list uses

    @property
    def hits(self) -> int:
        return sum(k != "miss" for *_, k, _w in self.tokens)

    def trimmed(self) -> list[tuple[int, int, str, str]]:
        toks = self.tokens
        while toks and toks[-1][2] == "miss":
            toks = toks[:-1]
        return toks


def _classify(token: str) -> tuple[str, str]:
    """('exact'|'near'|'miss', the list word it stands for)."""
    en = _english()
    w = token.lower()
    if w in en.words:
        return "exact", w
    if len(w) == 4 and w in en.prefixes and w not in en.prose:
        return "near", en.prefixes[w]
    if len(w) >= 4 and w not in en.prose:
        found = _near(w, en)
        if found:
            return "near", found
    return "miss", ""


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
    runs: list[_Run] = []
    run = _Run()
    prev_end: int | None = None
    misses = 0
    for m in _WORD.finditer(text):
        kind, word = _classify(m.group(0))
        gap = text[prev_end:m.start()] if prev_end is not None else ""
        joined = prev_end is not None and len(gap) <= _SEP_MAX and _SEP.match(gap) is not None
        if not joined or (kind == "miss" and (misses >= 3 or (run.tokens and
                                                               run.tokens[-1][2] == "miss"))):
            if run.tokens:
                runs.append(run)
            run, misses = _Run(), 0
            if kind == "miss":
                prev_end = m.end()
                continue
        if kind == "miss":
            if not run.tokens or len(m.group(0)) < 3:
                runs.append(run) if run.tokens else None
                run, misses = _Run(), 0
                prev_end = m.end()
                continue
            misses += 1
        if run.tokens and _LISTY.search(gap):
            run.listy += 1
        run.tokens.append((m.start(), m.end(), kind, word))
        prev_end = m.end()
    if run.tokens:
        runs.append(run)
    return runs


def _english_is_phrase(run: _Run, hint: bool) -> bool:
    toks = run.trimmed()
    hits = sum(k != "miss" for *_, k, _w in toks)
    if hits >= STRONG_WORDS:
        return True
    if hits < PARTIAL_WORDS:
        return False
    en = _english()
    rare = sum(1 for *_, k, w in toks if k != "miss" and w not in en.common)
    listy = run.listy >= max(1, (len(toks) - 1) * 2 // 3)
    if listy or hint:
        return rare >= hits // 2
    return rare >= hits - 1 and hits >= PARTIAL_WORDS


def _redact_english(text: str, hint: bool) -> list[tuple[int, int]]:
    spans = []
    for run in _english_runs(text):
        if _english_is_phrase(run, hint):
            toks = run.trimmed()
            spans.append((toks[0][0], toks[-1][1]))
    return spans


# ------------------------------------------------------------------------------ Chinese

def naturalness(chars: str) -> float:
    """How well a word model explains `chars`: the log probability per character of the best
    segmentation under jieba's word frequencies (traditional list characters are read as
    their simplified twins). Prose is made of frequent words (above about -7.9); characters
    drawn at random from the list are not (below)."""
    zh = _chinese()
    simple = "".join(zh.to_simplified.get(c, c) for c in chars)
    if not simple:
        return 0.0
    seg = _segmenter()
    route: dict[int, tuple[float, int]] = {}
    seg.calc(simple, seg.get_DAG(simple), route)
    return route[0][0] / len(simple)


@lru_cache(maxsize=1)
def _segmenter():  # noqa: ANN202 - jieba has no types
    import jieba

    jieba.setLogLevel(60)
    jieba.dt.check_initialized()
    return jieba.dt


def _listed(c: str) -> bool:
    return c in _chinese().rank


def _checksum_ok(chars: str) -> bool:
    zh = _chinese()
    spaced = " ".join(chars)
    return any(all(c in m.wordlist for c in chars) and m.check(spaced) for m in zh.lists)


def _redact_chinese(text: str, hint_spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    spans += _chinese_separated(text)
    for m in _HAN.finditer(text):
        spans += _chinese_checksummed(m.group(0), m.start())
    spans += _chinese_near_hint(text, hint_spans)
    return spans


def _chinese_separated(text: str) -> list[tuple[int, int]]:
    """Chinese tokens of one length (single characters, pairs or threes) with separators
    between them: a phrase when they add up to a phrase's worth and do not read as prose."""
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

    for m in _HAN.finditer(text):
        tok = m.group(0)
        gap = text[run[-1].end():m.start()] if run else ""
        same = run and len(run[-1].group(0)) == len(tok)  # singles, pairs or threes
        if len(tok) <= 3 and same and gap and len(gap) <= _SEP_MAX and _SEP.match(gap):
            run.append(m)
            continue
        close()
        run = [m] if len(tok) <= 3 else []
    close()
    return spans


def _chinese_checksummed(run: str, offset: int) -> list[tuple[int, int]]:
    """A window of a phrase's length inside a run of text (glued to other words, no hint)
    whose checksum holds and which does not read as prose."""
    spans = []
    for length in PHRASE_LENGTHS:
        for i in range(0, len(run) - length + 1):
            window = run[i:i + length]
            if all(_listed(c) for c in window) and _checksum_ok(window) \
                    and naturalness(window) < ZH_RANDOM_BELOW:
                spans.append((offset + i, offset + i + length))
    return spans


def _chinese_near_hint(text: str, hint_spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The characters right after (or before) a hint such as 助记词: a phrase when at least
    eight of them are list characters that read as random, typos and partial runs included."""
    spans = []
    for start, end in hint_spans:
        gap = _HINT_GAP.match(text, end)
        after = gap.end() if gap else end
        m = _HAN.match(text, after)
        if m:
            spans += _random_stretch(m.group(0), m.start(), forward=True)
        before = re.search(r"([\u3400-\u9fff]+)[\s:：,，是为為]*$", text[:start])
        if before:
            spans += _random_stretch(before.group(1), before.start(1), forward=False)
    return spans


def _random_stretch(run: str, offset: int, forward: bool) -> list[tuple[int, int]]:
    """From the hint's side, the longest stretch (up to 24 characters, at most two not on
    the list) that reads as random; redacted when it has `HINT_CHARS` or more."""
    seq = run if forward else run[::-1]
    best = 0
    unlisted = 0
    for n in range(1, min(len(seq), max(PHRASE_LENGTHS)) + 1):
        unlisted += not _listed(seq[n - 1])
        if unlisted > 2:
            break
        if n >= HINT_CHARS:
            window = seq[:n] if forward else seq[:n][::-1]
            if naturalness("".join(c for c in window if _listed(c))) < ZH_HINT_BELOW:
                best = n
    if best < HINT_CHARS:
        return []
    return [(offset, offset + best)] if forward else [(offset + len(run) - best, offset + len(run))]


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


def _key_spans(text: str) -> list[tuple[int, int]]:
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
        if _hex_is_key(text, m.start(), m.end()):
            spans.append(m.span())
    for m in _HEX_GROUPS.finditer(text):
        digits = re.sub(r"[^0-9a-fA-F]", "", m.group(0))
        if len(digits) == 64 and " " in m.group(0) or len(digits) == 64 and "-" in m.group(0):
            spans.append(m.span())
    return spans


def _hex_is_key(text: str, start: int, end: int) -> bool:
    """64 hex digits are a key or a transaction hash; they look the same. The words just
    before decide; then the message's words; with no word either way it is a key."""
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
    return _HASH_WORDS.search(text) is None


# ------------------------------------------------------------------------------ entry

def redact(text: str) -> Redaction:
    """Replace recovery phrases and private keys in `text`; say what was found."""
    text = _ZERO_WIDTH.sub("", text)
    key = _merge(_key_spans(text))
    hint_spans = [m.span() for m in _HINT.finditer(text)]
    masked = _HINT.sub(lambda m: " " * len(m.group(0)), text)  # a hint is never phrase
    phrase = _merge(_redact_english(text, bool(hint_spans))
                    + _redact_chinese(masked, hint_spans))
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


def looks_secret(text: str) -> bool:
    """True when `text` still holds something `redact` would remove (the storage guard)."""
    return redact(text).found


# ------------------------------------------------------------------------------ sessions

@dataclass
class _Tail:
    """The end of a session's last message when it ended in phrase words (memory only)."""

    words: int
    raw: tuple[str, ...]
    listy: bool
    hint: bool
    expires: float


class SessionWindow:
    """Catches a phrase typed over several messages of one conversation.

    Only the trailing run of phrase words of the last message is kept, in this process's
    memory, for `ttl` seconds: never written anywhere. When the next message starts with
    phrase words and together they make a phrase, the new part is redacted and the earlier
    raw parts are returned so that the caller scrubs them from storage.
    """

    def __init__(self, ttl: float = 600.0, max_sessions: int = 10_000) -> None:
        self.ttl = ttl
        self.max_sessions = max_sessions
        self._tails: OrderedDict[str, _Tail] = OrderedDict()
        self._lock = threading.Lock()

    def redact(self, session_id: str | None, text: str) -> tuple[Redaction, tuple[str, ...]]:
        """The redaction of `text` in its session, and earlier raw parts to scrub."""
        red = redact(text)
        if not session_id:
            return red, ()
        now = time.monotonic()
        with self._lock:
            tail = self._tails.pop(session_id, None)
        if tail is not None and tail.expires < now:
            tail = None
        clean = red.text
        hint = bool(_HINT.search(clean)) or (tail.hint if tail else False)
        head, last = _edge_runs(clean)
        scrub: tuple[str, ...] = ()
        if tail is not None and head is not None:
            words = tail.words + head[0]
            listy = tail.listy or head[2]
            if words >= STRONG_WORDS or (words >= PARTIAL_WORDS and (listy or hint)) \
                    or words >= 2 * PARTIAL_WORDS - 2:
                a, b = head[1]
                clean = clean[:a] + PHRASE_MARK + clean[b:]
                scrub = tail.raw
                red = Redaction(clean, phrase=True, private_key=red.private_key,
                                removed=red.removed + (head[3],))
                new_tail = _Tail(words, tail.raw + (head[3],), listy, hint, now + self.ttl)
                if last is head:
                    self._keep(session_id, new_tail)
                return red, scrub
        if last is not None:
            self._keep(session_id, _Tail(last[0], (last[3],), last[2], hint, now + self.ttl))
        return red, scrub

    def _keep(self, session_id: str, tail: _Tail) -> None:
        with self._lock:
            self._tails[session_id] = tail
            while len(self._tails) > self.max_sessions:
                self._tails.popitem(last=False)


def _edge_runs(text: str):
    """The phrase-word runs at the start and at the end of `text` (English words or single
    Chinese list characters): (words, span, listy, raw) or None."""
    head = tail = None
    runs = [r for r in _english_runs(text) if r.trimmed()]
    if runs:
        first, last = runs[0], runs[-1]
        ft, lt = first.trimmed(), last.trimmed()
        if not text[:ft[0][0]].strip(" \t\n,.;:：；、，。-*•#1234567890()[]\"'"):
            head = (sum(k != "miss" for *_, k, _w in ft), (ft[0][0], ft[-1][1]),
                    first.listy > 0, text[ft[0][0]:ft[-1][1]])
        if not text[lt[-1][1]:].strip(" \t\n,.;:：；、，。-*•#()[]\"'"):
            tail = (sum(k != "miss" for *_, k, _w in lt), (lt[0][0], lt[-1][1]),
                    last.listy > 0, text[lt[0][0]:lt[-1][1]])
            if head is not None and (ft[0][0], ft[-1][1]) == (lt[0][0], lt[-1][1]):
                tail = head
    zh = _chinese_edges(text)
    return head or zh[0], tail or zh[1]


def _chinese_edges(text: str):
    """Chinese list characters at the start and end of `text` (glued or separated)."""
    stripped = re.sub(r"[^\u3400-\u9fff]", "", text)
    if not stripped or not all(_listed(c) for c in stripped):
        return None, None
    if len(stripped) < 3 or naturalness(stripped) >= ZH_RANDOM_BELOW:
        return None, None
    first = _HAN.search(text)
    last_m = list(_HAN.finditer(text))[-1]
    assert first is not None
    span = (first.start(), last_m.end())
    entry = (len(stripped), span, bool(_LISTY.search(text)), text[span[0]:span[1]])
    return entry, entry
