"""The help-centre and chat pages, used as a person would in headless Chromium against the
real server (starter KB): type in the search box, read the article, switch to Chinese, chat,
choose between articles, ask for a person, on a desktop and on a phone-sized screen."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from assistant.tooling.build import build_index
from tests.browser_support import AGENT_NAME, AGENT_TOKEN, DESKTOP, PHONE, LiveServer, server_env
from tests.conftest import write_kb

pytestmark = [pytest.mark.browser, pytest.mark.slow]

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` marker skips these tests (fails them under CI)
    expect = None
else:
    expect.set_options(timeout=20_000)  # a shared 2-core machine can be slow


def search_box(page, name: str = "Search help articles"):
    return page.get_by_role("combobox", name=name)


# ---------------------------------------------------------------- help centre

def test_typing_a_misspelt_word_finds_and_opens_the_article(page, live_server):
    response = page.goto(live_server.url + "/?lang=en")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    box = search_box(page)
    box.press_sequentially("pasword", delay=40)
    first = page.get_by_role("option").first
    expect(first).to_contain_text("I forgot my wallet password")
    expect(first.locator("mark").first).to_have_text(re.compile("password", re.IGNORECASE))
    expect(page.locator("help-search").get_by_role("status")).to_contain_text("articles found")
    expect(box).to_have_attribute("aria-expanded", "true")

    box.press("ArrowDown")
    expect(first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", first.get_attribute("id"))
    box.press("Enter")
    heading = page.get_by_role("heading", level=2, name="I forgot my wallet password")
    expect(heading).to_be_visible()
    expect(heading).to_be_focused()
    expect(page.locator("#article-body")).to_contain_text("recovery phrase")
    expect(page.locator("#article-body ol li").first).to_be_visible()  # Markdown list as HTML
    assert "article=forgot-wallet-password" in page.url

    page.go_back()
    expect(heading).to_be_hidden()
    expect(page.get_by_role("heading", level=2, name="Browse by topic")).to_be_visible()


def test_arrow_keys_move_through_results_and_escape_closes(page, live_server):
    page.goto(live_server.url + "/?lang=en")
    box = search_box(page)
    box.press_sequentially("withdr", delay=40)
    options = page.get_by_role("option")
    expect(options.first).to_contain_text("withdrawal")
    assert options.count() >= 2
    box.press("ArrowDown")
    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(options.nth(0)).to_have_attribute("aria-selected", "false")
    box.press("ArrowUp")
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    box.press("Escape")
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(options.first).to_be_hidden()


def test_switch_to_chinese_and_find_a_withdrawal_that_has_not_arrived(page, live_server):
    page.goto(live_server.url + "/?lang=en")
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("有什么可以帮您？")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("button", name="中文")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("heading", level=3, name="充值与提币")).to_be_visible()

    box = search_box(page, "搜索帮助文章")
    box.fill("提币没到账")
    first = page.get_by_role("option").first
    expect(first).to_contain_text("从交易所提币到钱包一直没到账")
    expect(first.locator("mark").first).to_have_text("提币")
    first.click()
    expect(page.get_by_role("heading", level=2, name="从交易所提币到钱包一直没到账")).to_be_visible()
    expect(page.locator("#article-category")).to_have_text("充值与提币")
    expect(page.locator("#article-body")).to_contain_text("TxID")

    page.reload()  # the choice of language is kept
    expect(page.get_by_role("heading", level=2, name="从交易所提币到钱包一直没到账")).to_be_visible()
    expect(page.get_by_role("button", name="中文")).to_have_attribute("aria-pressed", "true")


def test_a_chinese_query_on_the_english_help_centre_finds_chinese_articles(page, live_server):
    page.goto(live_server.url + "/?lang=en")
    search_box(page).fill("提币没到账")
    first = page.get_by_role("option").first
    expect(first).to_contain_text("从交易所提币到钱包一直没到账")
    # The box speaks the results' language; its own `lang` stays the page's.
    expect(first.locator(".badge")).to_have_text("按您输入的语言：中文")
    status = page.locator("help-search").get_by_role("status")
    expect(status).to_contain_text("找到")
    expect(status).to_have_attribute("lang", "zh")
    expect(page.locator("help-search")).to_have_attribute("lang", "en")
    first.click()
    expect(page.get_by_role("heading", level=2, name="从交易所提币到钱包一直没到账")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    assert "lang=zh" in page.url


def test_an_english_query_on_the_chinese_help_centre_finds_english_articles(page, live_server):
    page.goto(live_server.url + "/?lang=zh")
    box = search_box(page, "搜索帮助文章")
    box.press_sequentially("how do I reset my password", delay=20)
    first = page.get_by_role("option").first
    expect(first).to_contain_text("I forgot my wallet password")
    expect(first).to_have_attribute("lang", "en")
    expect(first.locator(".badge")).to_have_text("In your query's language: English")
    expect(page.locator("help-search").get_by_role("status")).to_contain_text("articles found")
    expect(page.locator("help-search")).to_have_attribute("lang", "zh")
    first.click()
    expect(page.get_by_role("heading", level=2, name="I forgot my wallet password")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert "lang=en" in page.url


def test_token_names_on_the_chinese_help_centre_keep_chinese_results(page, live_server):
    page.goto(live_server.url + "/?lang=zh")
    page.evaluate("""() => document.getElementById("search").addEventListener(
        "help-search-results", (e) => { window.lastResults = e.detail; })""")
    box = search_box(page, "搜索帮助文章")
    for query in ("USDT", "TokenPocket", "us"):
        box.fill(query)
        page.wait_for_function("q => window.lastResults && window.lastResults.query === q",
                               arg=query)
        shown = page.evaluate("() => window.lastResults")
        assert shown["lang"] == "zh" and shown["results"], query
        assert {r["lang"] for r in shown["results"]} == {"zh"}, query
        expect(page.get_by_role("option").first).to_have_attribute("lang", "zh")
        expect(page.locator("help-search").get_by_role("status")).to_contain_text("找到")
        expect(page.locator(".badge")).to_have_count(0)


def test_browse_a_topic_open_an_article_and_go_back(page, live_server):
    page.goto(live_server.url + "/?lang=en")
    topic = page.get_by_role("region", name="Deposits and withdrawals")
    link = topic.get_by_role("link", name="My withdrawal from an exchange has not arrived in my "
                                          "wallet")
    link.click()
    heading = page.get_by_role("heading", level=2,
                               name="My withdrawal from an exchange has not arrived in my wallet")
    expect(heading).to_be_visible()
    expect(page.locator("#article-category")).to_have_text("Deposits and withdrawals")
    page.get_by_role("button", name="Back to all topics").click()
    expect(topic).to_be_visible()
    expect(heading).to_be_hidden()


def test_the_embeddable_box_opens_the_chosen_article_in_the_help_centre(page, live_server):
    page.goto(live_server.url + "/static/embed-example.html")
    box = search_box(page, "Need help?")
    box.press_sequentially("withdr", delay=40)
    expect(page.get_by_role("option")).to_have_count(4)
    # The results of the whole input, not of a prefix still on screen: then Enter.
    expect(page.get_by_role("option").first).to_contain_text("My withdrawal from an exchange")
    box.press("Enter")  # no option chosen with the arrows: the first one opens
    page.wait_for_url(re.compile(r"/\?article=exchange-withdrawal-not-arrived&lang=en$"))
    expect(page.get_by_role("heading", level=2, name=re.compile("My withdrawal from an exchange"))
           ).to_be_visible()


def test_an_unknown_article_address_says_so(page, live_server):
    page.goto(live_server.url + "/?article=no-such-article&lang=en")
    expect(page.get_by_role("heading", level=2)).to_have_text("This article could not be found.")


def test_phone_sized_screen_has_no_sideways_scrolling(page, live_server):
    page.set_viewport_size(PHONE)
    for path in ("/?lang=en", "/chat"):
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width}px wide"
    page.goto(live_server.url + "/?lang=en")
    search_box(page).fill("pasword")
    expect(page.get_by_role("option").first).to_contain_text("I forgot my wallet password")
    box = page.get_by_role("option").first.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


# ---------------------------------------------------------------- chat

def send(page, text: str, label: str = "Your message") -> None:
    box = page.get_by_role("textbox", name=label)
    box.fill(text)
    box.press("Enter")


def bot_messages(page):
    return page.locator(".msg.bot")


def test_chat_answers_in_english_and_in_chinese_with_one_session(page, live_server):
    bodies: list[dict] = []
    page.on("request", lambda r: bodies.append(json.loads(r.post_data))
            if r.url.endswith("/answer") else None)
    page.goto(live_server.url + "/chat?lang=en")
    expect(bot_messages(page).first).to_contain_text("Ask me anything")

    send(page, "I forgot my wallet password")
    answer = bot_messages(page).nth(1)
    expect(answer).to_contain_text("recovery phrase")
    link = answer.get_by_role("link", name=re.compile("Read the full article"))
    expect(link).to_have_attribute("href", re.compile("article=forgot-wallet-password"))
    expect(answer.get_by_role("button", name="Yes")).to_be_visible()

    send(page, "提币没到账")
    zh = bot_messages(page).nth(2)
    expect(zh).to_contain_text("交易所")
    expect(zh).to_have_attribute("lang", "zh-CN")
    expect(zh.get_by_role("link")).to_have_attribute(
        "href", re.compile("article=exchange-withdrawal-not-arrived"))

    assert [b["query"] for b in bodies] == ["I forgot my wallet password", "提币没到账"]
    sessions = {b["session_id"] for b in bodies}
    assert len(sessions) == 1 and re.fullmatch(r"[0-9a-f]{32}", sessions.pop())


def _clarifying_query(url: str) -> tuple[str, list[str]]:
    """A message the server answers with a choice (asked first, so the test shows the page)."""
    for query in ("money missing", "issue with usdt", "help with my wallet please", "转账有问题",
                  "USDT问题"):
        reply = httpx.post(url + "/answer", json={"query": query}, timeout=30).json()
        if reply["action"] == "clarify" and len(reply["candidates"]) >= 2:
            return query, [c["title"] for c in reply["candidates"]]
    raise AssertionError("none of the sample messages is clarified any more; pick another")


def test_chat_offers_choices_and_shows_the_chosen_article(page, live_server):
    query, titles = _clarifying_query(live_server.url)
    page.goto(live_server.url + "/chat?lang=en")
    send(page, query)
    choices = page.get_by_role("group", name="Which of these is it?", exact=False)
    buttons = choices.get_by_role("button")
    expect(buttons).to_have_count(len(titles))
    # Said once: the choices are buttons, not also a numbered list above them.
    prompt = bot_messages(page).nth(1).locator(".text > p").first
    expect(prompt).to_have_text(re.compile("Which of these is it"))
    expect(bot_messages(page).nth(1)).not_to_contain_text(f"1. {titles[0]}")
    expect(buttons.first).to_have_text(titles[0])
    buttons.nth(1).click()
    expect(page.locator(".msg.user").last).to_have_text(re.compile(re.escape(titles[1])))
    article = bot_messages(page).last
    expect(article.locator("strong").first).to_have_text(titles[1])
    expect(article.locator(".article-body p").first).to_be_visible()
    expect(article.get_by_role("button", name="No")).to_be_visible()
    for i in range(len(titles)):
        expect(buttons.nth(i)).to_be_disabled()


def test_the_conversations_language_wins_over_the_pages(page, live_server):
    """Chinese typed on the English page: the reply's buttons, the page and the handoff
    request all switch to Chinese."""
    bodies: list[str] = []
    page.on("request", lambda r: bodies.append(json.loads(r.post_data)["query"])
            if r.url.endswith("/answer") else None)
    page.goto(live_server.url + "/chat?lang=en")
    send(page, "钱包密码忘了怎么办")
    reply = bot_messages(page).nth(1)
    expect(reply.get_by_role("button", name="有帮助")).to_be_visible()
    expect(reply.get_by_role("link", name=re.compile("查看完整文章"))).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("textbox", name="您的消息")).to_be_visible()
    reply.get_by_role("button", name="没帮助").click()
    reply.get_by_role("button", name="转人工客服").click()
    handoff = bot_messages(page).nth(2)
    expect(handoff).to_contain_text("正在为您转接人工客服")
    expect(page.locator("form.details")).to_contain_text("App 版本号")
    assert bodies[-1] == "转人工"


def test_a_message_to_an_open_ticket_is_acknowledged(page, live_server):
    page.goto(live_server.url + "/chat?lang=en")
    send(page, "I want to talk to a human")
    page.locator("form.details").get_by_role("button", name="Skip").click()
    ticket = bot_messages(page).nth(2).locator(".ticket-id")
    expect(ticket).to_have_text(re.compile(r"^\S{8,}$"))
    ticket_id = ticket.inner_text()
    send(page, "also, the amount was 250 USDT")
    ack = bot_messages(page).nth(3)
    expect(ack).to_contain_text("Added to your ticket")
    expect(ack).to_contain_text(ticket_id)


def test_asking_for_a_person_asks_for_details_first(page, live_server):
    page.goto(live_server.url + "/chat?lang=en")
    send(page, "I want to talk to a human")
    details = page.locator("form.details")
    expect(details).to_contain_text("a short description of the problem")
    details.get_by_role("textbox").fill("my USDT withdrawal from an exchange never arrived")
    details.get_by_role("button", name="Send details").click()
    reply = bot_messages(page).last
    expect(reply.locator(".ticket-id")).to_have_text(re.compile(r"^\S{8,}$"))
    expect(reply.locator(".ticket-position")).to_have_text(re.compile(r"^\d+$"))
    expect(reply).to_contain_text(reply.locator(".ticket-id").inner_text())


def test_handoff_from_chat_to_the_agent_console_and_back(browser, live_server):
    """转人工 → details asked → skip → ticket with place and wait; an agent claims, replies and
    resolves in the console; the user sees the reply in the chat and rates the help."""
    user = browser.new_context(viewport=DESKTOP).new_page()
    user.goto(live_server.url + "/chat?lang=zh&poll_ms=300")
    send(user, "转人工", label="您的消息")
    details = user.locator("form.details")
    expect(details).to_contain_text("问题的简要描述")
    details.get_by_role("button", name="跳过").click()
    card = user.locator(".ticket.card").last
    ticket_id = card.locator(".ticket-id").inner_text()
    expect(card.locator(".ticket-position")).to_have_text(re.compile(r"^\d+$"))
    expect(card.locator(".ticket-eta")).to_contain_text(re.compile(r"\d"))
    # The ticket's secret came with the reply that created it; the page keeps it for this tab
    # (a reload still polls) and the ticket id alone opens nothing.
    secret = user.evaluate("JSON.parse(sessionStorage.getItem('help.ticket')).secret")
    assert secret and len(secret) >= 32
    assert user.evaluate(f"fetch('/tickets/{ticket_id}').then(r => r.status)") == 404
    user.reload()
    expect(user.locator(".ticket.card .ticket-id").last).to_have_text(ticket_id)

    agent = browser.new_context(viewport=DESKTOP).new_page()
    agent.goto(live_server.url + "/agent")
    agent.get_by_label("Agent token").fill(AGENT_TOKEN)
    agent.get_by_role("button", name="Sign in").click()
    agent.locator(f'#tickets tr[data-id="{ticket_id}"]').click()
    agent.get_by_role("button", name="Claim", exact=True).click()
    expect(agent.locator("#ticket-meta")).to_contain_text(f"held by {AGENT_NAME}")
    expect(agent.locator("#messages")).to_contain_text("转人工")
    agent.get_by_label("Reply to the user").fill("您好,请问是哪条链上的交易?")
    agent.get_by_role("button", name="Send reply").click()
    expect(user.locator(".msg.agent").last).to_contain_text("哪条链", timeout=15_000)

    agent.get_by_label("Resolution note").fill("已协助用户查询到账")
    agent.get_by_role("button", name="Resolve", exact=True).click()
    expect(agent.locator("#ticket-meta")).to_contain_text("resolved")
    rating = user.locator("form.rating")
    expect(rating).to_be_visible(timeout=15_000)
    rating.locator("label", has_text="5").click()
    rating.get_by_role("textbox").fill("很快")
    rating.get_by_role("button", name="提交评分").click()
    expect(rating).to_contain_text("感谢您的评价")
    seen = json.loads(user.evaluate(
        f"fetch('/tickets/{ticket_id}', {{headers: {{Authorization: 'Bearer {secret}'}}}})"
        ".then(r => r.text())"))
    assert seen["status"] == "resolved" and seen["rating"] == 5
    assert seen["rating_comment"] == "很快"
    user.context.close()
    agent.context.close()


def test_not_helpful_offers_a_person(page, live_server):
    page.goto(live_server.url + "/chat?lang=en")
    send(page, "I forgot my wallet password")
    answer = bot_messages(page).nth(1)
    answer.get_by_role("button", name="No").click()
    expect(answer.get_by_role("button", name="No")).to_have_attribute("aria-pressed", "true")
    expect(answer.get_by_role("button", name="Yes")).to_be_disabled()
    answer.get_by_role("button", name="Talk to a person").click()
    expect(page.locator(".msg.user").last).to_have_text(re.compile("I want to talk to a human"))
    # The hand-over is about the answered problem: it asks what that topic needs.
    details = page.locator("form.details")
    expect(details).to_contain_text("app version")
    expect(details).not_to_contain_text("a short description of the problem")
    details.get_by_role("textbox").fill("iPhone 15, app 2.3.1")
    details.get_by_role("button", name="Send details").click()
    expect(bot_messages(page).last.locator(".ticket-id")).to_be_visible()


# ---------------------------------------------------------------- KB content is never code

@pytest.fixture(scope="module")
def unsafe_kb_server(tmp_path_factory, embedder):
    from tests.understanding.test_search import SEARCH_KB, SEARCH_OOS

    root = tmp_path_factory.mktemp("unsafe-kb")
    kb = write_kb(root / "kb", SEARCH_KB, SEARCH_OOS)
    build_index(kb, root / "index", embedder, model_name="all-MiniLM-L6-v2")
    server = LiveServer(server_env(root / "index", root / "data",
                                   ASSISTANT_THRESHOLDS_FILE=str(root / "none.json")),
                        root / "server.log")
    yield server
    server.stop()


def test_script_and_javascript_links_in_the_kb_never_run(page, unsafe_kb_server):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(unsafe_kb_server.url + "/?lang=en")
    search_box(page).fill("danger")
    first = page.get_by_role("option").first
    expect(first).to_contain_text("<script>alert('title')</script>")  # shown as text
    first.click()
    body = page.locator("#article-body")
    expect(body).to_contain_text("<script>window.__xss = 1</script>")
    expect(body).to_contain_text("[click me](javascript:")
    links = body.locator("a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://example.com")
    expect(body.locator("img, script")).to_have_count(0)
    assert page.evaluate("window.__xss") is None and dialogs == []
