"""The agent console in a real headless Chromium against the real server on loopback."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.browser_support import AGENT_NAME, AGENT_TOKEN

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def server(live_server) -> str:
    """The shared real server on the starter KB (it has one agent, see browser_support)."""
    return live_server.url


def test_agent_claims_replies_and_resolves_in_the_console(server, page):
    # The user asks for a person; asked for details, they skip; a ticket is queued.
    session = f"console-{time.time_ns()}"
    asked = httpx.post(server + "/answer", json={"query": "转人工", "session_id": session}).json()
    ticket = asked["ticket"] or httpx.post(server + "/answer", json={
        "query": "跳过", "session_id": session}).json()["ticket"]
    assert ticket["position"] >= 1 and ticket["eta_minutes"] >= 1

    page.goto(server + "/agent")
    page.get_by_label("Agent token").fill("wrong-token-0123456789")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").filter(has_text="Bearer").wait_for()

    page.get_by_label("Agent token").fill(AGENT_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.locator(f'#tickets tr[data-id="{ticket["id"]}"]').click()
    assert "open in the queue" in page.locator("#count").inner_text()
    page.get_by_role("button", name="Claim", exact=True).click()
    page.locator("#ticket-meta", has_text=f"held by {AGENT_NAME}").wait_for()
    assert page.locator("#messages").inner_text().count("转人工") == 1

    page.get_by_label("Reply to the user").fill("您好,请问是哪条链上的交易?")
    page.get_by_role("button", name="Send reply").click()
    page.locator("#messages li.agent", has_text="哪条链").wait_for()

    page.get_by_label("Resolution note").fill("用户确认已到账")
    page.get_by_role("button", name="Resolve").click()
    page.locator("#ticket-meta", has_text="resolved").wait_for()

    # The user sees the agent's reply and rates the help.
    owner = {"Authorization": f"Bearer {ticket['secret']}"}  # from the reply that created it
    seen = httpx.get(f"{server}/tickets/{ticket['id']}", headers=owner).json()
    assert seen["status"] == "resolved"
    assert ("agent", "您好,请问是哪条链上的交易?") in [(m["role"], m["text"])
                                                  for m in seen["messages"]]
    rated = httpx.post(f"{server}/tickets/{ticket['id']}/rating",
                       json={"score": 5, "comment": "很快"}, headers=owner).json()
    assert rated["rating"] == 5
    page.locator("#status").select_option("resolved")
    page.locator(f'#tickets tr[data-id="{ticket["id"]}"]').click()
    page.locator("#ticket-meta", has_text="rated 5/5").wait_for()


def test_console_text_is_never_rendered_as_html(server, page):
    httpx.post(server + "/answer", json={"query": "<img src=x onerror=alert(1)> 转人工",
                                         "skip_details": True})
    page.goto(server + "/agent")
    page.get_by_label("Agent token").fill(AGENT_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#tickets tr", has_text="onerror").wait_for()
    assert page.locator("#tickets img").count() == 0


def test_the_console_names_the_agent_and_fits_a_phone(server, browser):
    from tests.browser_support import PHONE

    session = f"phone-{time.time_ns()}"
    httpx.post(server + "/answer", json={"query": "I withdrew 300 USDT from OKX over TRC20 and "
                                         "it never arrived", "session_id": session})
    asked = httpx.post(server + "/answer", json={"query": "talk to a person",
                                                 "session_id": session}).json()
    ticket = asked["ticket"] or httpx.post(server + "/answer", json={
        "query": "skip", "session_id": session}).json()["ticket"]
    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(server + "/agent")
    page.get_by_label("Agent token").fill(AGENT_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#who", has_text=f"Signed in as {AGENT_NAME}").wait_for()
    row = page.locator(f'#tickets tr[data-id="{ticket["id"]}"]')
    row.wait_for()
    # The list shows the user's problem, not their request for a person.
    assert "never arrived" in row.inner_text()
    row.click()
    page.locator("#messages li", has_text="Answered with").first.wait_for()
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width
    page.close()
