"""The ONNX backend: same vectors as torch, no torch in a serving process, export cache."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from assistant.core.config import ROOT, Settings
from assistant.knowledge.kb import load_kb
from assistant.knowledge.onnx_embedding import OnnxEmbedder, export_folder

pytestmark = pytest.mark.slow


def _kb_sentences(n: int = 120) -> list[str]:
    kb = load_kb(ROOT / "kb")
    texts = [t for a in kb.articles for t in (a.title, *a.questions)]
    return texts[:: max(1, len(texts) // n)]


def test_fp32_vectors_match_torch_on_kb_questions(embedder, torch_embedder):
    assert isinstance(embedder, OnnxEmbedder) and not embedder.quantized
    texts = _kb_sentences() + ["", "x" * 3000, "转账" * 400]  # empty and over-long texts
    cos = (embedder.encode(texts) * torch_embedder.encode(texts)).sum(axis=1)
    assert cos.min() >= 0.999, (cos.min(), texts[int(cos.argmin())])


def test_known_ratio_matches_torch(embedder, torch_embedder):
    for text in ["I forgot my wallet password", "钱包密码忘了怎么办", "usdt 转账 pending", ""]:
        assert embedder.known_ratio(text) == pytest.approx(torch_embedder.known_ratio(text))


def test_int8_is_close_to_torch_and_batch_invariant(embedder, torch_embedder):
    int8 = OnnxEmbedder(cache_dir=embedder.cache_dir, quantized=True)
    texts = _kb_sentences(40)
    batch = int8.encode(texts)
    one_by_one = np.stack([int8.encode([t])[0] for t in texts])
    assert np.allclose(batch, one_by_one, atol=1e-6)  # index and queries agree exactly
    cos = (batch * torch_embedder.encode(texts)).sum(axis=1)
    assert cos.min() >= 0.99  # the sensitive layers stay fp32


def test_export_folder_is_keyed_by_model(tmp_path):
    a = export_folder("all-MiniLM-L6-v2", tmp_path)
    assert a == export_folder("all-MiniLM-L6-v2", tmp_path)
    assert a != export_folder(str(tmp_path), tmp_path)
    assert a.parent == tmp_path and a.name.startswith("all-MiniLM-L6-v2-")


def test_serving_process_never_imports_torch_or_sklearn(tiny_settings, embedder, tmp_path):
    """The app with the ONNX backend answers without torch, sentence-transformers or sklearn."""
    s = tiny_settings
    code = textwrap.dedent(f"""
        import json, sys
        from fastapi.testclient import TestClient
        from assistant.web.app import create_app
        from assistant.core.config import Settings
        s = Settings(kb_dir={str(s.kb_dir)!r}, index_dir={str(s.index_dir)!r},
                     data_dir={str(tmp_path / 'data')!r},
                     thresholds_file={str(s.thresholds_file)!r}, embed_backend="onnx",
                     model_cache_dir={str(embedder.cache_dir)!r})
        with TestClient(create_app(s)) as client:
            first = client.post("/answer", json={{"query": "my transaction failed"}}).json()
            second = client.get("/search", params={{"q": "转账失败"}}).json()
        print(json.dumps({{"article": first["article"]["id"], "search": second["results"][0]["id"],
                          "loaded": [m for m in ("torch", "sentence_transformers", "transformers",
                                                 "sklearn", "scipy") if m in sys.modules]}}))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["article"] == "tx-failed" and out["search"] == "tx-failed"
    assert out["loaded"] == []


def test_default_backend_is_fp32_onnx():
    assert Settings().embed_backend == "onnx"
