"""The queue harness runs end to end on a small load and checks its own bookkeeping."""

from __future__ import annotations

import json

import pytest

from bench import queue_load

pytestmark = pytest.mark.slow


def test_small_load_on_sqlite_loses_and_duplicates_nothing(tmp_path, tiny_index, monkeypatch):
    _, index = tiny_index
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(index))
    monkeypatch.setenv("ASSISTANT_THRESHOLDS_FILE", str(tmp_path / "none.json"))
    code = queue_load.main(["--users", "3", "--per-user", "4", "--agents", "2",
                            "--backends", "sqlite", "--out", str(tmp_path / "reports")])
    report = json.loads((tmp_path / "reports" / "queue.json").read_text("utf-8"))
    (run,) = report["results"]
    assert code == 0 and run["backend"] == "sqlite"
    assert run["tickets"] == run["requests"] == 12
    assert (run["lost"], run["duplicated"], run["resolved_twice"], run["left_open"]) == (0, 0, 0, 0)
    assert run["create_ms"]["p50"] > 0 and report["machine"]["cores"] >= 1
    assert "| sqlite | 12 |" in (tmp_path / "reports" / "queue.md").read_text("utf-8")


def test_unknown_backend_is_refused(tmp_path, capsys):
    assert queue_load.main(["--backends", "redis", "--out", str(tmp_path)]) == 2
    assert "unknown backend 'redis'" in capsys.readouterr().err
