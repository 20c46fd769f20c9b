"""Secrets in user messages: recovery phrases and private keys are redacted first.

Redaction runs before anything else reads the text, so retrieval, logs and tickets only
ever see the placeholder. Words come from the official BIP39 lists in `mnemonic`.
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

_WORD = re.compile(r"[a-z]+", re.IGNORECASE)
_HEX_KEY = re.compile(r"(?<![0-9a-zA-Z])(?:0x)?[0-9a-fA-F]{64}(?![0-9a-zA-Z])")
_WIF = re.compile(r"(?<![1-9A-Za-z])[5KL][1-9A-HJ-NP-Za-km-z]{50,51}(?![1-9A-Za-z])")
_KEY_CONTEXT = re.compile(r"private\s*key|priv\s*key|私钥|秘钥|密钥|secret", re.IGNORECASE)
_SEPARATORS = re.compile(r"^[\s,;.、，。:\-\d)(\]\[]*$")


@dataclass(frozen=True)
class Redaction:
    text: str
    phrase: bool = False
    private_key: bool = False

    @property
    def found(self) -> bool:
        return self.phrase or self.private_key


@lru_cache(maxsize=1)
def _english_words() -> frozenset[str]:
    return frozenset(Mnemonic("english").wordlist)


def redact(text: str) -> Redaction:
    """Replace recovery phrases, WIF keys and hex private keys with placeholders."""
    out, phrase = _redact_phrases(text)
    out, wif = _WIF.subn(KEY_MARK, out)
    hex_found = False
    if _KEY_CONTEXT.search(out):
        # A bare 64-hex string is usually a transaction hash; near "private key" it is a key.
        out, n = _HEX_KEY.subn(KEY_MARK, out)
        hex_found = n > 0
    return Redaction(out, phrase=phrase, private_key=bool(wif) or hex_found)


def _redact_phrases(text: str) -> tuple[str, bool]:
    """Runs of >= 12 BIP39 words, allowing separators and numbering between them."""
    words = _english_words()
    matches = list(_WORD.finditer(text))
    spans: list[tuple[int, int]] = []
    run: list[re.Match[str]] = []
    misses = 0

    def close() -> None:
        hits = [m for m in run if m.group(0).lower() in words]
        if len(hits) >= MIN_PHRASE_WORDS:
            spans.append((hits[0].start(), hits[-1].end()))

    for m in matches:
        prev_end = run[-1].end() if run else None
        gap_ok = prev_end is None or _SEPARATORS.match(text[prev_end:m.start()]) is not None
        in_list = m.group(0).lower() in words
        if not gap_ok:
            close()
            run, misses = [], 0
        if in_list:
            run.append(m)
        elif run and misses < MAX_TYPOS and len(m.group(0)) >= 3:
            misses += 1  # tolerate a few mistyped words inside a phrase
            run.append(m)
        else:
            close()
            run, misses = [], 0
    close()
    for start, end in reversed(spans):
        text = text[:start] + PHRASE_MARK + text[end:]
    return text, bool(spans)
