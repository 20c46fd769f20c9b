"""The editors' guard: `build-index --check` refuses a candidate that answers worse."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from assistant.knowledge import index as ix
from assistant.tooling.build import build_index
from assistant.core.config import ROOT, Settings
from assistant.tooling.guard import PUBLISHED, REFUSED, check_and_publish
from tests.conftest import TINY, write_kb

pytestmark = pytest.mark.slow

MODEL = "all-MiniLM-L6-v2"
EVAL = [
    ("I can't remember the password of my wallet", "en", "answer", "account", ["forgot-password"]),
    ("my transfer failed and I still paid the fee", "en", "answer", "transaction", ["tx-failed"]),
    ("why did my transaction fail on ethereum", "en", "answer", "transaction", ["tx-failed"]),
    ("the transfer keeps failing", "en", "answer", "transaction", ["tx-failed"]),
    ("sending usdt on tron burned my trx", "en", "answer", "transaction", ["tron-energy"]),
    ("how can I reach customer support", "en", "answer", "contact", ["contact-support"]),
    ("what's the weather like today", "en", "decline", "out_of_scope", []),
    ("我忘了钱包密码", "zh", "answer", "account", ["forgot-password"]),
    ("转账失败了还扣了手续费", "zh", "answer", "transaction", ["tx-failed"]),
    ("客服怎么联系", "zh", "answer", "contact", ["contact-support"]),
]
BROKEN_QUERY = "my transfer failed and I still paid the fee"


def _write_eval(path):
    rows = [{"text": t, "lang": lang, "action": a, "category": c, "articles": arts}
            for t, lang, a, c, arts in EVAL]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")


@pytest.fixture
def setup(tmp_path, embedder):
    kb = write_kb(tmp_path / "kb")
    index = tmp_path / "index"
    build_index(kb, index, embedder, model_name=MODEL)
    (tmp_path / "eval").mkdir()
    _write_eval(tmp_path / "eval" / "mini.jsonl")
    settings = Settings(kb_dir=kb, index_dir=index, data_dir=tmp_path / "data",
                        thresholds_file=tmp_path / "none.json", eval_dir=tmp_path / "eval",
                        check_sets="mini", signal_articles={"impersonation_scam": "fake-support",
                                         "theft_report": "stolen-funds"})
    return settings, ix.current_path(index)


def _break_tx_failed(kb):
    """Move the English questions of tx-failed to contact-support (an editor's slip)."""
    moved = TINY["tx-failed"][2]["en"][1]
    contact = kb / "en" / "contact-support.md"
    text = contact.read_text("utf-8")
    contact.write_text(text.replace("questions:\n", "questions:\n" + "".join(
        f"  - {q!r}\n" for q in moved)), "utf-8")
    tx = kb / "en" / "tx-failed.md"
    text = tx.read_text("utf-8")
    for q in moved:
        text = text.replace(f"  - {q!r}\n", "")
    tx.write_text(text.replace("questions:\n", "questions:\n  - 'what is a block explorer'\n"
                               "  - 'where do I find the explorer link'\n"
                               "  - 'which explorer should I use'\n"), "utf-8")


def test_a_breaking_edit_is_refused_and_current_is_unchanged(setup, embedder):
    settings, before = setup
    _break_tx_failed(settings.kb_dir)
    lines: list[str] = []
    result = check_and_publish(settings, embedder, out=lines.append)
    output = "\n".join(lines)
    assert result.status == REFUSED
    assert ix.current_path(settings.index_dir) == before
    assert not result.build.path.exists()  # the refused candidate is not left behind
    assert "refused" in output and "wrong-answer rate" in output
    changed = [row.text for row, _, _ in result.comparison.changed]
    assert BROKEN_QUERY in changed
    line = next(x for x in lines if BROKEN_QUERY in x)
    assert "answer tx-failed" in line and "✗" in line  # expected, and now wrong
    assert "| answer_accuracy | en" in output


def test_force_publishes_the_refused_candidate(setup, embedder):
    settings, before = setup
    _break_tx_failed(settings.kb_dir)
    lines: list[str] = []
    result = check_and_publish(settings, embedder, force=True, out=lines.append)
    assert result.status == PUBLISHED and result.reasons
    assert ix.current_path(settings.index_dir) == result.build.path.resolve() != before
    assert any("--force" in x for x in lines)


def test_a_harmless_edit_is_published(setup, embedder):
    settings, before = setup
    path = settings.kb_dir / "en" / "contact-support.md"
    path.write_text(path.read_text("utf-8").replace(
        "Email {support_email}", "Write to {support_email}").replace(
        "questions:\n", "questions:\n  - 'how do I get help from the support team'\n"), "utf-8")
    lines: list[str] = []
    result = check_and_publish(settings, embedder, out=lines.append)
    assert result.status == PUBLISHED, "\n".join(lines)
    assert result.comparison is not None and not result.comparison.breaches
    now = ix.current_path(settings.index_dir)
    assert now != before and "Write to" in (now / "articles.json").read_text("utf-8")


def test_without_a_published_index_it_publishes_after_linting(tmp_path, embedder):
    kb = write_kb(tmp_path / "kb")
    settings = Settings(kb_dir=kb, index_dir=tmp_path / "index", data_dir=tmp_path / "data",
                        thresholds_file=tmp_path / "none.json", eval_dir=tmp_path / "missing")
    lines: list[str] = []
    result = check_and_publish(settings, embedder, out=lines.append)
    assert result.status == PUBLISHED and result.comparison is None
    assert any("nothing to compare" in x for x in lines)
    assert any(x.startswith("lint: 0 error(s)") for x in lines)
    assert ix.current_path(settings.index_dir) == result.build.path.resolve()


def test_cli_exit_codes(setup, tmp_path):
    settings, before = setup
    _break_tx_failed(settings.kb_dir)
    env = {**os.environ, "ASSISTANT_KB_DIR": str(settings.kb_dir),
           "ASSISTANT_INDEX_DIR": str(settings.index_dir),
           "ASSISTANT_DATA_DIR": str(settings.data_dir),
           "ASSISTANT_THRESHOLDS_FILE": str(settings.thresholds_file),
           "ASSISTANT_EVAL_DIR": str(settings.eval_dir), "ASSISTANT_CHECK_SETS": "mini",
           "ASSISTANT_SCAM_ARTICLE": "fake-support", "HF_HUB_OFFLINE": "1"}
    script = [sys.executable, str(ROOT / "scripts" / "build_index.py"), "--check", "--quiet"]
    refused = subprocess.run(script, env=env, capture_output=True, text=True, timeout=600)
    assert refused.returncode == 1, refused.stderr
    assert BROKEN_QUERY in refused.stdout and "refused" in refused.stdout
    assert ix.current_path(settings.index_dir) == before
    (settings.kb_dir / "en" / "bad.md").write_text("no front matter", "utf-8")
    invalid = subprocess.run(script, env=env, capture_output=True, text=True, timeout=600)
    assert invalid.returncode == 2 and "bad.md" in invalid.stderr
    (settings.kb_dir / "en" / "bad.md").unlink()
    forced = subprocess.run(script + ["--force"], env=env, capture_output=True, text=True,
                            timeout=600)
    assert forced.returncode == 0, forced.stderr
    assert ix.current_path(settings.index_dir) != before


def test_a_lint_error_refuses_even_when_answers_do_not_change(setup, embedder):
    settings, before = setup
    path = settings.kb_dir / "en" / "tron-energy.md"
    path.write_text(path.read_text("utf-8") + "\nSee [fees](article:gas-fees).\n", "utf-8")
    lines: list[str] = []
    result = check_and_publish(settings, embedder, out=lines.append)
    assert result.status == REFUSED and result.comparison is not None
    assert not result.comparison.breaches and not result.comparison.changed
    assert result.reasons == ["the linter found 1 error(s)"]
    assert any("article:gas-fees" in x for x in lines)
    assert ix.current_path(settings.index_dir) == before
