"""Building an index from the KB: validate, embed (reusing unchanged vectors), train the
intent classifier, write and publish atomically. The editors' script and the CLI call this.

A version carries what serving needs and nothing that unpickles: the ONNX model the
vectors were computed with (`model/`), the classifiers and lexical index as JSON + npz, and
two build caches for the next build (embeddings by text, analyzed texts), also npz/JSON.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant.core.errors import AssistantError, IndexLoadError
from assistant.core.types import OUT_OF_SCOPE, Article, KnowledgeBase
from assistant.knowledge import index as ix
from assistant.knowledge.encoder import Embedder
from assistant.knowledge.kb import content_hash, general_out_of_scope, load_kb
from assistant.tooling.training import IntentClassifier, build_lexical
from assistant.understanding.intent import ARTICLES_FILE, FILE_NAME
from assistant.understanding.retrieval import body_text
from assistant.understanding.text import ANALYZER_VERSION, analyze

if TYPE_CHECKING:
    from assistant.core.config import Settings

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
CACHE_FILE = "embeddings.npz"
TOKENS_FILE = "analyzed.json"


@dataclass(frozen=True)
class Changes:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


@dataclass(frozen=True)
class BuildResult:
    manifest: ix.Manifest
    changes: Changes
    path: Path
    embedded: int
    reused: int


def build_options(settings: "Settings") -> dict:
    """The `build_index` keyword arguments that come from settings."""
    return {"intent_dense_weight": settings.intent_dense_weight, "intent_c": settings.intent_c,
            "article_classifier_max_ids": settings.article_classifier_max_ids,
            "threads": settings.embed_threads}


def require_build_extras(what: str) -> None:
    """Refuse, naming the fix, on a server install (no scikit-learn to train with)."""
    if importlib.util.find_spec("sklearn") is None:
        raise AssistantError(f"{what} needs the build extras, which a server install leaves "
                             "out: `pip install '.[build]'` (or `scripts/setup-env build`)")


def is_stale(kb_dir: Path, index_dir: Path, model: str, backend: str | None = None) -> str | None:
    """Why the index must be rebuilt, or None when it matches the KB, the model and the
    embedding backend (when given)."""
    try:
        manifest = ix.read_manifest(index_dir)
    except IndexLoadError as exc:
        return str(exc)
    if manifest is None:
        return "no index yet"
    if manifest.format != ix.FORMAT_VERSION:
        return "index format changed"
    if manifest.model != model:
        return f"model changed ({manifest.model} -> {model})"
    if backend is not None and manifest.backend != backend:
        return f"embedding backend changed ({manifest.backend} -> {backend})"
    if manifest.kb_hash != content_hash(kb_dir):
        return "knowledge base changed"
    if manifest.analyzer != ANALYZER_VERSION:
        return "text analysis changed"
    return None


def build_index(kb_dir: Path, out_dir: Path, embedder: Embedder, *, model_name: str,
                progress: Progress | None = None, intent_dense_weight: float = 0.5,
                intent_c: float = 10.0, article_classifier_max_ids: int = 300,
                threads: int = 1, publish: bool = True,
                reuse_from: Path | None = None) -> BuildResult:
    """Validate `kb_dir` and publish a new index under `out_dir`.

    Vectors, tokens and classifier starting points are reused from the index published in
    `reuse_from` (default `out_dir`) where the model is the same: a build into a fresh folder
    (the linter's) then costs what a rebuild of the changed articles costs.

    With `publish=False` the new version is only placed under `out_dir/versions/` (not made
    current), so it can be checked first; `index.activate(out_dir, result.path)` publishes it.

    Raises KBValidationError before touching `out_dir` when the KB has errors; any failure
    after that discards the staging folder, so the previous index keeps serving. The
    article classifier is trained only up to `article_classifier_max_ids` article ids (its
    cost grows with ids x rows); above that retrieval uses the category classifier alone.
    """
    started = time.perf_counter()
    require_build_extras("building an index")
    kb = load_kb(kb_dir)
    if not kb.out_of_scope:  # a KB with no examples of its own learns the general ones
        kb = replace(kb, out_of_scope=general_out_of_scope())
    kb_hash = content_hash(kb_dir)
    entries = _entries(kb.articles)
    backend = str(getattr(embedder, "backend", "torch"))
    previous = _previous(reuse_from or out_dir, model_name, backend, _model_digest(embedder))
    texts = [e.text for e in entries] + list(kb.out_of_scope)
    vectors, embedded, reused = _embed(texts, embedder, previous.cache if previous else {},
                                       progress)
    entry_vecs = vectors[: len(entries)]
    stage = ix.new_staging_dir(out_dir)
    try:
        labels = [_category(kb, e.article_id, e.lang) for e in entries] + \
            [OUT_OF_SCOPE] * len(kb.out_of_scope)
        bodies = [body_text(a) for a in kb.articles]
        analyzed = _analyze_all(texts + bodies, previous.tokens if previous else {})
        tokens = analyzed[: len(texts)]
        if progress:
            progress("training intent classifier", 0, 1)
        def new_classifier() -> IntentClassifier:
            return IntentClassifier(dense_weight=intent_dense_weight, c=intent_c, threads=threads)

        classifier = new_classifier().fit(
            texts, labels, vectors, _previous_model(previous, FILE_NAME), tokens)
        classifier.save(stage)
        if not _one_article_per_category(kb) and len(kb.ids()) <= article_classifier_max_ids:
            if progress:
                progress("training article classifier", 0, 1)
            article_labels = [e.article_id for e in entries] + \
                [OUT_OF_SCOPE] * len(kb.out_of_scope)
            new_classifier().fit(
                texts, article_labels, vectors, _previous_model(previous, ARTICLES_FILE),
                tokens).save(stage, ARTICLES_FILE)
        if progress:
            progress("lexical index", 0, 1)
        build_lexical(tokens[: len(entries)],
                      [(a.id, t) for a, t in zip(kb.articles, analyzed[len(texts):])]
                      ).save(stage)
        _save_tokens(stage, texts + bodies, analyzed)
        ix.write_arrays(stage / CACHE_FILE, keys=np.array([_key(t) for t in texts]),
                        vectors=vectors)
        model_digest = _copy_model(stage, embedder)
        version = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + kb_hash[:8]
        if not publish:  # a candidate must never replace a folder that may be serving
            taken, n = version, 1
            while (Path(out_dir) / ix.VERSIONS / version).exists():
                n += 1
                version = f"{taken}-{n}"
        manifest = ix.Manifest(analyzer=ANALYZER_VERSION, 
            version=version, model=model_name, backend=backend,
            dimension=int(vectors.shape[1]), kb_hash=kb_hash,
            articles=len(kb.articles), article_ids=len(kb.ids()), vectors=len(entries),
            out_of_scope=len(kb.out_of_scope),
            built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            build_seconds=round(time.perf_counter() - started, 3),
            counts=_counts(kb), model_digest=model_digest,
        )
        ix.write_core(stage, manifest, ix.VectorIndex.from_vectors(entry_vecs), entries, kb)
        final = (ix.publish if publish else ix.place)(out_dir, stage, version)
    except BaseException:
        ix.discard(stage)
        raise
    changes = _changes(previous.articles if previous else {}, kb.articles)
    return BuildResult(manifest, changes, final, embedded=embedded, reused=reused)


def _copy_model(stage: Path, embedder: Embedder) -> str:
    """The embedder's model files into the version (ONNX backends; the digest, else "")."""
    files = getattr(embedder, "model_files", None)
    if files is None:  # sentence-transformers on torch, or a test's embedder
        return ""
    paths, meta = files()
    return ix.write_model(stage, paths, meta)


@dataclass
class _Previous:
    cache: dict[str, np.ndarray]
    articles: dict[str, str]
    path: Path | None = None  # its folder, when its classifiers may seed this build's
    tokens: dict[str, list[str]] = field(default_factory=dict)  # analyzed texts by key


def _previous(out_dir: Path, model_name: str, backend: str,
              model_digest: str) -> _Previous | None:
    """Embeddings and article fingerprints of the published index, if it is readable.

    Its vectors (and classifiers) are reused only when the model, its files and the backend
    are the same.
    """
    try:
        loaded = ix.load_index(out_dir)
    except IndexLoadError:
        return None
    cache: dict[str, np.ndarray] = {}
    cache_file = loaded.path / CACHE_FILE
    m = loaded.manifest
    same = (m.model, m.backend, m.model_digest) == (model_name, backend, model_digest)
    if same and cache_file.is_file():
        try:
            data = ix.read_arrays(cache_file)
            cache = dict(zip(data["keys"].tolist(), data["vectors"]))
        except (IndexLoadError, KeyError):
            cache = {}
    return _Previous(cache, {a.key: _fingerprint(a) for a in loaded.kb.articles},
                     loaded.path if same else None, _load_tokens(loaded.path))


def _analyzer_key() -> str:
    """Changes whenever the analyzer's code (assistant/understanding/text.py) changes."""
    return hashlib.sha256(Path(analyze.__code__.co_filename).read_bytes()).hexdigest()[:16]


def _analyze_all(texts: list[str], cache: dict[str, list[str]]) -> list[list[str]]:
    """`analyze` of each text, reusing the previous build's for unchanged texts (an edit in
    English then never loads jieba's dictionary)."""
    return [cache[k] if (k := _key(t)) in cache else analyze(t) for t in texts]


def _save_tokens(stage: Path, texts: list[str], tokens: list[list[str]]) -> None:
    data = {"analyzer": _analyzer_key(), "tokens": {_key(t): tok for t, tok in zip(texts, tokens)}}
    ix.write_json(stage / TOKENS_FILE, data)


def _load_tokens(folder: Path) -> dict[str, list[str]]:
    """The previous build's analyzed texts by key; {} when absent, unreadable or made by
    another analyzer."""
    try:
        data = ix.read_json(folder / TOKENS_FILE)
    except IndexLoadError:
        return {}
    if not isinstance(data, dict) or data.get("analyzer") != _analyzer_key():
        return {}
    tokens = data.get("tokens", {})
    return tokens if isinstance(tokens, dict) else {}


def query_store(settings: "Settings", embedder: Embedder) -> Path | None:
    """Where offline tools (lint, the checked build) keep this model's query vectors between
    runs; None for a model without files (nothing identifies its vectors)."""
    digest = _model_digest(embedder)
    return settings.model_cache_dir / f"query-vectors-{digest[:16]}.npz" if digest else None


def _model_digest(embedder: Embedder) -> str:
    """The digest `_copy_model` will record for this embedder's files ("" without files)."""
    files = getattr(embedder, "model_files", None)
    return ix.files_digest(files()[0])[1] if files is not None else ""


def _previous_model(previous: _Previous | None, name: str) -> IntentClassifier | None:
    """The previous build's classifier `name`, to warm-start from; None if unusable."""
    if previous is None or previous.path is None or not (previous.path / name).is_file():
        return None
    try:
        return IntentClassifier.load(previous.path, name)
    except Exception:  # noqa: BLE001 - any unreadable model only costs a full training
        log.info("previous %s unreadable; training from scratch", name)
        return None


def _embed(texts: list[str], embedder: Embedder, cache: dict[str, np.ndarray],
           progress: Progress | None, chunk: int = 256) -> tuple[np.ndarray, int, int]:
    """Vectors for `texts` in order, and how many distinct texts were embedded / reused."""
    keys = [_key(t) for t in texts]
    todo = sorted({k: t for k, t in zip(keys, texts) if k not in cache}.items())
    fresh: dict[str, np.ndarray] = {}
    for start in range(0, len(todo), chunk):
        part = todo[start:start + chunk]
        vecs = embedder.encode([t for _, t in part])
        fresh.update(zip((k for k, _ in part), vecs))
        if progress:
            progress("embedding", min(start + chunk, len(todo)), len(todo))
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32), 0, 0
    vectors = np.stack([fresh[k] if k in fresh else cache[k] for k in keys]).astype(np.float32)
    return vectors, len(todo), len(set(keys)) - len(todo)


def _entries(articles: tuple[Article, ...]) -> list[ix.Entry]:
    entries = []
    for a in articles:
        entries.append(ix.Entry(a.id, a.lang, "title", a.title))
        entries.extend(ix.Entry(a.id, a.lang, "question", q) for q in a.questions)
    return entries


def _category(kb: KnowledgeBase, article_id: str, lang: str) -> str:
    article = kb.get(article_id, lang)
    assert article is not None
    return article.category


def _one_article_per_category(kb: KnowledgeBase) -> bool:
    """True when categories and article ids coincide (then one classifier serves both)."""
    return all(a.id == a.category for a in kb.articles)


def _counts(kb: KnowledgeBase) -> dict[str, int]:
    counts: dict[str, int] = {}
    for a in kb.articles:
        counts[a.lang] = counts.get(a.lang, 0) + 1
        counts[a.category] = counts.get(a.category, 0) + 1
    return counts


def _changes(before: dict[str, str], articles: tuple[Article, ...]) -> Changes:
    after = {a.key: _fingerprint(a) for a in articles}
    return Changes(
        added=sorted(set(after) - set(before)),
        changed=sorted(k for k in set(after) & set(before) if after[k] != before[k]),
        removed=sorted(set(before) - set(after)),
    )


def _fingerprint(a: Article) -> str:
    raw = "\x1f".join([a.title, a.category, a.body, str(a.handoff), *a.questions, *a.tags])
    return hashlib.sha256(raw.encode()).hexdigest()


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]
