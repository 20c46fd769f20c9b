"""The agent console in a real headless Chromium against the real server on loopback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import httpx
import pytest

from tests.test_server import _free_port, _wait

pytestmark = [pytest.mark.slow, pytest.mark.browser]

TOKEN = "console-agent-token-0123456789"
CHROMIUM = os.environ.get("ASSISTANT_TEST_CHROMIUM", "/usr/bin/chromium")


def _chromium_or_skip() -> str:
    if shutil.which(CHROMIUM) or os.path.exists(CHROMIUM):
        return CHROMIUM
    message = (f"no Chromium at {CHROMIUM}; install it with `apt-get install chromium` or set "
               "ASSISTANT_TEST_CHROMIUM to run the browser tests")
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def server(tmp_path, tiny_index):
    _, index = tiny_index
    port = _free_port()
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(index), "ASSISTANT_DATA_DIR":
           str(tmp_path / "data"), "ASSISTANT_THRESHOLDS_FILE": str(tmp_path / "none.json"),
           "ASSISTANT_AGENT_TOKENS": json.dumps({"alice": TOKEN})}
    with open(tmp_path / "server.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--port",
                                 str(port)], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base + "/readyz")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def page():
    executable = _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        pg = browser.new_page(viewport={"width": 1280, "height": 900})
        yield pg
        browser.close()


def test_agent_claims_replies_and_resolves_in_the_console(server, page):
    # The user asks for a person; asked for details, they skip; a ticket is queued.
    asked = httpx.post(server + "/answer", json={"query": "转人工", "session_id": "web1"}).json()
    ticket = asked["ticket"] or httpx.post(server + "/answer", json={
        "query": "跳过", "session_id": "web1"}).json()["ticket"]
    assert ticket["position"] == 1 and ticket["eta_minutes"] >= 1

    page.goto(server + "/agent")
    page.get_by_label("Agent token").fill("wrong-token-0123456789")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").filter(has_text="Bearer").wait_for()

    page.get_by_label("Agent token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    row = page.locator("#tickets tr", has_text="转人工")
    row.wait_for()
    assert "1 open in the queue" in page.locator("#count").inner_text()

    page.get_by_role("button", name="Claim next").click()
    page.locator("#ticket-meta", has_text="held by alice").wait_for()
    assert page.locator("#messages").inner_text().count("转人工") == 1

    page.get_by_label("Reply to the user").fill("您好,请问是哪条链上的交易?")
    page.get_by_role("button", name="Send reply").click()
    page.locator("#messages li.agent", has_text="哪条链").wait_for()

    page.get_by_label("Resolution note").fill("用户确认已到账")
    page.get_by_role("button", name="Resolve").click()
    page.locator("#ticket-meta", has_text="resolved").wait_for()

    # The user sees the agent's reply and rates the help.
    seen = httpx.get(f"{server}/tickets/{ticket['id']}").json()
    assert seen["status"] == "resolved"
    assert ("agent", "您好,请问是哪条链上的交易?") in [(m["role"], m["text"])
                                                  for m in seen["messages"]]
    rated = httpx.post(f"{server}/tickets/{ticket['id']}/rating",
                       json={"score": 5, "comment": "很快"}).json()
    assert rated["rating"] == 5
    page.locator("#status").select_option("resolved")
    page.locator("#tickets tr", has_text="转人工").click()
    page.locator("#ticket-meta", has_text="rated 5/5").wait_for()


def test_console_text_is_never_rendered_as_html(server, page):
    httpx.post(server + "/answer", json={"query": "<img src=x onerror=alert(1)> 转人工",
                                         "skip_details": True})
    page.goto(server + "/agent")
    page.get_by_label("Agent token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#tickets tr", has_text="onerror").wait_for()
    assert page.locator("#tickets img").count() == 0
