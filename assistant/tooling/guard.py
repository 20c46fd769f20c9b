"""The editors' guard (`build-index --check`): check a candidate index before publishing it.

The candidate is built next to the published versions without moving `current`, linted,
and run over the wallet eval sets together with the published index. It is published only
when its answer accuracy and wrong-answer rate (overall and per language) are no worse than
the published index's by more than the settings allow; `force` publishes regardless.
The table and the queries whose outcome changed are printed either way.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.core import languages
from assistant.tooling import evaluation as ev
from assistant.knowledge import index as ix
from assistant.deciding.answerer import Decision
from assistant.tooling.build import BuildResult, build_index, build_options, query_store
from assistant.core.config import Settings
from assistant.knowledge.embedding import Embedder
from assistant.core.errors import IndexLoadError
from assistant.tooling.lint import LintReport, lint_kb

PUBLISHED, REFUSED = 0, 1
#: Metrics shown in the comparison table; the guarded ones come first.
TABLE_METRICS = ("answer_accuracy", "wrong_answer_rate", "coverage", "hit_at_1", "mrr")
#: Changed queries printed in full; the rest are counted (the table has the totals).
MAX_CHANGED_SHOWN = 50
_EPS = 1e-9

Out = Callable[[str], None]


@dataclass
class Comparison:
    """Metrics before and after per group ("all", "en", "zh") and the rows that changed."""

    before: dict[str, dict]
    after: dict[str, dict]
    changed: list[tuple[ev.EvalRow, Decision, Decision]]
    breaches: list[str] = field(default_factory=list)


@dataclass
class CheckResult:
    status: int
    build: BuildResult
    lint: LintReport | None
    comparison: Comparison | None
    reasons: list[str]


def outcome(d: Decision) -> str:
    """A decision in a few words, for the changed-query list."""
    if d.action == "answer":
        return f"answer {d.article_id}"
    if d.action == "clarify":
        return "clarify " + "/".join(h.id for h in d.candidates)
    return d.action


def expected(row: ev.EvalRow) -> str:
    return f"answer {'|'.join(row.articles)}" if row.action == "answer" else row.action


def correct(row: ev.EvalRow, d: Decision) -> bool:
    if row.action == "answer":
        return d.action == "answer" and d.article_id in row.articles
    return d.action == row.action


def compare(rows: list[ev.EvalRow], before: tuple[list[ev.Observation], list[Decision]],
            after: tuple[list[ev.Observation], list[Decision]], max_accuracy_drop: float,
            max_wrong_rise: float) -> Comparison:
    """Group metrics of both runs, the changed rows, and which guarded metric got worse."""
    def groups(obs: list[ev.Observation], ds: list[Decision]) -> dict[str, dict]:
        out = {"all": ev.metrics(obs, ds)}
        for lang in languages.codes():
            pairs = [(o, d) for o, d in zip(obs, ds) if o.row.lang == lang]
            if pairs:
                out[lang] = ev.metrics([o for o, _ in pairs], [d for _, d in pairs])
        return out

    b, a = groups(*before), groups(*after)
    changed = [(row, db, da) for row, db, da in zip(rows, before[1], after[1])
               if outcome(db) != outcome(da)]
    breaches = []
    for group in a:
        acc_b, acc_a = b[group]["answer_accuracy"], a[group]["answer_accuracy"]
        if acc_b is not None and (acc_a if acc_a is not None else 0.0) < \
                acc_b - max_accuracy_drop - _EPS:
            breaches.append(f"{group}: answer accuracy {acc_b} -> {acc_a} "
                            f"(allowed drop {max_accuracy_drop})")
        wr_b, wr_a = b[group]["wrong_answer_rate"], a[group]["wrong_answer_rate"]
        if wr_b is not None and wr_a is not None and wr_a > wr_b + max_wrong_rise + _EPS:
            breaches.append(f"{group}: wrong-answer rate {wr_b} -> {wr_a} "
                            f"(allowed rise {max_wrong_rise})")
    return Comparison(b, a, changed, breaches)


def format_comparison(c: Comparison) -> list[str]:
    """The before/after table per metric and group, then the changed queries."""
    lines = ["| metric | group | published | candidate | change |", "|---|---|---|---|---|"]
    for metric in TABLE_METRICS:
        for group in c.after:
            vb, va = c.before[group].get(metric), c.after[group].get(metric)
            delta = f"{va - vb:+.4f}" if vb is not None and va is not None else "-"
            lines.append(f"| {metric} | {group} (n={c.after[group]['n']}) | {_num(vb)} | "
                         f"{_num(va)} | {delta} |")
    lines.append("")
    if not c.changed:
        lines.append("No eval query changed outcome.")
        return lines
    noun = "query" if len(c.changed) == 1 else "queries"
    lines += [f"{len(c.changed)} eval {noun} changed outcome (✓ right, ✗ wrong):", "",
              "| query | lang | expected | published | candidate |", "|---|---|---|---|---|"]
    for row, db, da in c.changed[:MAX_CHANGED_SHOWN]:
        lines.append(f"| {_cell(row.text)} | {row.lang} | {expected(row)} | "
                     f"{_mark(row, db)} {outcome(db)} | {_mark(row, da)} {outcome(da)} |")
    if len(c.changed) > MAX_CHANGED_SHOWN:
        lines.append(f"... and {len(c.changed) - MAX_CHANGED_SHOWN} more")
    return lines


def _mark(row: ev.EvalRow, d: Decision) -> str:
    return "✓" if correct(row, d) else "✗"


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.4f}"


def _cell(text: str) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= 100 else text[:99] + "…"


def eval_rows(settings: Settings) -> list[ev.EvalRow]:
    """The rows of the guard's eval sets (`check_sets`: names in eval_dir or .jsonl paths).

    Article ids are not checked against the KB: a row whose article was removed simply
    counts as wrong for the candidate.
    """
    rows: list[ev.EvalRow] = []
    for name in settings.check_set_names:
        path = Path(name) if name.endswith(".jsonl") else settings.eval_dir / f"{name}.jsonl"
        rows.extend(ev.load_eval_set(path))
    return rows


def run_eval(settings: Settings, root: Path, embedder: Embedder,
             rows: list[ev.EvalRow]) -> tuple[list[ev.Observation], list[Decision]]:
    """The assistant on the index published under `root`, over `rows` (no tickets).

    Query vectors are embedded in one batch and cached in the embedder, so the second index
    reuses them (latency is not compared, only decisions), and kept on disk for the next
    check (`query_store`).
    """
    assistant, tmp = ev.isolated_assistant(settings.model_copy(update={"index_dir": root}),
                                           embedder=embedder)
    with tmp:
        assistant.warm_up()
        obs = ev.observe(assistant, rows, tickets=False, batch_embed=True,
                         store=query_store(settings, embedder))
        decisions = ev.redecide(obs, assistant.thresholds, assistant.handoff_flags)
        assistant.close()
    return obs, decisions


class pinned_root:
    """A throwaway index root whose `current` points at one version folder.

    Lets the unchanged loading code (service, lint) read a candidate that is not published.
    """

    def __init__(self, version_dir: Path) -> None:
        self.version_dir = Path(version_dir).resolve()
        self._tmp = tempfile.TemporaryDirectory(prefix="assistant-candidate-")

    def __enter__(self) -> Path:
        root = Path(self._tmp.name)
        (root / ix.CURRENT).symlink_to(self.version_dir, target_is_directory=True)
        return root

    def __exit__(self, *exc: object) -> None:
        self._tmp.cleanup()


def check_and_publish(settings: Settings, embedder: Embedder, *, force: bool = False,
                      out: Out = print, progress=None) -> CheckResult:
    """Build a candidate, lint it, compare it with the published index, publish or refuse.

    Raises KBValidationError (nothing written) when the KB is invalid. A refused candidate
    is deleted; `current` is untouched unless the candidate is published.
    """
    root = settings.index_dir
    published = ix.current_path(root)
    result = build_index(settings.kb_dir, root, embedder, model_name=settings.model,
                         progress=progress, **build_options(settings), publish=False)
    reasons: list[str] = []
    comparison: Comparison | None = None
    report: LintReport | None = None
    try:
        with pinned_root(result.path) as candidate:
            out(f"candidate index {result.manifest.version} built; linting")
            report = lint_kb(settings.kb_dir, settings, embedder, index_root=candidate)
            for f in report.findings:
                out(f"  {f}")
            out(f"lint: {len(report.errors)} error(s), {len(report.warnings)} warning(s)")
            if report.errors:
                reasons.append(f"the linter found {len(report.errors)} error(s)")
            comparison = _compare_with_published(settings, embedder, published, candidate, out)
        if comparison is not None:
            reasons += comparison.breaches
        if reasons and not force:
            out("refused: " + "; ".join(reasons))
            out(f"the published index is unchanged ({published.name if published else 'none'});"
                " fix the KB, or publish anyway with --force")
            ix.discard(result.path)
            return CheckResult(REFUSED, result, report, comparison, reasons)
        if reasons:
            out("publishing despite: " + "; ".join(reasons) + " (--force)")
        ix.activate(root, result.path)
    except BaseException:
        if ix.current_path(root) != result.path.resolve():
            ix.discard(result.path)
        raise
    return CheckResult(PUBLISHED, result, report, comparison, reasons)


def _compare_with_published(settings: Settings, embedder: Embedder, published: Path | None,
                            candidate: Path, out: Out) -> Comparison | None:
    if published is None:
        out("no published index: nothing to compare")
        return None
    try:
        ix.load_index(settings.index_dir, expected_model=settings.model)
    except IndexLoadError as exc:
        out(f"the published index cannot be compared ({exc}); nothing to compare")
        return None
    rows = eval_rows(settings)
    out(f"running {len(rows)} eval queries ({settings.check_sets}) on the published "
        f"index {published.name} and on the candidate")
    before = run_eval(settings, settings.index_dir, embedder, rows)
    after = run_eval(settings, candidate, embedder, rows)
    comparison = compare(rows, before, after, settings.check_max_accuracy_drop,
                         settings.check_max_wrong_rise)
    for line in format_comparison(comparison):
        out(line)
    return comparison
