"""Scams and theft in user messages (secrets are `assistant.redaction`'s job)."""

from __future__ import annotations

import re

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
