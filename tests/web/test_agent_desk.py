"""The agent desk in a real headless Chromium: team queues, escalation, transfer, internal
notes, reopened tickets, the assist panel, ratings and drafts, against a real server with
three agents (alice in tier 1, bob in tier 2, carol in both)."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.browser_support import DESKTOP, PHONE, LiveServer, server_env

pytestmark = [pytest.mark.slow, pytest.mark.browser]

TOKENS = {"alice": "desk-alice-token-0123456789", "bob": "desk-bob-token-0123456789",
          "carol": "desk-carol-token-0123456789"}
HASH = "a1" * 32


@pytest.fixture(scope="module")
def server(starter_index, tmp_path_factory) -> str:
    data = tmp_path_factory.mktemp("desk-data")
    live = LiveServer(server_env(starter_index, data,
                                 ASSISTANT_AGENT_TOKENS=json.dumps(TOKENS),
                                 ASSISTANT_AGENT_TEAMS=json.dumps({"alice": ["tier1"],
                                                                   "bob": ["tier2"]})),
                      data / "server.log")
    yield live.url
    live.stop()


def _auth(who: str) -> dict:
    return {"Authorization": f"Bearer {TOKENS[who]}"}


def _ticket(server: str, first: str, details: str | None = None) -> dict:
    """A user asks for a person (then gives details or skips): the ticket with its secret."""
    session = f"desk-{time.time_ns()}"
    asked = httpx.post(server + "/answer", json={"query": first, "session_id": session}).json()
    if asked["ticket"]:
        return asked["ticket"]
    return httpx.post(server + "/answer", json={"query": details or "skip",
                                                "session_id": session}).json()["ticket"]


def _sign_in(browser, server: str, who: str, viewport: dict = DESKTOP):
    page = browser.new_context(viewport=viewport, locale="en-US").new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server + "/agent")
    page.get_by_label("Agent token").fill(TOKENS[who])
    page.get_by_role("button", name="Sign in").click()
    page.locator("#who", has_text=f"Signed in as {who}").wait_for()
    page.errors = errors  # type: ignore[attr-defined]
    return page


def _done(page) -> None:
    assert page.errors == [], page.errors
    page.context.close()


def _user_view(server: str, ticket: dict) -> dict:
    r = httpx.get(f"{server}/tickets/{ticket['id']}",
                  headers={"Authorization": f"Bearer {ticket['secret']}"})
    assert r.status_code == 200
    return r.json()


def test_escalated_with_a_reason_then_taken_by_tier_two(server, browser):
    ticket = _ticket(server, "提币没到账,转人工", f"波场 TRON 200 USDT 昨天下午3点 交易哈希 {HASH}")
    alice = _sign_in(browser, server, "alice")
    assert alice.locator("#team").input_value() == "mine"  # my teams by default
    assert "My teams (tier1)" in alice.locator("#team option:checked").inner_text()
    row = alice.locator(f'#tickets tr[data-id="{ticket["id"]}"]')
    assert "tier1" in row.inner_text() and "chat" in row.locator(".badge.channel").inner_text()
    row.click()
    alice.get_by_role("button", name="Claim", exact=True).click()
    alice.locator("#ticket-meta", has_text="held by alice").wait_for()

    alice.get_by_label("Escalate to", exact=True).select_option("tier2")
    alice.get_by_role("button", name="Escalate", exact=True).click()  # no reason: not sent
    assert httpx.get(f"{server}/agent/tickets/{ticket['id']}",
                     headers=_auth("alice")).json()["status"] == "claimed"
    alice.get_by_label("Reason for escalating").fill("exchange says it was sent; needs a "
                                                     "chain check")
    alice.get_by_role("button", name="Escalate", exact=True).click()
    alice.locator("#ticket-meta", has_text="team tier2").wait_for()
    assert alice.locator("#ticket-meta").inner_text().startswith("open")
    assert alice.locator("#reply-form").is_hidden()  # no longer hers
    alice.locator(f'#tickets tr[data-id="{ticket["id"]}"]').wait_for(state="detached")
    _done(alice)

    bob = _sign_in(browser, server, "bob")
    bob.locator(f'#tickets tr[data-id="{ticket["id"]}"]').wait_for()
    bob.get_by_role("button", name="Claim next").click()
    bob.locator("#ticket-title", has_text=ticket["id"]).wait_for()
    bob.locator("#ticket-meta", has_text="held by bob").wait_for()
    event = bob.locator("#messages li.event", has_text="needs a chain check")
    assert "escalated from tier1 to tier2" in event.inner_text()
    assert "internal" in event.get_attribute("class")
    assert "INTERNAL EVENT" in event.locator(".role").inner_text().upper()
    _done(bob)
    assert "chain check" not in json.dumps(_user_view(server, ticket))


def test_transferred_to_a_colleague_who_then_replies(server, browser):
    ticket = _ticket(server, "I want to talk to a human")
    alice = _sign_in(browser, server, "alice")
    alice.locator(f'#tickets tr[data-id="{ticket["id"]}"]').click()
    alice.get_by_role("button", name="Claim", exact=True).click()
    alice.locator("#ticket-meta", has_text="held by alice").wait_for()
    options = alice.locator("#transfer-to option").all_inner_texts()
    assert "carol (tier1, tier2)" in options and not any(o.startswith("alice") for o in options)
    alice.get_by_label("Transfer to", exact=True).select_option("agent:carol")
    alice.get_by_role("button", name="Transfer", exact=True).click()
    alice.locator("#ticket-meta", has_text="held by carol").wait_for()
    assert alice.locator("#reply-form").is_hidden() and alice.locator("#release").is_hidden()
    alice.locator("#messages li.event", has_text="transferred from alice to carol").wait_for()
    _done(alice)

    carol = _sign_in(browser, server, "carol")
    carol.get_by_label("Status", exact=True).select_option("claimed")
    carol.locator(f'#tickets tr[data-id="{ticket["id"]}"]').click()
    carol.get_by_label("Reply to the user").fill("Hello, Carol here: I'll take it from here.")
    carol.get_by_role("button", name="Send reply").click()
    carol.locator("#messages li.agent", has_text="Carol here").wait_for()
    _done(carol)
    seen = _user_view(server, ticket)
    assert ("agent", "Hello, Carol here: I'll take it from here.") in [
        (m["role"], m["text"]) for m in seen["messages"]]
    assert "transferred" not in json.dumps(seen)


def test_an_internal_note_is_marked_and_never_reaches_the_user(server, browser):
    ticket = _ticket(server, "talk to a person about my failed transfer")
    alice = _sign_in(browser, server, "alice")
    alice.locator(f'#tickets tr[data-id="{ticket["id"]}"]').click()
    alice.get_by_role("button", name="Claim", exact=True).click()
    alice.locator("#ticket-meta", has_text="held by alice").wait_for()
    alice.get_by_label("Internal note").fill("VIP user, checked the exchange already")
    alice.get_by_role("button", name="Add note").click()
    note = alice.locator("#messages li.note", has_text="VIP user")
    note.wait_for()
    assert note.locator(".role").inner_text().lower() == "internal note · alice"
    style = note.evaluate("li => [getComputedStyle(li).borderTopStyle, "
                          "getComputedStyle(li).backgroundColor]")
    user_line = alice.locator("#messages li.user").first.evaluate(
        "li => [getComputedStyle(li).borderTopStyle, getComputedStyle(li).backgroundColor]")
    assert style[0] == "dashed" and style != user_line
    assert alice.get_by_label("Reply to the user").input_value() == ""  # not the reply box
    _done(alice)
    assert "VIP" not in json.dumps(_user_view(server, ticket))


def test_a_reopened_ticket_shows_its_badge_and_the_users_words(server, browser):
    ticket = _ticket(server, "I withdrew 300 USDT from OKX over TRC20 and it never arrived, "
                             "talk to a person")
    httpx.post(f"{server}/agent/tickets/{ticket['id']}/claim", headers=_auth("alice"))
    httpx.post(f"{server}/agent/tickets/{ticket['id']}/resolve", headers=_auth("alice"),
               json={"resolution": "the exchange resent it"}).raise_for_status()
    reopened = httpx.post(f"{server}/tickets/{ticket['id']}/reopen",
                          headers={"Authorization": f"Bearer {ticket['secret']}"},
                          json={"text": "still not solved: nothing arrived"})
    assert reopened.status_code == 200
    alice = _sign_in(browser, server, "alice")
    row = alice.locator(f'#tickets tr[data-id="{ticket["id"]}"]')
    assert row.locator(".badge.reopened").inner_text() == "reopened"
    row.click()
    alice.locator("#ticket-badges .badge.reopened").wait_for()
    alice.locator("#messages li.user", has_text="still not solved: nothing arrived").wait_for()
    alice.locator("#messages li.event", has_text="reopened by the user").wait_for()
    _done(alice)


def test_assist_inserts_an_articles_steps_and_a_canned_reply_by_keyboard(server, browser):
    ticket = _ticket(server, "提币没到账,转人工", f"波场 TRON 200 USDT 昨天下午3点 交易哈希 {HASH}")
    assist = httpx.get(f"{server}/agent/tickets/{ticket['id']}/assist",
                       headers=_auth("alice")).json()
    top = assist["articles"][0]
    assert top["lang"] == "zh" and "TRON" in top["steps"]
    alice = _sign_in(browser, server, "alice")
    row = alice.locator(f'#tickets tr[data-id="{ticket["id"]}"]')
    row.focus()
    alice.keyboard.press("Enter")  # rows open from the keyboard
    panel = alice.locator("#assist")
    panel.locator("#details dt", has_text="tx_hash").wait_for()
    assert panel.locator("#details dt").all_inner_texts()[:3] == ["problem", "chain", "tx_hash"]
    alice.get_by_role("button", name="Claim", exact=True).focus()
    alice.keyboard.press("Enter")
    alice.locator("#ticket-meta", has_text="held by alice").wait_for()

    insert = panel.locator(f'#assist-articles li[data-id="{top["id"]}"] .insert-steps')
    assert insert.is_enabled()
    insert.focus()
    alice.keyboard.press("Enter")
    reply = alice.get_by_label("Reply to the user")
    assert reply.input_value() == top["steps"]
    assert alice.evaluate("document.activeElement.id") == "reply"
    canned = panel.locator('.canned-reply[data-key="checking_chain"]')
    canned.focus()
    alice.keyboard.press("Enter")
    checking = next(c["text"] for c in assist["canned"] if c["key"] == "checking_chain")
    assert reply.input_value() == f"{top['steps']}\n\n{checking}"
    alice.get_by_role("button", name="Send reply").click()
    alice.locator("#messages li.agent", has_text=checking).wait_for()
    assert reply.input_value() == ""
    _done(alice)
    sent = [m["text"] for m in _user_view(server, ticket)["messages"] if m["role"] == "agent"]
    assert sent == [f"{top['steps']}\n\n{checking}"]


def test_ratings_and_a_draft_from_a_resolved_ticket(server, browser):
    ticket = _ticket(server, "how do I reset my password, talk to a person")
    httpx.post(f"{server}/agent/tickets/{ticket['id']}/claim", headers=_auth("carol"))
    httpx.post(f"{server}/agent/tickets/{ticket['id']}/reply", headers=_auth("carol"),
               json={"text": "Re-import the wallet with your recovery phrase and set a new "
                             "password."}).raise_for_status()
    httpx.post(f"{server}/agent/tickets/{ticket['id']}/resolve", headers=_auth("carol"),
               json={"resolution": "re-imported with the phrase"}).raise_for_status()
    httpx.post(f"{server}/tickets/{ticket['id']}/rating", json={"score": 4, "comment": "ok"},
               headers={"Authorization": f"Bearer {ticket['secret']}"}).raise_for_status()
    carol = _sign_in(browser, server, "carol")
    carol.get_by_label("Status", exact=True).select_option("resolved")
    row = carol.locator(f'#tickets tr[data-id="{ticket["id"]}"]')
    assert "★ 4/5" in row.inner_text()
    assert "average" in carol.locator("#satisfaction").inner_text()
    row.click()
    carol.locator("#ticket-meta", has_text="rated 4/5 (“ok”)").wait_for()
    carol.get_by_role("button", name="Draft a KB article").click()
    carol.locator("#draft-status", has_text="Draft written").wait_for()
    assert ".md" in carol.locator("#draft-status").inner_text()
    assert carol.locator("#draft-markdown").inner_text().startswith("---")
    _done(carol)


def test_the_desk_fits_a_phone_with_the_assist_panel_open(server, browser):
    ticket = _ticket(server, "转账失败了，转人工", f"以太坊 0.5 ETH 今天上午 交易哈希 0x{'b2' * 32}")
    alice = _sign_in(browser, server, "alice", viewport=PHONE)
    alice.locator(f'#tickets tr[data-id="{ticket["id"]}"]').click()
    alice.get_by_role("button", name="Claim", exact=True).click()
    alice.locator("#assist-articles li.article").first.wait_for()
    alice.locator("#assist-articles summary").first.click()
    width = alice.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width
    # On a phone the panel comes right after the reply box, before the other actions.
    order = alice.evaluate("() => ['reply-form', 'assist', 'escalate-form'].map("
                           "id => document.getElementById(id).getBoundingClientRect().top)")
    assert order == sorted(order), order
    _done(alice)


def test_what_was_typed_for_one_ticket_never_goes_to_the_next(server, browser):
    first = _ticket(server, "talk to a human about my failed transfer")
    second = _ticket(server, "I want to talk to a human about my password")
    carol = _sign_in(browser, server, "carol")
    carol.locator(f'#tickets tr[data-id="{first["id"]}"]').click()
    carol.get_by_role("button", name="Claim", exact=True).click()
    carol.locator("#ticket-meta", has_text="held by carol").wait_for()
    carol.locator("#assist-articles li.article").first.wait_for()
    carol.get_by_label("Reply to the user").fill("Your transfer failed because of the fee.")
    carol.get_by_label("Internal note").fill("half-written note")
    carol.get_by_label("Status", exact=True).select_option("open")
    carol.locator(f'#tickets tr[data-id="{second["id"]}"]').click()
    carol.locator("#ticket-title", has_text=second["id"]).wait_for()
    assert carol.get_by_label("Reply to the user").input_value() == ""
    assert carol.get_by_label("Internal note").input_value() == ""
    carol.get_by_role("button", name="Claim", exact=True).click()
    carol.locator("#ticket-meta", has_text="held by carol").wait_for()
    carol.locator("#assist-articles li.article").first.wait_for()
    assist = httpx.get(f"{server}/agent/tickets/{second['id']}/assist",
                       headers=_auth("carol")).json()
    shown = carol.locator("#assist-articles li.article").evaluate_all(
        "items => items.map(li => li.dataset.id)")
    assert shown == [a["id"] for a in assist["articles"]]
    _done(carol)
