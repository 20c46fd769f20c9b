""""Still not solved" on the chat page, in headless Chromium against the real server: a
resolved ticket is reopened by its user and returns to the queue of the team that had it."""

from __future__ import annotations

import httpx
import pytest

from tests.browser_support import AGENT_TOKEN, DESKTOP

pytestmark = [pytest.mark.browser, pytest.mark.slow]

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` marker skips these tests (fails them under CI)
    expect = None
else:
    expect.set_options(timeout=20_000)

AGENT = {"Authorization": f"Bearer {AGENT_TOKEN}"}


def test_a_resolved_ticket_is_reopened_from_the_chat(browser, live_server):
    user = browser.new_context(viewport=DESKTOP).new_page()
    user.goto(live_server.url + "/chat?lang=en&poll_ms=300")
    box = user.get_by_role("textbox", name="Your message")
    box.fill("I want to talk to a human")
    box.press("Enter")
    user.locator("form.details").get_by_role("button", name="Skip").click()
    ticket_id = user.locator(".ticket.card .ticket-id").last.inner_text()

    api = live_server.url + f"/agent/tickets/{ticket_id}"
    assert httpx.post(api + "/claim", headers=AGENT).status_code == 200
    assert httpx.post(api + "/escalate", headers=AGENT,
                      json={"team": "tier2", "reason": "needs a specialist"}).status_code == 200
    assert httpx.post(api + "/claim", headers=AGENT).status_code == 200
    assert httpx.post(api + "/resolve", headers=AGENT,
                      json={"resolution": "explained the fee"}).status_code == 200

    reopen = user.locator("form.reopen")
    expect(reopen).to_be_visible(timeout=15_000)
    expect(user.locator("form.rating")).to_be_visible()
    reopen.get_by_label("What is still wrong?").fill("still not solved: the fee was charged twice")
    reopen.get_by_role("button", name="Reopen my ticket").click()
    expect(reopen).to_contain_text("open again")
    expect(user.locator(".ticket.card .ticket-status").last).to_have_text("waiting for an agent")

    seen = httpx.get(api, headers=AGENT).json()
    assert seen["status"] == "open" and seen["team"] == "tier2" and seen["reopened"] == 1
    assert seen["messages"][-1]["text"] == "still not solved: the fee was charged twice"

    # The reopened ticket is worked again, and the chat shows the new reply.
    httpx.post(api + "/claim", headers=AGENT)
    httpx.post(api + "/reply", headers=AGENT, json={"text": "Refund of the second fee sent."})
    expect(user.locator(".msg.agent").last).to_contain_text("Refund of the second fee",
                                                            timeout=15_000)
    user.context.close()
