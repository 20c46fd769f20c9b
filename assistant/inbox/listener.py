"""The inbound SMTP listener (aiosmtpd): mail for the support address in, `InboundMail` out.

It sits behind the MX that receives the support address's mail (or is that MX's next hop)
and accepts mail for that one address only: it relays nothing. Each accepted mail is parsed
and handed to `accept` (`Assistant.email_in`) off the event loop; only when that has
returned does the client get its 250, so a mail the queue could not take is answered 451
and the sending server tries again later: nothing is lost in between.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller

from assistant.core.config import Settings
from assistant.core.errors import AssistantError
from assistant.core.types import InboundMail
from assistant.inbox.parsing import parse_mail

log = logging.getLogger(__name__)

# aiosmtpd logs every DATA line at DEBUG: a pasted recovery phrase would reach the log
# before the service redacts it. Its loggers never go below INFO, whatever the root level.
for _name in ("mail.log", "mail.debug"):
    logging.getLogger(_name).setLevel(logging.INFO)

#: SMTP replies, with enhanced status codes (RFC 3463).
ACCEPTED = "250 2.0.0 message accepted"
NOT_HERE = "550 5.1.1 no such mailbox here: write to {address}"
TRY_LATER = "451 4.3.0 cannot take mail right now; try again later"


class InboundHandler:
    """aiosmtpd handler: the recipient check and the hand-over of each mail."""

    def __init__(self, accept: Callable[[InboundMail], Any], address: str) -> None:
        self.accept = accept
        self.address = address.lower()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address.strip().lower() != self.address:
            return NOT_HERE.format(address=self.address)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            mail = parse_mail(raw, envelope_from=envelope.mail_from)
            await asyncio.get_running_loop().run_in_executor(None, self.accept, mail)
        except AssistantError as exc:
            log.error("inbound mail not taken (the sender will retry): %s", exc)
            return TRY_LATER
        except Exception:
            log.exception("inbound mail not taken (the sender will retry)")
            return TRY_LATER
        return ACCEPTED


class _Controller(Controller):
    """aiosmtpd's threaded controller, also on port 0 (the port the system chose is read
    back before the start-up check connects to it)."""

    def start(self) -> None:
        try:
            super().start()
        except BaseException:  # e.g. the port is taken: let go of the loop it made
            if self._thread is not None:
                self._thread.join()
                self._thread = None
            if not self.loop.is_closed():
                self.loop.close()
            raise

    def _trigger_server(self) -> None:
        sockets = getattr(self.server, "sockets", None)
        if self.port == 0 and sockets:
            self.port = sockets[0].getsockname()[1]
        super()._trigger_server()


class MailListener:
    """The listener on `mail_listen_host:mail_listen_port`, in a thread of its own."""

    def __init__(self, accept: Callable[[InboundMail], Any], settings: Settings) -> None:
        self.settings = settings
        self._controller = _Controller(
            InboundHandler(accept, settings.support_address),
            hostname=settings.mail_listen_host, port=settings.mail_listen_port,
            data_size_limit=settings.mail_max_bytes, enable_SMTPUTF8=True,
            server_hostname=settings.support_address.rpartition("@")[2] or None,
            ident="assistant inbound mail")

    @property
    def host(self) -> str:
        return str(self._controller.hostname)

    @property
    def port(self) -> int:
        return int(self._controller.port)

    def start(self) -> "MailListener":
        self._controller.start()
        log.info("accepting mail for %s on %s:%d", self.settings.support_address, self.host,
                 self.port)
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> "MailListener":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
