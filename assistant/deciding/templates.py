"""Answer wording: article bodies with their placeholders filled, and the fixed replies.

Every fixed reply exists in both languages; the user is answered in the language they wrote.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from assistant.understanding.entities import Entities
from assistant.core.types import Article, Lang

#: Wording for a message placeholder the user's message did not provide.
DEFAULTS: dict[Lang, dict[str, str]] = {
    "en": {"problem": "a short description of the problem", "chain": "the network", "tx_hash": "your transaction hash", "amount": "the amount",
           "token": "the token", "address": "the address"},
    "zh": {"chain": "对应网络", "tx_hash": "您的交易哈希", "amount": "该笔金额",
           "token": "该代币", "address": "该地址"},
}

MESSAGES: dict[Lang, dict[str, str]] = {
    "en": {
        "decline": (
            "Sorry, I can only help with questions about your TokenPocket wallet: account access "
            "and backups, transfers and fees, deposits and withdrawals, security and scams, how to "
            "use the app, and how to reach support. What can I help you with?"),
        "clarify": "I want to be sure I answer the right question. Which of these is it?",
        "handoff_human": "Sure, I'm connecting you with a member of our support team.",
        "handoff_low": ("I'm not sure I have the right answer for this, so I'm passing your "
                        "question to a member of our support team."),
        "handoff_article": "I've also passed your case to a member of our support team.",
        "ticket": ("Your ticket number is {ticket_id}; you are number {position} in the queue "
                   "(estimated wait: about {eta} min). An agent will reply here. Never share your "
                   "recovery phrase or private key with anyone, including support."),
        "ticket_claimed": ("Your ticket {ticket_id} is with an agent now; they will reply here."),
        "ticket_existing": ("You already have an open ticket ({ticket_id}); I've added this "
                            "message to it."),
        "needs": ("To help the agent solve this quickly, please send {fields} in one message. "
                  "If you don't have them, reply “skip”."),
        "needs_followup": "If you can, also send {fields}: I'll add them to your ticket.",
        "details_added": "Thanks, I've added this to your ticket {ticket_id}.",
        "ticket_failed": ("I could not create a support ticket right now. Please try again in a "
                          "minute or email {support_email}."),
        "secret": ("⚠️ Your message looked like it contained a recovery phrase or private key. "
                   "It was removed and not stored. Nobody from support will ever ask for it. "
                   "Treat this wallet as compromised: create a new wallet now and move your "
                   "funds to it."),
        "scam": ("⚠️ This looks like a scam. Official support never asks for your recovery "
                 "phrase, private key or password, never messages you first, and never asks "
                 "you to send coins to verify or sync a wallet."),
        "theft": ("I'm sorry this happened. Do these steps right now, then an agent will "
                  "follow up with you urgently."),
        "handoff_urgent": "Your case is marked urgent and is at the front of the queue.",
        "theft_check": ("If funds left your wallet without you sending them, reply “stolen” "
                        "and a person will help you at once."),
        "exposed": ("⚠️ Anyone who has seen your recovery phrase or private key can take "
                    "everything in the wallet, without your password. Move your funds now:\n\n"
                    "1. In TokenPocket, create a new wallet and write its new recovery phrase "
                    "on paper.\n"
                    "2. Send everything from the old wallet to the new one, most valuable first "
                    "(keep a little of each chain's coin in the old wallet for the fees until "
                    "the last transfer).\n"
                    "3. Never use or import the old phrase or key again.\n\n"
                    "If you want a person to help you, reply “talk to a person”."),
    },
    "zh": {
        "decline": (
            "抱歉，我只能解答与 TokenPocket 钱包相关的问题：账户与备份、转账与手续费、充值与提币、"
            "安全与防骗、App 使用方法，以及如何联系客服。请问有什么可以帮您？"),
        "clarify": "为了准确回答，请问您想问的是下面哪一个？",
        "handoff_human": "好的，正在为您转接人工客服。",
        "handoff_low": "这个问题我暂时无法准确回答，已为您转交人工客服处理。",
        "handoff_article": "同时已为您转交人工客服跟进。",
        "ticket": ("您的工单号是 {ticket_id}，当前排在第 {position} 位（预计等待约 {eta} 分钟），"
                   "客服会在这里回复您。请勿向任何人（包括客服）提供助记词或私钥。"),
        "ticket_claimed": "您的工单 {ticket_id} 已由客服接手，客服会在这里回复您。",
        "ticket_existing": "您已有一个处理中的工单（{ticket_id}），这条消息已补充到该工单。",
        "needs": "为了让客服尽快处理，请在一条消息中发送：{fields}。如果没有，回复“跳过”即可。",
        "needs_followup": "如方便，请再发送：{fields}，我会补充到您的工单中。",
        "details_added": "谢谢，已补充到您的工单 {ticket_id}。",
        "ticket_failed": "暂时无法创建工单，请稍后再试，或发送邮件至 {support_email}。",
        "secret": ("⚠️ 您的消息中似乎包含助记词或私钥。我们已将其删除，不会保存。任何客服都不会向您索要"
                   "助记词或私钥。请把这个钱包视为已泄露：立即创建新钱包，并把资产转移过去。"),
        "scam": ("⚠️ 这很可能是诈骗。官方客服绝不会索要助记词、私钥或密码，不会主动私信您，也不会让您"
                 "转币来“验证”或“同步”钱包。"),
        "theft": "很抱歉遇到这种情况。请立即按下面的步骤操作，客服会尽快优先跟进。",
        "handoff_urgent": "您的工单已标记为紧急，排在队列最前面。",
        "theft_check": "如果资产在您没有操作的情况下被转走，请回复“被盗了”，会有专人立即协助您。",
        "exposed": ("⚠️ 任何看到过您助记词或私钥的人，都能不需要密码转走钱包里的全部资产。请立即转移资产：\n\n"
                    "1. 在TokenPocket中新建一个钱包，用纸笔抄好新的助记词。\n"
                    "2. 把旧钱包里的资产全部转到新钱包，先转价值最高的（旧钱包里留一点各链的主币作为"
                    "手续费，直到最后一笔转完）。\n"
                    "3. 以后不要再使用或导入旧的助记词和私钥。\n\n"
                    "如需人工协助，请回复“转人工”。"),
    },
}


#: How each detail an agent may need is named when the assistant asks for it.
DETAIL_LABELS: dict[Lang, dict[str, str]] = {
    "en": {"problem": "a short description of the problem", "chain": "the network (e.g. Ethereum, TRON, BNB Chain)", "tx_hash": "the transaction hash",
           "amount": "the amount and token", "token": "the token", "time": "when it happened",
           "address": "the wallet address(es) involved", "app_version": "the app version",
           "device": "your phone or device"},
    "zh": {"problem": "问题的简要描述", "chain": "所在网络（如以太坊、波场、BNB Chain）", "tx_hash": "交易哈希", "amount": "金额和币种",
           "token": "币种", "time": "发生时间", "address": "涉及的钱包地址", "app_version": "App 版本号",
           "device": "手机型号或设备"},
}


@dataclass(frozen=True)
class SiteFacts:
    """Facts from settings that articles may cite ({support_email}, ...)."""

    support_email: str
    official_site: str
    support_hours: dict[str, str]


def render_article(article: Article, entities: Entities, facts: SiteFacts, lang: Lang) -> str:
    """The article body with every placeholder filled (defaults when a detail is missing)."""
    values = {**DEFAULTS[lang], **entities.as_dict()}
    values.update(support_email=facts.support_email, official_site=facts.official_site,
                  support_hours=facts.support_hours.get(lang, facts.support_hours.get("en", "")))
    return string.Formatter().vformat(article.body, (), _Missing(values))


def message(lang: Lang, key: str, **values: object) -> str:
    return MESSAGES[lang][key].format(**values)


def needs_list(lang: Lang, fields: list[str]) -> list[dict]:
    """The details still missing, as the reply's `needs` (field and label)."""
    return [{"field": f, "label": DETAIL_LABELS[lang].get(f, f)} for f in fields]


def join_labels(lang: Lang, fields: list[str]) -> str:
    labels = [DETAIL_LABELS[lang].get(f, f) for f in fields]
    if lang == "zh":
        return "、".join(labels)
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def ticket_text(lang: Lang, ticket_id: str, position: int, eta: int | None, status: str) -> str:
    if status == "open":
        return message(lang, "ticket", ticket_id=ticket_id, position=position or 1,
                       eta=eta if eta is not None else "?")
    return message(lang, "ticket_claimed", ticket_id=ticket_id)


def clarify_text(lang: Lang, titles: list[str]) -> str:
    options = "\n".join(f"{i}. {t}" for i, t in enumerate(titles, 1))
    return f"{message(lang, 'clarify')}\n{options}"


class _Missing(dict):
    """Leaves an unknown placeholder visible instead of failing (validation prevents it)."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
