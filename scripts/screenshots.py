"""Screenshots of the help centre, the chat (desktop 1280 and phone 390 wide), the agent
console and the chat widget.

Drives headless Debian Chromium (the same launcher as the browser tests) against a running
server with the starter KB, and writes PNGs to docs/screenshots/. Chinese text needs a CJK font
(`apt-get install -y fonts-noto-cjk`). Run through `scripts/screenshots`, which starts the server.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.browser_support import DESKTOP, PHONE, launch_chromium  # noqa: E402

expect.set_options(timeout=30_000)


def shoot_help_centre(browser, url: str, out: Path) -> list[Path]:
    written = []
    page = browser.new_page(viewport=DESKTOP, locale="en-US")
    page.goto(url + "/?lang=en")
    box = page.get_by_role("combobox", name="Search help articles")
    box.press_sequentially("pasword", delay=60)
    expect(page.get_by_role("option").first).to_contain_text("I forgot my wallet password")
    box.press("ArrowDown")
    written.append(out / "help-centre-desktop.png")
    page.screenshot(path=written[-1])
    box.press("Enter")
    expect(page.get_by_role("heading", level=2, name="I forgot my wallet password")).to_be_visible()
    written.append(out / "article-desktop.png")
    page.screenshot(path=written[-1])
    page.close()

    phone = browser.new_page(viewport=PHONE, locale="zh-CN", device_scale_factor=2)
    phone.goto(url + "/?lang=zh")
    box = phone.get_by_role("combobox", name="搜索帮助文章")
    box.fill("提币没到账")
    expect(phone.get_by_role("option").first).to_contain_text("从交易所提币到钱包一直没到账")
    written.append(out / "help-centre-phone-zh.png")
    phone.screenshot(path=written[-1])
    phone.close()
    return written


def _send(page, text: str, label: str) -> None:
    box = page.get_by_role("textbox", name=label)
    box.fill(text)
    box.press("Enter")


def shoot_chat(browser, url: str, out: Path) -> list[Path]:
    written = []
    page = browser.new_page(viewport={"width": DESKTOP["width"], "height": 1400}, locale="en-US")
    page.goto(url + "/chat?lang=en")
    _send(page, "I forgot my wallet password", "Your message")
    expect(page.locator(".msg.bot").nth(1).get_by_role("button", name="Yes")).to_be_visible()
    _send(page, "money missing", "Your message")
    expect(page.locator(".choices").last).to_be_visible()
    _send(page, "I want to talk to a human", "Your message")
    page.locator("form.details").get_by_role("button", name="Skip").click()
    expect(page.locator(".ticket-id").last).to_be_visible()
    page.wait_for_timeout(600)
    written.append(out / "chat-desktop.png")
    page.screenshot(path=written[-1])
    page.close()

    phone = browser.new_page(viewport=PHONE, locale="zh-CN", device_scale_factor=2)
    phone.goto(url + "/chat?lang=zh")
    _send(phone, "提币没到账", "您的消息")
    expect(phone.locator(".msg.bot").nth(1)).to_contain_text("交易所")
    phone.locator(".msg.bot").nth(1).get_by_role("button", name="没帮助").click()
    expect(phone.get_by_role("button", name="转人工客服")).to_be_visible()
    phone.wait_for_timeout(600)
    written.append(out / "chat-phone-zh.png")
    phone.screenshot(path=written[-1])
    phone.close()
    return written


def shoot_chinese_conversation(browser, url: str, out: Path, token: str) -> list[Path]:
    """On a phone, in Chinese: a choice between articles, the hand-over with its details,
    then the agent's reply arriving in the chat."""
    import httpx

    written = []
    phone = browser.new_page(viewport=PHONE, locale="zh-CN", device_scale_factor=2)
    phone.goto(url + "/chat?lang=zh&poll_ms=500")
    _send(phone, "手续费太贵", "您的消息")
    choices = phone.locator(".choices button")
    expect(choices.first).to_be_visible()
    phone.wait_for_timeout(400)
    written.append(out / "chat-phone-zh-clarify.png")
    phone.screenshot(path=written[-1])
    choices.nth(1).click()
    phone.locator(".msg.bot").last.get_by_role("button", name="没帮助").click()
    phone.get_by_role("button", name="转人工客服").click()
    details = phone.locator("form.details")
    details.get_by_role("textbox").fill("以太坊，转 100 USDT 手续费要 8 美元，昨天晚上十点")
    details.get_by_role("button", name="发送信息").click()
    ticket = phone.locator(".ticket-id").last
    expect(ticket).to_be_visible()
    phone.wait_for_timeout(400)
    written.append(out / "chat-phone-zh-handoff.png")
    phone.screenshot(path=written[-1])
    auth = {"Authorization": f"Bearer {token}"}
    tid = ticket.inner_text()
    httpx.post(f"{url}/agent/tickets/{tid}/claim", headers=auth).raise_for_status()
    httpx.post(f"{url}/agent/tickets/{tid}/reply", headers=auth, json={
        "text": "您好，我是客服小林。请把这笔转账的交易哈希发给我，我帮您在区块浏览器上查一下。"}
    ).raise_for_status()
    expect(phone.locator(".msg.agent").last).to_contain_text("交易哈希")
    phone.wait_for_timeout(400)
    written.append(out / "chat-phone-zh-agent.png")
    phone.screenshot(path=written[-1])
    phone.close()
    return written


def shoot_console(browser, url: str, out: Path, token: str) -> list[Path]:
    """The agent console with a claimed ticket, its details, conversation and a reply."""
    import httpx

    httpx.post(url + "/answer", json={"query": "提币没到账,转人工", "session_id": "shot-1"})
    httpx.post(url + "/answer", json={"query": "波场 TRON 200 USDT 昨天下午3点 交易哈希 "
                                               + "a1" * 32, "session_id": "shot-1"})
    httpx.post(url + "/answer", json={"query": "my wallet was drained, someone stole my crypto",
                                      "session_id": "shot-2", "skip_details": True})
    page = browser.new_page(viewport={"width": DESKTOP["width"], "height": 1000}, locale="en-US")
    page.goto(url + "/agent")
    page.get_by_label("Agent token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    row = page.locator("#tickets tr", has_text="提币没到账")
    row.click()
    page.get_by_role("button", name="Claim", exact=True).click()
    page.get_by_label("Reply to the user").fill("您好，已收到交易哈希，正在为您查询。")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("#messages li.agent")).to_be_visible()
    page.wait_for_timeout(400)
    written = [out / "agent-console-desktop.png"]
    page.screenshot(path=written[-1], full_page=True)
    page.close()
    return written


def shoot_widget(browser, url: str, out: Path, token: str) -> list[Path]:
    """The <support-chat> widget on its example page: on a desktop, an answer then a hand-over
    with the agent's reply; on a phone, in Chinese, full width."""
    import httpx

    written = []
    page = browser.new_page(viewport={"width": DESKTOP["width"], "height": 800}, locale="en-US")
    page.goto(url + "/static/widget-example.html")
    page.locator("support-chat").evaluate("el => el.setAttribute('poll-ms', '500')")
    page.get_by_role("button", name="Chat with support").click()
    _send(page, "I forgot my wallet password", "Your message")
    expect(page.locator("support-chat .msg.bot").nth(1).get_by_role("button", name="Yes")
           ).to_be_visible()
    _send(page, "I want to talk to a human", "Your message")
    details = page.locator("support-chat form.details")
    details.get_by_role("textbox").fill("iPhone 15, app 2.3.1, since this morning")
    details.get_by_role("button", name="Send details").click()
    ticket = page.locator("support-chat .ticket-id").last
    expect(ticket).to_be_visible()
    auth = {"Authorization": f"Bearer {token}"}
    tid = ticket.inner_text()
    httpx.post(f"{url}/agent/tickets/{tid}/claim", headers=auth).raise_for_status()
    httpx.post(f"{url}/agent/tickets/{tid}/reply", headers=auth, json={
        "text": "Hi, I'm Sam from support. Do you still have your recovery phrase written "
                "down? Don't send it to me: just tell me yes or no."}).raise_for_status()
    expect(page.locator("support-chat .msg.agent").last).to_contain_text("Sam")
    page.wait_for_timeout(500)
    written.append(out / "widget-desktop.png")
    page.screenshot(path=written[-1])
    page.close()

    phone = browser.new_page(viewport=PHONE, locale="zh-CN", device_scale_factor=2)
    phone.goto(url + "/static/widget-example.html")
    phone.locator("support-chat").evaluate("el => el.setAttribute('lang', 'zh-Hans')")
    phone.get_by_role("button", name="在线客服").click()
    _send(phone, "提币没到账", "您的消息")
    expect(phone.locator("support-chat .msg.bot").nth(1).get_by_role("button", name="有帮助")
           ).to_be_visible()
    phone.wait_for_timeout(500)
    written.append(out / "widget-phone-zh.png")
    phone.screenshot(path=written[-1])
    phone.close()
    return written


def shoot_desk(browser, url: str, out: Path, token: str) -> list[Path]:
    """The agent desk: the assist panel (details, articles with their steps, canned replies)
    after inserting an article's steps into the reply; then a reopened ticket with an internal
    note, its events and the escalate and transfer controls."""
    import httpx

    auth = {"Authorization": f"Bearer {token}"}
    httpx.post(url + "/answer", json={"query": "提币到钱包一直没到账,转人工",
                                      "session_id": "shot-desk-1"})
    httpx.post(url + "/answer", json={"query": "从币安提的 TRON 网络 150 USDT,今天上午10点,交易哈希 "
                                               + "c3" * 32, "session_id": "shot-desk-1"})
    page = browser.new_page(viewport={"width": DESKTOP["width"], "height": 1000}, locale="en-US")
    page.goto(url + "/agent")
    page.get_by_label("Agent token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#tickets tr", has_text="提币到钱包一直没到账").click()
    page.get_by_role("button", name="Claim", exact=True).click()
    first = page.locator("#assist-articles li.article").first
    expect(first).to_be_visible()
    first.locator("summary").click()
    page.locator(".canned-reply[data-key='greeting']").click()
    first.get_by_role("button", name="Insert the steps").click()
    page.wait_for_timeout(400)
    written = [out / "agent-console-assist.png"]
    page.screenshot(path=written[-1], full_page=True)
    page.get_by_role("button", name="Release").click()

    made = httpx.post(url + "/answer", json={
        "query": "I withdrew 300 USDT from OKX over TRC20 and it never arrived, talk to a person",
        "skip_details": True}).json()["ticket"]
    httpx.post(f"{url}/agent/tickets/{made['id']}/claim", headers=auth).raise_for_status()
    httpx.post(f"{url}/agent/tickets/{made['id']}/resolve", headers=auth, json={
        "resolution": "OKX confirmed the withdrawal on TRON"}).raise_for_status()
    httpx.post(f"{url}/tickets/{made['id']}/reopen",
               headers={"Authorization": f"Bearer {made['secret']}"},
               json={"text": "Still not solved: TronScan shows nothing for my address"}
               ).raise_for_status()
    page.locator(f'#tickets tr[data-id="{made["id"]}"]').click()
    page.get_by_role("button", name="Claim", exact=True).click()
    page.get_by_label("Internal note").fill("OKX shows a TxID that TronScan does not know: "
                                            "needs a chain check")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#messages li.note")).to_be_visible()
    page.get_by_label("Escalate to", exact=True).select_option(index=0)
    page.get_by_label("Reason for escalating").fill("TxID unknown on chain; please check "
                                                    "with OKX's API")
    page.get_by_label("Escalate to", exact=True).focus()
    page.wait_for_timeout(400)
    written.append(out / "agent-console-escalate.png")
    page.screenshot(path=written[-1], full_page=True)
    page.close()
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    p.add_argument("--agent-token", required=True, help="a token in ASSISTANT_AGENT_TOKENS")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False)
    if not fonts.stdout.strip():
        print("warning: no Chinese font; install fonts-noto-cjk or Chinese shows as boxes",
              file=sys.stderr)
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            written = shoot_help_centre(browser, args.url, args.out)
            written += shoot_chat(browser, args.url, args.out)
            written += shoot_chinese_conversation(browser, args.url, args.out, args.agent_token)
            written += shoot_console(browser, args.url, args.out, args.agent_token)
            written += shoot_desk(browser, args.url, args.out, args.agent_token)
            written += shoot_widget(browser, args.url, args.out, args.agent_token)
        finally:
            browser.close()
    for path in written:
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
