"""Answer wording: article bodies with their placeholders filled, and the fixed replies.

The words themselves are the language registry's (`assistant.core.languages`): every
registered language has every fixed reply, and the user is answered in the one they wrote.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass

from assistant.core import languages
from assistant.core.types import Action, Article, Hit, Lang
from assistant.understanding.entities import Entities

@dataclass(frozen=True)
class SiteFacts:
    """Facts from settings that articles may cite ({support_email}, ...)."""

    support_email: str
    official_site: str
    support_hours: dict[str, str]


def render_article(article: Article, entities: Entities, facts: SiteFacts, lang: Lang) -> str:
    """The article body with every placeholder filled (defaults when a detail is missing)."""
    language = languages.get(lang)
    values = {**language.placeholder_defaults, **entities.as_dict()}
    values.update(support_email=facts.support_email, official_site=facts.official_site,
                  support_hours=facts.support_hours.get(lang) or language.support_hours)
    return string.Formatter().vformat(article.body, (), _Missing(values))


def message(lang: Lang, key: str, **values: object) -> str:
    return languages.get(lang).message(key, **values)


def needs_list(lang: Lang, fields: list[str]) -> list[dict]:
    """The details still missing, as the reply's `needs` (field and label)."""
    labels = languages.get(lang).detail_labels
    return [{"field": f, "label": labels.get(f, f)} for f in fields]


def join_labels(lang: Lang, fields: list[str]) -> str:
    language = languages.get(lang)
    return language.join([language.detail_labels.get(f, f) for f in fields])


def ticket_text(lang: Lang, ticket_id: str, position: int, eta: int | None, status: str) -> str:
    if status == "open":
        return message(lang, "ticket", ticket_id=ticket_id, position=position or 1,
                       eta=eta if eta is not None else "?")
    return message(lang, "ticket_claimed", ticket_id=ticket_id)


def clarify_text(lang: Lang, titles: list[str]) -> str:
    options = "\n".join(f"{i}. {t}" for i, t in enumerate(titles, 1))
    return f"{message(lang, 'clarify')}\n{options}"


class _Missing(dict):
    """Leaves an unknown placeholder visible instead of failing (validation prevents it)."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


# ------------------------------------------------------------------ decision wording

@dataclass(frozen=True)
class Wording:
    """How one decision kind is put into words after the article (if any).

    `lines(lang, candidates, titles, context)` gives the lines; `context` says what else
    the reply holds ("article", "urgent", "person"). A kind whose lines close the reply (the
    hand-over, followed by the ticket) sets `last`, so follow-up offers come before it.
    """

    lines: Callable[[Lang, tuple[Hit, ...], dict[str, str], frozenset[str]], list[str]]
    last: bool = False


def _handoff_opening(lang: Lang, _: tuple[Hit, ...], __: dict[str, str],
                     context: frozenset[str]) -> list[str]:
    key = ("handoff_urgent" if "urgent" in context else "handoff_article" if "article" in context
           else "handoff_human" if "person" in context else "handoff_low")
    return [message(lang, key)]


#: Every decision kind's wording: adding an `Action` member without one fails a test.
WORDING: dict[Action, Wording] = {
    Action.ANSWER: Wording(lambda lang, cands, titles, ctx: []),
    Action.CLARIFY: Wording(lambda lang, cands, titles, ctx: [
        clarify_text(lang, [titles[h.id] for h in cands if h.id in titles])]),
    Action.DECLINE: Wording(lambda lang, cands, titles, ctx: [message(lang, "decline")]),
    Action.HANDOFF: Wording(_handoff_opening, last=True),
}
