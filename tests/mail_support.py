"""Real SMTP on loopback for the email tests: a relay that keeps what it is sent (aiosmtpd),
and a user's mail client (smtplib). Nothing is mocked: mail crosses real sockets."""

from __future__ import annotations

import email
import smtplib
import threading
import time
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import make_msgid

from aiosmtpd.controller import Controller

USER = "alice@example.com"
SUPPORT = "support@example.com"


class _Capture:
    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []
        self.arrived = threading.Condition()
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.arrived:
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos),
                                  bytes(envelope.original_content or envelope.content)))
            self.arrived.notify_all()
        return "250 2.0.0 kept"


class _PortZeroController(Controller):
    def _trigger_server(self) -> None:
        sockets = getattr(self.server, "sockets", None)
        if self.port == 0 and sockets:
            self.port = sockets[0].getsockname()[1]
        super()._trigger_server()


class Relay:
    """The outbound relay the assistant sends to: keeps every mail, parsed; refuses the
    recipients in `refuse`. `stop()` then `start()` brings it back on the same port (a relay
    that was down)."""

    def __init__(self, port: int = 0, *, refuse: tuple[str, ...] = (), **smtp: object) -> None:
        self.capture = _Capture(frozenset(refuse))
        self.port = port
        self.smtp = smtp
        self._controller: Controller | None = None

    def start(self) -> "Relay":
        self._controller = _PortZeroController(self.capture, hostname="127.0.0.1",
                                               port=self.port, **self.smtp)
        self._controller.start()
        self.port = int(self._controller.port)
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def raw(self) -> list[bytes]:
        return [r[2] for r in self.capture.received]

    @property
    def messages(self) -> list[EmailMessage]:
        return [parse(r) for r in self.raw]

    def wait(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """The first `count` mails, waiting for them to arrive."""
        deadline = time.monotonic() + timeout
        with self.capture.arrived:
            while len(self.capture.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.capture.received)} mail(s) arrived, "
                                         f"{count} expected")
                self.capture.arrived.wait(left)
        return self.messages[:count]

    def settings(self) -> dict:
        """Settings that send to this relay (plain SMTP on loopback)."""
        return {"smtp_host": "127.0.0.1", "smtp_port": self.port, "smtp_starttls": False}


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(msg, EmailMessage)
    return msg


def body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def user_mail(text: str, subject: str = "Help", *, sender: str = USER, to: str = SUPPORT,
              reply_to: EmailMessage | None = None, html: str | None = None,
              charset: str = "utf-8", **headers: str) -> EmailMessage:
    """A mail as a user's client writes it; `reply_to` makes it a reply in that mail's thread
    (In-Reply-To and References as clients set them, the earlier text quoted)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.com")
    if reply_to is not None:
        parent = reply_to["Message-ID"]
        msg["In-Reply-To"] = parent
        msg["References"] = " ".join(filter(None, [reply_to.get("References"), parent]))
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    if html is not None and not text:
        msg.set_content(html, subtype="html", charset=charset)
    else:
        msg.set_content(text, charset=charset)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    return msg


def quoted(msg: EmailMessage) -> str:
    """The earlier mail quoted the way clients do, under an attribution line."""
    lines = "\n".join(f"> {line}" for line in body(msg).splitlines())
    return f"On Mon, 3 Jun 2024 at 10:00, Support <{SUPPORT}>\nwrote:\n{lines}\n"


def send(port: int, msg: EmailMessage, *, sender: str | None = None,
         to: str = SUPPORT) -> None:
    """Deliver a mail to the listener on loopback, as the MX would."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.send_message(msg, from_addr=sender if sender is not None else msg["From"],
                          to_addrs=[to])
