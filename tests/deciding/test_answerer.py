"""The decision as a value: each path from hand-made hits and intents."""

from __future__ import annotations

import pytest

from assistant.deciding.answerer import Signals, Thresholds, decide, wants_human
from assistant.core.types import OUT_OF_SCOPE, Hit, Intent

TH = Thresholds(answer=0.5, clarify=0.35, margin=0.05, decline=0.5)
IN_SCOPE = Intent("transaction", 0.8, out_of_scope=0.05)
OOS = Intent(OUT_OF_SCOPE, 0.7, out_of_scope=0.7)


def hits(*scores: float) -> list[Hit]:
    return [Hit(id=f"a{i}", category="transaction", score=s) for i, s in enumerate(scores)]


def test_confident_clear_winner_is_answered():
    d = decide("my transfer failed", IN_SCOPE, hits(0.8, 0.5), TH)
    assert (d.action, d.article_id, d.reason) == ("answer", "a0", "confident match")


def test_close_top_two_asks_to_choose():
    d = decide("fees", IN_SCOPE, hits(0.62, 0.60, 0.58, 0.2), TH)
    assert d.action == "clarify"
    assert [h.id for h in d.candidates] == ["a0", "a1", "a2"]


def test_middle_confidence_clarifies_with_at_least_two():
    d = decide("hmm", IN_SCOPE, hits(0.4, 0.2, 0.1), TH)
    assert d.action == "clarify" and len(d.candidates) == 2


def test_low_confidence_in_scope_hands_off():
    d = decide("strange problem", IN_SCOPE, hits(0.2, 0.1), TH)
    assert (d.action, d.reason) == ("handoff", "low confidence")


def test_out_of_scope_declines():
    d = decide("weather", OOS, hits(0.3, 0.2), TH)
    assert d.action == "decline" and d.candidates == ()


def test_strong_article_match_beats_out_of_scope_vote():
    d = decide("gas fee", Intent("transaction", 0.4, out_of_scope=0.55), hits(0.9, 0.3), TH)
    assert d.action == "answer"


def test_article_flagged_handoff_answers_and_routes():
    d = decide("drained", IN_SCOPE, hits(0.9, 0.3), TH, article_handoff={"a0": True})
    assert d.action == "handoff" and d.article_id == "a0" and d.handoff


def test_request_for_a_person_wins_over_a_good_match():
    d = decide("I want to talk to a human about my failed transfer", IN_SCOPE, hits(0.9), TH)
    assert (d.action, d.reason) == ("handoff", "user asked for a person")


def test_nothing_matched_hands_off():
    assert decide("zzz", IN_SCOPE, [], TH).action == "handoff"


@pytest.mark.parametrize("text", [
    "转人工", "我要人工客服", "请帮我转接人工服务", "I want to talk to a human",
    "can I speak with a real person", "agent", "Agent please", "human!", "connect me to an agent",
    "let me chat with someone from support staff", "人工",
])
def test_requests_for_a_person(text):
    assert wants_human(text)


@pytest.mark.parametrize("text", [
    "a support agent asked for my seed phrase", "is the agent on telegram real",
    "how do I contact support", "human error sent to wrong address", "怎么联系客服",
])
def test_not_requests_for_a_person(text):
    assert not wants_human(text)


@pytest.mark.parametrize("text", [
    "need an agent about my missing deposit on binance", "wallet drained, i need a human right now",
    "is there a live agent", "I want a real person",
])
def test_requests_for_a_person_inside_longer_messages(text):
    assert wants_human(text)


def test_a_single_weak_candidate_is_not_answered():
    d = decide("hmm", IN_SCOPE, hits(0.4), TH)
    assert d.action == "handoff" and d.article_id is None


ARTICLES = {"theft_report": "stolen-funds", "impersonation_scam": "fake-support-scam",
            "approval_risk": "token-approvals-revoke"}


def shortlist(*items: tuple[str, float, str]) -> list[Hit]:
    return [Hit(id=i, category=c, score=s) for i, s, c in items]


def test_theft_goes_to_a_person_urgently_with_the_article():
    sig = Signals(frozenset({"theft_report", "impersonation_scam"}), ARTICLES)
    d = decide("drained", IN_SCOPE, shortlist(("stolen-funds", 0.9, "security")), TH,
               signals=sig)
    assert (d.action, d.article_id, d.urgent, d.handoff) == ("handoff", "stolen-funds", True, True)


def test_no_alarm_when_retrieval_is_sure_the_message_is_about_something_else():
    sig = Signals(frozenset({"theft_report"}), ARTICLES)
    d = decide("the transfer i made is not in my history", IN_SCOPE,
               shortlist(("history-missing", 0.9, "transaction"), ("x", 0.3, "account")), TH,
               signals=sig)
    assert (d.action, d.article_id, d.urgent) == ("answer", "history-missing", False)


def test_scam_gets_the_scam_article_even_with_weak_scores():
    sig = Signals(frozenset({"impersonation_scam"}), ARTICLES)
    d = decide("客服让我提供助记词", IN_SCOPE, hits(0.2, 0.19), TH, signals=sig)
    assert (d.action, d.article_id) == ("answer", "fake-support-scam")


def test_a_signal_needs_retrieval_to_agree_unless_it_is_sure():
    unsure = Signals(frozenset({"approval_risk"}), ARTICLES)
    elsewhere = shortlist(("swap-tokens", 0.9, "how_to"),
                          ("token-approvals-revoke", 0.4, "security"))
    assert decide("approve button", IN_SCOPE, elsewhere, TH, signals=unsure).article_id == \
        "swap-tokens"
    sure = Signals(frozenset({"approval_risk"}), ARTICLES, frozenset({"approval_risk"}))
    assert decide("approve button", IN_SCOPE, elsewhere, TH, signals=sure).article_id == \
        "token-approvals-revoke"


def test_a_signal_with_a_request_for_a_person_answers_and_hands_off():
    sig = Signals(frozenset({"approval_risk", "wants_person"}), ARTICLES)
    d = decide("I approved a rugged dapp, get me a human", IN_SCOPE,
               shortlist(("token-approvals-revoke", 0.5, "security")), TH, signals=sig)
    assert (d.action, d.article_id, d.handoff, d.urgent) == (
        "handoff", "token-approvals-revoke", True, False)


def test_an_exposed_secret_is_answered_without_an_article():
    d = decide("I typed my seed into a site", IN_SCOPE,
               shortlist(("safe-backup", 0.4, "security")), TH,
               signals=Signals(frozenset({"secret_exposed"}), ARTICLES))
    assert (d.action, d.article_id, d.reason) == ("answer", None, "secret exposed")


def test_a_worry_about_theft_is_answered_by_the_scores():
    d = decide("can someone steal my coins with my address?", IN_SCOPE, hits(0.9), TH,
               signals=Signals(frozenset({"theft_worry"}), ARTICLES))
    assert (d.action, d.article_id, d.urgent) == ("answer", "a0", False)


def test_every_decision_kind_has_its_wording_in_every_language():
    from assistant.core import languages
    from assistant.core.types import Action, Hit
    from assistant.deciding.templates import WORDING

    assert set(WORDING) == set(Action)
    hits = (Hit("a", "account", 0.5), Hit("b", "account", 0.4))
    titles = {"a": "Title A", "b": "Title B"}
    for lang in languages.codes():
        for action in Action:
            lines = WORDING[action].lines(lang, hits, titles, frozenset())
            assert all(isinstance(x, str) and x for x in lines)
            assert bool(lines) == (action != Action.ANSWER), (lang, action)
    clarify = WORDING[Action.CLARIFY].lines("en", hits, titles, frozenset())[0]
    assert "1. Title A" in clarify and "2. Title B" in clarify
    assert WORDING[Action.HANDOFF].last and not WORDING[Action.DECLINE].last
    urgent = WORDING[Action.HANDOFF].lines("en", (), {}, frozenset({"urgent", "article"}))
    assert urgent == [languages.get("en").message("handoff_urgent")]
