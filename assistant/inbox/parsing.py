"""From the bytes an SMTP client sent to an `InboundMail`: headers decoded, the body as plain
text in any charset (HTML-only mail converted), and only what the user wrote this time.

Mail clients quote the whole earlier thread under (or above) a reply and append signatures;
an agent needs the new lines, and a recovery phrase sent in an earlier mail must not come
back in through a quote. What is cut: lines quoted with `>`, everything from an attribution
line ("On … wrote:", "在 … 写道：") or a forwarded/original-message separator on, an Outlook
header block ("From: … Sent: …", "发件人：… 发送时间：…"), the signature after `-- `, and
"Sent from my iPhone" lines. In HTML, quoted blocks (`<blockquote>`, Gmail's and Outlook's
quote containers) are dropped before the text is read.
"""

from __future__ import annotations

import email
import re
import secrets
from email.message import EmailMessage, Message
from email.policy import default as default_policy
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from assistant.core.types import InboundMail

#: Charsets mail clients declare for text in a superset codec: gb2312 mail is often GBK.
_CHARSET_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
                    "cp936": "gb18030", "ks_c_5601-1987": "cp949", "iso-8859-1": "cp1252",
                    "us-ascii": "utf-8", "ascii": "utf-8", "unknown-8bit": "utf-8"}
_ATTRIBUTION = (
    re.compile(r"^\s*On\b.{0,400}\bwrote\s*:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*(?:在|於|于).{0,400}(?:写道|寫道)\s*[:：]?\s*$", re.DOTALL),
    re.compile(r"^\s*-{2,}\s*(?:Original Message|Forwarded message|Reply message|原始邮件|"
               r"原始郵件|转发的邮件|轉寄郵件|回复的原邮件)\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*_{10,}\s*$"),  # Outlook's rule above the quoted headers
)
_HEADER_FROM = re.compile(r"^\s*\*?(?:From|发件人|寄件者|發件人)\s*\*?\s*[:：]", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^\s*\*?(?:Sent|Date|To|Subject|Cc|发送时间|时间|日期|收件人|主题|"
                          r"寄件日期|傳送時間|主旨)\s*\*?\s*[:：]", re.IGNORECASE)
_SIGNATURE = re.compile(r"^-- ?$")
_SENT_FROM = re.compile(r"^\s*(?:Sent from my \w+.*|Get Outlook for \w+.*|发自我的\S+|"
                        r"从我的\s?\S+\s?发送|來自我的\S+)\s*$", re.IGNORECASE)
#: Headers that mark mail a robot wrote (RFC 3834, vacation responders, bulk senders).
_BULK = re.compile(r"^(?:bulk|junk|list|auto_reply)$", re.IGNORECASE)


def parse_mail(raw: bytes, *, envelope_from: str | None = None) -> InboundMail:
    """The mail as the service reads it. Never raises on malformed mail: what cannot be
    decoded is replaced, a missing Message-ID is made up."""
    msg = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(msg, EmailMessage)
    sender = _address(_header(msg, "Reply-To")) or _address(_header(msg, "From")) \
        or (envelope_from or "").strip().lower()
    message_id = (_ids(_header(msg, "Message-ID")) or [f"<{secrets.token_urlsafe(18)}@inbound>"])[0]
    in_reply_to = _ids(_header(msg, "In-Reply-To"))
    references = _ids(_header(msg, "References"))
    thread = tuple(dict.fromkeys([*in_reply_to, *reversed(references)]))
    return InboundMail(
        sender=sender, subject=" ".join(_header(msg, "Subject").split()),
        text=new_text(body_text(msg)), message_id=message_id, thread=thread,
        references=tuple(references), automatic=automatic(msg, envelope_from))


def automatic(msg: Message, envelope_from: str | None = None) -> bool:
    """A bounce (empty envelope sender), an auto-reply or bulk mail: never answered."""
    if envelope_from is not None and envelope_from.strip() in ("", "<>"):
        return True
    auto = _header(msg, "Auto-Submitted").strip().lower()
    if auto and auto != "no":
        return True
    return bool(_BULK.match(_header(msg, "Precedence").strip())
                or _header(msg, "X-Autoreply") or _header(msg, "X-Autorespond")
                or _header(msg, "List-Id"))


def body_text(msg: Message) -> str:
    """The mail's text: its text/plain part, else its text/html part as text."""
    part: Message | None = None
    if isinstance(msg, EmailMessage):
        try:
            part = msg.get_body(preferencelist=("plain", "html"))
        except (KeyError, LookupError):
            part = None
    if part is None:
        part = next((p for p in msg.walk() if p.get_content_maintype() == "text"), None)
    if part is None:
        return ""
    text = decode_part(part)
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return text


def decode_part(part: Message) -> str:
    """A text part's payload as str, whatever charset it declares (or mis-declares)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    declared = (part.get_content_charset() or "utf-8").lower()
    for charset in dict.fromkeys((_CHARSET_ALIASES.get(declared, declared), "utf-8",
                                  "gb18030")):
        try:
            return payload.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("utf-8", errors="replace")


def new_text(text: str) -> str:
    """What the user wrote this time: quotes, attribution and what follows it, and the
    signature cut; blank runs collapsed."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if _SIGNATURE.match(line) and kept:
            break
        if _cuts(lines, i):
            break
        if line.lstrip().startswith(">") or _SENT_FROM.match(line):
            continue
        kept.append(line.rstrip())
    out = "\n".join(kept)
    out = re.sub(r"\n{3,}", "\n\n", out).strip()
    return out


def _cuts(lines: list[str], i: int) -> bool:
    """Whether the quoted mail starts at line `i`."""
    line = lines[i]
    joined = line + " " + lines[i + 1] if i + 1 < len(lines) else line
    for pattern in _ATTRIBUTION:
        if pattern.match(line):
            return True
    # "On Mon, 3 Jun 2024 at 10:00, Alice <a@example.com>" ⏎ "wrote:" (wrapped)
    if line.lstrip().lower().startswith("on ") and _ATTRIBUTION[0].match(joined):
        return True
    if _HEADER_FROM.match(line):
        following = [ln for ln in lines[i + 1:i + 5] if ln.strip()]
        return any(_HEADER_NEXT.match(ln) for ln in following[:3])
    return False


class _HtmlText(HTMLParser):
    """HTML to text: block elements as lines, quoted blocks and non-content dropped."""

    _BLOCK = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
                        "table", "ul", "ol", "hr", "section", "article", "header", "footer",
                        "pre"})
    _SKIP = frozenset({"script", "style", "head", "title", "blockquote", "template"})
    _QUOTE_MARKERS = ("gmail_quote", "divrplyfwdmsg", "appendonsend", "yahoo_quoted",
                      "moz-cite-prefix", "protonmail_quote")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping: list[str] = []  # tag names whose content is dropped (nested)
        self._quoted = False  # everything after a quote container is the earlier mail

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._quoted:
            return
        marker = " ".join(f"{v or ''}" for k, v in attrs if k in ("class", "id")).lower()
        if any(m in marker for m in self._QUOTE_MARKERS):
            self._quoted = True
            return
        if tag in self._SKIP:
            self._skipping.append(tag)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BLOCK and not self._quoted and not self._skipping:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._quoted:
            return
        if self._skipping and tag == self._skipping[-1]:
            self._skipping.pop()
        elif tag in self._BLOCK and not self._skipping:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._quoted and not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts).replace("\xa0", " ")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _header(msg: Message, name: str) -> str:
    """A header decoded (encoded words, any charset); empty when missing or unreadable."""
    try:
        value = msg.get(name)
        return str(value) if value is not None else ""
    except (ValueError, LookupError, IndexError, TypeError, AttributeError):
        return ""  # a header too malformed to decode names nothing


def _address(value: str) -> str:
    found = [addr for _, addr in getaddresses([value]) if "@" in addr] if value else []
    if not found:
        _, addr = parseaddr(value)
        found = [addr] if "@" in addr else []
    return found[0].strip().lower() if found else ""


def _ids(value: str) -> list[str]:
    return re.findall(r"<[^<>\s]+>", value)
