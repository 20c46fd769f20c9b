"""The command line and the editors' script."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

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


# ---------------------------------------------------------------- start-up failures: one line


def _serve_env(tiny_settings, tmp_path, **extra: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1",
            "ASSISTANT_INDEX_DIR": str(tiny_settings.index_dir),
            "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
            "ASSISTANT_THRESHOLDS_FILE": str(tmp_path / "none.json"),
            "ASSISTANT_QUEUE_TIMEOUT_SECONDS": "3", **extra}


def _serve_fails(env: dict[str, str], timeout: float = 120) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "assistant.cli", "serve", "--port", "0"],
                          env=env, capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stderr


def _one_line(stderr: str, start: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(start), stderr
    return lines[0]


def test_a_short_admin_token_is_refused_like_an_agent_token(tiny_settings, tmp_path):
    code, err = _serve_fails(_serve_env(tiny_settings, tmp_path, ASSISTANT_ADMIN_TOKEN="a"))
    line = _one_line(err, "error: invalid settings: ASSISTANT_ADMIN_TOKEN is shorter than 16 "
                          "characters")
    assert code == 2 and "got (hidden)" in line


def test_a_read_only_sqlite_dsn_names_the_dsn(tiny_settings, tmp_path):
    from tests.disk_support import read_only_folder

    with read_only_folder(tmp_path / "ro") as ro:
        dsn = f"sqlite:///{ro}/queue.sqlite3"
        code, err = _serve_fails(_serve_env(tiny_settings, tmp_path, ASSISTANT_QUEUE_DSN=dsn))
    line = _one_line(err, f"error: ASSISTANT_QUEUE_DSN={dsn}: the handoff queue cannot take "
                          "writes")
    assert code == 2 and "ASSISTANT_DATA_DIR" not in line


def test_a_read_only_data_dir_names_the_data_dir(tiny_settings, tmp_path):
    from tests.disk_support import read_only_folder

    with read_only_folder(tmp_path / "ro") as ro:
        code, err = _serve_fails(_serve_env(tiny_settings, tmp_path,
                                            ASSISTANT_DATA_DIR=str(ro / "data")))
    _one_line(err, f"error: ASSISTANT_DATA_DIR={ro / 'data'} cannot be created")
    assert code == 2


def test_a_full_disk_at_start_up_is_one_line_naming_the_setting(tiny_settings, tmp_path):
    from tests.disk_support import fill, tiny_disk

    with tiny_disk(tmp_path / "disk", size_kb=128) as disk:
        (disk / "data").mkdir()
        fill(disk)
        code, err = _serve_fails(_serve_env(tiny_settings, tmp_path,
                                            ASSISTANT_DATA_DIR=str(disk / "data")))
    line = _one_line(err, f"error: ASSISTANT_DATA_DIR={disk / 'data'}: the handoff queue "
                          "cannot take writes")
    assert code == 2 and "disk is full" in line and "free disk space" in line


def test_an_unreachable_postgres_is_one_line_naming_the_dsn(tiny_settings, tmp_path):
    dsn = "postgresql://nobody:hunter2@127.0.0.1:1/none"
    code, err = _serve_fails(_serve_env(tiny_settings, tmp_path, ASSISTANT_QUEUE_DSN=dsn))
    line = _one_line(err, "error: ASSISTANT_QUEUE_DSN=postgresql://nobody@127.0.0.1:1/none: "
                          "the handoff queue cannot take writes")
    assert code == 2 and "Connection refused" in line and "hunter2" not in line


def test_an_index_that_fails_to_load_in_the_worker_is_one_line(tiny_settings, tmp_path):
    """Past the checks before the workers start (the manifest is fine), loading fails in the
    worker's start-up: still one line naming the setting, no traceback."""
    import shutil

    index = tmp_path / "index"
    shutil.copytree(tiny_settings.index_dir, index, symlinks=True)
    manifest_path = (index / "current").resolve() / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    assert "format" in manifest
    manifest["format"] = 10_000
    manifest_path.write_text(json.dumps(manifest))
    code, err = _serve_fails(_serve_env(tiny_settings, tmp_path,
                                        ASSISTANT_INDEX_DIR=str(index)))
    named = [line for line in err.splitlines() if "ASSISTANT_INDEX_DIR" in line]
    assert code != 0 and len(named) == 1 and "error: " in named[0], err
    assert f"ASSISTANT_INDEX_DIR={index}" in named[0] and "rebuild" in named[0]


# ---------------------------------------------------------------- scripts/run


def _run_script(tmp_path) -> Path:
    """The real scripts/run in a copy of the repository layout; installing (setup-env) is the
    one step left out: the test must not reinstall the shared virtualenv."""
    import shutil

    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    for name in ("run", "build_index.py"):
        shutil.copy2(ROOT / "scripts" / name, repo / "scripts" / name)
    (repo / "scripts" / "setup-env").write_text("#!/bin/sh\nexit 0\n")
    (repo / "scripts" / "setup-env").chmod(0o755)
    (repo / ".venv").symlink_to(ROOT / ".venv")
    return repo / "scripts" / "run"


def _broken_kb(tiny_settings, tmp_path) -> Path:
    import shutil

    kb = tmp_path / "kb"
    shutil.copytree(tiny_settings.kb_dir, kb)
    (kb / "en" / "broken.md").write_text(article_text(
        "broken", "fees", "en", "Broken", ["one question", "two questions", "three"],
        "Body."), "utf-8")
    return kb


def test_run_starts_on_the_last_good_index_when_the_new_build_is_refused(tiny_settings,
                                                                         tmp_path):
    import shutil

    import httpx

    from tests.browser_support import free_port

    index = tmp_path / "index"
    shutil.copytree(tiny_settings.index_dir, index, symlinks=True)
    before = read_manifest(index)
    env = _serve_env(tiny_settings, tmp_path, ASSISTANT_INDEX_DIR=str(index),
                     ASSISTANT_KB_DIR=str(_broken_kb(tiny_settings, tmp_path)))
    port = free_port()
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(_run_script(tmp_path)), "--port", str(port)], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        health = None
        for _ in range(600):
            if proc.poll() is not None:
                break
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        assert health is not None, log.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    refused = health["build"]["refused"]
    assert "broken.md: field 'category': 'fees' is not one of" in refused
    assert health["index_version"] == before.version and read_manifest(index) == before
    said = [line for line in log.read_text().splitlines() if "build refused" in line]
    assert len(said) == 1 and before.version in said[0] and refused in said[0], said


def test_run_without_a_published_index_refuses_with_the_linters_message(tiny_settings,
                                                                        tmp_path):
    env = _serve_env(tiny_settings, tmp_path, ASSISTANT_INDEX_DIR=str(tmp_path / "none"),
                     ASSISTANT_KB_DIR=str(_broken_kb(tiny_settings, tmp_path)))
    proc = subprocess.run([str(_run_script(tmp_path)), "--port", "0"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "en/broken.md" in proc.stderr and "field 'category'" in proc.stderr
    assert "Traceback" not in proc.stderr and "Started server" not in proc.stderr
