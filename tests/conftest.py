"""Shared fixtures: the real model once per session, tiny KBs written by the tests."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from assistant.tooling.build import build_index  # noqa: E402
from assistant.core.config import ROOT, Settings  # noqa: E402
from assistant.knowledge.embedding import SentenceTransformerEmbedder, make_embedder  # noqa: E402
from tests.fakes import FAKE_MODEL, HashEmbedder  # noqa: E402

TINY = {
    "forgot-password": ("account", False,
        {"en": ("I forgot my wallet password",
                ["I forgot my wallet password", "how do I reset my password",
                 "wrong password cannot open wallet", "lost my password"],
                "The password is stored only on your device. Re-import with your recovery phrase."),
         "zh": ("忘记钱包密码",
                ["钱包密码忘了怎么办", "密码忘记了怎么重置", "密码错误打不开钱包", "找回钱包密码"],
                "密码只保存在您的设备上。请用助记词重新导入钱包并设置新密码。")}),
    "tx-failed": ("transaction", False,
        {"en": ("Why did my transaction fail",
                ["my transaction failed", "transfer failed but fee was charged",
                 "why did my transfer fail on {chain}", "failed transaction"],
                "Check {tx_hash} on the {chain} explorer. Failed transactions still pay gas."),
         "zh": ("转账失败的原因",
                ["转账失败了", "交易失败但扣了手续费", "为什么转账不成功", "交易显示失败"],
                "请在{chain}的区块浏览器查询{tx_hash}。失败的交易也会消耗矿工费。")}),
    "tron-energy": ("transaction", False,
        {"en": ("TRON energy and bandwidth",
                ["why does a usdt trc20 transfer burn trx", "not enough energy on tron",
                 "what is bandwidth on tron", "trc20 fee is too high"],
                "USDT on TRON uses energy; without it TRX is burned."),
         "zh": ("波场能量和带宽",
                ["波场能量不足", "转USDT为什么扣TRX", "带宽是什么", "TRC20手续费太高"],
                "在波场上转 USDT 需要能量，能量不足时会燃烧 TRX。")}),
    "fake-support": ("security", False,
        {"en": ("Fake support asking for your recovery phrase",
                ["someone from support asked for my seed phrase",
                 "admin on telegram wants my recovery phrase",
                 "is it safe to give my mnemonic to support", "support asked me to verify my wallet"],
                "Official support never asks for your recovery phrase or private key."),
         "zh": ("假客服索要助记词",
                ["客服让我提供助记词", "电报上的管理员要我的助记词", "把助记词给客服安全吗",
                 "有人让我验证钱包"],
                "官方客服绝不会索要助记词或私钥。")}),
    "stolen-funds": ("security", True,
        {"en": ("My funds were stolen",
                ["my wallet was drained", "someone stole my crypto",
                 "funds disappeared from my wallet", "hacked wallet all tokens gone"],
                "Move what is left to a new wallet now and revoke approvals."),
         "zh": ("资产被盗怎么办",
                ["钱包被盗了", "币被人转走了", "资产不见了", "钱包被黑币没了"],
                "请立即把剩余资产转到新钱包，并取消授权。")}),
    "contact-support": ("contact", False,
        {"en": ("How to contact support",
                ["how do I contact support", "support email address",
                 "where can I reach customer service", "contact channels"],
                "Email {support_email} or visit {official_site}."),
         "zh": ("如何联系客服",
                ["怎么联系客服", "客服邮箱是多少", "在哪里找客服", "联系方式"],
                "发送邮件到 {support_email} 或访问 {official_site}。")}),
}
TINY_OOS = ["what's the weather today", "tell me a joke", "will bitcoin go up tomorrow",
            "recommend a movie", "who won the football game", "今天天气怎么样", "讲个笑话",
            "比特币明天会涨吗", "推荐一部电影", "晚饭吃什么"]


def article_text(art_id: str, category: str, lang: str, title: str, questions: list[str],
                 body: str, handoff: bool = False) -> str:
    qs = "\n".join(f"  - {q!r}" for q in questions)
    extra = "handoff: true\n" if handoff else ""
    return f"---\nid: {art_id}\ntitle: {title!r}\ncategory: {category}\nlang: {lang}\n" \
           f"questions:\n{qs}\n{extra}---\n{body}\n"


def write_kb(root: Path, articles: dict = TINY, oos: list[str] | None = TINY_OOS) -> Path:
    """Write a KB folder from a compact description; returns the folder."""
    for art_id, (category, handoff, langs) in articles.items():
        for lang, (title, questions, body) in langs.items():
            d = root / lang
            d.mkdir(parents=True, exist_ok=True)
            (d / f"{art_id}.md").write_text(
                article_text(art_id, category, lang, title, questions, body, handoff), "utf-8")
    if oos:
        lines = "\n".join(f"  - {q!r}" for q in oos)
        (root / "out_of_scope.yaml").write_text(f"questions:\n{lines}\n", "utf-8")
    return root


def dedent(s: str) -> str:
    return textwrap.dedent(s).lstrip("\n")


_REAL_MODEL = ("embedder", "torch_embedder")


@pytest.fixture(autouse=True)
def _real_model_only_when_slow(request):
    """Only tests marked `slow` may load the real model; the others use `fake_embedder`."""
    real = [f for f in _REAL_MODEL if f in request.fixturenames]
    if real and request.node.get_closest_marker("slow") is None:
        pytest.fail(f"{request.node.nodeid} loads the real model ({', '.join(real)}): mark it "
                    "slow or use fake_embedder")


@pytest.fixture(scope="session")
def embedder():
    """The real default model on the default backend, loaded once for the whole session."""
    e = make_embedder(Settings())
    e.warm_up()
    return e


@pytest.fixture(scope="session")
def fake_embedder() -> HashEmbedder:
    """A deterministic embedder that loads nothing (unit tests)."""
    return HashEmbedder()


@pytest.fixture(scope="session")
def fake_tiny_index(tmp_path_factory, fake_embedder) -> tuple[Path, Path]:
    """(kb_dir, index_dir) of the tiny KB, built with the fake embedder."""
    root = tmp_path_factory.mktemp("fake-tiny")
    kb = write_kb(root / "kb")
    build_index(kb, root / "index", fake_embedder, model_name=FAKE_MODEL)
    return kb, root / "index"


@pytest.fixture
def fake_settings(fake_tiny_index, tmp_path) -> Settings:
    """Settings over the fake-embedder tiny index, with an in-memory-fast SQLite queue."""
    kb, index = fake_tiny_index
    return Settings(kb_dir=kb, index_dir=index, data_dir=tmp_path / "data", model=FAKE_MODEL,
                    thresholds_file=tmp_path / "none.json",
                    signal_articles={"impersonation_scam": "fake-support",
                                     "theft_report": "stolen-funds"})


@pytest.fixture
def fake_assistant(fake_settings, fake_embedder):
    from assistant.service import Assistant

    a = Assistant(fake_settings, embedder=fake_embedder).warm_up()
    yield a
    a.close()


@pytest.fixture(scope="session")
def torch_embedder() -> SentenceTransformerEmbedder:
    """The same model on sentence-transformers/torch (the reference the ONNX path matches)."""
    e = SentenceTransformerEmbedder()
    e.warm_up()
    return e


@pytest.fixture(scope="session")
def tiny_index(tmp_path_factory, embedder) -> tuple[Path, Path]:
    """(kb_dir, index_dir) of the tiny KB, built with the real model."""
    root = tmp_path_factory.mktemp("tiny")
    kb = write_kb(root / "kb")
    build_index(kb, root / "index", embedder, model_name="all-MiniLM-L6-v2")
    return kb, root / "index"


@pytest.fixture
def tiny_settings(tiny_index, tmp_path) -> Settings:
    kb, index = tiny_index
    return Settings(kb_dir=kb, index_dir=index, data_dir=tmp_path / "data",
                    thresholds_file=tmp_path / "none.json", signal_articles={"impersonation_scam": "fake-support",
                                     "theft_report": "stolen-funds"})


@pytest.fixture
def tiny_assistant(tiny_settings, embedder):
    from assistant.service import Assistant

    a = Assistant(tiny_settings, embedder=embedder).warm_up()
    yield a
    a.close()


@pytest.fixture(scope="session")
def starter_index(tmp_path_factory, embedder) -> Path:
    """The real starter KB (kb/) built into a temporary index folder."""
    out = tmp_path_factory.mktemp("starter") / "index"
    build_index(ROOT / "kb", out, embedder, model_name="all-MiniLM-L6-v2")
    return out


# ---------------------------------------------------------------- queue backends

PG_DSN = os.environ.get("ASSISTANT_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_problem() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_DSN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure means: no usable server here
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture
def pg_dsn():
    """A DSN into a fresh schema of the real PostgreSQL server; dropped afterwards.

    Skipped (with how to run them) where no server answers; under CI they fail instead,
    so a missing server never hides these tests.
    """
    import secrets

    problem = _pg_problem()
    if problem:
        message = (f"PostgreSQL not reachable at {PG_DSN} ({problem}); start a server or set "
                   "ASSISTANT_TEST_PG_DSN to run the PostgreSQL queue tests")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    import psycopg

    schema = "t_" + secrets.token_hex(6)
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_DSN else "?"
    yield f"{PG_DSN}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def queue_dsn(request, tmp_path) -> str:
    """Each queue test runs on both backends: a SQLite file and a real PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    return request.getfixturevalue("pg_dsn")


@pytest.fixture
def make_queue(queue_dsn):
    """Opens queue instances on one backend (each with its own connections); closes them."""
    from assistant.handoff.queue import open_queue

    opened = []

    def make(**kwargs):
        q = open_queue(queue_dsn, Path("unused"), **kwargs).open()
        opened.append(q)
        return q

    yield make
    for q in opened:
        q.close()


# ---------------------------------------------------------------- real server and browser
# Browser tests (marker `browser`) drive the pages in headless Chromium against a real
# `assistant serve` process; see tests/browser_support.py.

from tests.browser_support import (  # noqa: E402
    DESKTOP,
    LiveServer,
    launch_chromium,
    require_browser,
    server_env,
)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Browser tests skip (or fail under CI) before their fixtures start a server."""
    if item.get_closest_marker("browser"):
        require_browser()


@pytest.fixture(scope="session")
def live_server(starter_index, tmp_path_factory) -> LiveServer:
    """`assistant serve` on the starter KB, one process per session; `.url` is its address."""
    data = tmp_path_factory.mktemp("live-data")
    server = LiveServer(server_env(starter_index, data), data / "server.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium through Playwright, once per session."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = launch_chromium(pw)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh desktop-sized page (own storage); fails the test on an uncaught script error."""
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    if errors:
        pytest.fail(f"script errors in the page: {errors}", pytrace=False)
