"""The KB linter: each check on a tiny KB that has exactly that problem."""

from __future__ import annotations

import copy
import json

import pytest

from assistant.cli import main
from assistant.core.config import Settings
from assistant.tooling.lint import check_links, check_short_questions, lint_kb, meaningful_words
from assistant.core.types import Article
from tests.conftest import TINY, write_kb

pytestmark = pytest.mark.slow


def _settings(tmp_path, kb) -> Settings:
    return Settings(kb_dir=kb, index_dir=tmp_path / "no-index", data_dir=tmp_path / "data",
                    thresholds_file=tmp_path / "none.json")


def _edit(articles: dict, art_id: str, lang: str, *, title=None, questions=None, body=None,
          category=None, handoff=None) -> None:
    cat, ho, langs = articles[art_id]
    t, q, b = langs[lang]
    langs[lang] = (title or t, questions if questions is not None else q, body or b)
    articles[art_id] = (cat, ho, langs)


def _problem_kb() -> dict:
    """TINY with one instance of every content problem the build accepts."""
    arts = copy.deepcopy(TINY)
    _, _, tx = arts["tx-failed"]
    # duplicate (en, dense and fuzzy) and misrouted: the same question in two articles
    _edit(arts, "contact-support", "en", questions=[
        "how do I contact support", "support email address",
        "where can I reach customer service", "my transaction failed"])
    # duplicate (zh, fuzzy; the default model cannot read these characters)
    _edit(arts, "stolen-funds", "zh", questions=["钱包被盗了", "币被人转走了", "资产不见了",
                                                 "转账失败了吗"])
    # short questions
    _edit(arts, "forgot-password", "en", questions=[
        "I forgot my wallet password", "how do I reset my password", "help", "how do i"])
    _edit(arts, "forgot-password", "zh", questions=["钱包密码忘了怎么办", "密码忘记了怎么重置",
                                                    "钱", "怎么办呢"])
    # a placeholder in a title; links: dead article, malformed, http, fine
    _edit(arts, "tron-energy", "en", title="TRON energy on {chain}", body=(
        "See [failed transfers](article:tx-failed) and [fees](article:gas-fees). "
        "Read [the guide](http://tronscan.org/guide) or [this](https//example) "
        "or www.example.com/x. Official: [site]({official_site}/tron)."))
    arts["tx-failed"] = ("transaction", False, tx)
    return arts


@pytest.fixture(scope="module")
def problem_report(tmp_path_factory, embedder):
    tmp = tmp_path_factory.mktemp("lint")
    kb = write_kb(tmp / "kb", _problem_kb())
    return lint_kb(kb, _settings(tmp, kb), embedder)


def _of(report, check):
    return [f for f in report.findings if f.check == check]


def test_near_duplicate_questions_across_articles(problem_report):
    dups = _of(problem_report, "duplicate")
    pairs = {frozenset([(f.article, f.details["question"]),
                        (f.details["other_article"], f.details["other_question"])])
             for f in dups}
    assert frozenset([("contact-support", "my transaction failed"),
                      ("tx-failed", "my transaction failed")]) in pairs
    assert frozenset([("stolen-funds", "转账失败了吗"), ("tx-failed", "转账失败了")]) in pairs
    assert all(f.severity == "error" for f in dups)
    # questions of one article are never reported against each other
    assert all(f.article != f.details["other_article"] for f in dups)


def test_question_retrieved_as_another_article(problem_report):
    mis = _of(problem_report, "misrouted")
    found = {(f.article, f.details["question"], f.details["winner"]) for f in mis}
    assert ("contact-support", "my transaction failed", "tx-failed") in found
    assert not any(f.article == "tron-energy" for f in mis)


def test_short_questions(problem_report):
    short = {(f.details["question"], f.details["lang"]) for f in _of(problem_report, "short")}
    assert short == {("help", "en"), ("how do i", "en"), ("钱", "zh"), ("怎么办呢", "zh")}


def test_placeholders_and_links(problem_report):
    ph = _of(problem_report, "placeholder")
    assert any(f.article == "tron-energy" and f.severity == "error" and "title" in f.message
               for f in ph)
    links = {f.details["target"]: f.severity for f in _of(problem_report, "link")}
    assert links == {"article:gas-fees": "error", "http://tronscan.org/guide": "warning",
                     "https//example": "error", "www.example.com/x": "error"}


def test_reports_render_every_finding(problem_report):
    data = json.loads(problem_report.to_json())
    assert data["errors"] == len(problem_report.errors) > 0
    assert len(data["findings"]) == len(problem_report.findings)
    md = problem_report.to_markdown()
    assert "## duplicate" in md and "## misrouted" in md and "article:gas-fees" in md
    assert problem_report.failed() and problem_report.failed(strict=True)


def test_kb_errors_are_reported_and_retrieval_checks_skipped(tmp_path, embedder):
    arts = copy.deepcopy(TINY)
    kb = write_kb(tmp_path / "kb", arts)
    zh = kb / "zh" / "tx-failed.md"
    zh.write_text(zh.read_text("utf-8").replace("category: transaction", "category: account"),
                  "utf-8")
    energy = kb / "zh" / "tron-energy.md"
    energy.write_text(energy.read_text("utf-8").replace("需要能量", "需要能量{wallet},{amount:d}"),
                      "utf-8")
    en = kb / "en" / "contact-support.md"
    en.write_text(en.read_text("utf-8").replace("---\nEmail", "handoff: true\n---\nEmail"),
                  "utf-8")
    report = lint_kb(kb, _settings(tmp_path, kb), embedder)
    counterpart = {f.message.split(":")[0] for f in _of(report, "counterpart")}
    assert counterpart == {"field 'category'", "field 'handoff'"}
    messages = " ".join(f.message for f in _of(report, "placeholder"))
    assert "{wallet}" in messages and "{amount:d}" in messages
    assert report.skipped and not _of(report, "misrouted")


def test_the_tiny_kb_has_no_errors(tmp_path, embedder):
    kb = write_kb(tmp_path / "kb")
    report = lint_kb(kb, _settings(tmp_path, kb), embedder)
    assert report.errors == []
    # the one warning: a question written with a placeholder
    assert [(f.check, f.article) for f in report.warnings] == [("placeholder", "tx-failed")]
    assert not report.failed() and report.failed(strict=True)


def test_word_counts_per_language():
    assert meaningful_words("how do i", "en") == (3, 0)
    assert meaningful_words("usdt stuck", "en") == (2, 2)
    assert meaningful_words("USDT没到账", "zh") == (4, 4)
    assert meaningful_words("请问怎么办", "zh") == (5, 0)


def test_link_forms_without_an_index():
    a = Article("a", "T", "how_to", "en", ("x y", "y z", "z w"),
                "[one](article:b) [two](b.md) [three](../zh/b.md) [four](#b) "
                "[mail](mailto:service@tokenpocket.pro) [five](https://example.com/x?y=1).")
    b = Article("b", "T", "how_to", "en", ("p q", "q r", "r s"), "text")
    assert check_links([a, b]) == []
    assert check_short_questions([a, b]) == []


def test_cli_exit_status(tmp_path, monkeypatch, capsys):
    kb = write_kb(tmp_path / "kb")
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "no-index"))
    monkeypatch.setenv("ASSISTANT_THRESHOLDS_FILE", str(tmp_path / "none.json"))
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    assert main(["lint", str(kb), "--format", "json"]) == 0  # one warning only
    out = json.loads(capsys.readouterr().out)
    assert out["errors"] == 0 and out["warnings"] == 1
    assert main(["lint", str(kb), "--strict"]) == 1
    assert "## placeholder" in capsys.readouterr().out
    en = kb / "en" / "tron-energy.md"
    en.write_text(en.read_text("utf-8") + "\nMore in [fees](article:gas-fees).\n", "utf-8")
    assert main(["lint", str(kb)]) == 1


def test_an_index_of_another_kb_version_is_noted(tmp_path, embedder):
    from assistant.tooling.build import build_index

    kb = write_kb(tmp_path / "kb")
    build_index(kb, tmp_path / "index", embedder, model_name="all-MiniLM-L6-v2")
    en = kb / "en" / "tron-energy.md"
    en.write_text(en.read_text("utf-8") + "\nMore text.\n", "utf-8")
    report = lint_kb(kb, _settings(tmp_path, kb), embedder, index_root=tmp_path / "index")
    assert len(report.notes) == 1 and "another version" in report.notes[0]
    assert "Note: the index at" in report.to_markdown()


def test_typography_and_badly_placed_placeholders_are_flagged():
    from assistant.tooling.lint import check_typography

    zh = Article(id="a", lang="zh", title="标题", category="how_to", questions=("问题一",),
                 body="选择网络（{chain}）,然后转账。", path="kb/zh/a.md")
    en = Article(id="a", lang="en", title="Title", category="how_to", questions=("q",),
                 body="Open the explorer of {chain}.", path="kb/en/a.md")
    findings = check_typography([zh, en])
    assert {f.check for f in findings} == {"typography"}
    assert {f.path for f in findings} == {"kb/zh/a.md"}
    messages = " ".join(f.message for f in findings)
    assert "（对应网络）" in messages and "half-width ','" in messages
