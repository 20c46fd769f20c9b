"""The on-disk index: FAISS vectors, metadata, the model and the serving arrays, published
atomically.

Layout under the index root::

    index/
      current -> versions/<version>         (symlink, swapped atomically with os.replace)
      versions/<version>/manifest.json      (model, its digest, dimension, KB hash, counts, ...)
      versions/<version>/vectors.faiss      (one vector per article title and per question)
      versions/<version>/entries.json       (what each vector points to)
      versions/<version>/articles.json      (the articles the index was built from)
      versions/<version>/model/             (the ONNX model the vectors were computed with:
                                             model.onnx or model-int8.onnx, tokenizer.json,
                                             meta.json; servers embed queries with it)
      versions/<version>/*.json + *.npz     (the intent and article classifiers, the lexical
                                             index; build caches: embeddings, analyzed texts)

A version is self-contained: a server copies or mounts it and needs neither the KB, the
export cache nor torch. Nothing in it is a pickle: arrays are `.npz` files read with
`allow_pickle=False` and everything else is JSON, so write access to the index folder
cannot run code in the servers that read it.

A build writes a staging folder and only then swaps `current`, so a crash mid-build
leaves the previous index serving. The only module that imports faiss.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from assistant.core.errors import IndexLoadError, IndexMismatchError, IndexMissingError
from assistant.core.types import CATEGORIES, Article, KnowledgeBase

log = logging.getLogger(__name__)

FORMAT_VERSION = 3  # 3: no pickles (npz + JSON), the model inside the version
CURRENT = "current"
VERSIONS = "versions"
KEEP_VERSIONS = 3
#: The version's copy of the ONNX model the vectors were computed with.
MODEL_DIR = "model"


@dataclass(frozen=True)
class Entry:
    """What one vector stands for: an article's title or one of its questions."""

    article_id: str
    lang: str
    kind: str  # "title" | "question"
    text: str


@dataclass(frozen=True)
class Manifest:
    version: str
    model: str
    dimension: int
    kb_hash: str
    articles: int
    article_ids: int
    vectors: int
    out_of_scope: int
    built_at: str
    build_seconds: float
    format: int = FORMAT_VERSION
    counts: dict[str, int] = field(default_factory=dict)
    backend: str = "torch"  # how the vectors were computed (setting embed_backend)
    analyzer: str = ""  # text.ANALYZER_VERSION the lexical index was built with
    model_digest: str = ""  # sha256 of the files in model/ ("" when the version carries none)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)


def set_threads(n: int) -> None:
    """FAISS's OpenMP threads. One query over a few thousand vectors is faster on one thread
    (more threads only add hand-off cost); servers scale with worker processes instead."""
    faiss.omp_set_num_threads(max(1, int(n)))


class VectorIndex:
    """Exact inner-product search over normalised vectors (cosine similarity)."""

    def __init__(self, index: "faiss.Index") -> None:
        self._index = index

    @classmethod
    def from_vectors(cls, vectors: np.ndarray) -> "VectorIndex":
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index = faiss.IndexFlatIP(int(vectors.shape[1]))
        if len(vectors):
            index.add(vectors)
        return cls(index)

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def dimension(self) -> int:
        return int(self._index.d)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, positions) for one query vector."""
        k = min(k, self.size)
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        scores, ids = self._index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), k)
        return scores[0], ids[0]

    def vectors(self) -> np.ndarray:
        """All stored vectors (to reuse embeddings of unchanged texts)."""
        if self.size == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._index.reconstruct_n(0, self.size)

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> "VectorIndex":
        return cls(faiss.read_index(str(path)))


@dataclass
class LoadedIndex:
    """Everything the query path needs from one index version."""

    path: Path
    manifest: Manifest
    vectors: VectorIndex
    entries: list[Entry]
    kb: KnowledgeBase


# ---------------------------------------------------------------- writing

def new_staging_dir(root: Path) -> Path:
    """A fresh folder next to the published versions (same file system, so rename is atomic)."""
    versions = Path(root) / VERSIONS
    versions.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".staging-", dir=versions))


def write_core(stage: Path, manifest: Manifest, vectors: VectorIndex, entries: list[Entry],
               kb: KnowledgeBase) -> None:
    """Write the FAISS index and metadata into the staging folder; manifest last."""
    vectors.save(stage / "vectors.faiss")
    _write_json(stage / "entries.json", [asdict(e) for e in entries])
    _write_json(stage / "articles.json", {
        "articles": [_article_dict(a) for a in kb.articles],
        "out_of_scope": list(kb.out_of_scope),
        "categories": list(kb.categories),
    })
    (stage / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")


def publish(root: Path, stage: Path, version: str) -> Path:
    """Move the staging folder into place and point `current` at it atomically."""
    final = place(root, stage, version)
    activate(root, final)
    return final


def place(root: Path, stage: Path, version: str) -> Path:
    """Move the staging folder to `versions/<version>` without touching `current`.

    A candidate placed this way can be loaded and checked before `activate` publishes it.
    """
    final = Path(root) / VERSIONS / version
    if final.exists():
        shutil.rmtree(final)
    os.replace(stage, final)
    _fsync_dir(final.parent)
    return final


def activate(root: Path, version_dir: Path) -> None:
    """Point `current` at a placed version atomically, then prune old versions."""
    root = Path(root)
    version_dir = Path(version_dir)
    tmp_link = root / f".{CURRENT}.{os.getpid()}"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    os.symlink(Path(VERSIONS) / version_dir.name, tmp_link)
    os.replace(tmp_link, root / CURRENT)
    _fsync_dir(root)
    _prune(root, keep=version_dir)
    log.info("published index version %s", version_dir.name)


def discard(stage: Path) -> None:
    shutil.rmtree(stage, ignore_errors=True)


def _prune(root: Path, keep: Path) -> None:
    serving = current_path(root)  # never prune what is published, even if it is old
    versions = sorted(
        (p for p in (root / VERSIONS).iterdir() if p.is_dir()),
        key=lambda p: p.stat().st_mtime, reverse=True,
    )
    stale_staging = [p for p in versions if p.name.startswith(".staging-")]
    published = [p for p in versions if not p.name.startswith(".")]
    for old in published[KEEP_VERSIONS:]:
        if old != keep and old.resolve() != serving:
            shutil.rmtree(old, ignore_errors=True)
    for s in stale_staging:  # left by a crashed build
        if s.stat().st_mtime < keep.stat().st_mtime - 3600:
            shutil.rmtree(s, ignore_errors=True)


def write_model(stage: Path, files: Iterable[Path], meta: dict) -> str:
    """Put the model files into the version's `model/` folder; return their digest.

    Hard links where the export cache shares the file system (a build then costs no copy
    of a 90 MB model), copies elsewhere. `meta.json` is written anew with each file's sha256
    and their combined digest, which the manifest records too.
    """
    folder = Path(stage) / MODEL_DIR
    folder.mkdir(parents=True, exist_ok=True)
    sources = [Path(f) for f in files]
    for src in sources:
        dest = folder / src.name
        try:
            os.link(src, dest)
        except OSError:  # another file system, or links not allowed
            shutil.copy2(src, dest)
    digests, digest = files_digest(sources)
    write_json(folder / "meta.json", {**meta, "files": digests, "digest": digest})
    return digest


_DIGESTS: dict[tuple, str] = {}


def files_digest(paths: Iterable[Path]) -> tuple[dict[str, str], str]:
    """The sha256 of each file (by name) and one digest of them all.

    Memoised per file identity (inode, size, mtime), so rebuilding with the same export
    hashes its 90 MB once per process.
    """
    digests = {}
    for path in paths:
        st = Path(path).stat()
        key = (str(Path(path).resolve()), st.st_ino, st.st_size, st.st_mtime_ns)
        if key not in _DIGESTS:
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            _DIGESTS[key] = h.hexdigest()
        digests[Path(path).name] = _DIGESTS[key]
    combined = hashlib.sha256(json.dumps(sorted(digests.items())).encode()).hexdigest()
    return digests, combined


def write_arrays(path: Path, **arrays: Any) -> None:
    """An `.npz` of numeric and string arrays. Object arrays are refused: numpy would pickle
    them, and `read_arrays` never unpickles."""
    for name, value in arrays.items():
        if np.asarray(value).dtype.hasobject:
            raise TypeError(f"{Path(path).name}: array {name!r} holds Python objects; "
                            "store it as JSON instead")
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def write_json(path: Path, data: object) -> None:
    """Compact JSON (serving files are read by machines, and some are large)."""
    Path(path).write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")),
                          encoding="utf-8")


# ---------------------------------------------------------------- reading

def current_path(root: Path) -> Path | None:
    link = Path(root) / CURRENT
    if not link.exists():
        return None
    return link.resolve()


def read_manifest(root: Path) -> Manifest | None:
    """The published manifest, or None when there is no index yet."""
    path = current_path(root)
    if path is None or not (path / "manifest.json").is_file():
        return None
    return _manifest_from(path / "manifest.json")


def load_index(root: Path, expected_model: str | None = None,
               expected_backend: str | None = None) -> LoadedIndex:
    """Load the published index; refuse one built with another model than `expected_model`.

    An index embedded by another backend than `expected_backend` still loads (the backends'
    vectors agree closely) with a warning to rebuild, which `--if-stale` does.
    """
    path = current_path(root)
    if path is None:
        raise IndexMissingError(
            f"no index at {root}: build it with `python scripts/build_index.py --out {root}`")
    manifest = _manifest_from(path / "manifest.json")
    if manifest.format != FORMAT_VERSION:
        raise IndexLoadError(f"index at {path} has format {manifest.format}, this version reads "
                             f"{FORMAT_VERSION}: rebuild it with `python scripts/build_index.py`")
    if expected_model is not None and manifest.model != expected_model:
        raise IndexMismatchError(
            f"index at {path} was built with model {manifest.model!r}, the server is configured "
            f"with {expected_model!r}: run `python scripts/build_index.py` to rebuild it, or set "
            f"ASSISTANT_MODEL={manifest.model}")
    if expected_backend is not None and manifest.backend != expected_backend:
        log.warning("index at %s was embedded with backend %s, queries use %s: rebuild it "
                    "(`python scripts/build_index.py --if-stale`) for identical vectors", path,
                    manifest.backend, expected_backend)
    try:
        vectors = VectorIndex.load(path / "vectors.faiss")
        entries = [Entry(**e) for e in json.loads((path / "entries.json").read_text("utf-8"))]
        data = json.loads((path / "articles.json").read_text("utf-8"))
        kb = KnowledgeBase(
            tuple(_article_from(a) for a in data["articles"]),
            tuple(data.get("out_of_scope", [])),
            categories=tuple(data.get("categories", CATEGORIES)),
        )
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as exc:
        raise IndexLoadError(f"index at {path} is unreadable ({exc}): rebuild it") from exc
    if vectors.size != len(entries) or vectors.dimension != manifest.dimension:
        raise IndexLoadError(f"index at {path} is inconsistent ({vectors.size} vectors, "
                             f"{len(entries)} entries): rebuild it")
    return LoadedIndex(path, manifest, vectors, entries, kb)


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of an `.npz`, read now with `allow_pickle=False`.

    An index file holding pickled objects was not written by a build (`write_arrays`
    refuses them): it is refused with IndexLoadError rather than unpickled.
    """
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise IndexLoadError(
                f"{path} holds pickled Python objects, which a build never writes and a "
                "server never loads (they could run code): rebuild the index with "
                "`python scripts/build_index.py` and check who can write to the index "
                "folder") from None
        raise IndexLoadError(f"{path} is malformed ({exc}): rebuild the index") from exc
    except (OSError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise IndexLoadError(f"{path} is unreadable ({exc}): rebuild the index") from exc


def read_json(path: Path) -> object:
    """A JSON file of the index; IndexLoadError (rebuild) when it is missing or broken."""
    try:
        return json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexLoadError(f"{path} is unreadable ({exc}): rebuild the index") from exc


def _manifest_from(path: Path) -> Manifest:
    try:
        return Manifest(**json.loads(path.read_text("utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise IndexLoadError(f"{path} is unreadable ({exc}): rebuild the index") from exc


def _article_dict(a: Article) -> dict:
    d = asdict(a)
    d["questions"], d["tags"] = list(a.questions), list(a.tags)
    return d


def _article_from(d: dict) -> Article:
    return Article(**{**d, "questions": tuple(d["questions"]), "tags": tuple(d["tags"])})


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
