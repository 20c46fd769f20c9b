"""The command line and the editors' script."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from assistant.cli import main
from assistant.core.config import ROOT
from assistant.knowledge.index import read_manifest
from tests.conftest import article_text, write_kb

pytestmark = pytest.mark.slow


@pytest.fixture
def env(monkeypatch, tiny_settings):
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tiny_settings.index_dir))
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tiny_settings.data_dir))
    monkeypatch.setenv("ASSISTANT_THRESHOLDS_FILE", str(tiny_settings.thresholds_file))
    return tiny_settings


def test_ask_prints_the_answer_json(env, capsys):
    assert main(["ask", "钱包密码忘了怎么办"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["action"] == "answer" and out["lang"] == "zh"
    assert out["article"]["id"] == "forgot-password"


def test_search_prints_results(env, capsys):
    assert main(["search", "energy", "-k", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["results"][0]["id"] == "tron-energy" and len(out["results"]) <= 2


def test_search_filters_by_category_and_refuses_an_unknown_one(env, capsys):
    assert main(["search", "fee", "--category", "transaction", "--lang", "zh"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["lang"] == "zh" and out["results"]
    assert {r["category"] for r in out["results"]} == {"transaction"}
    assert main(["search", "fee", "--category", "fees"]) == 2
    assert "'fees' is not one of account" in capsys.readouterr().err


def test_missing_index_is_a_clean_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "none"))
    assert main(["ask", "hello"]) == 1
    err = capsys.readouterr().err
    assert "build_index.py" in err and "Traceback" not in err


def test_build_if_stale_skips_up_to_date_index(env, capsys):
    assert main(["build-index", "--kb", str(env.kb_dir), "--out", str(env.index_dir),
                 "--if-stale"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_editor_script_rejects_broken_kb_and_keeps_old_index(tmp_path, embedder):
    kb = write_kb(tmp_path / "kb")
    from assistant.tooling.build import build_index

    build_index(kb, tmp_path / "index", embedder, model_name="all-MiniLM-L6-v2")
    before = read_manifest(tmp_path / "index")
    (kb / "zh" / "broken.md").write_text(
        article_text("broken", "fees", "zh", "坏", ["一个", "两个"], "正文 {wallet}"), "utf-8")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_index.py"), "--kb", str(kb),
         "--out", str(tmp_path / "index")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "zh/broken.md" in proc.stderr and "field 'category'" in proc.stderr
    assert "field 'questions'" in proc.stderr and "{wallet}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert read_manifest(tmp_path / "index") == before


@pytest.mark.parametrize("variable,value,message", [
    ("ASSISTANT_ANSWER_THRESHOLD", "1.5",
     "error: invalid settings: ASSISTANT_ANSWER_THRESHOLD must be between 0 and 1, got 1.5"),
    ("ASSISTANT_INDEX_DIR", "{tmp}/no-index", "error: ASSISTANT_INDEX_DIR={tmp}/no-index holds "
                                              "no index"),
    ("ASSISTANT_MODEL", "other-model", "error: ASSISTANT_MODEL=other-model but the index"),
])
def test_serve_with_a_bad_setting_exits_2_with_one_line(tiny_settings, tmp_path, variable, value,
                                                        message):
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1",
           "ASSISTANT_INDEX_DIR": str(tiny_settings.index_dir),
           "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
           "ASSISTANT_THRESHOLDS_FILE": str(tmp_path / "none.json"),
           variable: value.format(tmp=tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "assistant.cli", "serve", "--port", "0"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message.format(tmp=tmp_path)), proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_tune_refuses_a_test_half(env, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["tune", "--set", "dev", "blind/test"])
    assert "blind-test" in str(exc.value) and "never chooses" in str(exc.value)


def test_help_lists_every_command_with_a_line(capsys):
    import argparse

    from assistant.cli import _parser as build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help for c in commands._choices_actions}
    assert set(helps) == set(commands.choices) and all(h and len(h) > 10 for h in helps.values())
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in commands.choices)
