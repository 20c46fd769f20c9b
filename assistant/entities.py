"""Details found in a user's message: chain, transaction hash, address, amount, token.

They fill article placeholders ({chain}, {tx_hash}, ...) and, later, handoff tickets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.text import normalize

#: Canonical chain name -> the words users write for it (lower case, both languages).
CHAINS: dict[str, tuple[str, ...]] = {
    "Ethereum": ("ethereum", "erc20", "erc-20", "以太坊", "eth链", "eth chain", "mainnet"),
    "BNB Smart Chain": ("bsc", "bep20", "bep-20", "bnb chain", "bnb smart chain",
                        "binance smart chain", "币安链", "币安智能链", "bsc链"),
    "TRON": ("tron", "trc20", "trc-20", "波场", "trx链"),
    "Polygon": ("polygon", "matic", "pol链", "马蹄链"),
    "Arbitrum": ("arbitrum", "arb链"),
    "Optimism": ("optimism",),
    "Base": ("base chain", "base链", "base network"),
    "Solana": ("solana", "spl", "索拉纳"),
    "Bitcoin": ("bitcoin", "btc链", "比特币网络", "比特币链"),
    "Avalanche": ("avalanche", "avax c-chain", "雪崩链"),
    "TON": ("ton chain", "ton链", "the open network"),
}
TOKENS = ("USDT", "USDC", "ETH", "BNB", "TRX", "BTC", "SOL", "MATIC", "POL", "ARB", "OP",
          "DAI", "BUSD", "AVAX", "TON", "XRP", "DOGE", "SHIB", "TP")

_TOKEN_ALT = "|".join(sorted(TOKENS, key=len, reverse=True))
_AMOUNT = re.compile(
    rf"(?<![0-9a-z.])(\d{{1,3}}(?:,\d{{3}})+|\d+)(\.\d+)?\s*({_TOKEN_ALT}|个?u)(?![a-z])",
    re.IGNORECASE)
_TOKEN = re.compile(rf"(?<![a-z0-9])({_TOKEN_ALT})(?![a-z0-9])", re.IGNORECASE)
_EVM_HASH = re.compile(r"(?<![0-9a-fx])0x[0-9a-f]{64}(?![0-9a-f])", re.IGNORECASE)
_HEX64 = re.compile(r"(?<![0-9a-fx])[0-9a-f]{64}(?![0-9a-f])", re.IGNORECASE)
_EVM_ADDR = re.compile(r"(?<![0-9a-fx])0x[0-9a-f]{40}(?![0-9a-f])", re.IGNORECASE)
_TRON_ADDR = re.compile(r"(?<![1-9A-Za-z])T[1-9A-HJ-NP-Za-km-z]{33}(?![1-9A-Za-z])")
_BTC_ADDR = re.compile(r"(?<![0-9a-z])bc1[02-9ac-hj-np-z]{25,59}(?![0-9a-z])")


@dataclass(frozen=True)
class Entities:
    chain: str | None = None
    tx_hash: str | None = None
    address: str | None = None
    amount: str | None = None
    token: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}


def extract(text: str) -> Entities:
    """Best-effort extraction; anything not found stays None."""
    low = normalize(text)
    tx = _first(_EVM_HASH, text) or _first(_HEX64, text)
    address = _first(_EVM_ADDR, text) or _first(_TRON_ADDR, text) or _first(_BTC_ADDR, text)
    amount = token = None
    m = _AMOUNT.search(text)
    if m:
        unit = m.group(3)
        unit_norm = "USDT" if unit.lower() in ("u", "个u") else unit.upper()
        amount = f"{m.group(1)}{m.group(2) or ''} {unit_norm}"
        token = unit_norm if unit_norm in TOKENS else None
    if token is None:
        t = _TOKEN.search(text)
        token = t.group(1).upper() if t else None
    chain = _chain(low)
    if chain is None and address:
        chain = "TRON" if address.startswith("T") else ("Bitcoin" if address.startswith("bc1")
                                                        else None)
    return Entities(chain=chain, tx_hash=tx, address=address, amount=amount, token=token)


def _chain(low: str) -> str | None:
    best: tuple[int, str] | None = None
    for name, words in CHAINS.items():
        for w in words:
            pos = _find_word(low, w)
            if pos >= 0 and (best is None or pos < best[0]):
                best = (pos, name)
    return best[1] if best else None


def _find_word(text: str, word: str) -> int:
    if re.search(r"[a-z]", word[:1]):
        m = re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", text)
        return m.start() if m else -1
    return text.find(word)


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    m = pattern.search(text)
    return m.group(0) if m else None
