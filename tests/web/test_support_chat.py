"""The <support-chat> widget on a page of ANOTHER origin, in headless Chromium against the real
server (starter KB): the host page comes from a small http.server on its own port and loads
the widget's script from the assistant, which lists that origin in ASSISTANT_CORS_ORIGINS.

Covered as a user meets it: opening and closing with the keyboard, an answer, a choice between
articles, the hand-over with its details and ticket, the agent's reply (agent API), the rating
and "still not solved", the conversation after a reload, a pasted recovery phrase never stored,
a phone-sized screen, Chinese in both scripts, and the page's CSS kept out.
"""

from __future__ import annotations

import json
import re
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from assistant.web.pages import STATIC_DIR
from tests.browser_support import AGENT_TOKEN, DESKTOP, PHONE, LiveServer, free_port, server_env


def in_chromium(test):
    """Browser tests (real Chromium, real server on the real model's index)."""
    return pytest.mark.slow(pytest.mark.browser(test))


try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` marker skips these tests (fails them under CI)
    expect = None
else:
    expect.set_options(timeout=20_000)  # a shared 2-core machine can be slow

#: A BIP39 phrase (valid checksum): what a scammed user pastes.
PHRASE = "legal winner thank year wave sausage worth useful legal winner thank yellow"
AGENT = {"Authorization": f"Bearer {AGENT_TOKEN}"}
#: Page rules that would restyle the widget if they reached into it.
HOSTILE_CSS = """
* { font-family: serif !important; color: rgb(200, 0, 0) !important; }
button { background: rgb(255, 105, 180) !important; border-radius: 0 !important; }
textarea { display: none !important; }
.msg p, .launcher, .panel { margin: 7px !important; }
"""


# ---------------------------------------------------------------- two origins

class _Quiet(SimpleHTTPRequestHandler):
    """Static files; pages named isolated-* are sent cross-origin isolated (COEP/COOP)."""

    def end_headers(self) -> None:
        if self.path.startswith("/isolated-"):
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        super().end_headers()

    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass


class HostSite:
    """A plain static web server on its own port: the app page that embeds the widget."""

    def __init__(self, root: Path) -> None:
        self.root = root
        port = free_port()
        # "localhost" against the assistant's "127.0.0.1": another origin and another site.
        self.origin = f"http://localhost:{port}"
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), partial(_Quiet, directory=str(root)))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def page(self, name: str, assistant: str, *, lang: str = "en", poll_ms: int = 300,
             css: str = "", head: str = "") -> str:
        """Write the widget example page as this site's `name`.html, its script from the
        assistant's origin; return its address."""
        html = (STATIC_DIR / "widget-example.html").read_text("utf-8")
        html = html.replace('src="/static/support-chat.js"',
                            f'src="{assistant}/static/support-chat.js"')
        html = html.replace('<support-chat lang="en">',
                            f'<support-chat lang="{lang}" poll-ms="{poll_ms}">')
        if css:
            html = html.replace("</head>", f"<style>{css}</style>\n</head>")
        if head:
            html = html.replace("<meta charset=\"utf-8\">", f"<meta charset=\"utf-8\">\n{head}")
        assert assistant in html and f'lang="{lang}"' in html
        (self.root / f"{name}.html").write_text(html, "utf-8")
        return f"{self.origin}/{name}.html"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    site = HostSite(tmp_path_factory.mktemp("host-site"))
    yield site
    site.stop()


@pytest.fixture(scope="module")
def assistant(starter_index, host, tmp_path_factory) -> LiveServer:
    """`assistant serve` on the starter KB, the host site's origin allowed."""
    data = tmp_path_factory.mktemp("widget-data")
    server = LiveServer(server_env(starter_index, data,
                                   ASSISTANT_CORS_ORIGINS=json.dumps([host.origin])),
                        data / "server.log")
    yield server
    server.stop()


@pytest.fixture
def open_page(browser):
    """Pages in fresh contexts (their own storage); fails the test on a script error."""
    contexts, errors = [], []

    def make(viewport=DESKTOP, locale="en-US"):
        context = browser.new_context(viewport=viewport, locale=locale)
        contexts.append(context)
        pg = context.new_page()
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        return pg

    yield make
    for context in contexts:
        context.close()
    if errors:
        pytest.fail(f"script errors in the page: {errors}", pytrace=False)


# ---------------------------------------------------------------- helpers

def launcher(page, name: str = "Chat with support"):
    return page.get_by_role("button", name=re.compile(f"^{re.escape(name)}"))


def dialog(page, name: str = "Chat with support"):
    return page.get_by_role("dialog", name=name)


def bot(page):
    return page.locator("support-chat .msg.bot")


def ask(page, text: str, label: str = "Your message") -> None:
    box = page.get_by_role("textbox", name=label)
    box.fill(text)
    box.press("Enter")


def stored(page, assistant: LiveServer) -> str:
    """The widget's localStorage entry for this assistant, as stored (JSON text)."""
    return page.evaluate(f"localStorage.getItem('support-chat:{assistant.url}')") or ""


def hand_over(page, details: str | None = None) -> str:
    """Ask for a person, give details (or skip); return the ticket id shown."""
    ask(page, "I want to talk to a human")
    form = page.locator("support-chat form.details")
    expect(form).to_contain_text("Add the details and send, or skip")
    if details is None:
        form.get_by_role("button", name="Skip").click()
    else:
        form.get_by_role("textbox").fill(details)
        form.get_by_role("button", name="Send details").click()
    ticket = page.locator("support-chat .ticket-id").last
    expect(ticket).to_have_text(re.compile(r"^\S{8,}$"))
    return ticket.inner_text()


def agent(assistant: LiveServer, method: str, path: str, **kwargs) -> dict:
    resp = httpx.request(method, f"{assistant.url}/agent{path}", headers=AGENT, timeout=30,
                         **kwargs)
    resp.raise_for_status()
    return resp.json()


def resolve(assistant: LiveServer, ticket_id: str, reply: str | None = None) -> None:
    agent(assistant, "POST", f"/tickets/{ticket_id}/claim")
    if reply:
        agent(assistant, "POST", f"/tickets/{ticket_id}/reply", json={"text": reply})
    agent(assistant, "POST", f"/tickets/{ticket_id}/resolve", json={"resolution": "helped"})


def clarifying_query(url: str) -> tuple[str, list[str]]:
    """A message the server answers with a choice (asked first, so the test shows the widget)."""
    for query in ("money missing", "issue with usdt", "help with my wallet please"):
        reply = httpx.post(url + "/answer", json={"query": query}, timeout=30).json()
        if reply["action"] == "clarify" and len(reply["candidates"]) >= 2:
            return query, [c["title"] for c in reply["candidates"]]
    raise AssertionError("none of the sample messages is clarified any more; pick another")


# ---------------------------------------------------------------- serving (no browser)

def test_the_script_and_an_authorised_ticket_call_pass_cors(fake_settings, fake_embedder):
    """The widget's script and the preflight of a ticket call carrying the secret are allowed
    for a listed origin (the Authorization header included) and for no other."""
    from assistant.service import Assistant
    from assistant.web.app import create_app

    s = fake_settings.model_copy(update={"cors_origins": ["https://app.example"]})
    with TestClient(create_app(s, Assistant(s, embedder=fake_embedder))) as c:
        script = c.get("/static/support-chat.js", headers={"Origin": "https://app.example"})
        other = c.get("/static/support-chat.js", headers={"Origin": "https://evil.example"})
        preflight = c.options("/tickets/abc/reopen", headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"})
        refused = c.options("/tickets/abc/reopen", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization"})
        strings = c.get("/static/i18n.js", headers={"Origin": "https://app.example"})
    assert script.status_code == 200 and "customElements.define" in script.text
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert script.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in other.headers
    assert strings.headers["access-control-allow-origin"] == "https://app.example"  # imported
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert refused.status_code == 400


# ---------------------------------------------------------------- the widget

@in_chromium
def test_keyboard_opens_it_an_answer_comes_and_escape_returns_focus(open_page, host, assistant):
    page = open_page()
    answers: list = []
    page.on("response", lambda r: answers.append(r) if r.url.endswith("/answer") else None)
    page.goto(host.page("en", assistant.url))
    button = launcher(page)
    expect(button).to_be_visible()
    page.keyboard.press("Tab")  # the page's own link
    page.keyboard.press("Tab")
    expect(button).to_be_focused()
    expect(button).to_have_attribute("aria-expanded", "false")
    panel_id = button.get_attribute("aria-controls")

    page.keyboard.press("Enter")
    chat = dialog(page)
    expect(chat).to_be_visible()
    expect(chat).to_have_attribute("id", panel_id)
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(page.locator("support-chat")).to_have_attribute("open", "")
    box = chat.get_by_role("textbox", name="Your message")
    expect(box).to_be_focused()
    expect(chat.get_by_role("log")).to_have_attribute("aria-live", "polite")

    page.keyboard.type("I forgot my wallet password")
    page.keyboard.press("Enter")
    answer = bot(page).nth(1)
    expect(answer).to_contain_text("recovery phrase")
    expect(answer.get_by_role("link", name=re.compile("Read the full article"))).to_have_attribute(
        "href", f"{assistant.url}/?article=forgot-wallet-password&lang=en")
    expect(answer.get_by_role("button", name="Yes")).to_be_visible()
    # Asked across origins: from the host page to the assistant, allowed by CORS.
    assert answers and answers[0].url == f"{assistant.url}/answer"
    assert answers[0].headers["access-control-allow-origin"] == host.origin

    page.keyboard.press("Escape")
    expect(chat).to_be_hidden()
    expect(button).to_be_focused()
    expect(button).to_have_attribute("aria-expanded", "false")
    page.keyboard.press(" ")
    expect(chat).to_be_visible()
    expect(box).to_be_focused()
    expect(answer).to_contain_text("recovery phrase")  # still there
    chat.get_by_role("button", name="Close the chat").click()
    expect(chat).to_be_hidden()
    expect(button).to_be_focused()


@in_chromium
def test_a_choice_between_articles_opens_the_chosen_one(open_page, host, assistant):
    query, titles = clarifying_query(assistant.url)
    page = open_page()
    page.goto(host.page("en", assistant.url))
    launcher(page).click()
    ask(page, query)
    choices = page.get_by_role("group", name="Which of these is it?", exact=False)
    buttons = choices.get_by_role("button")
    expect(buttons).to_have_count(len(titles))
    expect(bot(page).nth(1)).not_to_contain_text(f"1. {titles[0]}")  # said once, as buttons
    buttons.nth(1).click()
    article = bot(page).last
    expect(article.locator("strong").first).to_have_text(titles[1])
    expect(article.locator(".article-body p").first).to_be_visible()
    expect(article.get_by_role("button", name="No")).to_be_visible()
    for i in range(len(titles)):
        expect(buttons.nth(i)).to_be_disabled()


@in_chromium
def test_hand_over_agent_reply_rating_and_reopening_across_a_reload(open_page, host,
                                                                     assistant):
    page = open_page()
    page.goto(host.page("en", assistant.url))
    launcher(page).click()
    ticket_id = hand_over(page, "my USDT withdrawal from an exchange never arrived")
    card = page.locator("support-chat .ticket.card").last
    expect(card.locator(".ticket-position")).to_have_text(re.compile(r"^\d+$"))
    expect(card.locator(".ticket-status")).to_have_text("waiting for an agent")
    kept = json.loads(stored(page, assistant))
    assert kept["ticket"]["id"] == ticket_id and len(kept["ticket"]["secret"]) >= 32
    assert re.fullmatch(r"[0-9a-f]{32}", kept["session"])

    # A reload (another page of the site would do the same) keeps the conversation and the
    # ticket, and keeps following it.
    page.reload()
    launcher(page).click()
    expect(page.locator("support-chat .msg.user").first).to_have_text(
        re.compile("I want to talk to a human"))
    expect(page.locator("support-chat .ticket-id").last).to_have_text(ticket_id)
    dialog(page).get_by_role("button", name="Close the chat").click()

    agent(assistant, "POST", f"/tickets/{ticket_id}/claim")
    agent(assistant, "POST", f"/tickets/{ticket_id}/reply",
          json={"text": "Could you send the transaction hash?"})
    # Closed, the widget says a message came; open, it shows it.
    expect(launcher(page)).to_have_accessible_name(re.compile(r"1 new message"))
    launcher(page).click()
    expect(page.locator("support-chat .msg.agent").last).to_contain_text("transaction hash")
    expect(card.locator(".ticket-status")).to_have_text("an agent is on it")
    ask(page, "200 USDT on TRON, yesterday at 3pm")
    expect(bot(page).last).to_contain_text(f"Added to your ticket {ticket_id}")
    seen = agent(assistant, "GET", f"/tickets/{ticket_id}")
    assert ("user", "200 USDT on TRON, yesterday at 3pm") in [(m["role"], m["text"])
                                                             for m in seen["messages"]]

    agent(assistant, "POST", f"/tickets/{ticket_id}/resolve", json={"resolution": "found it"})
    rating = page.locator("support-chat form.rating")
    expect(rating).to_be_visible()
    expect(bot(page).last).to_contain_text(f"Your ticket {ticket_id} has been resolved.")
    rating.locator("label", has_text="4").click()
    rating.get_by_role("textbox", name="Comment (optional)").fill("quick, thanks")
    rating.get_by_role("button", name="Send rating").click()
    expect(rating).to_contain_text("Thank you for rating our support.")
    seen = agent(assistant, "GET", f"/tickets/{ticket_id}")
    assert seen["status"] == "resolved" and seen["rating"] == 4
    assert seen["rating_comment"] == "quick, thanks"

    page.reload()  # rated: the rating is not asked again; "still not solved" still offered
    launcher(page).click()
    expect(page.locator("support-chat .msg.agent")).to_contain_text("transaction hash")
    expect(page.locator("support-chat form.rating")).to_have_count(0)
    expect(bot(page).last).to_contain_text("Thank you for rating our support.")
    page.get_by_role("button", name="Still not solved").click()
    reason = page.get_by_role("textbox", name="What is still not solved?")
    expect(reason).to_be_focused()
    reason.fill("the USDT is still not in my wallet")
    page.get_by_role("button", name="Reopen the ticket").click()
    expect(bot(page).last).to_contain_text(f"Your ticket {ticket_id} is open again")
    expect(card.locator(".ticket-status")).to_have_text(re.compile("waiting for an agent|an "
                                                                   "agent is on it"))
    seen = agent(assistant, "GET", f"/tickets/{ticket_id}")
    assert seen["status"] in ("open", "claimed")
    assert seen["messages"][-1]["role"] in ("user", "event")
    assert "the USDT is still not in my wallet" in [m["text"] for m in seen["messages"]]
    agent(assistant, "POST", f"/tickets/{ticket_id}/claim")
    agent(assistant, "POST", f"/tickets/{ticket_id}/reply", json={"text": "Looking again now."})
    expect(page.locator("support-chat .msg.agent").last).to_contain_text("Looking again now.")


@in_chromium
def test_a_reopen_the_server_refuses_offers_a_new_ticket(open_page, host, assistant):
    """Reopened meanwhile elsewhere (409): the widget says so and offers a person instead."""
    page = open_page()
    page.goto(host.page("en", assistant.url))
    launcher(page).click()
    ticket_id = hand_over(page)
    resolve(assistant, ticket_id)
    expect(page.get_by_role("button", name="Still not solved")).to_be_visible()
    secret = json.loads(stored(page, assistant))["ticket"]["secret"]
    first = httpx.post(f"{assistant.url}/tickets/{ticket_id}/reopen", json={"text": "again"},
                       headers={"Authorization": f"Bearer {secret}"}, timeout=30)
    assert first.status_code == 200

    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if r.url.endswith("/reopen") else None)
    page.get_by_role("button", name="Still not solved").click()
    page.get_by_role("button", name="Reopen the ticket").click()
    refusal = page.get_by_text("This ticket can no longer be reopened.")
    expect(refusal).to_be_visible()
    assert statuses == [409]
    page.locator("support-chat .reopen-gone").get_by_role("button", name="Talk to a person").click()
    expect(page.locator("support-chat form.details")).to_be_visible()  # a new hand-over
    page.reload()
    launcher(page).click()
    expect(page.get_by_role("button", name="Still not solved")).to_have_count(0)


@in_chromium
def test_a_pasted_recovery_phrase_never_reaches_local_storage(open_page, host, assistant):
    page = open_page()
    page.goto(host.page("en", assistant.url))
    launcher(page).click()
    ask(page, f"my transfer failed, here are my words {PHRASE}")
    expect(bot(page).nth(1)).to_contain_text("recovery phrase or private key")
    removed = page.locator("support-chat .msg.user.removed")
    expect(removed).to_have_text(re.compile("Message removed: it contained a secret"))
    # Also when sent to an open ticket.
    ticket_id = hand_over(page)
    ask(page, f"the agent asked for it: {PHRASE}")
    expect(bot(page).last).to_contain_text(f"Added to your ticket {ticket_id}")
    expect(removed).to_have_count(2)
    # And when it comes with "still not solved" (the reopen route does not say: the widget
    # compares with what the ticket kept).
    resolve(assistant, ticket_id)
    page.get_by_role("button", name="Still not solved").click()
    page.get_by_role("textbox", name="What is still not solved?").fill(PHRASE)
    page.get_by_role("button", name="Reopen the ticket").click()
    expect(bot(page).last).to_contain_text(f"Your ticket {ticket_id} is open again")
    expect(removed).to_have_count(3)
    blob = stored(page, assistant)
    assert ticket_id in blob and "sausage" not in blob and "legal winner" not in blob
    shown = page.locator("support-chat").evaluate("el => el.shadowRoot.textContent")
    assert "sausage" not in shown

    page.reload()
    launcher(page).click()
    expect(page.locator("support-chat .msg.user.removed")).to_have_count(3)
    everything = page.evaluate("JSON.stringify(Object.assign({}, localStorage, sessionStorage))")
    assert "sausage" not in everything


@in_chromium
def test_a_phone_screen_shows_the_panel_full_width(open_page, host, assistant):
    page = open_page(viewport=PHONE)
    page.goto(host.page("en", assistant.url))
    button = launcher(page)
    box = button.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert box["y"] + box["height"] <= PHONE["height"]
    button.click()
    ask(page, "I forgot my wallet password")
    expect(bot(page).nth(1)).to_contain_text("recovery phrase")
    dialog(page).evaluate("d => Promise.all(d.getAnimations().map((a) => a.finished))")
    panel = dialog(page).bounding_box()
    assert panel and panel["x"] == 0 and panel["width"] == PHONE["width"]
    assert panel["y"] >= 0 and panel["y"] + panel["height"] <= PHONE["height"]
    for locator in (page.get_by_role("button", name="Send"), bot(page).nth(1),
                    page.get_by_role("button", name="Close the chat")):
        b = locator.bounding_box()
        assert b and b["x"] >= 0 and b["x"] + b["width"] <= PHONE["width"], locator
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.keyboard.press("Escape")
    expect(button).to_be_visible()
    expect(button).to_be_focused()


@in_chromium
def test_chinese_in_both_scripts_and_the_conversation_language_wins(open_page, host, assistant):
    page = open_page(locale="zh-CN")
    page.goto(host.page("zh", assistant.url, lang="zh-Hans"))
    launcher(page, "在线客服").click()
    chat = dialog(page, "在线客服")
    expect(chat).to_have_attribute("lang", "zh-CN")
    ask(page, "提币没到账", label="您的消息")
    reply = bot(page).nth(1)
    expect(reply).to_contain_text("交易所")
    expect(reply.get_by_role("button", name="有帮助")).to_be_visible()
    expect(reply.get_by_role("link", name=re.compile("查看完整文章"))).to_have_attribute(
        "href", re.compile(r"article=exchange-withdrawal-not-arrived&lang=zh$"))

    page = open_page(locale="zh-TW")
    page.goto(host.page("zh-hant", assistant.url, lang="zh-Hant"))
    launcher(page, "在線客服").click()
    ask(page, "提幣沒到賬", label="您的消息")
    reply = bot(page).nth(1)
    expect(reply).to_contain_text("交易所")
    expect(reply.get_by_role("button", name="有幫助")).to_be_visible()
    expect(dialog(page, "在線客服")).to_have_attribute("lang", "zh-TW")
    ask(page, "轉人工", label="您的消息")
    expect(bot(page).nth(2)).to_contain_text("正在為您轉接人工客服")
    expect(page.locator("support-chat .ticket-id, support-chat form.details").first).to_be_visible()

    # Chinese typed into the English widget switches its wording, and the script follows the
    # reply's (the server answers in the user's).
    page = open_page()
    page.goto(host.page("en-zh", assistant.url))
    launcher(page).click()
    ask(page, "钱包密码忘了怎么办")
    expect(bot(page).nth(1).get_by_role("button", name="有帮助")).to_be_visible()
    expect(launcher(page, "在线客服")).to_be_visible()
    ask(page, "錢包密碼忘了怎麼辦", label="您的消息")
    expect(bot(page).nth(2).get_by_role("button", name="有幫助")).to_be_visible()
    expect(page.get_by_role("textbox", name="您的消息")).to_have_attribute(
        "placeholder", "請輸入您的問題…")
    page.reload()  # the conversation's language is kept with it
    launcher(page, "在線客服").click()
    ask(page, "I forgot my wallet password", label="您的消息")
    expect(bot(page).last.get_by_role("button", name="Yes")).to_be_visible()
    expect(dialog(page)).to_have_attribute("lang", "en")


@in_chromium
def test_the_pages_css_stays_out_and_the_widgets_stays_in(open_page, host, assistant):
    page = open_page()
    page.goto(host.page("hostile", assistant.url, css=HOSTILE_CSS))
    page.evaluate("""() => {
        const own = document.createElement('div');
        own.innerHTML = '<button class="launcher" id="own">page button</button>'
                      + '<div class="msg"><p id="own-p">page text</p></div>';
        document.querySelector('main').append(own);
    }""")
    button = launcher(page)
    style = button.evaluate("""b => { const s = getComputedStyle(b);
        return {bg: s.backgroundColor, font: s.fontFamily, radius: s.borderRadius,
                color: s.color, margin: s.marginTop}; }""")
    assert style["bg"] == "rgb(11, 91, 211)" and "serif" != style["font"].split(",")[0].strip()
    assert style["color"] == "rgb(255, 255, 255)" and style["radius"] != "0px"
    assert style["margin"] == "0px"
    button.click()
    box = page.get_by_role("textbox", name="Your message")
    expect(box).to_be_visible()  # the page hides its own textareas, not the widget's
    ask(page, "I forgot my wallet password")
    expect(bot(page).nth(1)).to_contain_text("recovery phrase")
    text_color = bot(page).nth(1).locator(".text p").first.evaluate(
        "p => getComputedStyle(p).color")
    assert text_color == "rgb(26, 32, 44)"
    # The widget's rules (.launcher, .msg p) do not reach the page's own elements.
    own = page.locator("#own").evaluate("b => getComputedStyle(b).position")
    assert own == "static"
    assert page.locator("#own").evaluate("b => getComputedStyle(b).backgroundColor") == \
        "rgb(255, 105, 180)"


@in_chromium
def test_traditional_strings_follow_the_servers_converter(open_page, assistant):
    """The widget's traditional wording is the simplified one (its own and the chat page's)
    through OpenCC s2tw, as the server's replies are; the Chinese is typeset by the rules."""
    from assistant.deciding.typography import chinese_problems
    from assistant.understanding.text import to_traditional

    page = open_page()
    page.goto(assistant.url + "/static/widget-example.html")
    pairs = page.evaluate("""async () => {
        const w = await import('/static/support-chat.js');
        const show = (v) => typeof v === 'function' ? v('T1') : typeof v === 'object'
            ? JSON.stringify(v) : v;
        const out = [];
        for (const key of Object.keys(w.STRINGS['zh-Hant'])) {
            out.push([key, show(w.t('zh-Hans', key, 'T1')), show(w.t('zh-Hant', key, 'T1'))]);
        }
        return out;
    }""")
    source = (STATIC_DIR / "support-chat.js").read_text("utf-8")
    used = set(re.findall(r'"(chat\.[A-Za-z]+)"', source)) | set(re.findall(r'"(w\.[A-Za-z]+)"',
                                                                             source))
    keys = {key for key, _, _ in pairs}
    assert used <= keys, f"no traditional wording for {sorted(used - keys)}"
    wrong = {key: (hans, hant, to_traditional(hans)) for key, hans, hant in pairs
             if to_traditional(hans) != hant}
    assert wrong == {}
    problems = {hans: chinese_problems(hans) for _, hans, _ in pairs}
    assert {s: p for s, p in problems.items() if p} == {}



@in_chromium
@pytest.mark.parametrize("policy_allowed", [True, False], ids=["tt-policy", "no-tt-policy"])
def test_a_page_with_a_strict_csp_needs_only_the_assistants_origin(policy_allowed, open_page,
                                                                   host, assistant):
    """script-src and connect-src name the assistant; no inline script or style is allowed,
    and the widget still works and is styled. Under Trusted Types, a chosen article's body
    needs the policy "support-chat"; without it the article's link is shown alone."""
    policy = (f"default-src 'none'; script-src {assistant.url}; connect-src {assistant.url}; "
              "style-src 'none'; img-src data:; base-uri 'none'; "
              "require-trusted-types-for 'script'; trusted-types "
              + ("support-chat" if policy_allowed else "'none'"))
    page = open_page()
    page.add_init_script("""window.__violations = [];
        document.addEventListener('securitypolicyviolation',
            (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));""")
    page.goto(host.page(f"csp-{policy_allowed}", assistant.url,
                        head=f'<meta http-equiv="Content-Security-Policy" content="{policy}">'))
    button = launcher(page)
    button.click()
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(11, 91, 211)"
    ask(page, "I forgot my wallet password")
    expect(bot(page).nth(1)).to_contain_text("recovery phrase")
    query, titles = clarifying_query(assistant.url)
    ask(page, query)
    page.get_by_role("group", name="Which of these is it?", exact=False).get_by_role(
        "button").first.click()
    article = bot(page).last
    expect(article.locator("strong").first).to_have_text(titles[0])
    expect(article.get_by_role("link", name=re.compile("Read the full article"))).to_be_visible()
    violations = page.evaluate("window.__violations")
    if policy_allowed:
        expect(article.locator(".article-body p").first).to_be_visible()
        assert violations == []
    else:
        expect(article.locator(".article-body")).to_have_count(0)
        assert violations and all("trusted-types" in v for v in violations), violations


@in_chromium
def test_a_cross_origin_isolated_page_loads_it_through_cors(open_page, host, assistant):
    """Under COEP require-corp, the module script and the calls are CORS requests: the
    assistant's CORS headers are enough, no Cross-Origin-Resource-Policy is needed."""
    page = open_page()
    page.goto(host.page("isolated-page", assistant.url))
    assert page.evaluate("window.crossOriginIsolated") is True
    launcher(page).click()
    ask(page, "I forgot my wallet password")
    expect(bot(page).nth(1)).to_contain_text("recovery phrase")


@in_chromium
def test_language_tags_scripts_and_secret_verdicts(open_page, assistant):
    """The widget's small rules: which wording a lang tag gets, which script a reply is in,
    and when a user's message counts as having held a secret."""
    page = open_page()
    page.goto(assistant.url + "/static/widget-example.html")
    got = page.evaluate("""async () => {
        const w = await import('/static/support-chat.js');
        const tags = ['en', 'en-GB', 'fr', '', 'zh', 'zh-CN', 'zh-Hans-CN', 'zh-SG',
                      'zh-TW', 'zh-HK', 'zh-Hant', 'zh_TW'];
        return {
            langs: tags.map(w.normaliseLang),
            scripts: ['提币没到账', '提幣沒到賬', 'hello', '交易所'].map(w.chineseScript),
            verdicts: [
                w.wasRedacted({redacted: true}, 'x'),
                w.wasRedacted({redacted: false}, 'x'),
                w.wasRedacted({messages: [{role: 'user', text: 'a '}, {role: 'agent', text: 'b'}]}, 'a'),
                w.wasRedacted({messages: [{role: 'user', text: '[REDACTED]'}]}, 'legal winner'),
                w.wasRedacted({status: 'open'}, 'x'),
            ],
        };
    }""")
    assert got["langs"] == ["en", "en", "en", None, "zh-Hans", "zh-Hans", "zh-Hans", "zh-Hans",
                            "zh-Hant", "zh-Hant", "zh-Hant", "zh-Hant"]
    assert got["scripts"] == ["zh-Hans", "zh-Hant", None, None]
    assert got["verdicts"] == [True, False, False, True, False]
