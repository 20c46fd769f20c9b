"""Chinese typography rules, checked over every reply template and every article.

Chinese sentences take full-width punctuation (，：；？！（）), no spaces between two Chinese
characters, and no line break inside a paragraph (Markdown renders it as a space). A
placeholder whose default wording reads badly where it stands (in brackets, or set off by
spaces inside a Chinese sentence) is an artefact users see whenever their message did not
name the detail.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

HAN = r"[\u3400-\u9fff\uf900-\ufaff]"
_HALF = r"[,:;?!()]"
#: Text the rules do not apply to: code, links, e-mail addresses, placeholders, Markdown links.
_EXEMPT = re.compile(r"`[^`]*`|\]\([^)]*\)|https?://\S+|[\w.+-]+@[\w-]+\.[\w.]+|\{[a-z_]+\}")
_HALF_NEXT_TO_HAN = re.compile(rf"(?<={HAN})\s*{_HALF}|{_HALF}\s*(?={HAN})")
_SPACE_BETWEEN_HAN = re.compile(rf"{HAN}[ \t\u3000]+{HAN}")
#: A line that starts a Markdown block: list item, heading, quote, table row, blank.
_BLOCK_START = re.compile(r"\s*(?:[-*+>|#]|\d+[.)]\s|$)")
_HAN_RE = re.compile(HAN)


def chinese_problems(text: str) -> list[str]:
    """What breaks Chinese typography in `text`, each with the offending excerpt."""
    clean = _EXEMPT.sub(lambda m: "x" * len(m.group(0)), text)
    out = [f"half-width {m.group(0).strip()!r} in a Chinese sentence: "
           f"…{_excerpt(text, m.start())}… (use {_full(m.group(0).strip())})"
           for m in _HALF_NEXT_TO_HAN.finditer(clean)]
    out += [f"space between Chinese characters: …{_excerpt(text, m.start())}…"
            for m in _SPACE_BETWEEN_HAN.finditer(clean)]
    lines = text.split("\n")
    for i in range(len(lines) - 1):
        a, b = lines[i].rstrip(), lines[i + 1]
        if a and _HAN_RE.search(a[-1:]) and not _BLOCK_START.match(b) and _HAN_RE.match(b.lstrip()[:1]):
            out.append(f"line break inside a Chinese paragraph (shown as a space): …{a[-12:]}⏎"
                       f"{b.strip()[:12]}…")
    return out


def placeholder_problems(body: str, defaults: Mapping[str, str], chinese: bool) -> list[str]:
    """Placeholders whose default wording would read badly where they stand."""
    out = []
    for m in re.finditer(r"\{([a-z_]+)\}", body):
        name = m.group(1)
        if name not in defaults:
            continue
        before, after = body[max(0, m.start() - 1):m.start()], body[m.end():m.end() + 1]
        if before in "(（[【" and before and after in ")）]】" and after:
            out.append(f"{{{name}}} alone in brackets renders as {before}{defaults[name]}{after} "
                       "when the message does not name it: write the sentence around it")
        if chinese and ((before == " " and _HAN_RE.match(body[m.start() - 2:m.start() - 1] or "x"))
                        or (after == " " and _HAN_RE.match(body[m.end() + 1:m.end() + 2] or "x"))):
            out.append(f"{{{name}}} set off by spaces in a Chinese sentence renders as "
                       f"“… {defaults[name]} …”: remove the spaces")
    return out


def _excerpt(text: str, at: int) -> str:
    return text[max(0, at - 8):at + 8].replace("\n", "⏎")


def _full(ch: str) -> str:
    return {",": "，", ":": "：", ";": "；", "?": "？", "!": "！", "(": "（", ")": "）"}.get(ch, ch)
