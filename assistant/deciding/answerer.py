"""The decision: answer, clarify, hand off or decline, as a value (no side effects).

Inputs are what understanding produced (intent, scored articles); outputs say what to do
and why. Wording and the ticket are added by the service.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.core import languages
from assistant.core.types import OUT_OF_SCOPE, Action, Hit, Intent

#: How a whole message that is only a request for a person is wrapped around the languages'
#: `human_alone` words ("agent", "人工 please").
_ALONE = r"^\s*(?:{})(\s*(please|pls|plz|now|!)*)?[\s!.。!?？]*$"


@dataclass(frozen=True)
class Thresholds:
    answer: float
    clarify: float
    margin: float
    decline: float
    clarify_max: int = 3
    clarify_spread: float = 0.15


@dataclass(frozen=True)
class Decision:
    action: Action
    article_id: str | None
    candidates: tuple[Hit, ...]
    confidence: float
    reason: str
    handoff: bool = False  # answer first, then also route to a person
    urgent: bool = False


@dataclass(frozen=True)
class Signals:
    """The safety signals that fired on the message, and the article answering each."""

    fired: frozenset[str] = frozenset()
    articles: dict[str, str] = field(default_factory=dict)
    sure: frozenset[str] = frozenset()  # precise enough to outweigh retrieval


REASON_HUMAN = "user asked for a person"
REASON_THEFT = "reported theft"
REASON_SCAM = "impersonation scam"
REASON_EXPOSED = "secret exposed"
#: Signals answered with their own article (or wording), most urgent first, and the reason
#: each decision records. A worry about theft has no entry: retrieval answers it, no alarm.
SIGNAL_REASONS = {
    "impersonation_scam": REASON_SCAM,
    "secret_exposed": REASON_EXPOSED,
    "recovery_scam": "recovery-service scam",
    "scam_token": "scam token or airdrop",
    "clipboard_hijack": "address changed when pasted",
    "approval_risk": "risky approval",
}
#: A scam in progress is answered with its warning whatever retrieval found; the other
#: signals need retrieval to agree (see `_agrees`) unless they are sure.
OVERRIDING = frozenset({"impersonation_scam"})


def _agrees(signal: str, article: str | None, top: Hit | None, shortlist: tuple[Hit, ...],
            confident: bool) -> bool:
    """Whether retrieval backs a signal: its article is among the shortlist (for an exposed
    secret, a security article is), and no confident answer points elsewhere."""
    if confident and top is not None and top.id != article:
        return False
    if article is None:
        return any(h.category == "security" for h in shortlist)
    return any(h.id == article for h in shortlist)


def wants_human(text: str) -> bool:
    """True when the message asks for a person, in any registered language."""
    return bool(languages.pattern("human_request").search(text)
                or languages.pattern("human_alone", _ALONE).match(text))


def without_human_request(text: str) -> str:
    """The message with any request for a person removed: what is left describes the problem
    ("" when nothing but courtesy and filler words is left)."""
    rest = " ".join(languages.pattern("human_request").sub(" ", text).split()) \
        .strip(" ,.;:!?，。；：！？、")
    filler = languages.pattern("filler", r"{}|[^\w]")
    if languages.pattern("human_alone", _ALONE).match(rest) or not filler.sub("", rest).strip():
        return ""
    return rest


def decide(text: str, intent: Intent, hits: list[Hit], th: Thresholds,
           article_handoff: dict[str, bool] | None = None,
           signals: Signals | None = None) -> Decision:
    """Pick the action for one message from its intent, scored articles and safety signals.

    Order matters: a reported theft goes to a person urgently (after the article that says
    what to do now) unless retrieval confidently places it outside security; a scam in
    progress gets its warning whatever the scores say; an exposed secret, a paid "recovery"
    offer, a scam token, a swapped address or a risky approval gets its own answer when
    retrieval agrees or the signal is sure (and a person too when asked for); then an
    explicit request for a person; then the scores. A worry about theft is answered by the
    scores, without an alarm.
    """
    top = hits[0] if hits else None
    second = hits[1] if len(hits) > 1 else None
    confidence = top.score if top else 0.0
    shortlist = tuple(hits[: th.clarify_max])
    sig = signals or Signals()
    gap = top.score - second.score if top and second else 1.0
    confident = top is not None and top.score >= th.answer and gap >= th.margin
    theft_article = sig.articles.get("theft_report")
    elsewhere = confident and top is not None and top.id != theft_article \
        and top.category != "security"  # e.g. "the transfer I made is not in my history"
    if "theft_report" in sig.fired and not elsewhere:
        return Decision(Action.HANDOFF, theft_article, shortlist, confidence, REASON_THEFT,
                        handoff=theft_article is not None, urgent=True)
    # The keyword rule for a person is precise; the learned one needs retrieval's doubt.
    person = wants_human(text) or ("wants_person" in sig.fired and not confident)
    for signal, reason in SIGNAL_REASONS.items():
        if signal not in sig.fired or not (signal in sig.articles or signal == "secret_exposed"):
            continue
        article = sig.articles.get(signal)
        trusted = signal in OVERRIDING or signal in sig.sure
        if not trusted and not _agrees(signal, article, top, shortlist, confident):
            continue
        action = Action.HANDOFF if person else Action.ANSWER
        return Decision(action, article, shortlist, confidence, reason, handoff=person)
    if person:
        return Decision(Action.HANDOFF, None, shortlist, confidence, REASON_HUMAN)
    out_of_scope = intent.category == OUT_OF_SCOPE or intent.out_of_scope >= th.decline
    if out_of_scope and (top is None or top.score < th.answer):
        return Decision(Action.DECLINE, None, (), confidence, "out of scope")
    if top is None:
        return Decision(Action.HANDOFF, None, (), confidence, "nothing in the knowledge base matched")
    if top.score >= th.answer and gap >= th.margin:
        needs_person = bool((article_handoff or {}).get(top.id))
        action = Action.HANDOFF if needs_person else Action.ANSWER
        reason = "article routes to a person" if needs_person else "confident match"
        return Decision(action, top.id, shortlist, confidence, reason, handoff=needs_person)
    if top.score >= th.clarify:
        close = [h for h in hits[: th.clarify_max] if h.score >= top.score - th.clarify_spread]
        if len(close) < 2:
            close = list(hits[:2])
        if len(close) >= 2:
            return Decision(Action.CLARIFY, None, tuple(close), confidence, "several articles fit")
    return Decision(Action.HANDOFF, None, shortlist, confidence, "low confidence")
