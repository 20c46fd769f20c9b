"""Index watching: a process reloads by itself when `current` moves, refuses a bad index."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time

import httpx
import pytest

from assistant.tooling.build import build_index
from assistant.service import Assistant
from assistant.knowledge.watch import IndexWatcher
from tests.conftest import write_kb
from tests.web.test_server import _free_port, _wait

pytestmark = pytest.mark.slow

MODEL = "all-MiniLM-L6-v2"
QUERY = "my transaction failed"


def _edit_and_publish(kb, index, embedder, text: str):
    path = kb / "en" / "tx-failed.md"
    path.write_text(path.read_text("utf-8") + text + "\n", "utf-8")
    return build_index(kb, index, embedder, model_name=MODEL)


@pytest.fixture
def served(tmp_path, embedder, tiny_settings):
    kb = write_kb(tmp_path / "kb")
    index = tmp_path / "index"
    build_index(kb, index, embedder, model_name=MODEL)
    a = Assistant(tiny_settings.model_copy(update={"index_dir": index}), embedder=embedder)
    yield kb, index, a.warm_up()
    a.close()


def test_watcher_reloads_when_current_moves(served, embedder):
    kb, index, a = served
    watcher = IndexWatcher(a, 60)
    assert watcher.check() is False  # nothing new
    result = _edit_and_publish(kb, index, embedder, "Watched text.")
    assert watcher.check() is True
    assert a.index.manifest.version == result.manifest.version
    assert "Watched text." in a.answer(QUERY).answer
    assert watcher.check() is False


@pytest.mark.parametrize("damage", ["corrupt", "model"])
def test_watcher_refuses_a_bad_index_once_and_keeps_serving(served, embedder, caplog, damage):
    kb, index, a = served
    serving = a.index.manifest.version
    result = _edit_and_publish(kb, index, embedder, "Never served.")
    if damage == "corrupt":
        (result.path / "vectors.faiss").write_bytes(b"garbage")
        expected = "unreadable"
    else:
        manifest = json.loads((result.path / "manifest.json").read_text())
        manifest["model"] = "paraphrase-multilingual-MiniLM-L12-v2"
        (result.path / "manifest.json").write_text(json.dumps(manifest))
        expected = "was built with model"
    watcher = IndexWatcher(a, 60)
    with caplog.at_level(logging.ERROR, logger="assistant.knowledge.watch"):
        assert watcher.check() is False
        assert watcher.check() is False  # refused once, not retried every poll
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1
    assert result.manifest.version in refusals[0].getMessage()
    assert expected in refusals[0].getMessage()
    assert a.index.manifest.version == serving
    assert "Never served." not in a.answer(QUERY).answer
    fixed = _edit_and_publish(kb, index, embedder, "Fixed text.")
    assert watcher.check() is True and a.index.manifest.version == fixed.manifest.version


def test_several_workers_all_switch_by_themselves(tmp_path, embedder):
    kb = write_kb(tmp_path / "kb")
    index = tmp_path / "index"
    build_index(kb, index, embedder, model_name=MODEL)
    port = _free_port()
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(index),
           "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
           "ASSISTANT_THRESHOLDS_FILE": str(tmp_path / "none.json"),
           "ASSISTANT_RATE_LIMIT_PER_MINUTE": "0", "ASSISTANT_WATCH_INDEX_SECONDS": "0.5",
           "ASSISTANT_TORCH_THREADS": "1"}
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--port", str(port),
                             "--workers", "2"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base + "/readyz", timeout=240)
        deadline = time.monotonic() + 240
        while (tmp_path / "server.log").read_text().count("Application startup complete") < 2:
            assert time.monotonic() < deadline, "the second worker did not start"
            time.sleep(0.5)
        with httpx.Client(timeout=30) as client:
            first = client.get(base + "/healthz").json()["index_version"]
            new = _edit_and_publish(kb, index, embedder, "Published for every worker.")
            assert new.manifest.version != first
            deadline = time.monotonic() + 60
            streak = 0
            while streak < 20:  # twenty fresh connections in a row see the new index
                assert time.monotonic() < deadline, "not every worker switched"
                body = httpx.post(base + "/answer", json={"query": QUERY},
                                  headers={"Connection": "close"}, timeout=30).json()
                streak = streak + 1 if "Published for every worker." in body["answer"] else 0
                time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()
