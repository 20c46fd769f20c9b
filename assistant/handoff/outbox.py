"""Outbound email: the mail a ticket's thread sends, composed, stored, then sent over SMTP.

Every mail is written to the queue's durable outbox (`Mailbox.enqueue_mail`) before any
attempt to send it, so a relay that is down delays mail instead of losing it. The process
that wrote a mail tries it at once (`Dispatcher.deliver`); what failed is retried by the
dispatcher loop of `assistant mail serve` with a growing wait, or sent by
`assistant mail flush`. Without a relay (`ASSISTANT_SMTP_HOST` unset) mail stays in the
outbox, and a warning says why nothing is sent.

Threading: every Message-ID the assistant writes is random (`new_message_id`), and each one
of a ticket's thread, in or out, is linked to the ticket (`Mailbox.link_mail`). A reply naming
one of them is the ticket's: replying into the thread is the capability, as the ticket secret
is in the chat. The thread's subject and Message-IDs, which the next reply's `In-Reply-To` and
`References` need, are kept by `Threads`.
"""

from __future__ import annotations

import logging
import re
import secrets
import smtplib
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime

from assistant.core.config import Settings
from assistant.core.errors import QueueError
from assistant.handoff.protocols import HandoffQueue
from assistant.understanding.redaction import redact

log = logging.getLogger(__name__)

#: What the outbox holds: the assistant's answers and acknowledgements, agents' replies, the
#: resolution with its rating request, the notice of a reopened ticket, a secret warning.
KINDS = ("answer", "ack", "reply", "rating_request", "reopened", "warning")
#: Kinds a robot writes: marked `Auto-Submitted` (RFC 3834) so other robots do not answer.
AUTOMATIC = frozenset({"answer", "ack", "rating_request", "reopened", "warning"})
#: References kept on a reply: the thread's first id and the latest ones (RFC 5322 allows
#: trimming; clients thread on the first and the last).
MAX_REFERENCES = 20
#: The dispatcher leaves a mail this young to the process that wrote it (which tries it at
#: once), so the two never send it twice.
FRESH_SECONDS = 30.0
#: The longest wait between two attempts.
MAX_RETRY_SECONDS = 6 * 3600.0
#: Chat session ids are at most 128 characters (the API's limit): a longer key in the
#: session state can never be reached, or taken, from a chat.
_PREFIX = re.compile(r"^\s*(?:(?:re|fwd?|aw|sv|回复|回覆|答复|转发)\s*(?:\[\d+\])?\s*[:：]\s*)+",
                     re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


def new_message_id(sender: str) -> str:
    """A Message-ID nobody can guess (144 random bits): a reply naming it is in the thread."""
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<{secrets.token_urlsafe(18)}@{domain}>"


_MD_LINK = re.compile(r"\[([^\]\n]+)\]\((\S+?)\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
_MD_HEADING = re.compile(r"^#{1,6}\s+", re.M)
_MD_CODE = re.compile(r"`([^`\n]+)`")


def plain_text(markdown: str) -> str:
    """Article Markdown as a plain-text mail reads it: links as `text <url>`, no emphasis
    marks, headings and code as their text; lists and line breaks stay as written."""
    text = _MD_LINK.sub(lambda m: m.group(1) if m.group(1) == m.group(2)
                        else f"{m.group(1)} <{m.group(2)}>", markdown)
    text = _MD_EMPHASIS.sub(r"\2", text)
    text = _MD_HEADING.sub("", text)
    return _MD_CODE.sub(r"\1", text)


def message_ids(header: str | None) -> list[str]:
    """The `<...>` ids in an In-Reply-To or References header, in order."""
    return _MESSAGE_ID.findall(header or "")


def reply_subject(subject: str, tag: str) -> str:
    """`Re: <subject> <tag>`: one `Re:` whatever prefixes the clients stacked, the ticket's
    tag once (a reply keeps it, so users and agents see the ticket in every subject)."""
    core = _PREFIX.sub("", subject or "").strip()
    if tag and tag not in core:
        core = f"{core} {tag}".strip()
    return f"Re: {core}" if core else tag


@dataclass(frozen=True)
class Thread:
    """A ticket's email thread: its subject and the Message-IDs so far, oldest first."""

    subject: str
    ids: tuple[str, ...] = ()

    def added(self, *message_id: str) -> "Thread":
        new = tuple(m for m in message_id if m and m not in self.ids)
        return Thread(self.subject, self.ids + new)

    @property
    def in_reply_to(self) -> str | None:
        return self.ids[-1] if self.ids else None

    @property
    def references(self) -> str:
        ids = self.ids if len(self.ids) <= MAX_REFERENCES else \
            (self.ids[0], *self.ids[-(MAX_REFERENCES - 1):])
        return " ".join(ids)


class Threads:
    """Each email ticket's `Thread`, read from and written to the queue's mail threads
    (`Mailbox.link_mail` / `mail_thread`): shared by every process, durable on every backend."""

    def __init__(self, queue: HandoffQueue) -> None:
        self.queue = queue

    def get(self, ticket_id: str) -> Thread | None:
        subject, ids = self.queue.mail_thread(ticket_id)
        return Thread(subject, tuple(ids)) if ids else None

    def put(self, ticket_id: str, thread: Thread) -> None:
        for message_id in thread.ids:
            self.queue.link_mail(message_id, ticket_id, thread.subject or None)

    def extend(self, ticket_id: str, *message_id: str, subject: str = "") -> Thread:
        """The thread with these ids added (created with `subject` when there is none)."""
        for mid in message_id:
            if mid:
                self.queue.link_mail(mid, ticket_id, subject or None)
        return self.get(ticket_id) or Thread(subject)


def outgoing(*, kind: str, to: str, subject: str, body: str, sender: str,
             ticket_id: str | None = None, in_reply_to: str | None = None,
             references: str = "", message_id: str | None = None) -> dict:
    """An outbox row (`Mailbox.enqueue_mail`) with a new Message-ID. The body is checked for
    secrets once more: what the assistant writes is built from redacted text, and this is the
    last step before it leaves."""
    if kind not in KINDS:
        raise ValueError(f"unknown mail kind {kind!r}; one of {', '.join(KINDS)}")
    return {"ticket_id": ticket_id, "kind": kind, "to": to, "subject": redact(subject).text,
            "body": redact(body).text, "message_id": message_id or new_message_id(sender),
            "in_reply_to": in_reply_to, "references": references}


def compose(row: dict, sender: str, reply_to: str | None = None) -> EmailMessage:
    """The MIME message of an outbox row: UTF-8 text, encoded words for a non-ASCII subject,
    the thread's headers, and `Auto-Submitted` on what the assistant writes by itself."""
    msg = EmailMessage(policy=default_policy.clone(cte_type="7bit"))
    msg["From"] = sender
    msg["To"] = row["to"]
    if reply_to and reply_to.lower() != sender.lower():
        msg["Reply-To"] = reply_to
    msg["Subject"] = row["subject"]
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    msg["Message-ID"] = row["message_id"]
    if row.get("in_reply_to"):
        msg["In-Reply-To"] = row["in_reply_to"]
    if row.get("references"):
        msg["References"] = row["references"]
    if row.get("kind") in AUTOMATIC:
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"  # no out-of-office replies to robots
    msg.set_content(plain_text(row["body"]), charset="utf-8")
    return msg


class MailError(Exception):
    """The relay refused a mail or could not be reached (the mail stays in the outbox)."""


class SmtpRelay:
    """Sends over SMTP (stdlib smtplib): STARTTLS and AUTH when the settings ask for them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, messages: list[EmailMessage]) -> list[str | None]:
        """Send each message on one connection; per message None (sent) or the error."""
        s = self.settings
        assert s.smtp_host
        try:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds)
        except (OSError, smtplib.SMTPException) as exc:
            reason = f"relay {s.smtp_host}:{s.smtp_port} unreachable: {exc}"
            return [reason] * len(messages)
        results: list[str | None] = []
        try:
            self._start(smtp)
            for msg in messages:
                try:
                    smtp.send_message(msg)
                    results.append(None)
                except smtplib.SMTPServerDisconnected:
                    raise  # the rest of the batch fails with it, below
                except (smtplib.SMTPException, UnicodeError) as exc:  # this mail only
                    results.append(f"refused by the relay: {exc}")
        except (OSError, smtplib.SMTPException, MailError) as exc:
            results += [f"relay {s.smtp_host}:{s.smtp_port}: {exc}"] * (
                len(messages) - len(results))
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        return results

    def _start(self, smtp: smtplib.SMTP) -> None:
        s = self.settings
        smtp.ehlo()
        if s.smtp_starttls:
            if not smtp.has_extn("starttls"):
                raise MailError("the relay does not offer STARTTLS; set "
                                "ASSISTANT_SMTP_STARTTLS=false only for a relay on a trusted "
                                "network")
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if s.smtp_user:
            smtp.login(s.smtp_user, s.smtp_password or "")


@dataclass(frozen=True)
class FlushResult:
    """What one pass over the outbox did."""

    sent: int = 0
    failed: int = 0
    waiting: int = 0  # due later (backing off, or young enough for its writer to send)

    def to_dict(self) -> dict:
        return {"sent": self.sent, "failed": self.failed, "waiting": self.waiting}


class Dispatcher:
    """Sends the outbox: one mail at once for its writer, due mail for the loop and the CLI.

    A failed mail waits `mail_retry_seconds`, then twice as long after each further failure
    (at most six hours), counted from when it was written, and at least that long after this
    process last tried it; after `mail_max_attempts` it is left in the outbox with its error.
    Run one dispatcher loop per queue: two would both send a mail that is due.
    """

    def __init__(self, queue: HandoffQueue, settings: Settings, *,
                 relay: SmtpRelay | None = None,
                 now: Callable[[], float] = time.time) -> None:
        self.queue = queue
        self.settings = settings
        self.relay = relay or SmtpRelay(settings)
        self.now = now
        self._tried: dict[int, float] = {}
        self._warned = False
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self.settings.smtp_host)

    def _off(self) -> None:
        if not self._warned:
            self._warned = True
            log.warning("ASSISTANT_SMTP_HOST is not set: this process sends no mail, it "
                        "is kept in the outbox for `assistant mail serve` or `assistant mail "
                        "flush` with a relay set (ASSISTANT_SMTP_HOST, and ASSISTANT_SMTP_USER/"
                        "PASSWORD if it needs a login)")

    def deliver(self, rows: list[dict]) -> FlushResult:
        """Try these outbox rows now (each with its `id`); failures stay queued."""
        if not rows:
            return FlushResult()
        if not self.enabled:
            self._off()
            return FlushResult(waiting=len(rows))
        return self._send(rows)

    def flush(self, *, force: bool = False, limit: int = 100) -> FlushResult:
        """One pass over the outbox. `force` (the CLI) sends every unsent mail under the
        attempt limit now; otherwise a mail is sent when its wait is over."""
        if not self.enabled:
            self._off()
            return FlushResult()
        try:
            rows = self.queue.due_mail(limit, self.settings.mail_max_attempts)
        except QueueError as exc:
            log.error("outbox not read: %s", exc)
            return FlushResult()
        due = [r for r in rows if force or self._due(r)]
        result = self._send(due) if due else FlushResult()
        return FlushResult(result.sent, result.failed, len(rows) - len(due))

    def run(self, stop: threading.Event) -> None:
        """The dispatcher loop: a pass every `mail_poll_seconds` until `stop` is set."""
        while not stop.is_set():
            try:
                self.flush()
            except Exception:  # the loop outlives any one bad pass
                log.exception("outbox pass failed")
            stop.wait(self.settings.mail_poll_seconds)

    def _due(self, row: dict) -> bool:
        now = self.now()
        attempts = int(row.get("attempts") or 0)
        written = _epoch(row.get("created_at"))
        if attempts == 0:
            return now - written >= FRESH_SECONDS
        base = self.settings.mail_retry_seconds
        waits = [min(base * 2 ** i, MAX_RETRY_SECONDS) for i in range(attempts)]
        last = self._tried.get(int(row["id"]))
        return now >= written + sum(waits) and (last is None or now - last >= waits[-1])

    def _send(self, rows: list[dict]) -> FlushResult:
        s = self.settings
        with self._lock:
            messages = [compose(r, s.sender_address, s.support_address) for r in rows]
            results = self.relay.send(messages)
            sent = failed = 0
            for row, error in zip(rows, results):
                mail_id = int(row["id"])
                self._tried[mail_id] = self.now()
                try:
                    if error is None:
                        self.queue.mail_sent(mail_id)
                        self._tried.pop(mail_id, None)
                        sent += 1
                    else:
                        self.queue.mail_failed(mail_id, error)
                        failed += 1
                        log.warning("mail %d (%s) not sent, will retry: %s", mail_id,
                                    row.get("kind"), error)
                except QueueError as exc:
                    log.error("outbox not updated for mail %d: %s", mail_id, exc)
            return FlushResult(sent, failed)


def _epoch(stamp: str | None) -> float:
    if not stamp:
        return 0.0
    try:
        return datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return 0.0
