"""Index folder: a candidate placed without publishing, activation, pruning."""

from __future__ import annotations

import os

import pytest

from assistant.knowledge import index as ix
from assistant.tooling.build import build_index
from tests.conftest import write_kb

pytestmark = pytest.mark.slow

MODEL = "all-MiniLM-L6-v2"


def _touch_kb(kb, i: int) -> None:
    (kb / "out_of_scope.yaml").write_text(f"questions:\n  - sing song {i}\n  - dance\n", "utf-8")


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
