"""Sentence embeddings with onnxruntime and `tokenizers`: no torch in the process.

The model is exported once per model (`assistant.knowledge.embedding.export_onnx`, in a child process
because it needs torch) into a cache folder keyed by the model and its files:

    <cache>/<model>-<key>/model.onnx        transformer + mean pooling + normalize, fp32
    <cache>/<model>-<key>/model-int8.onnx   the same, int8 (dynamic, per channel) except the
                                            layers that lose accuracy
    <cache>/<model>-<key>/tokenizer.json    the model's tokenizer
    <cache>/<model>-<key>/meta.json         inputs, max tokens, dimension, unknown token

Each index version built with this backend carries a copy of the files it was built with
(`<version>/model/`, see `assistant.knowledge.index`); a server runs that copy, so it never
exports, needs no torch, and embeds queries with exactly the model of the index's vectors.

Inputs are padded only to the longest text of a batch (the model's tokenizer.json pads every
input to 128 tokens, which would cost several times more per query). The int8 model
quantizes activations per call, so its vectors depend slightly on what shares a batch: it
embeds one text at a time, and a text gets the same vector at build and at query time.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.core.config import DEFAULT_MODEL
from assistant.knowledge.encoder import QueryCache, resolve_model
from assistant.knowledge.index import MODEL_DIR, files_digest

log = logging.getLogger(__name__)

#: Bump when the exported graph changes, so cached exports are redone.
EXPORT_VERSION = 2
EXPORT_TIMEOUT_S = 900


def export_folder(name: str, cache_dir: Path) -> Path:
    """Where the export of `name` lives: keyed by the model's files, so a new model re-exports."""
    location = resolve_model(name)
    files = []
    path = Path(location)
    if path.is_dir():
        files = sorted((str(p.relative_to(path)), p.stat().st_size, int(p.stat().st_mtime))
                       for p in path.rglob("*") if p.is_file())
    key = hashlib.sha256(json.dumps([EXPORT_VERSION, name, location, files]).encode())
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(name).name or "model")[:48]
    return Path(cache_dir) / f"{slug}-{key.hexdigest()[:12]}"


def ensure_exported(name: str, cache_dir: Path) -> Path:
    """The export folder of `name`, exporting it first if needed (a minute at most, once).

    The export runs in a child process so that this one never imports torch; a file lock
    keeps several workers starting at once from exporting twice.
    """
    folder = export_folder(name, cache_dir)
    if (folder / "meta.json").is_file():
        return folder
    if importlib.util.find_spec("torch") is None:
        raise RuntimeError(
            f"no ONNX export of {name!r} in {cache_dir}, and this install has no torch to "
            "make one (a server install): serve an index version built with "
            "ASSISTANT_EMBED_BACKEND=onnx or onnx-int8 (it carries its model; the "
            "setting must match the build's), or install the build extras "
            "(`pip install '.[build]'`)")
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / ".export.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (folder / "meta.json").is_file():
            return folder
        tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        log.warning("exporting embedding model %s to ONNX in %s (once per model)", name, folder)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]),
                                              os.environ.get("PYTHONPATH", "")])}
        try:
            done = subprocess.run([sys.executable, "-m", "assistant.knowledge.embedding", "export", name,
                                   str(tmp)], env=env, capture_output=True, text=True,
                                  timeout=EXPORT_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            shutil.rmtree(tmp, ignore_errors=True)
            raise RuntimeError(f"exporting {name!r} to ONNX took over {EXPORT_TIMEOUT_S} s; "
                               "set ASSISTANT_EMBED_BACKEND=torch") from None
        if done.returncode != 0 or not (tmp / "meta.json").is_file():
            shutil.rmtree(tmp, ignore_errors=True)
            reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"cannot export embedding model {name!r} to ONNX: {reason}")
        os.replace(tmp, folder)
    return folder


@dataclass(frozen=True)
class _Model:
    """One loaded model: swapped whole, so a query never mixes two models' parts."""

    folder: Path
    session: Any  # onnxruntime.InferenceSession
    tokenizer: Any  # tokenizers.Tokenizer
    prefix: list[int]
    suffix: list[int]
    max_content: int
    unk: int
    inputs: list[str]
    dimension: int
    digest: str  # of the model files ("" when not known yet)


class OnnxEmbedder(QueryCache):
    """The Embedder on onnxruntime. Cheap to construct; `warm_up()` loads the model.

    A server runs the model its index version carries (`use_index`), so it never exports
    and needs no torch; without one (a build) the model is exported once per machine into
    the cache folder.
    """

    def __init__(self, name: str = DEFAULT_MODEL, *, cache_dir: Path, quantized: bool = False,
                 batch_size: int = 64, threads: int = 1, query_cache_size: int = 4096) -> None:
        super().__init__(query_cache_size)
        self.name = name
        self.cache_dir = Path(cache_dir)
        self.quantized = quantized
        self.batch_size = batch_size
        self.threads = threads
        self.folder: Path | None = None
        self._model: _Model | None = None
        self._load_lock = threading.Lock()

    @classmethod
    def from_folder(cls, folder: Path, *, quantized: bool = False) -> "OnnxEmbedder":
        """An embedder over an existing export folder (used to check a fresh export)."""
        meta = json.loads((Path(folder) / "meta.json").read_text("utf-8"))
        e = cls(meta["model"], cache_dir=Path(folder).parent, quantized=quantized)
        e.folder = Path(folder)
        return e

    @property
    def backend(self) -> str:
        return "onnx-int8" if self.quantized else "onnx"

    @property
    def model_file(self) -> str:
        return "model-int8.onnx" if self.quantized else "model.onnx"

    def model_files(self) -> tuple[list[Path], dict]:
        """The files this embedder runs (model, tokenizer) and their meta.json: what an index
        version built with it carries. Exports first if this machine has no export yet."""
        folder = self.folder or ensure_exported(self.name, self.cache_dir)
        meta = json.loads((folder / "meta.json").read_text("utf-8"))
        meta = {k: v for k, v in meta.items() if k not in ("files", "digest")}
        return [folder / self.model_file, folder / "tokenizer.json"], meta

    def use_index(self, version: Path) -> None:
        """Run the model that index version `version` carries (its `model/` folder).

        Called by the service for each version it loads: the first time it only points the
        embedder there (nothing exported, no torch); later, a version carrying the same
        files changes nothing, and one carrying another model is loaded and swapped in (the
        query cache is cleared). A version without this backend's file leaves the embedder
        as it is (the export cache serves, as for an index built with torch).
        """
        folder = Path(version) / MODEL_DIR
        if not (folder / self.model_file).is_file():
            if self._model is None and self.folder is None:
                log.warning("index version %s carries no %s: using the export cache %s",
                            version, self.model_file, self.cache_dir)
            return
        with self._load_lock:
            current = self._model
            if current is None:
                self.folder = folder
                return
            wanted = _folder_digest(folder, self.model_file)
            if wanted == (current.digest or _folder_digest(current.folder, self.model_file)):
                return
            fresh = self._open(folder)
            self._model, self.folder = fresh, folder
            self.clear_cache()
        log.info("embedding model switched to %s (digest %s)", folder, fresh.digest[:12])

    def warm_up(self) -> None:
        """Load the model once (exporting it first where no index version provides it)."""
        if self._model is not None:
            return
        with self._load_lock:
            if self._model is None:
                folder = self.folder or ensure_exported(self.name, self.cache_dir)
                self._model = self._open(folder)
                self.folder = folder
        log.info("loaded ONNX embedding model %s (%s) from %s", self.name, self.backend,
                 self.folder)

    def _open(self, folder: Path) -> _Model:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        meta = json.loads((folder / "meta.json").read_text("utf-8"))
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Basic fusions run as fast here as all of them and keep ~25 MB less per worker.
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(folder / self.model_file), options,
                                           providers=["CPUExecutionProvider"])
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as exc:  # noqa: BLE001 - corrupt files: say how to recover
            raise RuntimeError(f"cannot load the ONNX model in {folder} ({exc}); rebuild the "
                               "index, or delete that folder if it is the export cache") from exc
        tokenizer.no_padding()
        tokenizer.no_truncation()
        with_special = tokenizer.encode("a").ids
        bare = tokenizer.encode("a", add_special_tokens=False).ids
        start = with_special.index(bare[0])
        prefix, suffix = with_special[:start], with_special[start + len(bare):]
        unk = tokenizer.token_to_id(meta.get("unk_token") or "[UNK]")
        return _Model(folder, session, tokenizer, prefix, suffix,
                      int(meta["max_tokens"]) - len(prefix) - len(suffix),
                      -1 if unk is None else unk, list(meta["inputs"]), int(meta["dimension"]),
                      str(meta.get("digest", "")))

    def _loaded(self) -> _Model:
        self.warm_up()
        model = self._model
        assert model is not None
        return model

    @property
    def dimension(self) -> int:
        return self._loaded().dimension

    def encode(self, texts: list[str]) -> np.ndarray:
        """Normalised float32 vectors, shape (len(texts), dimension)."""
        m = self._loaded()
        if not texts:
            return np.zeros((0, m.dimension), dtype=np.float32)
        raw = m.tokenizer.encode_batch([str(t).strip() for t in texts], add_special_tokens=False)
        seqs = [m.prefix + e.ids[: m.max_content] + m.suffix for e in raw]
        out = np.empty((len(seqs), m.dimension), dtype=np.float32)
        if self.quantized:  # batch-invariant vectors: one text per run
            for i, seq in enumerate(seqs):
                out[i] = _run(m, [seq])[0]
            return out
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))  # little padding
        for start in range(0, len(order), self.batch_size):
            part = order[start:start + self.batch_size]
            out[part] = _run(m, [seqs[i] for i in part])
        return out

    def known_ratio(self, text: str) -> float:
        """Share of the text's tokens the model knows (not [UNK]); 1.0 for an empty text."""
        m = self._loaded()
        ids = m.tokenizer.encode(text, add_special_tokens=False).ids
        if not ids:
            return 1.0
        return sum(1 for i in ids if i != m.unk) / len(ids)


def _run(m: _Model, seqs: list[list[int]]) -> np.ndarray:
    width = max(len(s) for s in seqs)
    ids = np.zeros((len(seqs), width), dtype=np.int64)
    mask = np.zeros((len(seqs), width), dtype=np.int64)
    for row, seq in enumerate(seqs):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    vecs = m.session.run(None, {k: feed[k] for k in m.inputs})[0]
    return np.asarray(vecs, dtype=np.float32)


def _folder_digest(folder: Path, model_file: str) -> str:
    """The digest of a model folder's files: recorded in an index version's meta.json,
    computed (once per file) for an export cache folder."""
    try:
        recorded = json.loads((folder / "meta.json").read_text("utf-8")).get("digest")
    except (OSError, ValueError):
        recorded = None
    if recorded:
        return str(recorded)
    return files_digest([folder / model_file, folder / "tokenizer.json"])[1]
