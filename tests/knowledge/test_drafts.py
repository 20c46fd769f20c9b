"""Drafts of KB articles from resolved tickets: the KB's format, cleaned questions, no secret."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.knowledge.drafts import (
    DRAFT_FIELDS,
    draft_from_ticket,
    front_value,
    strip_draft_fields,
)
from assistant.knowledge.kb import check_kb, parse_article
from assistant.understanding.redaction import KEY_MARK, PHRASE_MARK, redact

TX = "0x" + "3f" * 32
#: Twelve words of the BIP39 list that no other text of these tests uses.
PHRASE = "zebra oyster canyon frost lumber velvet quiz dragon pilot amber wagon tissue"


def _draft(ticket: dict, **kw):
    return draft_from_ticket(ticket, redact=lambda t: redact(t).text,
                             secret_marks=(PHRASE_MARK, KEY_MARK), **kw)


def _user(text: str) -> dict:
    return {"role": "user", "text": text}


def _agent(text: str) -> dict:
    return {"role": "agent", "text": text}


def _ticket(**kw) -> dict:
    base = {"id": "Qw3_rT-9xYzAbCdE", "status": "resolved", "lang": "en",
            "category": "deposit_withdrawal", "query": "talk to a human", "details": {},
            "resolution": "", "messages": []}
    return {**base, **kw}


def _write(root: Path, draft) -> Path:
    path = root / draft.lang / f"{draft.id}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(draft.markdown, "utf-8")
    return path


ENGLISH = _ticket(
    details={"chain": "TRON", "token": "USDT", "amount": "200 USDT", "tx_hash": TX,
             "time": "yesterday at 3pm"},
    resolution="The exchange had not sent the withdrawal of 200 USDT yet; once it did, the "
               "funds arrived. Check {tx_hash} on the explorer first.",
    messages=[
        _user("hello"),
        _user("hi, my USDT withdrawal from the exchange never arrived"),
        {"role": "assistant", "text": "Answered with: Deposit not credited"},
        _user("talk to a human"),
        _user("USDT on TRON, 200 USDT sent yesterday at 3pm"),
        _user(f"transaction hash {TX}"),
        _user("the exchange says the withdrawal is complete but my wallet shows nothing"),
        _user("Hi, my USDT withdrawal from the exchange never arrived"),
        _user("withdrawal marked complete, balance still zero"),
        _user("skip"),
        _agent("Could you send the transaction hash?"),
        _user("the app keeps saying pending, why is that"),
        _agent(f"I looked up the transaction hash {TX}: the exchange never broadcast it."),
        _agent("Ask the exchange's support to broadcast it again {soon}."),
        _user("thanks a lot for your help"),
    ])


def test_an_english_ticket_becomes_an_article_in_the_kb_format(tmp_path):
    d = _draft(ENGLISH)
    assert d.questions == (
        "my USDT withdrawal from the exchange never arrived",
        "the exchange says the withdrawal is complete but my wallet shows nothing",
        "withdrawal marked complete, balance still zero")
    assert d.title == "My USDT withdrawal from the exchange never arrived"
    assert d.id == "my-usdt-withdrawal-from-exchange-never"  # courtesy words out
    assert (d.lang, d.category, d.tags, d.source_ticket) == (
        "en", "deposit_withdrawal", ("tron", "usdt"), "Qw3_rT-9xYzAbCdE")
    # The resolution opens the body; the user's amount and hash become placeholders, literal
    # braces are escaped, and the agent's question to the user is no step.
    assert d.body.startswith("The exchange had not sent the withdrawal of {amount} yet")
    assert "Check {{tx_hash}} on the explorer" in d.body
    assert "1. I looked up the transaction hash {tx_hash}: the exchange never broadcast it." \
        in d.body
    assert "2. Ask the exchange's support to broadcast it again {{soon}}." in d.body
    assert "Could you send" not in d.body and TX not in d.markdown
    assert "draft: true" in d.markdown and 'source_ticket: "Qw3_rT-9xYzAbCdE"' in d.markdown

    article, problems = parse_article(_write(tmp_path, d), expected_lang="en")
    assert article is not None and article.id == d.id and article.questions == d.questions
    assert article.title == d.title and article.category == "deposit_withdrawal"
    assert article.tags == ("tron", "usdt") and article.body == d.body
    # The loader tolerates the draft markers (warnings); published, they are gone.
    assert sorted(p.field for p in problems) == sorted(DRAFT_FIELDS)
    assert all(p.severity == "warning" for p in problems)
    published = tmp_path / "kb" / "en" / f"{d.id}.md"
    published.parent.mkdir(parents=True)
    published.write_text(strip_draft_fields(d.markdown), "utf-8")
    kb, problems = check_kb(tmp_path / "kb")
    assert problems == [] and [a.id for a in kb.articles] == [d.id]
    assert front_value(d.markdown, "source_ticket") == "Qw3_rT-9xYzAbCdE"
    assert front_value(strip_draft_fields(d.markdown), "source_ticket") is None


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


WORDS = PHRASE.split()
SPLIT = [  # one phrase over two messages, each part alone passing the redaction or not
    ("I think it was " + " ".join(WORDS[:5]), " ".join(WORDS[5:])),
    (" ".join(WORDS[:6]), " ".join(WORDS[6:])),
    ("first half: " + " ".join(WORDS[:6]), "and then " + " ".join(WORDS[6:])),
    ("my words are " + " ".join(WORDS[:6]), " ".join(WORDS[6:])),
]


@pytest.mark.parametrize("first,second", SPLIT)
def test_a_phrase_typed_over_two_messages_never_reaches_the_draft(first, second):
    ticket = _ticket(messages=[_user("my wallet was emptied overnight, what happened"),
                               _user("ok"), _user(first), _user(second),
                               _user("ok!"),
                               _user("how do I keep the rest of my funds safe")],
                     resolution="Moved the funds to a new wallet.")
    d = _draft(ticket)
    assert not _words(d.markdown) & set(WORDS), d.markdown
    # The messages two away from the secret are still questions.
    assert d.questions == ("my wallet was emptied overnight, what happened",
                           "how do I keep the rest of my funds safe")


def test_a_recovery_phrase_in_the_conversation_never_reaches_the_draft():
    words = WORDS
    ticket = _ticket(
        resolution=f"Told the user never to share {PHRASE}; moved the funds to a new wallet.",
        messages=[
            _user("someone on telegram asked me to verify my wallet"),
            _user(f"I sent them this: {PHRASE}"),             # stored without redaction
            _user(f"is that a problem? {PHRASE_MARK}"),        # stored redacted
            _user("my balance is gone since this morning"),
            _user("my words are " + " ".join(words[:6])),      # one phrase over two messages
            _user(" ".join(words[6:])),
            _user("what should I do now to keep the rest safe"),
            _agent(f"Your phrase {PHRASE} is exposed: create a new wallet now."),
            _agent("Move everything left to the new wallet, most valuable first."),
        ])
    d = _draft(ticket)
    assert not _words(d.markdown) & set(words), d.markdown
    assert "REDACTED" not in d.markdown
    assert d.questions == ("what should I do now to keep the rest safe",)
    # The message next to a secret is left out with it: it may hold the phrase's other part.
    assert "my balance is gone since this morning" not in d.questions
    assert d.body == "1. Move everything left to the new wallet, most valuable first."


def test_a_chinese_ticket_keeps_its_language_and_gets_an_id_from_the_ticket(tmp_path):
    ticket = _ticket(
        id="Zh7-Ticket_0001", lang="zh", category="deposit_withdrawal", query="转人工",
        details={"chain": "TRON", "tx_hash": TX},
        resolution="交易所尚未广播这笔提币，联系交易所后已到账。",
        messages=[_user("你好"), _user("我的USDT提币到现在还没到账"), _user("转人工"),
                  _user("波场 TRON"), _user("跳过"), _user("交易所显示提币成功但钱包没有收到"),
                  _user("好的谢谢"), _agent("请先在区块浏览器上查询这笔交易哈希。")])
    d = _draft(ticket)
    assert d.lang == "zh" and d.category == "deposit_withdrawal"
    assert d.questions == ("我的USDT提币到现在还没到账", "交易所显示提币成功但钱包没有收到")
    assert d.title == "我的USDT提币到现在还没到账"
    assert d.id == "deposit_withdrawal-zh7-ticket_0001"  # a Chinese title has no Latin words
    assert d.body == "交易所尚未广播这笔提币，联系交易所后已到账。\n\n1. 请先在区块浏览器上查询这笔交易哈希。"
    article, problems = parse_article(_write(tmp_path, d), expected_lang="zh", min_questions=2)
    assert article is not None and article.lang == "zh" and article.questions == d.questions
    assert {p.field for p in problems} == set(DRAFT_FIELDS)


def test_category_falls_back_to_the_kbs_first_and_ids_in_use_are_avoided():
    ticket = _ticket(category="out_of_scope", messages=[
        _user("how do I change the wallet name"), _agent("Open the wallet settings.")],
        resolution="Renamed in the wallet settings.")
    d = _draft(ticket, categories=("wallets", "payments"),
               taken={"how-do-change-wallet-name"})
    assert d.category == "wallets"
    assert d.id == "how-do-change-wallet-name-2"


def test_an_id_that_yaml_would_read_as_a_date_is_quoted(tmp_path):
    d = _draft(_ticket(messages=[_user("2024 01 01 deposit missing from my wallet")],
                       resolution="Credited after the chain caught up."))
    assert d.id == "2024-01-01-deposit-missing-from"
    article, _ = parse_article(_write(tmp_path, d), expected_lang="en", min_questions=1)
    assert article is not None and article.id == d.id


def test_questions_are_capped_trimmed_and_deduplicated():
    long = "my transfer " + "really " * 80 + "failed"
    many = [_user(f"question number {n} about my stuck transfer") for n in range(20)]
    d = _draft(_ticket(messages=[_user("  my   transfer failed  "), _user("MY TRANSFER FAILED"),
                                 _user(long), *many], resolution="Done."))
    assert d.questions[0] == "my transfer failed"
    assert "MY TRANSFER FAILED" not in d.questions
    assert len(d.questions) == 12 and all(len(q) <= 300 for q in d.questions)


def test_a_ticket_without_a_question_or_resolution_leaves_the_fields_for_the_editor(tmp_path):
    d = _draft(_ticket(messages=[_user("hello"), _user("talk to a human")], resolution=""))
    assert d.questions == () and d.title == "" and d.body == ""
    _, problems = parse_article(_write(tmp_path, d), expected_lang="en")
    errors = {p.field for p in problems if p.severity == "error"}
    assert {"title", "questions", "body"} <= errors
