"""Test doubles for what a user never touches directly: a deterministic embedder.

`HashEmbedder` hashes character 1- to 3-grams of the text into a fixed number of
dimensions: texts that share characters get similar vectors, the same text always the same
vector, and nothing is loaded. Unit tests of ranking, decisions and the service use it; only
tests marked `slow` load the real model.
"""

from __future__ import annotations

import hashlib
import unicodedata

import numpy as np

FAKE_MODEL = "test-hash-embedder"


class HashEmbedder:
    """A deterministic stand-in for the embedding model (same protocol)."""

    name = FAKE_MODEL

    def __init__(self, dimension: int = 384) -> None:
        self._dimension = dimension
        self.calls = 0

    @property
    def dimension(self) -> int:
        return self._dimension

    def warm_up(self) -> None:
        return None

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self._dimension, dtype=np.float32)
        t = " " + " ".join(unicodedata.normalize("NFKC", text).lower().split()) + " "
        for n in (1, 2, 3):
            for i in range(len(t) - n + 1):
                digest = hashlib.blake2b(t[i:i + n].encode(), digest_size=8).digest()
                h = int.from_bytes(digest, "little")
                v[h % self._dimension] += 1.0 if (h >> 32) & 1 else -1.0
        norm = float(np.linalg.norm(v))
        return v / norm if norm else v

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts]).astype(np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def known_ratio(self, text: str) -> float:
        return 1.0
