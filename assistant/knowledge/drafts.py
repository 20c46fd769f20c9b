"""Drafts of knowledge-base articles made from resolved tickets.

When agents solve the same problem by hand again and again, the answer belongs in the KB.
`draft_from_ticket` turns a resolved ticket into an article in the KB's own format: the
user's messages from before an agent replied (how users put the problem) become the
questions, the resolution and the agent's replies the body. It is a draft, marked as one
(`draft: true`, `source_ticket`), kept outside the KB until an editor has reviewed it
(usually adding phrasings) and published it with `assistant publish-draft`, which lints it
with the KB and runs the checked build.

The conversation is stored redacted, but what is written to a file that ends up in the KB
and in every user's answers is checked again: each text passes the redaction once more, and
the user's messages also as the conversation they were (the caller supplies both: this
layer does not import the redaction). A message that held a secret is left out whole (half
a sentence around a mark is no question anyway), and so are the messages next to it, which
may hold the rest of a phrase typed over several messages: no word of a recovery phrase
reaches the draft. The user's own transaction hashes, addresses and amounts become the KB's
placeholders. Pure: no I/O.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from assistant.core import languages
from assistant.core.types import CATEGORIES

#: Front-matter fields that mark a draft; `publish-draft` removes them (the KB does not know
#: them: its loader would warn about every published article).
DRAFT_FIELDS = ("draft", "source_ticket")
MAX_QUESTIONS = 12
MAX_QUESTION_CHARS = 300
MAX_TITLE_CHARS = 80
MAX_STEPS = 8
MAX_STEP_CHARS = 1000
MAX_ID_WORDS = 6
MAX_ID_CHARS = 60
#: The least a question must say once courtesy words, requests for a person and the
#: ticket's details are taken out: two words of three letters or more, or four characters
#: of a script of its own (each counts half).
MIN_MEANING = 2.0
#: Placeholders the user's own details turn into in the body (the KB fills them back from
#: the next user's message). Chain and token stay as written: an article is often about them.
BODY_PLACEHOLDERS = ("tx_hash", "address", "amount")

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200d\u2028\u2029\u2060\ufeff]")
_SPACES = re.compile(r"\s+")
#: Hashes, addresses, keys' public halves: long runs of hex or base58 (with or without 0x).
_ID_LIKE = re.compile(r"(?<![A-Za-z0-9])(?:0x)?(?=[A-Za-z0-9]*\d)[A-Za-z0-9]{25,}(?![A-Za-z0-9])")
_TX_HASH = re.compile(r"(?:0x)?[0-9a-fA-F]{64}")
_EDGE_PUNCT = " \t,;:，；：、-–—/|"
_QUESTION_END = ("?", "？")
_WORD = re.compile(r"[^\W\d_]{3,}")
_SLUG_WORD = re.compile(r"[a-z0-9]+")
_PLAIN_ID = re.compile(r"[a-z][a-z0-9_-]*")
_FRONT_MATTER = re.compile(r"\A(\ufeff?---[ \t]*\r?\n)(.*?)(^---[ \t]*$)", re.DOTALL | re.MULTILINE)


@dataclass(frozen=True)
class Draft:
    """A drafted article: its front-matter values and the whole file (`markdown`)."""

    id: str
    lang: str
    title: str
    category: str
    questions: tuple[str, ...]
    tags: tuple[str, ...]
    body: str
    source_ticket: str
    markdown: str

    def to_dict(self) -> dict:
        return asdict(self)


class _Safe:
    """Every text on its way into the draft: odd code points out, redacted again, and left
    out whole (None) when it holds a redaction mark."""

    def __init__(self, redact: Callable[[str], str], marks: Collection[str],
                 conversation: Callable[[list[str]], list[str]] | None = None) -> None:
        self.redact, self.marks = redact, tuple(m for m in marks if m)
        self.conversation = conversation

    def marked(self, text: str) -> bool:
        return any(m in text for m in self.marks)

    def redacted(self, text: object) -> str | None:
        """The text redacted again (None when there is no text)."""
        if not isinstance(text, str):
            return None
        text = _CONTROL.sub(" ", unicodedata.normalize("NFC", text)).strip()
        return self.redact(text) if text else None

    def clean(self, text: object) -> str | None:
        """The redacted text, or None when there is none or it held a secret."""
        found = self.redacted(text)
        return None if found is None or self.marked(found) else found


def draft_from_ticket(ticket: Mapping[str, Any], *, redact: Callable[[str], str],
                      secret_marks: Collection[str],
                      redact_conversation: Callable[[list[str]], list[str]] | None = None,
                      categories: Sequence[str] = CATEGORIES,
                      taken: Collection[str] = ()) -> Draft:
    """The draft article of a (resolved) ticket as returned by the queue's `get`.

    `redact` is the redaction (text in, redacted text out) and `secret_marks` the marks it
    leaves; `redact_conversation`, when given, redacts the user's messages again as one
    conversation (a phrase typed over several messages); `categories` are the KB's (an
    unknown ticket category becomes the first one); `taken` the article ids already in use
    (the draft's id avoids them).
    """
    safe = _Safe(redact, secret_marks, redact_conversation)
    ticket_id = str(ticket.get("id") or "")
    lang = ticket.get("lang")
    lang = lang if isinstance(lang, str) and languages.is_known(lang) else languages.default().code
    category = ticket.get("category")
    category = category if category in categories else (categories[0] if categories
                                                         else CATEGORIES[0])
    details = _details(ticket.get("details"))
    questions = tuple(_questions(ticket, details, safe))
    title = _title(questions)
    art_id = _slug(title, str(category), ticket_id, taken)
    tags = tuple(_tags(details, safe))
    body = _body(ticket, details, safe)
    markdown = render(art_id=art_id, title=title, category=str(category), lang=lang,
                      questions=questions, tags=tags, body=body, source_ticket=ticket_id)
    return Draft(art_id, lang, title, str(category), questions, tags, body, ticket_id, markdown)


# ------------------------------------------------------------------ questions

def _details(raw: object) -> dict[str, str]:
    """The ticket's details as strings; the problem description is the question itself."""
    if not isinstance(raw, Mapping):
        return {}
    return {str(k): v.strip() for k, v in raw.items()
            if isinstance(v, str) and len(v.strip()) >= 2 and k != "problem"}


def _user_messages(ticket: Mapping[str, Any]) -> list[str]:
    """What the user wrote before an agent first replied: later messages answer the agent
    ("yes", "still the same", "thanks") and are no way of asking."""
    out: list[str] = []
    for m in ticket.get("messages") or []:
        role = m.get("role") if isinstance(m, Mapping) else None
        if role == "agent":
            break
        if role == "user" and isinstance(m.get("text"), str):
            out.append(m["text"])
    query = ticket.get("query")
    if isinstance(query, str) and query.strip() and query not in out:
        out.insert(0, query)
    return out


def _questions(ticket: Mapping[str, Any], details: Mapping[str, str], safe: _Safe) -> list[str]:
    """The user's messages as questions. A message that held a secret is left out, and so
    are its neighbours: the rest of a phrase typed over several messages can look like
    plain words once the part that gave it away is gone."""
    texts = [t for t in (safe.redacted(m) for m in _user_messages(ticket)) if t is not None]
    if safe.conversation is not None:
        texts = safe.conversation(texts)
    secret = [safe.marked(t) for t in texts]
    for i in range(len(texts) - 1):  # each half may pass alone, the two together not
        a, b = texts[i], texts[i + 1]
        if safe.redact(f"{a}\n{b}") != f"{a}\n{b}":
            secret[i] = secret[i + 1] = True
    kept = [None if any(secret[max(0, i - 1):i + 2]) else t for i, t in enumerate(texts)]
    out: list[str] = []
    seen: set[str] = set()
    for text in kept:
        question = _as_question(text, details) if text is not None else None
        if question is None or question.casefold() in seen:
            continue
        seen.add(question.casefold())
        out.append(question)
        if len(out) >= MAX_QUESTIONS:
            break
    return out


def _as_question(text: str, details: Mapping[str, str]) -> str | None:
    """A user's message as a KB question, or None when it asks nothing (a greeting, a
    request for a person, "skip", the details alone)."""
    text = languages.pattern("human_request").sub(" ", text)
    text, ids = _ID_LIKE.subn(" ", text)
    text = _tidy(_greeting().sub("", _tidy(text.replace("{", " ").replace("}", " "))))
    if not text or _skip_words().fullmatch(text) or _human_alone().fullmatch(text):
        return None
    meaning, values = _meaning(text, details)
    # A message that carries details says a little more than a label ("tx hash 0x...").
    if meaning < MIN_MEANING + (1 if ids or values else 0):
        return None
    return _cut(text, MAX_QUESTION_CHARS)


def _meaning(text: str, details: Mapping[str, str]) -> tuple[float, int]:
    """How much the text says besides courtesy words and the ticket's details, and how
    many of those details it held."""
    rest, values = text, 0
    for value in sorted(details.values(), key=len, reverse=True):
        rest, n = re.subn(re.escape(value), " ", rest, flags=re.IGNORECASE)
        values += n
    rest = languages.pattern("filler").sub(" ", rest)
    script = _scripts()
    chars = 0
    if script is not None:
        chars = len(script.findall(rest))
        rest = script.sub(" ", rest)
    return len(_WORD.findall(rest)) + chars / 2, values


@lru_cache(maxsize=8)
def _scripts_for(_version: int) -> re.Pattern[str] | None:
    classes = [lang.script for lang in languages.all_languages() if lang.script]
    return re.compile("|".join(classes)) if classes else None


def _scripts() -> re.Pattern[str] | None:
    """Characters of the registered languages that have a script of their own."""
    return _scripts_for(languages.version())


def _greeting() -> re.Pattern[str]:
    """Courtesy words set off at the start ("hi, ...", "你好！..."), in any language."""
    return languages.pattern("filler", r"^(?:(?:{})[\s]*)+[,.!，。！:：]+\s*")


def _skip_words() -> re.Pattern[str]:
    return languages.pattern("skip_words", r"(?:{})[\s.!。！]*")


def _human_alone() -> re.Pattern[str]:
    return languages.pattern("human_alone", r"(?:{})[\s.!。！]*")


def _tidy(text: str) -> str:
    text = _SPACES.sub(" ", text).strip(_EDGE_PUNCT)
    return re.sub(r"\s+([,.;:!?，。；：！？])", r"\1", text).strip(_EDGE_PUNCT)


def _cut(text: str, limit: int) -> str:
    """At most `limit` characters, at a space when there is one near the end."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(_EDGE_PUNCT + ".,。，")


def _title(questions: Sequence[str]) -> str:
    """The first question, capitalised; empty (the linter then asks for one) without any."""
    if not questions:
        return ""
    title = _cut(questions[0], MAX_TITLE_CHARS)
    return title[:1].upper() + title[1:]


def _slug(title: str, category: str, ticket_id: str, taken: Collection[str]) -> str:
    """An id from the title's words (courtesy words out); from the category and the ticket
    when the title has too few Latin words (a Chinese title), never one of `taken`."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    filler = languages.pattern("filler", r"(?:{})")
    words = [w for w in _SLUG_WORD.findall(folded) if not filler.fullmatch(w)]
    if len(words) >= 2:
        base = "-".join(words[:MAX_ID_WORDS])[:MAX_ID_CHARS].strip("-")
    else:
        ticket = re.sub(r"[^a-z0-9_-]", "", ticket_id.lower())[:40] or "draft"
        base = f"{category}-{ticket}"[:MAX_ID_CHARS].strip("-_")
    base = base if re.match(r"[a-z0-9]", base) else f"draft-{base}"
    found, n = base, 1
    while found in taken:
        n += 1
        found = f"{base}-{n}"
    return found


def _tags(details: Mapping[str, str], safe: _Safe) -> list[str]:
    out: list[str] = []
    for key in ("chain", "token"):
        value = safe.clean(details.get(key))
        if value and len(value) <= 40 and value.lower() not in out:
            out.append(value.lower())
    return out


# ------------------------------------------------------------------ body

def _body(ticket: Mapping[str, Any], details: Mapping[str, str], safe: _Safe) -> str:
    """The resolution as the opening paragraph, the agent's replies as numbered steps
    (a reply ending in a question asked the user something: not a step)."""
    resolution = safe.clean(ticket.get("resolution"))
    steps: list[str] = []
    for m in ticket.get("messages") or []:
        if not isinstance(m, Mapping) or m.get("role") != "agent":
            continue
        text = safe.clean(m.get("text"))
        if text is None or text.rstrip().endswith(_QUESTION_END):
            continue
        step = _cut(_SPACES.sub(" ", text), MAX_STEP_CHARS)
        if step != resolution and step not in steps:
            steps.append(step)
    parts = [_generalise(resolution, details)] if resolution else []
    if steps:
        parts.append("\n".join(f"{i}. {_generalise(s, details)}"
                               for i, s in enumerate(steps[:MAX_STEPS], 1)))
    body = "\n\n".join(parts)
    if parts and safe.marked(safe.redact(body)):  # a phrase spread over several replies
        body = parts[0] if resolution and not safe.marked(safe.redact(parts[0])) else ""
    return body


def _generalise(text: str, details: Mapping[str, str]) -> str:
    """Literal braces escaped (the body is a template) and this user's hash, address and
    amount turned into placeholders, as are hashes and addresses the details missed."""
    text = text.replace("{", "{{").replace("}", "}}")
    values = {details[f]: f for f in BODY_PLACEHOLDERS
              if f in details and "{" not in details[f] and "}" not in details[f]}
    if values:
        alternation = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
        lowered = {v.casefold(): f for v, f in values.items()}
        text = re.sub(rf"(?<![A-Za-z0-9])(?:{alternation})(?![A-Za-z0-9])",
                      lambda m: "{" + lowered[m.group(0).casefold()] + "}", text,
                      flags=re.IGNORECASE)
    return _ID_LIKE.sub(lambda m: "{tx_hash}" if _TX_HASH.fullmatch(m.group(0))
                        else "{address}", text)


# ------------------------------------------------------------------ the file

def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is a subset of it)."""
    return json.dumps(text, ensure_ascii=False)


def render(*, art_id: str, title: str, category: str, lang: str, questions: Sequence[str],
           tags: Sequence[str], body: str, source_ticket: str) -> str:
    """The article file in the KB's format (README, "The knowledge base"), marked a draft."""
    ident = art_id if _PLAIN_ID.fullmatch(art_id) else _quoted(art_id)
    lines = ["---", f"id: {ident}", f"title: {_quoted(title)}", f"category: {category}",
             f"lang: {lang}"]
    if questions:
        lines += ["questions:"] + [f"  - {_quoted(q)}" for q in questions]
    else:
        lines.append("questions: []")
    if tags:
        lines.append("tags: [" + ", ".join(_quoted(t) for t in tags) + "]")
    lines += ["draft: true", f"source_ticket: {_quoted(source_ticket)}", "---"]
    return "\n".join(lines) + "\n" + (body.strip() + "\n" if body.strip() else "")


def strip_draft_fields(text: str) -> str:
    """The draft file as a KB article: the draft markers removed from its front matter,
    everything else (an editor's own layout included) left as it is."""
    match = _FRONT_MATTER.match(text)
    if match is None:
        return text
    names = "|".join(DRAFT_FIELDS)
    block = re.sub(rf"^(?:{names})[ \t]*:.*(?:\r?\n)?", "", match.group(2), flags=re.MULTILINE)
    return text[:match.start(2)] + block + text[match.end(2):]


def front_value(text: str, name: str) -> str | None:
    """A one-line top-level field of a draft's front matter (`id`, `lang`, `source_ticket`),
    read without a YAML parser: an editor's half-finished draft still says what it is."""
    match = _FRONT_MATTER.match(text)
    if match is None:
        return None
    found = re.search(rf"^{re.escape(name)}[ \t]*:[ \t]*(.+?)[ \t]*$", match.group(2),
                      re.MULTILINE)
    if found is None:
        return None
    value = found.group(1)
    if value.startswith(("'", '"')) and len(value) >= 2 and value[-1] == value[0]:
        try:
            return str(json.loads(value)) if value[0] == '"' else value[1:-1]
        except ValueError:
            return value[1:-1]
    return value
