"""Secrets and scams in user messages.

Redaction runs before anything else reads the text, so retrieval, logs, tickets and
replies only ever see the placeholder. Recovery-phrase words come from the official BIP39
lists shipped by `mnemonic` (English, simplified and traditional Chinese).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from mnemonic import Mnemonic

PHRASE_MARK = "[REDACTED RECOVERY PHRASE]"
KEY_MARK = "[REDACTED PRIVATE KEY]"
MIN_PHRASE_WORDS = 12
MAX_TYPOS = 2
PHRASE_LENGTHS = (12, 15, 18, 21, 24)

_WORD = re.compile(r"[a-z]+", re.IGNORECASE)
_HEX_KEY = re.compile(r"(?<![0-9a-zA-Z])(?:0x)?[0-9a-fA-F]{64}(?![0-9a-zA-Z])")
_BARE_HEX = re.compile(r"(?<![0-9a-zA-Z])[0-9a-fA-F]{64}(?![0-9a-zA-Z])")
_WIF = re.compile(r"(?<![1-9A-Za-z])[5KLc][1-9A-HJ-NP-Za-km-z]{50,51}(?![1-9A-Za-z])")
_KEY_CONTEXT = re.compile(r"private\s*key|priv\s*key|privkey|私钥|秘钥|密钥|secret|导出的key",
                          re.IGNORECASE)
_TX_CONTEXT = re.compile(r"\b(tx|txid|txn|hash|transaction|transfer|explorer|tronscan|"
                         r"etherscan|bscscan)\b|交易|哈希|转账|提币|充值|到账|浏览器",
                         re.IGNORECASE)
_PHRASE_HINT = re.compile(r"助记词|恢复词|私钥|seed|phrase|mnemonic|recovery|words|单词",
                          re.IGNORECASE)
_KEYSTORE = re.compile(r"\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\"(?:ciphertext|kdfparams|cipherparams)\""
                       r"(?:[^{}]*(?:\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}[^{}]*)*)\}",
                       re.IGNORECASE | re.DOTALL)
_SEPARATORS = re.compile(r"^[\s,;.、，。:\-\d)(\]\[|/]*$")
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")


@dataclass(frozen=True)
class Redaction:
    text: str
    phrase: bool = False
    private_key: bool = False

    @property
    def found(self) -> bool:
        return self.phrase or self.private_key


@lru_cache(maxsize=1)
def _english() -> frozenset[str]:
    return frozenset(Mnemonic("english").wordlist)


@lru_cache(maxsize=1)
def _chinese() -> tuple[frozenset[str], tuple[Mnemonic, ...]]:
    lists = (Mnemonic("chinese_simplified"), Mnemonic("chinese_traditional"))
    return frozenset(w for m in lists for w in m.wordlist), lists


def redact(text: str) -> Redaction:
    """Replace recovery phrases, keystore files, WIF keys and hex private keys."""
    out, keystore = _KEYSTORE.subn(KEY_MARK, text)
    out, english = _redact_english(out)
    out, chinese = _redact_chinese(out)
    out, wif = _WIF.subn(KEY_MARK, out)
    out, hex_keys = _redact_hex(out)
    return Redaction(out, phrase=english or chinese,
                     private_key=bool(keystore or wif or hex_keys))


def _redact_hex(text: str) -> tuple[str, int]:
    """64 hex digits: a key near "private key"; a bare one (no 0x) unless the message talks
    about a transaction; `0x` + 64 hex elsewhere is a transaction hash and is kept."""
    if _KEY_CONTEXT.search(text):
        return _HEX_KEY.subn(KEY_MARK, text)
    if _TX_CONTEXT.search(text):
        return text, 0
    return _BARE_HEX.subn(KEY_MARK, text)


def _redact_english(text: str) -> tuple[str, bool]:
    """Runs of >= 12 BIP39 words, allowing separators, numbering and a few typos."""
    words = _english()
    spans: list[tuple[int, int]] = []
    run: list[re.Match[str]] = []
    misses = 0

    def close() -> None:
        hits = [m for m in run if m.group(0).lower() in words]
        if len(hits) >= MIN_PHRASE_WORDS:
            spans.append((hits[0].start(), hits[-1].end()))

    for m in _WORD.finditer(text):
        prev_end = run[-1].end() if run else None
        if prev_end is not None and _SEPARATORS.match(text[prev_end:m.start()]) is None:
            close()
            run, misses = [], 0
        if m.group(0).lower() in words:
            run.append(m)
        elif run and misses < MAX_TYPOS and len(m.group(0)) >= 3:
            misses += 1
            run.append(m)
        else:
            close()
            run, misses = [], 0
    close()
    return _replace(text, spans), bool(spans)


def _redact_chinese(text: str) -> tuple[str, bool]:
    """Chinese phrases: >= 12 list characters separated by spaces, commas or numbering; or
    a contiguous run of a phrase length with a valid checksum when the message speaks of a
    phrase (ordinary Chinese sentences use list characters all the time)."""
    chars, lists = _chinese()
    spans: list[tuple[int, int]] = []
    # Separated: single characters with separators between them.
    run: list[re.Match[str]] = []
    for m in _HAN_RUN.finditer(text):
        single = len(m.group(0)) == 1 and m.group(0) in chars
        joined = run and _SEPARATORS.match(text[run[-1].end():m.start()]) is not None \
            and text[run[-1].end():m.start()] != ""
        if single and (not run or joined):
            run.append(m)
            continue
        if len(run) >= MIN_PHRASE_WORDS:
            spans.append((run[0].start(), run[-1].end()))
        run = [m] if single else []
    if len(run) >= MIN_PHRASE_WORDS:
        spans.append((run[0].start(), run[-1].end()))
    # Contiguous: checksum-valid run, only when the message mentions a phrase.
    if _PHRASE_HINT.search(text):
        for m in _HAN_RUN.finditer(text):
            run_text = m.group(0)
            if len(run_text) in PHRASE_LENGTHS and all(c in chars for c in run_text):
                spaced = " ".join(run_text)
                if any(mn.check(spaced) for mn in lists):
                    spans.append((m.start(), m.end()))
    return _replace(text, sorted(set(spans))), bool(spans)


def _replace(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + PHRASE_MARK + text[end:]
    return text


# ------------------------------------------------------------------ scams and theft

_SCAM = re.compile(
    r"(客服|管理员|官方|工作人员|技术支持|admin|support|agent|moderator|team)[^。.!?！？]{0,30}"
    r"(助记词|私钥|密码|验证|同步|激活|seed|phrase|private key|recovery|verify|validate|sync|"
    r"send (some |the )?(coins|crypto|usdt|eth|bnb|trx|tokens)|转.{0,4}(币|u|usdt))"
    r"|(让|要|叫|找)我.{0,8}(提供|发|给|输入|填写).{0,6}(助记词|私钥)"
    r"|(asked|asking|wants?|told)\s+(me\s+)?(for|to\s+(give|send|share|enter|type))"
    r"\s+.{0,20}(seed|phrase|private key|recovery|12 words|mnemonic)"
    r"|(dm|dm'?d|messaged|私信|私聊).{0,40}(助记词|私钥|验证|同步|seed|phrase|verify|sync|validate)"
    r"|(verify|validate|sync|synchroni[sz]e|rectify)\s+(my\s+|your\s+)?wallet",
    re.IGNORECASE)
_THEFT = re.compile(
    r"被盗|被偷|被黑|盗走|偷走|被转走|被人转走|币没了|资产没了|被清空|钱包空了|不是我转的|我没转|陌生地址.{0,10}转"
    r"|stolen|drained|hacked|emptied|someone (stole|took|transferred|sent)|"
    r"(didn'?t|did not|never) (make|send|authori[sz]e|approve)( this| that| the| a)? "
    r"(transfer|transaction|tx|payment)|unauthori[sz]ed (transfer|transaction|withdrawal)"
    r"|(all|my) (funds|tokens|coins|usdt|crypto|assets) (are |were )?(gone|missing|disappeared)",
    re.IGNORECASE)


def looks_like_scam(text: str) -> bool:
    """An impersonation scam: someone posing as support wants a phrase, key or payment."""
    return _SCAM.search(text) is not None


def looks_like_theft(text: str) -> bool:
    """A report of stolen funds or an outgoing transfer the user did not make."""
    return _THEFT.search(text) is not None
