"""The search box: prefix, typo and Chinese-fragment matching, marked snippets, filters,
the other-language fallback, safe article HTML, and the starter KB's real queries."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from assistant.web.app import create_app
from assistant.tooling.build import build_index
from assistant.core.config import Settings
from assistant.understanding.search import Marked, ResultCache, SearchIndex, plain_text
from assistant.service import Assistant
from assistant.core.types import Article
from tests.conftest import write_kb

# A small KB of its own: withdrawals, passwords, an English-only article and one an editor
# filled with HTML and a javascript: link (it must reach users as text, never as markup).
SEARCH_KB = {
    "exchange-withdrawal": ("deposit_withdrawal", False,
        {"en": ("My withdrawal from an exchange has not arrived",
                ["withdrawal from binance not received", "exchange says withdrawn but wallet "
                 "shows 0", "withdraw usdt to my wallet still missing"],
                "Until a withdrawal is on chain, the exchange is responsible for it. Get the "
                "TxID from the exchange's withdrawal history."),
         "zh": ("从交易所提币到钱包一直没到账",
                ["从币安提币到钱包没到账", "交易所显示提币成功但钱包里是0", "欧易提币成功了币没到账"],
                "提币在上链之前由交易所负责处理。请在交易所的提币记录里查看 TxID。")}),
    "forgot-password": ("account", False,
        {"en": ("I forgot my wallet password",
                ["forgot my wallet password", "how do I reset my password",
                 "wrong password when I send"],
                "Your wallet password exists only on this device. Re-import the wallet with "
                "your recovery phrase and set a new password."),
         "zh": ("忘记钱包密码怎么办",
                ["钱包密码忘了怎么办", "密码忘记了怎么重置", "密码错误打不开钱包"],
                "钱包密码只保存在您的设备上。请用助记词重新导入钱包并设置新密码。")}),
    "seed-backup": ("security", False,
        {"en": ("Back up your seed phrase",
                ["how to back up my seed phrase", "write down the seed words",
                 "where do I see my seed again"],
                "Write the seed phrase on paper and keep it offline."),
         "zh": ("备份助记词", ["怎么备份助记词", "抄写助记词", "在哪里查看助记词"],
                "把助记词抄在纸上，离线保存。")}),
    "walletconnect-desktop": ("how_to", False,
        {"en": ("Connect to a website on your computer (WalletConnect)",
                ["walletconnect qr code on desktop", "connect wallet to a website on my pc",
                 "scan the walletconnect code"],
                "Open the website, choose WalletConnect and scan the QR code in the app.")}),
    "danger-html": ("security", False,
        {"en": ("Danger <script>alert('title')</script> zone",
                ["danger zone article", "dangerous html in the knowledge base",
                 "danger test page"],
                "Danger text <script>window.__xss = 1</script> and "
                "<img src=x onerror=\"window.__xss = 2\"> and "
                "[click me](javascript:window.__xss=3) and [safe](https://example.com)."),
         "zh": ("危险测试", ["危险测试文章", "危险的网页", "危险内容"],
                "危险 <script>window.__xss = 4</script> 文字。")}),
}
SEARCH_OOS = ["what's the weather today", "tell me a joke", "will bitcoin go up tomorrow",
              "今天天气怎么样", "讲个笑话", "推荐一部电影"]


def _articles() -> list[Article]:
    out = []
    for art_id, (category, _, langs) in SEARCH_KB.items():
        for lang, (title, questions, body) in langs.items():
            out.append(Article(art_id, title, category, lang, tuple(questions), body))
    return out


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    return SearchIndex(_articles())


# ---------------------------------------------------------------- SearchIndex (no model)

def _best(index: SearchIndex, query: str) -> str:
    scores = index.score(index.expand(query))
    assert scores, f"nothing matched {query!r}"
    return max(scores, key=scores.__getitem__)


@pytest.mark.parametrize("query,article", [
    ("withdr", "exchange-withdrawal"), ("withdrawl", "exchange-withdrawal"),
    ("pasword", "forgot-password"), ("passw", "forgot-password"), ("seed", "seed-backup"),
    ("walletconn", "walletconnect-desktop"), ("提币", "exchange-withdrawal"),
    ("提币没到账", "exchange-withdrawal"), ("忘记密", "forgot-password"), ("助记", "seed-backup"),
])
def test_partial_and_misspelt_input_finds_the_article(index, query, article):
    assert _best(index, query) == article


def test_prefix_scores_below_a_whole_word_and_a_typo_below_both(index):
    whole = index.score(index.expand("password"))["forgot-password"]
    prefix = index.score(index.expand("passwo"))["forgot-password"]
    typo = index.score(index.expand("pasword"))["forgot-password"]
    assert 1.0 >= whole > prefix > typo > 0.5


def test_a_real_word_is_not_corrected_into_another(index):
    # "send" (a KB word) is one edit from "seed": it must not pull in the seed article.
    assert set(index.score(index.expand("send"))) == {"forgot-password"}
    # A word the KB lacks is corrected: "sede" finds "seed".
    assert set(index.score(index.expand("sede"))) == {"seed-backup"}


def test_stop_words_are_ignored_next_to_content_words(index):
    alone = index.score(index.expand("withdrawal"))
    padded = index.score(index.expand("how do i withdrawal"))
    assert padded == alone


@pytest.mark.parametrize("typed,settled", [
    ("withdr", ""), ("withdrawal", "withdrawal"), ("withdrawal not arr", "withdrawal not"),
    ("withdrawal ", "withdrawal"), ("forgot my pass", "forgot my"), ("password?", "password?"),
    ("提币没到", "提币没到"), ("usdt 提币 tx", "usdt 提币"),
])
def test_settled_part_leaves_out_the_word_being_typed(index, typed, settled):
    assert index.settled(typed) == settled


def test_unmatched_input_scores_nothing(index):
    assert index.score(index.expand("xyzzy qwv")) == {}
    assert index.score(index.expand("   ")) == {}


def test_marks_whole_words_typed_prefixes_and_chinese_units(index):
    title = "My withdrawal from an exchange has not arrived"
    marked = index.mark(title, index.expand("withdr"))
    assert [title[s:e] for s, e in marked.spans] == ["withdr"]
    typo = index.mark("I forgot my wallet Password", index.expand("pasword"))
    assert [typo.text[s:e] for s, e in typo.spans] == ["Password"]
    zh = index.mark("从交易所提币到钱包一直没到账", index.expand("提币没到账"))
    assert [zh.text[s:e] for s, e in zh.spans] == ["提币", "没到账"]


def test_marked_html_escapes_everything_but_the_marks():
    m = Marked("a <script>x</script> & password", ((23, 31),))
    assert m.html() == "a &lt;script&gt;x&lt;/script&gt; &amp; <mark>password</mark>"


def test_snippet_is_cut_around_the_first_match(index):
    body = ("Intro sentence without the word. " * 8) + "Here the password is explained in detail. " \
        + "More text follows. " * 10
    snippet = index.snippet(body, index.expand("password"), 80)
    assert snippet.text.startswith("…") and snippet.text.endswith("…")
    assert len(snippet.text) <= 82
    assert [snippet.text[s:e] for s, e in snippet.spans] == ["password"]


def test_chinese_snippets_are_half_as_long(index):
    body = "提币在上链之前由交易所负责处理。" * 20
    snippet = index.snippet(body, index.expand("提币"), 80)
    assert 35 <= len(snippet.text) <= 41 and snippet.text.startswith("提币")
    assert snippet.spans[0] == (0, 2)


def test_snippet_without_a_match_is_the_start_of_the_body(index):
    snippet = index.snippet("**First** line. Second [link](https://x.y) line.", index.expand("zzz"),
                            160)
    assert snippet.text == "First line. Second link line." and snippet.spans == ()


def test_plain_text_drops_markdown_marks_and_link_targets():
    assert plain_text("1. **Open** the [app](https://a.b)\n2. Tap `Send`") == \
        "Open the app Tap Send"


def test_result_cache_keeps_the_most_recent():
    cache = ResultCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # now most recent
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    off = ResultCache(0)
    off.put("a", 1)
    assert off.get("a") is None


# ---------------------------------------------------------------- the query's language

@pytest.mark.parametrize("query,page,expected", [
    ("提币没到账", "en", "zh"), ("usdt 提币", "en", "zh"), ("忘記密碼", "en", "zh"),
    ("how do I reset my password", "zh", "en"), ("forgot my wallet password", "zh", "en"),
    ("withdrawal not arrived", "zh", "en"), ("How do I back up my seed?", "zh", "en"),
    ("how do I reset my password", "en", "en"), ("提币没到账", "zh", "zh"),
    ("提币 how do I", "zh", "zh"),  # the page's own script: a mixed query stays
    ("提币 how do I", "en", "en"),  # fewer Chinese characters than English words
])
def test_a_query_clearly_in_another_language_wins_over_the_page(index, query, page, expected):
    assert index.query_lang(query, page) == expected


@pytest.mark.parametrize("query", [
    "USDT", "TRX", "TokenPocket", "BSC", "usdt trx bsc", "0x12ab34cd56ef", "100", "100u", "us",
    "password",  # one word: Chinese users type it too
    "binance",  # a name only the English articles use: still one word
    "usdt to trx",  # one English word among names
    "how",  # a word being typed
    "zhuanzhang shibai",  # pinyin: no language's words
    "TxID 0xabc",
])
def test_names_codes_and_single_words_keep_the_page_language(index, query):
    assert index.query_lang(query, "zh") == "zh"
    assert index.query_lang(query, "en") == "en"


def test_latin_words_the_chinese_articles_use_count_for_no_language():
    en = Article("connect", "Connect with WalletConnect", "how_to", "en",
                 ("walletconnect qr code on desktop",), "Scan the code.")
    zh = Article("connect", "用WalletConnect连接", "how_to", "zh",
                 ("walletconnect 扫码",), "扫码。")
    english_only = SearchIndex([en])
    assert english_only.query_lang("walletconnect code", "zh") == "en"
    both = SearchIndex([en, zh])  # Chinese users type "walletconnect" too
    assert both.query_lang("walletconnect code", "zh") == "zh"
    assert both.query_lang("walletconnect qr code", "zh") == "en"


def test_a_registered_latin_language_is_chosen_by_its_own_words():
    """Nothing in the search code names a language: a third one comes from the registry."""
    from dataclasses import replace

    from assistant.core import languages

    spanish = replace(languages.get("en"), code="es", name="Español",
                      hint_words=frozenset("el la los de mi cómo qué por para una".split()))
    articles = _articles() + [Article("forgot-password", "Olvidé la contraseña", "account", "es",
                                      ("cómo restablezco mi contraseña",), "Reimporte.")]
    with languages.registered(spanish):
        index = SearchIndex(articles)
        assert index.query_lang("¿Cómo restablezco la contraseña?", "en") == "es"
        assert index.query_lang("cómo restablezco mi contraseña", "zh") == "es"
        assert index.query_lang("how do I reset my password", "es") == "en"
        assert index.query_lang("contraseña", "en") == "en"
        assert index.query_lang("提币没到账", "es") == "zh"


# ---------------------------------------------------------------- service and API (real model)

@pytest.fixture(scope="module")
def search_index_dir(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("search-kb")
    kb = write_kb(root / "kb", SEARCH_KB, SEARCH_OOS)
    build_index(kb, root / "index", embedder, model_name="all-MiniLM-L6-v2")
    return root


@pytest.fixture
def search_settings(search_index_dir, tmp_path) -> Settings:
    return Settings(kb_dir=search_index_dir / "kb", index_dir=search_index_dir / "index",
                    data_dir=tmp_path / "data", thresholds_file=tmp_path / "none.json",
                    rate_limit_per_minute=0)


@pytest.fixture
def searcher(search_settings, embedder):
    a = Assistant(search_settings, embedder=embedder).warm_up()
    yield a
    a.close()


@pytest.fixture
def client(search_settings, embedder):
    app = create_app(search_settings, Assistant(search_settings, embedder=embedder))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.mark.slow
@pytest.mark.parametrize("query,article,lang", [
    ("pasword", "forgot-password", "en"), ("withdr", "exchange-withdrawal", "en"),
    ("提币", "exchange-withdrawal", "zh"), ("提币没到账", "exchange-withdrawal", "zh"),
])
def test_service_search_ranks_partial_input(searcher, query, article, lang):
    top = searcher.search(query, k=3)[0]
    assert (top.id, top.lang, top.fallback) == (article, lang, False)


@pytest.mark.slow
def test_category_filter_keeps_only_that_category(searcher):
    unfiltered = searcher.search("wallet", k=5)
    filtered = searcher.search("wallet", k=5, category="how_to")
    assert len({r.category for r in unfiltered}) > 1
    assert [r.id for r in filtered] == ["walletconnect-desktop"]


@pytest.mark.slow
def test_a_chinese_query_in_an_english_box_gets_chinese_articles(searcher):
    top = searcher.search("提币没到账", k=3, lang="en")[0]
    assert (top.id, top.lang, top.fallback) == ("exchange-withdrawal", "zh", False)
    assert searcher.search("withdrawal", k=3, lang="en")[0].lang == "en"


@pytest.mark.slow
def test_article_missing_in_the_language_falls_back_to_the_other(searcher):
    results = searcher.search("walletconnect", k=3, lang="zh")
    top = results[0]
    assert top.id == "walletconnect-desktop" and top.lang == "en" and top.fallback is True
    assert all(not r.fallback for r in results if r.id != "walletconnect-desktop")


@pytest.mark.slow
def test_results_are_cached_per_input(searcher):
    first = searcher.search("withdr", k=3)
    assert searcher.search("withdr", k=3) == first
    cache = searcher.state.search_cache
    assert len(cache) == 1
    searcher.search("withdr", k=3, lang="zh")
    assert len(cache) == 2


@pytest.mark.slow
def test_search_api_contract_and_marks(client):
    body = client.get("/search", params={"q": "pasword", "k": 2}).json()
    assert body["query"] == "pasword" and body["lang"] == "en"
    top = body["results"][0]
    assert set(top) == {"id", "title", "category", "lang", "fallback", "snippet", "score",
                        "title_html", "snippet_html", "highlights"}
    assert top["id"] == "forgot-password" and top["fallback"] is False
    assert "<mark>password</mark>" in top["title_html"]
    for s, e in top["highlights"]["snippet"]:
        assert top["snippet"][s:e].lower() == "password"


@pytest.mark.slow
def test_search_escapes_kb_html_in_titles_and_snippets(client):
    top = client.get("/search", params={"q": "danger", "k": 1}).json()["results"][0]
    assert top["id"] == "danger-html"
    for field in ("title_html", "snippet_html"):
        assert "<script" not in top[field] and "<img" not in top[field]
        assert re.sub(r"</?mark>", "", top[field]).count("<") == 0
    assert "&lt;script&gt;" in top["title_html"]


@pytest.mark.slow
@pytest.mark.parametrize("params,field", [
    ({"q": "x", "category": "fees"}, "category"), ({"q": "x", "k": 21}, "k"),
])
def test_bad_search_filters_get_422(client, params, field):
    resp = client.get("/search", params=params)
    assert resp.status_code == 422
    assert field in [d["field"] for d in resp.json()["error"]["details"]]


@pytest.mark.slow
def test_article_is_rendered_to_safe_html(client):
    body = client.get("/articles/danger-html", params={"lang": "en"}).json()
    html = body["html"]
    assert body["id"] == "danger-html" and body["lang"] == "en" and body["fallback"] is False
    assert "<script" not in html and "<img" not in html
    assert html.count("<a ") == 1  # the javascript: link stays text, only the https one links
    assert "&lt;script&gt;" in html and "(javascript:" in html  # shown as text
    assert '<a href="https://example.com" rel="noopener noreferrer nofollow">safe</a>' in html


@pytest.mark.slow
def test_article_in_markdown_becomes_html_with_placeholders_filled(client):
    body = client.get("/articles/forgot-password", params={"lang": "zh"}).json()
    assert body["title"] == "忘记钱包密码怎么办" and body["html"].startswith("<p>钱包密码")
    assert body["category_label"] == "账户、密码与备份" and body["languages"] == ["en", "zh"]


@pytest.mark.slow
def test_article_only_in_english_is_served_for_chinese_with_fallback(client):
    body = client.get("/articles/walletconnect-desktop", params={"lang": "zh"}).json()
    assert body["lang"] == "en" and body["fallback"] is True and body["languages"] == ["en"]


@pytest.mark.slow
def test_unknown_article_is_404_and_bad_lang_422(client):
    missing = client.get("/articles/no-such-article")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    bad = client.get("/articles/forgot-password", params={"lang": "de"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "lang"


@pytest.mark.slow
def test_categories_list_every_article_once_with_titles_in_the_language(client):
    body = client.get("/categories", params={"lang": "zh"}).json()
    assert body["lang"] == "zh"
    ids = [a["id"] for c in body["categories"] for a in c["articles"]]
    assert sorted(ids) == sorted(SEARCH_KB)
    labels = {c["id"]: c["label"] for c in body["categories"]}
    assert labels["deposit_withdrawal"] == "充值与提币"
    wc = next(a for c in body["categories"] for a in c["articles"]
              if a["id"] == "walletconnect-desktop")
    assert wc["fallback"] is True and wc["lang"] == "en"


@pytest.mark.slow
def test_pages_and_static_files_are_served_with_a_content_security_policy(client):
    for path, marker in (("/", "<help-search"), ("/chat", 'id="composer"')):
        resp = client.get(path)
        assert resp.status_code == 200 and marker in resp.text
        csp = resp.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "<script>" not in resp.text  # no inline script: every script is a file
    js = client.get("/static/help-search.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert "customElements.define" in js.text
    assert client.get("/static/nope.js").status_code == 404


@pytest.mark.slow
def test_static_files_do_not_use_up_the_rate_limit(search_settings, embedder):
    limited = search_settings.model_copy(update={"rate_limit_per_minute": 60,
                                                 "rate_limit_burst": 2})
    app = create_app(limited, Assistant(limited, embedder=embedder))
    with TestClient(app) as c:
        assert [c.get("/static/help.css").status_code for _ in range(5)] == [200] * 5
        codes = [c.get("/search", params={"q": "gas"}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


# ---------------------------------------------------------------- the starter KB

@pytest.fixture(scope="module")
def starter(starter_index, embedder, tmp_path_factory):
    from assistant.core.config import load_settings

    s = load_settings(index_dir=starter_index, data_dir=tmp_path_factory.mktemp("starter-data"))
    a = Assistant(s, embedder=embedder).warm_up()
    yield a
    a.close()


@pytest.mark.slow
@pytest.mark.parametrize("query,article,lang", [
    ("pasword", "forgot-wallet-password", "en"),
    ("withdr", "exchange-withdrawal-not-arrived", "en"),
    ("withdrawl", "exchange-withdrawal-not-arrived", "en"),
    ("tranfer failed", "transaction-failed", "en"),
    ("提币", "exchange-withdrawal-not-arrived", "zh"),
    ("提币没到账", "exchange-withdrawal-not-arrived", "zh"),
    ("忘记密", "forgot-wallet-password", "zh"),
])
def test_starter_kb_search_box_queries(starter, query, article, lang):
    top = starter.search(query, k=5)[0]
    assert (top.id, top.lang) == (article, lang)


@pytest.mark.slow
def test_starter_kb_marks_the_chinese_fragment_in_the_title(starter):
    top = starter.search("提币没到账", k=1)[0]
    assert top.title == "从交易所提币到钱包一直没到账"
    assert top.to_dict()["title_html"] == "从交易所<mark>提币</mark>到钱包一直<mark>没到账</mark>"


@pytest.mark.slow
def test_starter_kb_category_filter(starter):
    results = starter.search("password", k=5, category="security")
    assert results and {r.category for r in results} == {"security"}
    assert "forgot-wallet-password" not in [r.id for r in results]


def test_menu_paths_survive_in_snippet_text():
    from assistant.understanding.search import plain_text

    text = plain_text("1. Open **Me > Manage wallets** and tap [the wallet](article:x)\n> Note: quoted")
    assert text == "Open Me > Manage wallets and tap the wallet Note: quoted"
