"""Details found in a user's message: chain, transaction hash, address, amount, token, time,
app version and device.

They fill article placeholders ({chain}, {tx_hash}, ...) and the details of handoff tickets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.understanding.text import normalize

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
          "DAI", "BUSD", "AVAX", "TON", "XRP", "DOGE", "SHIB", "TPT")  # "TP" is the wallet, not a token

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
_SOL_ADDR = re.compile(r"(?<![1-9A-Za-z])[1-9A-HJ-NP-Za-km-z]{32,44}(?![1-9A-Za-z])")

_ZH_NUM = r"[0-9零一二两三四五六七八九十]+"
_TIME_PATTERNS = [
    r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?",
    r"\d{1,2}月\d{1,2}[日号](?:\s*(?:凌晨|早上|上午|中午|下午|晚上)?\s*" + _ZH_NUM + r"[点:：]\d*分?)?",
    r"(?:今天|昨天|前天|昨晚|今早|今晚|刚才|刚刚|上周|本周)(?:\s*(?:凌晨|早上|上午|中午|下午|晚上)?\s*"
    + _ZH_NUM + r"[点:：](?:\d{1,2}分?|半)?)?",
    r"(?:凌晨|早上|上午|中午|下午|晚上)\s*" + _ZH_NUM + r"[点:：](?:\d{1,2}分?|半)?",
    _ZH_NUM + r"\s*(?:分钟|个?小时|天)前",
    r"\b(?:today|yesterday|this morning|this afternoon|this evening|last night|tonight|"
    r"last week)(?:\s+(?:at|around|about)\s+\d{1,2}(?::\d{2})?\s*(?:am|pm)?)?\b",
    r"\b\d+\s+(?:minutes?|mins?|hours?|hrs?|days?)\s+ago\b",
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?"
    r"(?:,?\s+\d{4})?\b",
    r"\b(?:at|around|about)\s+\d{1,2}(?::\d{2})?\s*(?:am|pm)\b",
    r"\b\d{1,2}:\d{2}\s*(?:am|pm|utc)?\b",
]
_TIME = re.compile("|".join(f"(?:{p})" for p in _TIME_PATTERNS), re.IGNORECASE)
_VERSION = re.compile(
    r"(?:version|ver\.?|版本号?|app)\s*[:：]?\s*v?(\d+\.\d+(?:\.\d+){0,2})|\bv(\d+\.\d+(?:\.\d+){0,2})\b"
    r"|\b(\d+\.\d+\.\d+)\b", re.IGNORECASE)
_DEVICES: dict[str, tuple[str, ...]] = {
    "iPhone": ("iphone", "苹果手机"), "iPad": ("ipad",), "iOS": ("ios",),
    "Android": ("android", "安卓"), "Samsung": ("samsung", "三星"), "Huawei": ("huawei", "华为"),
    "Xiaomi": ("xiaomi", "redmi", "小米", "红米"), "OPPO": ("oppo",), "vivo": ("vivo",),
    "Pixel": ("pixel",), "Browser extension": ("chrome extension", "browser extension", "插件",
                                               "浏览器扩展"),
    "Desktop": ("desktop", "windows", "macbook", "电脑", "mac os", "macos"),
}


@dataclass(frozen=True)
class Entities:
    chain: str | None = None
    tx_hash: str | None = None
    address: str | None = None
    amount: str | None = None
    token: str | None = None
    time: str | None = None
    app_version: str | None = None
    device: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}


def extract(text: str) -> Entities:
    """Best-effort extraction; anything not found stays None."""
    low = normalize(text)
    tx = _first(_EVM_HASH, text) or _first(_HEX64, text)
    address = (_first(_EVM_ADDR, text) or _first(_TRON_ADDR, text) or _first(_BTC_ADDR, text)
               or _solana_address(text, tx))
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
    if chain is None and address and not address.startswith(("0x", "T", "bc1")):
        chain = "Solana"
    t = _TIME.search(text)
    version = _VERSION.search(text)
    return Entities(chain=chain, tx_hash=tx, address=address, amount=amount, token=token,
                    time=t.group(0).strip() if t else None,
                    app_version=next((g for g in version.groups() if g), None) if version else None,
                    device=_device(low))


def _solana_address(text: str, tx: str | None) -> str | None:
    """A base58 string of Solana-address length that is not a hex hash or a TRON address."""
    for m in _SOL_ADDR.finditer(text):
        word = m.group(0)
        if (tx and word in tx) or word.isdigit() or word.isalpha():
            continue
        return word
    return None


def _device(low: str) -> str | None:
    for name, words in _DEVICES.items():
        if any(_find_word(low, w) >= 0 for w in words):
            return name
    return None


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
