"""Inbound mail: what the listener reads out of real mail (quotes and signatures cut, HTML-only
mail, charsets, encoded and Chinese subjects, threads, robots), and the listener itself over
real SMTP on loopback."""

from __future__ import annotations

import base64
import smtplib
import threading
from email.message import EmailMessage

import pytest

from assistant.core.config import Settings
from assistant.core.errors import QueueError
from assistant.core.types import InboundMail
from assistant.inbox.listener import MailListener
from assistant.inbox.parsing import html_to_text, new_text, parse_mail
from tests.mail_support import SUPPORT, USER, send, user_mail


def raw_mail(headers: str, body: bytes) -> bytes:
    return headers.strip().replace("\n", "\r\n").encode() + b"\r\n\r\n" + body


# ---------------------------------------------------------------- the new text only


def test_a_reply_loses_the_quoted_mail_and_the_attribution_line():
    text = ("Still not there, see the hash below.\n\n"
            "On Mon, 3 Jun 2024 at 10:00, Support <support@example.com>\nwrote:\n"
            "> Please send the transaction hash.\n> \n> -- \n> Support\n")
    assert new_text(text) == "Still not there, see the hash below."


def test_inline_replies_keep_the_users_lines_between_quotes():
    text = "> Which network?\nTRON\n> The amount?\n50 USDT\n"
    assert new_text(text) == "TRON\n50 USDT"


@pytest.mark.parametrize("separator", [
    "在 2024年6月3日 周一 10:00，客服 <support@example.com> 写道：",
    "-----Original Message-----",
    "---------- Forwarded message ---------",
    "------------------ 原始邮件 ------------------",
    "________________________________\nFrom: Support <support@example.com>\n"
    "Sent: Monday, June 3, 2024 10:00\nTo: alice@example.com",
    "发件人: 客服 <support@example.com>\n发送时间: 2024年6月3日 10:00\n收件人: alice",
])
def test_everything_from_a_quote_separator_on_is_cut(separator):
    text = f"转账还是没到账\n\n{separator}\n以前的邮件内容 old text\n"
    assert new_text(text) == "转账还是没到账"


def test_the_signature_and_mobile_footers_are_cut():
    assert new_text("My swap failed.\n\nSent from my iPhone") == "My swap failed."
    assert new_text("兑换失败了\n\n发自我的iPhone") == "兑换失败了"
    assert new_text("Help please\n-- \nAlice Smith\nCEO, Example Ltd\n+1 555 0100") == \
        "Help please"
    assert new_text("-- \nonly a dash line first") == "--\nonly a dash line first"


# ---------------------------------------------------------------- HTML, charsets, headers


def test_html_only_mail_is_read_as_text_without_the_quoted_part():
    html = ("<html><head><style>p{color:red}</style><title>x</title></head><body>"
            "<div>My withdrawal&nbsp;did not arrive.<br>Network: TRON</div>"
            "<p>Amount: 50&nbsp;USDT</p><script>alert(1)</script>"
            "<div class=\"gmail_quote\"><div>On Mon, Support wrote:</div>"
            "<blockquote>Please send the hash</blockquote></div></body></html>")
    mail = parse_mail(bytes(user_mail("", html=html)))
    assert mail.text == "My withdrawal did not arrive.\nNetwork: TRON\n\nAmount: 50 USDT"
    assert "alert" not in mail.text and "Please send" not in mail.text


def test_outlook_html_reply_stops_at_the_reply_header_block():
    html = ("<div>已经解决了</div><div id=\"divRplyFwdMsg\"><b>From:</b> Support<br>"
            "<b>Sent:</b> Monday</div><div>old mail</div>")
    assert html_to_text(html) == "已经解决了"


def test_a_plain_part_wins_over_its_html_alternative():
    mail = parse_mail(bytes(user_mail("plain words", html="<p>html words</p>")))
    assert mail.text == "plain words"


def test_a_chinese_mail_in_gb2312_with_an_encoded_subject():
    subject = "=?gb2312?b?" + base64.b64encode("转账失败了".encode("gb2312")).decode() + "?="
    body = "我的USDT转账失败了，扣了手续费。\n\n在 2024年6月3日，客服 写道：\n> 您好".encode("gb18030")
    raw = raw_mail(f"""
From: =?utf-8?b?{base64.b64encode("张三".encode()).decode()}?= <Zhang.San@Example.COM>
To: {SUPPORT}
Subject: {subject}
Message-ID: <zh-1@example.com>
Content-Type: text/plain; charset=gb2312
Content-Transfer-Encoding: base64
""", base64.encodebytes(body))
    mail = parse_mail(raw)
    assert mail.subject == "转账失败了"
    assert mail.text == "我的USDT转账失败了，扣了手续费。"
    assert mail.sender == "zhang.san@example.com"


def test_a_gbk_body_labelled_gb2312_and_an_unknown_charset_are_still_read():
    # 镕 is in GBK but not in GB2312: clients label such mail gb2312 anyway.
    gbk = raw_mail(f"From: {USER}\nSubject: x\nContent-Type: text/plain; charset=gb2312\n"
                   "Content-Transfer-Encoding: 8bit", "朱镕基 转账".encode("gbk"))
    assert parse_mail(gbk).text == "朱镕基 转账"
    unknown = raw_mail(f"From: {USER}\nSubject: x\nContent-Type: text/plain; "
                       "charset=x-no-such-charset\nContent-Transfer-Encoding: 8bit",
                       "转账 failed".encode())
    assert parse_mail(unknown).text == "转账 failed"
    latin = raw_mail(f"From: {USER}\nSubject: =?iso-8859-1?q?caf=E9?=\n"
                     "Content-Type: text/plain; charset=iso-8859-1\n"
                     "Content-Transfer-Encoding: quoted-printable", b"d=E9j=E0 vu")
    mail = parse_mail(latin)
    assert (mail.subject, mail.text) == ("café", "déjà vu")


def test_a_utf8_quoted_printable_subject_folded_over_lines():
    msg = user_mail("hi", subject="我的提币一直没有到账，已经等了三个小时了，请帮忙看看 " * 2)
    mail = parse_mail(bytes(msg))
    assert mail.subject == ("我的提币一直没有到账，已经等了三个小时了，请帮忙看看 " * 2).strip()


def test_reply_to_is_where_answers_go_and_the_thread_is_in_reply_to_first():
    msg = user_mail("hi", Reply_To="Alice <Alice@Home.example>",
                    In_Reply_To="<b@x>", References="<root@x> <a@x> <b@x>")
    mail = parse_mail(bytes(msg))
    assert mail.sender == "alice@home.example"
    assert mail.thread == ("<b@x>", "<a@x>", "<root@x>")
    assert mail.references == ("<root@x>", "<a@x>", "<b@x>")
    assert mail.message_id == msg["Message-ID"]


def test_a_mail_without_message_id_gets_one():
    mail = parse_mail(raw_mail(f"From: {USER}\nSubject: x", b"hello"))
    assert mail.message_id.startswith("<") and mail.message_id.endswith("@inbound>")
    assert mail.text == "hello" and not mail.automatic


@pytest.mark.parametrize("headers,envelope", [
    ({"Auto_Submitted": "auto-replied"}, None),
    ({"Precedence": "bulk"}, None),
    ({"X_Autoreply": "yes"}, None),
    ({"List_Id": "<news.example.com>"}, None),
    ({}, ""),  # a bounce: the empty envelope sender
])
def test_robots_are_recognised(headers, envelope):
    assert parse_mail(bytes(user_mail("Out of office", **headers)),
                      envelope_from=envelope).automatic
    assert not parse_mail(bytes(user_mail("hi", Auto_Submitted="no")),
                          envelope_from=USER).automatic


def test_garbage_never_raises():
    mail = parse_mail(b"\xff\xfe not a mail at all \x00\r\n\r\n\xc3")
    assert isinstance(mail, InboundMail) and mail.sender == ""


# ---------------------------------------------------------------- the listener


@pytest.fixture
def listener_settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", thresholds_file=tmp_path / "none.json",
                    mail_inbound_address=SUPPORT, mail_listen_port=0, mail_max_bytes=50_000)


def test_the_listener_takes_mail_for_the_support_address_over_smtp(listener_settings):
    got: list[InboundMail] = []
    seen_in: list[str] = []

    def accept(mail: InboundMail) -> None:
        seen_in.append(threading.current_thread().name)
        got.append(mail)

    with MailListener(accept, listener_settings) as listener:
        assert listener.port > 0
        send(listener.port, user_mail("我的转账失败了", subject="转账失败"), to=SUPPORT.upper())
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:  # relays nothing
            send(listener.port, user_mail("spam"), to="someone@elsewhere.example")
        assert b"no such mailbox" in refused.value.recipients["someone@elsewhere.example"][1]
        too_big = user_mail("x" * 60_000)
        with pytest.raises(smtplib.SMTPException):
            send(listener.port, too_big)
    assert [(m.sender, m.subject, m.text) for m in got] == [(USER, "转账失败", "我的转账失败了")]
    assert seen_in and "MainThread" not in seen_in  # the service runs off the event loop


def test_a_mail_the_queue_cannot_take_is_answered_451_for_a_retry(listener_settings):
    def accept(mail: InboundMail) -> None:
        raise QueueError("database is locked")

    with MailListener(accept, listener_settings) as listener:
        with pytest.raises(smtplib.SMTPDataError) as failed:
            send(listener.port, user_mail("hello"))
    assert failed.value.smtp_code == 451


def test_the_listener_never_logs_the_mail(listener_settings, caplog):
    phrase = "legal winner thank year wave sausage worth useful legal winner thank yellow"
    with caplog.at_level("DEBUG"):
        with MailListener(lambda mail: None, listener_settings) as listener:
            send(listener.port, user_mail(f"my words: {phrase}"))
    assert caplog.records and "sausage" not in caplog.text


def test_the_listener_port_in_use_is_an_error(listener_settings):
    with MailListener(lambda mail: None, listener_settings) as first:
        busy = listener_settings.model_copy(update={"mail_listen_port": first.port})
        with pytest.raises(OSError):
            MailListener(lambda mail: None, busy).start()


def test_a_message_built_by_the_stdlib_round_trips():
    msg = EmailMessage()
    msg["From"] = USER
    msg["Subject"] = "Re: 提币没到账 [工单 abc]"
    msg.set_content("第二封\n\n> 第一封")
    mail = parse_mail(bytes(msg))
    assert (mail.subject, mail.text) == ("Re: 提币没到账 [工单 abc]", "第二封")
