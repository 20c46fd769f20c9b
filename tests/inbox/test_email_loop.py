"""The email channel end to end, over real SMTP on loopback: a user's mail to the listener,
the assistant's and the agent's mail to a relay that keeps them, the user's replies in the
thread. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from email.message import EmailMessage

import pytest

from assistant.inbox.listener import MailListener
from assistant.service import Assistant
from tests.mail_support import SUPPORT, USER, Relay, body, quoted, send, user_mail

PHRASE = "legal winner thank year wave sausage worth useful legal winner thank yellow"
PHRASE_WORDS = ("legal winner thank", "sausage worth useful", "thank yellow")


@dataclass
class Desk:
    """A running email channel: the assistant, its listener and the relay it sends to."""

    assistant: Assistant
    listener: MailListener
    relay: Relay
    dsn: str | None

    def send(self, msg: EmailMessage, **kw) -> EmailMessage:
        send(self.listener.port, msg, **kw)  # returns once the service took the mail
        return msg

    def mails(self) -> list[EmailMessage]:
        return self.relay.messages

    def last(self, count: int) -> EmailMessage:
        """The `count`-th mail the relay got (waiting for it), checking no other came."""
        mails = self.relay.wait(count)
        assert len(self.relay.raw) == count
        return mails[-1]

    def tickets(self) -> list[dict]:
        return [self.assistant.queue.get(t["id"]) for t in
                self.assistant.queue.list(status=None, limit=100)]


@pytest.fixture(params=["sqlite", "postgres"])
def make_desk(request, fake_settings, fake_embedder):
    dsn = request.getfixturevalue("pg_dsn") if request.param == "postgres" else None
    started: list[Desk] = []

    def make(**overrides) -> Desk:
        relay = Relay().start()
        settings = fake_settings.model_copy(update={
            **relay.settings(), "mail_inbound_address": SUPPORT, "mail_listen_port": 0,
            "queue_dsn": dsn, **overrides})
        assistant = Assistant(settings, embedder=fake_embedder).warm_up()
        desk = Desk(assistant, MailListener(assistant.email_in, settings).start(), relay, dsn)
        started.append(desk)
        return desk

    yield make
    for desk in started:
        desk.listener.stop()
        desk.relay.stop()
        desk.assistant.close()


@pytest.fixture
def desk(make_desk) -> Desk:
    return make_desk()


def reply(to: EmailMessage, text: str, *, sender: str = USER) -> EmailMessage:
    """The user's reply to one of our mails, quoting it as clients do."""
    return user_mail(f"{text}\n\n{quoted(to)}", subject=f"Re: {to['Subject']}", reply_to=to,
                     sender=sender)


# ---------------------------------------------------------------- answered by mail


def test_a_question_the_assistant_is_sure_of_is_answered_by_mail(desk):
    asked = desk.send(user_mail("I forgot my wallet password", subject="Password"))
    answer = desk.last(1)
    assert answer["To"] == USER and answer["In-Reply-To"] == asked["Message-ID"]
    assert answer["References"].split()[-1] == asked["Message-ID"]
    assert answer["Subject"] == "Re: Password" and answer["Auto-Submitted"] == "auto-replied"
    text = body(answer)
    assert "Re-import with your recovery phrase" in text
    assert "reply to this email and a member of our support team" in text
    assert desk.tickets() == []


def test_replying_to_an_answer_brings_a_person_with_the_question(desk):
    desk.send(user_mail("I forgot my wallet password", subject="Password"))
    answer = desk.last(1)
    desk.send(reply(answer, "That did not work, the app still says wrong password"))
    ack = desk.last(2)
    (ticket,) = desk.tickets()
    assert ticket["channel"] == "email" and ticket["contact"] == USER
    texts = [m["text"] for m in ticket["messages"]]
    assert texts[0] == "Password\n\nI forgot my wallet password"
    assert texts[1].startswith("Answered with:")
    assert "still says wrong password" in texts[2] and "> " not in texts[2]
    assert ack["In-Reply-To"] != answer["In-Reply-To"] and ticket["id"] in ack["Subject"]
    desk.send(reply(ack, "Thanks!"))  # a thank-you on the ticket is a follow-up there
    assert desk.assistant.queue.get(ticket["id"])["messages"][-1]["text"] == "Thanks!"


def test_a_thank_you_for_an_answer_needs_nobody(desk):
    desk.send(user_mail("I forgot my wallet password", subject="Password"))
    desk.send(reply(desk.last(1), "Thank you so much!"))
    assert desk.tickets() == [] and len(desk.relay.raw) == 1


# ---------------------------------------------------------------- the whole loop


def test_queued_then_answered_by_an_agent_then_rated_by_reply(desk):
    first = desk.send(user_mail("I want to talk to a human about my account",
                                subject="Account locked"))
    ack = desk.last(1)
    (ticket,) = desk.tickets()
    tid = ticket["id"]
    assert (ticket["channel"], ticket["contact"], ticket["status"]) == ("email", USER, "open")
    assert ticket["messages"][0]["text"].endswith("I want to talk to a human about my account")
    assert ack["Subject"] == f"Re: Account locked [Ticket {tid}]"
    assert ack["In-Reply-To"] == first["Message-ID"]
    assert tid in body(ack) and "within 24 hours" in body(ack)

    desk.assistant.claim(tid, "alice")
    desk.assistant.agent_reply(tid, "alice", "Which app version do you use?")
    agent = desk.last(2)
    assert agent["Subject"] == ack["Subject"] and agent["Auto-Submitted"] is None
    assert agent["In-Reply-To"] == ack["Message-ID"]  # the last mail of the thread
    assert agent["References"].split() == [first["Message-ID"], ack["Message-ID"]]
    assert body(agent).startswith("Which app version do you use?")

    answer = desk.send(reply(agent, "Version 2.1.0 on my iPhone"))
    messages = desk.assistant.queue.get(tid)["messages"]
    assert messages[-1]["role"] == "user" and messages[-1]["text"] == "Version 2.1.0 on my iPhone"
    assert len(desk.relay.raw) == 2  # a follow-up needs no mail back

    desk.send(reply(agent, "I am Bob, let me in too", sender="bob@example.com"))
    assert desk.assistant.queue.get(tid)["messages"] == messages  # not the contact: not theirs
    bobs = desk.last(3)  # a conversation of his own, answered or queued
    assert bobs["To"] == "bob@example.com" and tid not in body(bobs)

    desk.assistant.resolve(tid, "alice", "Update the app to 2.2 and sign in again.")
    rating = desk.mails()[-1]
    assert rating["To"] == USER and rating["In-Reply-To"] == answer["Message-ID"]
    text = body(rating)
    assert "Update the app to 2.2" in text and "1 (not at all) to 5" in text

    desk.send(reply(rating, "5 thanks, all good"))
    done = desk.assistant.queue.get(tid)
    assert (done["status"], done["rating"], done["rating_comment"]) == \
        ("resolved", 5, "thanks, all good")
    assert len(desk.relay.raw) == 4


def test_a_resolved_ticket_reopens_when_the_user_says_it_is_not_solved(desk):
    desk.send(user_mail("I want to talk to a human", subject="Help"))
    (ticket,) = desk.tickets()
    desk.assistant.claim(ticket["id"], "alice")
    desk.assistant.resolve(ticket["id"], "alice", "Done.")
    rating = desk.last(2)
    desk.send(reply(rating, "Thanks!"))
    assert desk.assistant.queue.get(ticket["id"])["status"] == "resolved"
    desk.send(reply(rating, "It is still not working, the same error"))
    again = desk.assistant.queue.get(ticket["id"])
    assert (again["status"], again["reopened"]) == ("open", 1)
    assert again["messages"][-1]["text"] == "It is still not working, the same error"
    notice = desk.last(3)
    assert "open again" in body(notice) and notice["In-Reply-To"] is not None


def test_after_the_reopening_window_a_reply_starts_a_new_ticket(make_desk):
    desk = make_desk(reopen_days=0)
    desk.send(user_mail("I want to talk to a human", subject="Help"))
    (ticket,) = desk.tickets()
    desk.assistant.claim(ticket["id"], "alice")
    desk.assistant.resolve(ticket["id"], "alice", "Done.")
    desk.send(reply(desk.last(2), "My swap is still failing"))
    assert desk.assistant.queue.get(ticket["id"])["status"] == "resolved"
    new = [t for t in desk.tickets() if t["id"] != ticket["id"]]
    assert len(new) == 1 and new[0]["contact"] == USER
    assert new[0]["id"] in desk.last(3)["Subject"]


# ---------------------------------------------------------------- what is decided how


def test_a_theft_in_chinese_is_urgent_and_acknowledged_in_chinese(desk):
    desk.send(user_mail("我的钱包被盗了，币被人转走了", subject="钱包被盗", charset="gb18030"))
    (ticket,) = desk.tickets()
    assert ticket["priority"] == "urgent" and ticket["lang"] == "zh"
    ack = desk.last(1)
    assert ack["Subject"] == f"Re: 钱包被盗 [工单 {ticket['id']}]"
    assert "24 小时" in body(ack) and "紧急" in body(ack)


def test_several_close_articles_are_sent_in_full_with_the_ticket(desk):
    desk.send(user_mail("transfer", subject=""))
    (ticket,) = desk.tickets()
    assert ticket["reason"] == "several articles fit" and len(ticket["candidates"]) >= 2
    text = body(desk.last(1))
    assert "one of these articles may already answer" in text
    assert "Why did my transaction fail" in text and "TRON energy and bandwidth" in text
    assert "reply with" in text  # the details are asked for once, as a reply


def test_robots_and_duplicates_get_nothing(desk):
    desk.send(user_mail("I am out of the office", Auto_Submitted="auto-replied"))
    desk.send(user_mail("Mail delivery failed"), sender="")
    assert desk.tickets() == [] and desk.relay.raw == []
    msg = user_mail("I want to talk to a human")
    desk.send(msg)
    desk.send(msg)  # the sending server retried a delivery
    assert len(desk.tickets()) == 1
    desk.last(1)


def test_without_a_relay_tickets_are_still_created_and_mail_waits(make_desk, caplog):
    with caplog.at_level(logging.WARNING):
        desk = make_desk(smtp_host=None)
        desk.send(user_mail("I want to talk to a human"))
    (ticket,) = desk.tickets()
    (waiting,) = desk.assistant.queue.due_mail()
    assert waiting["ticket_id"] == ticket["id"] and waiting["kind"] == "ack"
    assert "ASSISTANT_SMTP_HOST is not set" in caplog.text
    assert desk.relay.raw == []


# ---------------------------------------------------------------- secrets


def test_a_recovery_phrase_is_stored_nowhere_and_the_reply_warns(desk, caplog):
    with caplog.at_level(logging.DEBUG):
        desk.send(user_mail(f"Please restore my wallet, my words are {PHRASE}. "
                            "I want to talk to a human.", subject=f"words {PHRASE}"))
        ack = desk.last(1)
        (ticket,) = desk.tickets()
        desk.assistant.claim(ticket["id"], "alice")
        desk.assistant.agent_reply(ticket["id"], "alice", "Never send those words to anyone.")
        follow = desk.send(reply(desk.last(2), f"sorry, here again: {PHRASE}"))
        warning = desk.last(3)
    assert "removed and not stored" in body(ack)
    assert "removed and not stored" in body(warning)
    assert warning["In-Reply-To"] == follow["Message-ID"]
    stored = json.dumps(desk.assistant.queue.get(ticket["id"]), ensure_ascii=False)
    assert "[REDACTED RECOVERY PHRASE]" in stored
    everything = [stored, caplog.text, database_text(desk),
                  *(f"{m['Subject']}\n{body(m)}" for m in desk.mails())]
    for text in everything:
        for words in PHRASE_WORDS:
            assert words not in text


def database_text(desk: Desk) -> str:
    """Every value the queue holds, outbox included, as text."""
    if desk.dsn is None:
        path = desk.assistant.settings.queue_path
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        with sqlite3.connect(path) as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            rows = [repr(r) for t in tables for r in conn.execute(f'SELECT * FROM "{t}"')]
        assert "mail_outbox" in tables
        return raw.decode("utf-8", "replace") + "\n".join(rows)
    import psycopg

    with psycopg.connect(desk.dsn) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema()")]
        assert "mail_outbox" in tables
        return "\n".join(r[0] for t in tables
                         for r in conn.execute(f'SELECT t::text FROM "{t}" t'))
