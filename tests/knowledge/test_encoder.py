"""The query cache shared by the embedders, and the vector store offline tools prime it from."""

from __future__ import annotations

import numpy as np

from assistant.knowledge.encoder import QueryCache, text_key
from tests.fakes import HashEmbedder


class Counting(QueryCache):
    """A QueryCache over the fake embedder that counts the texts it had to encode."""

    def __init__(self) -> None:
        super().__init__(query_cache_size=16)
        self.inner = HashEmbedder()
        self.encoded: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.encoded += texts
        return self.inner.encode(texts)


def test_a_second_prime_reads_the_store_and_embeds_only_new_texts(tmp_path):
    store = tmp_path / "cache" / "query-vectors.npz"
    texts = ["how do i change my password", "提币没到账", "swap failed"]
    first = Counting()
    first.prime(texts, store=store)
    assert first.encoded == texts and store.is_file()

    second = Counting()
    second.prime([*texts, "a new question"], store=store)
    assert second.encoded == ["a new question"]
    for t in texts:
        assert np.array_equal(second.encode_query(t), first.encode_query(t))
    assert second.encoded == ["a new question"]  # served from the primed cache

    with np.load(store, allow_pickle=False) as data:
        keys = set(data["keys"].tolist())
    assert keys == {text_key(t) for t in [*texts, "a new question"]}
    assert not any(t in str(keys) for t in texts)  # hashes only, never the text


def test_a_broken_or_unwritable_store_only_costs_time(tmp_path):
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip file")
    c = Counting()
    c.prime(["one", "two"], store=broken)
    assert c.encoded == ["one", "two"]  # the broken store is read as empty
    readonly = tmp_path / "ro"
    readonly.mkdir()
    readonly.chmod(0o500)
    try:
        d = Counting()
        d.prime(["three"], store=readonly / "sub" / "store.npz")  # cannot be written: no error
        assert d.encoded == ["three"]
    finally:
        readonly.chmod(0o700)
