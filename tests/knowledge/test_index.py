"""Index folder: a candidate placed without publishing, activation, pruning; what a version
holds (no pickles, its model) and that serving it scores exactly as the build's models."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from assistant.core.errors import IndexLoadError
from assistant.knowledge import index as ix
from assistant.tooling.build import build_index
from tests.conftest import write_kb
from tests.fakes import FAKE_MODEL

MODEL = "all-MiniLM-L6-v2"


def _touch_kb(kb, i: int) -> None:
    (kb / "out_of_scope.yaml").write_text(f"questions:\n  - sing song {i}\n  - dance\n", "utf-8")


@pytest.mark.slow
def test_unpublished_candidate_leaves_current_until_activated(tmp_path, embedder):
    kb = write_kb(tmp_path / "kb")
    index = tmp_path / "index"
    first = build_index(kb, index, embedder, model_name=MODEL)
    _touch_kb(kb, 1)
    candidate = build_index(kb, index, embedder, model_name=MODEL, publish=False)
    assert candidate.path.is_dir() and (candidate.path / "manifest.json").is_file()
    assert ix.current_path(index) == first.path.resolve()
    assert ix.read_manifest(index).version == first.manifest.version
    ix.activate(index, candidate.path)
    assert ix.current_path(index) == candidate.path.resolve()
    assert os.readlink(index / ix.CURRENT) == f"{ix.VERSIONS}/{candidate.manifest.version}"


@pytest.mark.slow
def test_candidates_never_prune_the_serving_version(tmp_path, embedder):
    kb = write_kb(tmp_path / "kb")
    index = tmp_path / "index"
    serving = build_index(kb, index, embedder, model_name=MODEL).path.resolve()
    candidates = []
    for i in range(ix.KEEP_VERSIONS + 1):  # refused candidates pile up, newer than current
        _touch_kb(kb, i)
        candidates.append(build_index(kb, index, embedder, model_name=MODEL, publish=False))
    assert serving.is_dir() and ix.current_path(index) == serving
    ix.activate(index, candidates[-1].path)
    kept = sorted(p.name for p in (index / ix.VERSIONS).iterdir() if not p.name.startswith("."))
    assert len(kept) == ix.KEEP_VERSIONS and candidates[-1].manifest.version in kept
    assert not serving.exists()  # no longer serving, and the oldest: pruned


@pytest.mark.slow
def test_a_candidate_never_replaces_the_serving_folder(tmp_path, embedder, monkeypatch):
    kb = write_kb(tmp_path / "kb")
    index = tmp_path / "index"
    serving = build_index(kb, index, embedder, model_name=MODEL)
    from assistant.tooling import build

    same_second = build.datetime.strptime(serving.manifest.version[:15], "%Y%m%dT%H%M%S")

    class Frozen:  # the same second as the published build, and the same KB
        @staticmethod
        def now(tz=None):
            return same_second

    monkeypatch.setattr(build, "datetime", Frozen)
    candidate = build_index(kb, index, embedder, model_name=MODEL, publish=False)
    assert candidate.manifest.version == serving.manifest.version + "-2"
    assert ix.current_path(index) == serving.path.resolve()
    ix.discard(candidate.path)
    assert ix.load_index(index).manifest.version == serving.manifest.version


QUERIES = ["I forgot my wallet password", "转账失败了", "usdt trc20 fee too high",
           "someone from support wants my seed phrase", "what's the weather", "联系客服",
           "pasword", "x"]


def _serving_settings(index: Path, kb: Path, tmp_path: Path, model: str = FAKE_MODEL):
    from assistant.core.config import Settings

    return Settings(kb_dir=kb, index_dir=index, data_dir=tmp_path / "data", model=model,
                    thresholds_file=tmp_path / "none.json", queue_dsn="memory://")


def test_a_version_holds_no_pickle_and_serving_unpickles_nothing(tmp_path, fake_embedder,
                                                                 monkeypatch):
    """Write access to the index folder must not mean code execution in the servers."""
    from assistant.service import Assistant

    kb = write_kb(tmp_path / "kb")
    result = build_index(kb, tmp_path / "index", fake_embedder, model_name=FAKE_MODEL)
    files = sorted(p.name for p in result.path.rglob("*") if p.is_file())
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".joblib"))], files
    assert {"intent.json", "intent.npz", "article_classifier.json", "article_classifier.npz",
            "lexical.json", "lexical.npz", "embeddings.npz", "analyzed.json"} <= set(files)
    for npz in result.path.glob("*.npz"):
        with np.load(npz, allow_pickle=False) as data:  # raises on any object array
            assert all(not data[k].dtype.hasobject for k in data.files)

    def refuse(*args, **kwargs):
        raise AssertionError("serving unpickled something")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    ix.load_index(tmp_path / "index", expected_model=FAKE_MODEL)
    assistant = Assistant(_serving_settings(tmp_path / "index", kb, tmp_path),
                          embedder=fake_embedder).warm_up()
    try:
        reply = assistant.answer("I forgot my wallet password")
        assert reply.candidates[0].id == "forgot-password"
        assert assistant.search("转账失败")[0].id == "tx-failed"
    finally:
        assistant.close()


class _Evil:
    """Unpickling this creates a file: what a planted pickle could do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("target", ["intent.npz", "lexical.npz", "article_classifier.npz"])
def test_an_npz_with_pickled_objects_is_refused_and_never_unpickled(tmp_path, fake_embedder,
                                                                    target):
    from assistant.service import Assistant

    kb = write_kb(tmp_path / "kb")
    result = build_index(kb, tmp_path / "index", fake_embedder, model_name=FAKE_MODEL)
    marker = tmp_path / "pwned"
    path = result.path / target
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    first = sorted(arrays)[0]
    arrays[first] = np.array([_Evil(marker)], dtype=object)
    with open(path, "wb") as f:
        np.savez(f, **arrays)  # numpy pickles the object array
    assistant = Assistant(_serving_settings(tmp_path / "index", kb, tmp_path),
                          embedder=fake_embedder)
    with pytest.raises(IndexLoadError, match="pickled Python objects.*rebuild the index"):
        assistant.warm_up()
    assistant.close()
    assert not marker.exists()
    with pytest.raises(TypeError, match="Python objects"):  # and a build never writes one
        ix.write_arrays(tmp_path / "x.npz", bad=np.array([{"a": 1}], dtype=object))


def test_served_scores_equal_the_build_models_in_memory(tmp_path, fake_embedder, monkeypatch):
    """The npz/JSON serving forms change no score: the classifiers and the lexical index the
    build trained (captured before saving) rank and score exactly as the loaded ones."""
    from assistant.service import Assistant
    from assistant.understanding.intent import ServingIntent
    from assistant.understanding.retrieval import HybridRetriever, LexicalIndex, QueryFeatures
    from assistant.understanding.text import analyze

    trained: dict[str, object] = {}
    save_intent, save_lexical = ServingIntent.save, LexicalIndex.save

    def keep_intent(self, folder, name="intent.json"):
        trained[name] = self
        save_intent(self, folder, name)

    def keep_lexical(self, folder):
        trained["lexical"] = self
        save_lexical(self, folder)

    monkeypatch.setattr(ServingIntent, "save", keep_intent)
    monkeypatch.setattr(LexicalIndex, "save", keep_lexical)
    kb = write_kb(tmp_path / "kb")
    build_index(kb, tmp_path / "index", fake_embedder, model_name=FAKE_MODEL)
    assert set(trained) == {"intent.json", "article_classifier.json", "lexical"}
    assistant = Assistant(_serving_settings(tmp_path / "index", kb, tmp_path),
                          embedder=fake_embedder).warm_up()
    st = assistant.state
    memory = HybridRetriever(st.index.vectors, st.index.entries,
                             {a.id: a.category for a in st.index.kb.articles},
                             st.retriever.weights, dense_top_k=st.retriever.dense_top_k,
                             candidates=st.retriever.candidates,
                             lexical=trained["lexical"])  # type: ignore[arg-type]
    try:
        for q in QUERIES:
            vector, tokens = fake_embedder.encode([q])[0], analyze(q)
            intents = [m.predict(q, vector, 1.0, tokens)  # type: ignore[attr-defined]
                       for m in (trained["intent.json"], st.classifier)]
            articles = [m.predict(q, vector, 1.0, tokens)  # type: ignore[attr-defined]
                        for m in (trained["article_classifier.json"], st.article_classifier)]
            assert intents[0] == intents[1] and articles[0] == articles[1]
            features = QueryFeatures(q, vector, 1.0, intents[0], articles[0].probabilities,
                                     tokens)
            assert memory.search(features) == st.retriever.search(features)
            _, served = assistant.understand(q)
            assert served == memory.search(features)
    finally:
        assistant.close()


class _FilesEmbedder:
    """The fake embedder with model files, as an ONNX embedder has (to build with)."""

    def __init__(self, inner, folder: Path) -> None:
        self.inner, self.name, self.folder = inner, inner.name, folder
        self.backend, self.texts = "onnx", 0

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def encode(self, texts):
        self.texts += len(texts)
        return self.inner.encode(texts)

    def model_files(self):
        return [self.folder / "model.onnx", self.folder / "tokenizer.json"], {"model": "m"}


def test_a_version_carries_the_model_files_it_was_built_with(tmp_path, fake_embedder):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "model.onnx").write_bytes(b"weights v1")
    (cache / "tokenizer.json").write_text("{}", "utf-8")
    kb = write_kb(tmp_path / "kb")
    first = build_index(kb, tmp_path / "index", _FilesEmbedder(fake_embedder, cache),
                        model_name=FAKE_MODEL)
    model = first.path / ix.MODEL_DIR
    assert (model / "model.onnx").read_bytes() == b"weights v1"
    meta = json.loads((model / "meta.json").read_text("utf-8"))
    assert meta["model"] == "m" and set(meta["files"]) == {"model.onnx", "tokenizer.json"}
    assert meta["digest"] == first.manifest.model_digest != ""
    assert ix.load_index(tmp_path / "index").manifest.model_digest == meta["digest"]
    # The same files: every vector is reused. Other files (a new export): none is.
    again = _FilesEmbedder(fake_embedder, cache)
    second = build_index(kb, tmp_path / "index", again, model_name=FAKE_MODEL)
    assert again.texts == 0
    (cache / "model.onnx").unlink()  # a new export replaces the file...
    (cache / "model.onnx").write_bytes(b"weights v2")
    served = second.path / ix.MODEL_DIR / "model.onnx"
    assert served.read_bytes() == b"weights v1"  # ...and the published version keeps its own
    other = _FilesEmbedder(fake_embedder, cache)
    rebuilt = build_index(kb, tmp_path / "index", other, model_name=FAKE_MODEL)
    assert other.texts > 0 and rebuilt.manifest.model_digest != first.manifest.model_digest


@pytest.mark.slow
def test_a_server_runs_the_model_its_index_version_carries(tiny_index, embedder, tmp_path,
                                                          monkeypatch):
    """No export and no export cache: queries are embedded by the version's copy of the
    model, which gives the build's vectors; another version of the same model is a no-op,
    one with other files is swapped in."""
    import shutil

    from assistant.knowledge import onnx_embedding
    from assistant.service import Assistant

    kb, index = tiny_index
    version = ix.current_path(index)
    assert version is not None
    model = version / ix.MODEL_DIR
    assert sorted(p.name for p in model.iterdir()) == ["meta.json", "model.onnx",
                                                       "tokenizer.json"]

    def no_export(*args, **kwargs):
        raise AssertionError("a server exported the model")

    monkeypatch.setattr(onnx_embedding, "ensure_exported", no_export)
    settings = _serving_settings(index, kb, tmp_path, model=MODEL).model_copy(
        update={"model_cache_dir": tmp_path / "empty-cache"})
    assistant = Assistant(settings).warm_up()
    try:
        served = assistant.embedder
        assert isinstance(served, onnx_embedding.OnnxEmbedder) and served.folder == model
        texts = ["my transfer failed", "转账失败了"]
        assert np.array_equal(served.encode(texts), embedder.encode(texts))
        reply = assistant.answer("I forgot my wallet password")
        assert reply.article is not None and reply.article.id == "forgot-password"
        served.encode_query("cached")
        cached = len(served._cache)
        served.use_index(version)  # the same files: nothing reloads, the cache stays
        assert served.folder == model and len(served._cache) == cached > 0
        copy = tmp_path / "other-version"
        shutil.copytree(version, copy)
        meta = json.loads((copy / ix.MODEL_DIR / "meta.json").read_text("utf-8"))
        meta["digest"] = "another export"
        (copy / ix.MODEL_DIR / "meta.json").write_text(json.dumps(meta), "utf-8")
        served.use_index(copy)
        assert served.folder == copy / ix.MODEL_DIR and len(served._cache) == 0
        assert not (tmp_path / "empty-cache").exists()
    finally:
        assistant.close()
