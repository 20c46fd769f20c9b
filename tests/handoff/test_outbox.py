"""The outbox: mail composed with its thread's headers, sent over real SMTP to a relay on
loopback, kept and retried while the relay is down, on every queue backend."""

from __future__ import annotations

import logging
import smtplib
import threading
import time

import pytest

from assistant.core.config import Settings
from assistant.handoff.outbox import (
    FRESH_SECONDS,
    MAX_REFERENCES,
    Dispatcher,
    Thread,
    Threads,
    compose,
    message_ids,
    new_message_id,
    outgoing,
    plain_text,
    reply_subject,
)
from assistant.understanding.redaction import PHRASE_MARK
from tests.mail_support import SUPPORT, USER, Relay, body, parse

PHRASE = "legal winner thank year wave sausage worth useful legal winner thank yellow"


@pytest.fixture
def relay():
    r = Relay().start()
    yield r
    r.stop()


def settings_for(tmp_path, **extra) -> Settings:
    return Settings(data_dir=tmp_path / "data", thresholds_file=tmp_path / "none.json",
                    mail_inbound_address=SUPPORT, **extra)


def row(kind: str = "reply", **extra) -> dict:
    return outgoing(kind=kind, to=USER, subject=extra.pop("subject", "Re: Help [Ticket T1]"),
                    body=extra.pop("body", "Hello"), sender=SUPPORT, **extra)


def queued(queue, mail: dict) -> dict:
    return {**mail, "id": queue.enqueue_mail(mail), "attempts": 0}


# ---------------------------------------------------------------- composition


def test_message_ids_are_random_and_on_the_senders_domain():
    ids = {new_message_id(SUPPORT) for _ in range(200)}
    assert len(ids) == 200
    assert all(i.startswith("<") and i.endswith("@example.com>") and len(i) > 30 for i in ids)
    assert message_ids("<a@x> junk <b@y>") == ["<a@x>", "<b@y>"]


def test_a_reply_subject_has_one_re_and_the_ticket_once():
    tag = "[Ticket T1]"
    assert reply_subject("Help", tag) == "Re: Help [Ticket T1]"
    assert reply_subject("RE: Re: Fwd: Help [Ticket T1]", tag) == "Re: Help [Ticket T1]"
    assert reply_subject("回复：转账失败", "[工单 T1]") == "Re: 转账失败 [工单 T1]"
    assert reply_subject("", tag) == "Re: [Ticket T1]"
    assert reply_subject("Help", "") == "Re: Help"


def test_threading_headers_name_the_last_mail_and_keep_the_first():
    thread = Thread("Help", tuple(f"<m{i}@x>" for i in range(30)))
    assert thread.in_reply_to == "<m29@x>"
    refs = thread.references.split()
    assert len(refs) == MAX_REFERENCES and refs[0] == "<m0@x>" and refs[-1] == "<m29@x>"
    assert Thread("", ("<a@x>",)).added("<a@x>", "<b@x>").ids == ("<a@x>", "<b@x>")
    msg = parse(bytes(compose(row(in_reply_to=thread.in_reply_to,
                                  references=thread.references), SUPPORT)))
    assert msg["In-Reply-To"] == "<m29@x>"
    assert msg["References"].split() == refs


def test_chinese_subject_and_body_are_encoded_and_read_back():
    mail = row(kind="ack", subject="Re: 转账失败了怎么办 [工单 T1]",
               body="您好，您的工单已登记。\n客服会在 24 小时内回复。")
    raw = bytes(compose(mail, SUPPORT, "help@example.com"))
    assert raw.isascii()  # encoded words and base64/quoted-printable: any relay takes it
    assert b"=?utf-8?" in raw.split(b"\n\n")[0].lower()
    msg = parse(raw)
    assert msg["Subject"] == "Re: 转账失败了怎么办 [工单 T1]"
    assert body(msg).strip() == "您好，您的工单已登记。\n客服会在 24 小时内回复。"
    assert msg["Auto-Submitted"] == "auto-replied" and msg["Reply-To"] == "help@example.com"
    assert msg["Message-ID"] == mail["message_id"]


def test_an_agents_reply_is_not_marked_automatic():
    msg = parse(bytes(compose(row(kind="reply"), SUPPORT, SUPPORT)))
    assert msg["Auto-Submitted"] is None and msg["Reply-To"] is None


def test_a_secret_never_leaves_in_a_mail():
    mail = row(body=f"your words: {PHRASE}", subject=f"Re: {PHRASE}")
    assert PHRASE_MARK in mail["body"] and "sausage" not in mail["body"]
    assert "sausage" not in mail["subject"]
    with pytest.raises(ValueError, match="unknown mail kind"):
        row(kind="newsletter")


# ---------------------------------------------------------------- threads


def test_threads_are_kept_in_the_queue_for_every_process(make_queue):
    queue = make_queue()
    threads = Threads(queue)
    assert threads.get("T1") is None
    threads.extend("T1", "<a@x>", subject="Help")
    threads.extend("T1", "<b@x>", subject="ignored: the thread has one")
    again = Threads(make_queue()).get("T1")  # another process reads the same thread
    assert again == Thread("Help", ("<a@x>", "<b@x>"))


# ---------------------------------------------------------------- sending


def test_a_mail_is_sent_over_smtp_and_marked_sent(make_queue, relay, tmp_path):
    queue = make_queue()
    dispatcher = Dispatcher(queue, settings_for(tmp_path, **relay.settings()))
    mail = queued(queue, row(subject="Re: 转账失败 [工单 T1]", body="已处理"))
    assert dispatcher.deliver([mail]).sent == 1
    (got,) = relay.wait(1)
    envelope_from, rcpt, _ = relay.capture.received[0]
    assert envelope_from == SUPPORT and rcpt == [USER]
    assert got["Message-ID"] == mail["message_id"] and got["Subject"] == "Re: 转账失败 [工单 T1]"
    assert queue.due_mail() == []


def test_a_relay_that_is_down_delays_mail_until_it_is_back(make_queue, tmp_path):
    relay = Relay().start()
    port = relay.port
    relay.stop()  # down
    queue = make_queue()
    dispatcher = Dispatcher(queue, settings_for(tmp_path, **relay.settings(),
                                                mail_retry_seconds=0.3))
    mail = queued(queue, row())
    result = dispatcher.deliver([mail])
    assert (result.sent, result.failed) == (0, 1)
    (due,) = queue.due_mail()
    assert due["attempts"] == 1 and "unreachable" in due["last_error"]
    assert dispatcher.flush().waiting == 1  # backing off: not tried again yet
    relay = Relay(port).start()  # back, on the same port
    try:
        time.sleep(0.35)
        assert dispatcher.flush().sent == 1
        relay.wait(1)
        assert queue.due_mail() == [] and dispatcher.flush().sent == 0
        assert [m["Message-ID"] for m in relay.messages] == [mail["message_id"]]  # once
    finally:
        relay.stop()


def test_the_loop_leaves_a_fresh_mail_to_its_writer_and_the_cli_sends_everything(
        make_queue, relay, tmp_path):
    queue = make_queue()
    dispatcher = Dispatcher(queue, settings_for(tmp_path, **relay.settings()))
    queued(queue, row())
    assert dispatcher.flush().waiting == 1 and relay.raw == []
    assert dispatcher.flush(force=True).sent == 1
    relay.wait(1)


def test_a_mail_the_relay_refuses_does_not_hold_up_the_others(make_queue, tmp_path):
    relay = Relay(refuse=("gone@example.com",)).start()
    try:
        queue = make_queue()
        dispatcher = Dispatcher(queue, settings_for(tmp_path, **relay.settings()))
        queued(queue, {**row(), "to": "gone@example.com"})
        good = queued(queue, row())
        result = dispatcher.flush(force=True)
        assert (result.sent, result.failed) == (1, 1)
        assert [m["Message-ID"] for m in relay.wait(1)] == [good["message_id"]]
        (left,) = queue.due_mail()
        assert left["to"] == "gone@example.com" and "no such user" in left["last_error"]
    finally:
        relay.stop()


def test_the_loop_sends_what_a_process_without_a_relay_left(make_queue, relay, tmp_path):
    queue = make_queue()
    web = Dispatcher(queue, settings_for(tmp_path))  # `assistant serve` without SMTP settings
    mail = queued(queue, row())
    assert web.deliver([mail]).waiting == 1
    later = time.time() + FRESH_SECONDS + 1  # half a minute on
    loop = Dispatcher(make_queue(), settings_for(tmp_path, **relay.settings(),
                                                 mail_poll_seconds=0.05), now=lambda: later)
    stop = threading.Event()
    worker = threading.Thread(target=loop.run, args=(stop,))
    worker.start()
    try:
        (got,) = relay.wait(1)
    finally:
        stop.set()
        worker.join(10)
    assert got["Message-ID"] == mail["message_id"] and not worker.is_alive()
    assert queue.due_mail() == []


def test_after_the_last_attempt_a_mail_stays_with_its_error(make_queue, tmp_path):
    queue = make_queue()
    settings = settings_for(tmp_path, smtp_host="127.0.0.1", smtp_port=1, smtp_starttls=False,
                            mail_max_attempts=2)
    dispatcher = Dispatcher(queue, settings)
    queued(queue, row())
    for _ in range(2):
        assert dispatcher.flush(force=True).failed == 1
    assert dispatcher.flush(force=True).failed == 0 and queue.due_mail(max_attempts=2) == []


def test_without_a_relay_mail_is_kept_and_a_warning_says_why(make_queue, tmp_path, caplog):
    queue = make_queue()
    dispatcher = Dispatcher(queue, settings_for(tmp_path))
    with caplog.at_level(logging.WARNING, logger="assistant.handoff.outbox"):
        assert dispatcher.deliver([queued(queue, row())]).waiting == 1
        dispatcher.deliver([queued(queue, row())])
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "ASSISTANT_SMTP_HOST is not set" in warnings[0]
    assert len(queue.due_mail()) == 2


def test_starttls_is_required_unless_turned_off(make_queue, relay, tmp_path):
    queue = make_queue()
    settings = settings_for(tmp_path, **{**relay.settings(), "smtp_starttls": True})
    assert Dispatcher(queue, settings).deliver([queued(queue, row())]).failed == 1
    assert "ASSISTANT_SMTP_STARTTLS" in queue.due_mail()[0]["last_error"]
    assert relay.raw == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_the_relay_login_is_used_when_set(make_queue, tmp_path):
    from aiosmtpd.smtp import AuthResult

    def check(server, session, envelope, mechanism, auth_data):
        given = tuple(v.decode() if isinstance(v, bytes) else v
                      for v in (auth_data.login, auth_data.password))
        return AuthResult(success=given == ("bot", "pw-1"), handled=False)  # 535 when wrong

    relay = Relay(authenticator=check, auth_required=True, auth_require_tls=False,
                  auth_exclude_mechanism=["LOGIN"]).start()
    try:
        queue = make_queue()
        wrong = settings_for(tmp_path, **relay.settings(), smtp_user="bot", smtp_password="no")
        assert Dispatcher(queue, wrong).deliver([queued(queue, row())]).failed == 1
        right = settings_for(tmp_path, **relay.settings(), smtp_user="bot",
                             smtp_password="pw-1")
        assert Dispatcher(queue, right).flush(force=True).sent == 1
        relay.wait(1)
        assert len(relay.raw) == 1  # the refused login sent nothing
    finally:
        relay.stop()
    with pytest.raises(smtplib.SMTPException):  # the relay really does refuse strangers
        relay.start()
        try:
            with smtplib.SMTP("127.0.0.1", relay.port) as smtp:
                smtp.sendmail(SUPPORT, [USER], b"Subject: x\r\n\r\nx")
        finally:
            relay.stop()


def test_article_markdown_reads_as_plain_text_in_a_mail():
    steps = ("## Steps\n1. Open **Wallet** → `Settings`.\n2. See [the guide](https://help.example/a)"
             " or <https://help.example>.\n3. Write to [service@tokenpocket.pro](service@tokenpocket.pro).")
    text = plain_text(steps)
    assert text == ("Steps\n1. Open Wallet → Settings.\n2. See the guide <https://help.example/a>"
                    " or <https://help.example>.\n3. Write to service@tokenpocket.pro.")
    msg = compose({"to": "u@example.org", "subject": "Re: x", "body": steps,
                   "message_id": "<m@x>", "kind": "reply"}, "support@example.org")
    assert "**" not in msg.get_content() and "the guide <https://help.example/a>" in msg.get_content()
