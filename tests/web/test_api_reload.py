"""POST /admin/reload refuses an index built with another model, logs why, keeps serving."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from assistant.web.app import create_app
from assistant.tooling.build import build_index
from assistant.service import Assistant
from tests.conftest import write_kb

pytestmark = pytest.mark.slow


def test_reload_refuses_a_model_mismatch_with_a_log_line(tmp_path, embedder, tiny_settings,
                                                         caplog):
    kb = write_kb(tmp_path / "kb")
    index = tmp_path / "index"
    build_index(kb, index, embedder, model_name="all-MiniLM-L6-v2")
    s = tiny_settings.model_copy(update={"index_dir": index, "admin_token": "t"})
    auth = {"Authorization": "Bearer t"}
    with TestClient(create_app(s, Assistant(s, embedder=embedder)),
                    raise_server_exceptions=False) as c:
        before = c.get("/healthz").json()["index_version"]
        path = kb / "en" / "tx-failed.md"
        path.write_text(path.read_text("utf-8") + "Other model.\n", "utf-8")
        result = build_index(kb, index, embedder, model_name="all-MiniLM-L6-v2")
        manifest = json.loads((result.path / "manifest.json").read_text())
        manifest["model"] = "paraphrase-multilingual-MiniLM-L12-v2"
        (result.path / "manifest.json").write_text(json.dumps(manifest))
        with caplog.at_level(logging.ERROR, logger="assistant.web"):
            refused = c.post("/admin/reload", headers=auth)
        after = c.get("/healthz").json()["index_version"]
        answer = c.post("/answer", json={"query": "my transaction failed"})
    assert refused.status_code == 409
    assert "paraphrase-multilingual-MiniLM-L12-v2" in refused.json()["error"]["message"]
    lines = [r.getMessage() for r in caplog.records if "reload refused" in r.getMessage()]
    assert len(lines) == 1 and "was built with model" in lines[0]
    assert after == before
    assert answer.status_code == 200 and "Other model." not in answer.json()["answer"]
