"""Index build: atomic publish, failures leave the old index, changes and embedding reuse."""

from __future__ import annotations

import json

import pytest

from assistant.knowledge import index as ix
from assistant.tooling.build import build_index, is_stale
from assistant.core.errors import IndexMismatchError, IndexMissingError, KBValidationError
from assistant.knowledge.index import load_index, read_manifest
from tests.conftest import article_text, write_kb
from tests.fakes import FAKE_MODEL

MODEL = FAKE_MODEL


class CountingEmbedder:
    """Wraps an embedder and counts the texts it had to embed."""

    def __init__(self, inner, fail_after: int | None = None) -> None:
        self.inner, self.name, self.texts, self.fail_after = inner, inner.name, 0, fail_after

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def encode(self, texts):
        if self.fail_after is not None and self.texts + len(texts) > self.fail_after:
            raise RuntimeError("simulated crash while embedding")
        self.texts += len(texts)
        return self.inner.encode(texts)


def test_build_writes_manifest_and_loads(tmp_path, fake_embedder):
    kb = write_kb(tmp_path / "kb")
    result = build_index(kb, tmp_path / "index", fake_embedder, model_name=MODEL)
    loaded = load_index(tmp_path / "index", expected_model=MODEL)
    m = loaded.manifest
    assert m.model == MODEL and m.dimension == 384
    assert m.articles == 12 and m.article_ids == 6 and m.out_of_scope == 10
    assert m.vectors == loaded.vectors.size == len(loaded.entries)
    assert (tmp_path / "index" / "current").is_symlink()
    assert sorted(result.changes.added)[0] == "en/contact-support"


def test_a_kb_without_out_of_scope_examples_learns_the_general_ones(tmp_path, fake_embedder):
    from assistant.knowledge.kb import general_out_of_scope

    kb = write_kb(tmp_path / "kb", oos=None)
    build_index(kb, tmp_path / "index", fake_embedder, model_name=MODEL)
    shipped = general_out_of_scope()
    assert len(shipped) >= 400
    assert read_manifest(tmp_path / "index").out_of_scope == len(shipped)


def test_unchanged_texts_are_not_embedded_again(tmp_path, fake_embedder):
    kb = write_kb(tmp_path / "kb")
    first = CountingEmbedder(fake_embedder)
    build_index(kb, tmp_path / "index", first, model_name=MODEL)
    path = kb / "en" / "tx-failed.md"
    text = path.read_text("utf-8")
    assert "  - 'failed transaction'" in text
    path.write_text(text.replace("  - 'failed transaction'",
                                 "  - 'failed transaction'\n  - 'tx reverted'"), "utf-8")
    second = CountingEmbedder(fake_embedder)
    result = build_index(kb, tmp_path / "index", second, model_name=MODEL)
    assert second.texts == 1  # only the new question
    assert result.changes.changed == ["en/tx-failed"]
    assert result.changes.added == [] and result.changes.removed == []
    assert result.embedded == 1
    assert result.reused == first.texts


def test_removed_article_is_reported(tmp_path, fake_embedder):
    kb = write_kb(tmp_path / "kb")
    build_index(kb, tmp_path / "index", fake_embedder, model_name=MODEL)
    (kb / "zh" / "tron-energy.md").unlink()
    result = build_index(kb, tmp_path / "index", fake_embedder, model_name=MODEL)
    assert result.changes.removed == ["zh/tron-energy"]


def test_invalid_kb_leaves_previous_index_serving(tmp_path, fake_embedder):
    kb = write_kb(tmp_path / "kb")
    build_index(kb, tmp_path / "index", fake_embedder, model_name=MODEL)
    before = read_manifest(tmp_path / "index")
    (kb / "en" / "bad.md").write_text(article_text("bad", "nope", "en", "B", ["a", "b", "c"],
                                                    "x"), "utf-8")
    with pytest.raises(KBValidationError):
        build_index(kb, tmp_path / "index", fake_embedder, model_name=MODEL)
    assert read_manifest(tmp_path / "index") == before
    assert load_index(tmp_path / "index").manifest.version == before.version


def test_crash_mid_build_leaves_previous_index_and_no_staging(tmp_path, fake_embedder):
    kb = write_kb(tmp_path / "kb")
    build_index(kb, tmp_path / "index", fake_embedder, model_name=MODEL)
    before = read_manifest(tmp_path / "index")
    path = kb / "en" / "tx-failed.md"
    path.write_text(path.read_text("utf-8").replace("fail.", "fail. New text."), "utf-8")
    for q in ("new question one", "new question two"):
        path.write_text(path.read_text("utf-8").replace("questions:\n", f"questions:\n  - {q}\n"),
                        "utf-8")
    with pytest.raises(RuntimeError, match="simulated crash"):
        build_index(kb, tmp_path / "index", CountingEmbedder(fake_embedder, fail_after=1),
                    model_name=MODEL)
    assert read_manifest(tmp_path / "index") == before
    assert not [p for p in (tmp_path / "index" / "versions").iterdir() if p.name.startswith(".")]


def test_crash_while_writing_leaves_previous_index(tmp_path, fake_embedder, monkeypatch):
    kb = write_kb(tmp_path / "kb")
    build_index(kb, tmp_path / "index", fake_embedder, model_name=MODEL)
    before = read_manifest(tmp_path / "index")
    (kb / "en" / "tx-failed.md").write_text(
        (kb / "en" / "tx-failed.md").read_text("utf-8") + "changed\n", "utf-8")

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ix, "write_core", crash)
    with pytest.raises(OSError):
        build_index(kb, tmp_path / "index", fake_embedder, model_name=MODEL)
    assert read_manifest(tmp_path / "index") == before


def test_staleness(tmp_path, fake_embedder):
    kb = write_kb(tmp_path / "kb")
    assert is_stale(kb, tmp_path / "index", MODEL) == "no index yet"
    build_index(kb, tmp_path / "index", fake_embedder, model_name=MODEL)
    assert is_stale(kb, tmp_path / "index", MODEL) is None
    assert "model changed" in is_stale(kb, tmp_path / "index", "other-model")
    (kb / "out_of_scope.yaml").write_text("questions:\n  - sing a song\n", "utf-8")
    assert is_stale(kb, tmp_path / "index", MODEL) == "knowledge base changed"


def test_an_index_from_another_text_analysis_is_stale(tmp_path, fake_embedder, monkeypatch):
    kb = write_kb(tmp_path / "kb")
    build_index(kb, tmp_path / "index", fake_embedder, model_name=MODEL)
    monkeypatch.setattr("assistant.tooling.build.ANALYZER_VERSION", "next")
    assert is_stale(kb, tmp_path / "index", MODEL) == "text analysis changed"


def test_model_mismatch_is_refused_with_the_fix(fake_tiny_index):
    _, index = fake_tiny_index
    with pytest.raises(IndexMismatchError) as info:
        load_index(index, expected_model="paraphrase-multilingual-MiniLM-L12-v2")
    msg = str(info.value)
    assert FAKE_MODEL in msg and "build_index.py" in msg


def test_missing_index_says_how_to_build(tmp_path):
    with pytest.raises(IndexMissingError, match="build_index.py"):
        load_index(tmp_path / "nothing")


def test_corrupt_manifest_is_a_clear_error(tmp_path, fake_embedder):
    kb = write_kb(tmp_path / "kb")
    result = build_index(kb, tmp_path / "index", fake_embedder, model_name=MODEL)
    (result.path / "manifest.json").write_text("{not json", "utf-8")
    with pytest.raises(ix.IndexLoadError, match="rebuild"):
        load_index(tmp_path / "index")


def test_old_versions_are_pruned(tmp_path, fake_embedder):
    kb = write_kb(tmp_path / "kb")
    for i in range(ix.KEEP_VERSIONS + 2):
        (kb / "out_of_scope.yaml").write_text(f"questions:\n  - sing song {i}\n  - dance\n",
                                              "utf-8")
        build_index(kb, tmp_path / "index", fake_embedder, model_name=MODEL)
    versions = [p for p in (tmp_path / "index" / "versions").iterdir()]
    assert len(versions) == ix.KEEP_VERSIONS
    manifest = json.loads((tmp_path / "index" / "current" / "manifest.json").read_text())
    assert (tmp_path / "index" / "versions" / manifest["version"]).is_dir()


@pytest.mark.slow
def test_manifest_records_backend_and_a_backend_change_is_stale(tmp_path, embedder):
    kb = write_kb(tmp_path / "kb")
    build_index(kb, tmp_path / "index", embedder, model_name="all-MiniLM-L6-v2")
    assert read_manifest(tmp_path / "index").backend == embedder.backend
    assert is_stale(kb, tmp_path / "index", "all-MiniLM-L6-v2", embedder.backend) is None
    assert "backend changed" in is_stale(kb, tmp_path / "index", "all-MiniLM-L6-v2", "torch-other")


@pytest.mark.slow
def test_rebuild_after_one_edit_warm_starts_and_skips_article_classifier_over_max(
        tmp_path, embedder):
    from assistant.tooling.training import IntentClassifier
    from assistant.understanding.intent import ARTICLES_FILE

    kb = write_kb(tmp_path / "kb")
    build_index(kb, tmp_path / "index", embedder, model_name="all-MiniLM-L6-v2")
    path = kb / "en" / "tx-failed.md"
    path.write_text(path.read_text("utf-8").replace("  - 'failed transaction'",
                                                    "  - 'failed transaction'\n  - 'tx reverted'"),
                    "utf-8")
    result = build_index(kb, tmp_path / "index", embedder, model_name="all-MiniLM-L6-v2")
    assert IntentClassifier.load(result.path).warm_started
    assert IntentClassifier.load(result.path, ARTICLES_FILE).warm_started
    capped = build_index(kb, tmp_path / "capped", embedder, model_name="all-MiniLM-L6-v2",
                         article_classifier_max_ids=3)
    assert not (capped.path / ARTICLES_FILE).is_file()
    assert (capped.path / "lexical.json").is_file() and (capped.path / "intent.json").is_file()


@pytest.mark.slow
def test_analyzed_texts_are_kept_for_the_next_build(tmp_path, embedder):
    import json

    from assistant.tooling.build import TOKENS_FILE, _load_tokens, _key
    from assistant.understanding.text import analyze

    kb = write_kb(tmp_path / "kb")
    result = build_index(kb, tmp_path / "index", embedder, model_name="all-MiniLM-L6-v2")
    kept = _load_tokens(result.path)
    for text in ["钱包密码忘了怎么办", "I forgot my wallet password"]:
        assert kept[_key(text)] == analyze(text)
    data = json.loads((result.path / TOKENS_FILE).read_text("utf-8"))
    data["analyzer"] = "another analyzer"  # a changed analyzer must not reuse old tokens
    (result.path / TOKENS_FILE).write_text(json.dumps(data), "utf-8")
    assert _load_tokens(result.path) == {}


def test_a_build_into_a_fresh_folder_reuses_the_published_index(tmp_path, fake_embedder):
    """The linter builds into a temporary folder: with `reuse_from` it embeds only what
    changed since the published index, and scores exactly as a cold build would."""
    kb = write_kb(tmp_path / "kb")
    published = tmp_path / "index"
    first = CountingEmbedder(fake_embedder)
    build_index(kb, published, first, model_name=MODEL)
    path = kb / "en" / "tx-failed.md"
    path.write_text(path.read_text("utf-8").replace(
        "  - 'failed transaction'", "  - 'failed transaction'\n  - 'tx reverted'"), "utf-8")
    warm = CountingEmbedder(fake_embedder)
    result = build_index(kb, tmp_path / "lint-tmp", warm, model_name=MODEL,
                         reuse_from=published)
    assert warm.texts == 1 and result.embedded == 1 and result.reused == first.texts
    cold = build_index(kb, tmp_path / "cold", CountingEmbedder(fake_embedder), model_name=MODEL)
    assert cold.embedded == first.texts + 1

    def stored(root):
        data = ix.read_arrays(ix.load_index(root).path / "embeddings.npz")
        return dict(zip(data["keys"].tolist(), data["vectors"].tolist()))

    assert stored(tmp_path / "lint-tmp") == stored(tmp_path / "cold")
