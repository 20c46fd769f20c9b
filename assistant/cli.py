"""The assistant's command line: every command below, one line each (`assistant COMMAND
--help` for its options). Translates arguments and errors; the service does the work."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from assistant.core import languages
from assistant.core.config import Settings, load_settings
from assistant.core.errors import AssistantError, ConfigError, KBValidationError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=getattr(args, "log_level", None) or "WARNING",
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return int(args.func(args) or 0)
    except (KBValidationError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="assistant", description=__doc__)
    p.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING (default) or ERROR")
    sub = p.add_subparsers(dest="command", required=True)

    ask = sub.add_parser("ask", help="answer one question, printing the /answer JSON")
    ask.add_argument("query")
    ask.add_argument("--lang", choices=languages.codes())
    ask.add_argument("--session-id")
    ask.set_defaults(func=_ask)

    search = sub.add_parser("search", help="search articles, printing the /search JSON")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=5)
    search.add_argument("--lang", choices=languages.codes())
    search.add_argument("--category", help="only articles of this category")
    search.set_defaults(func=_search)

    build = sub.add_parser("build-index", help="validate the KB and build the index")
    add_build_args(build)
    build.set_defaults(func=build_command)

    lint = sub.add_parser("lint", help="report KB content problems (duplicates, misrouted "
                          "questions, short questions, placeholders, links, Chinese typography)")
    lint.add_argument("kb", nargs="?", type=Path, help="knowledge base folder (default: kb/)")
    lint.add_argument("--format", choices=["markdown", "json"], default="markdown")
    lint.add_argument("--strict", action="store_true", help="warnings fail too (exit 1)")
    lint.add_argument("--index", type=Path,
                      help="index root built from this KB (default: the configured one if it "
                           "matches the KB, else a temporary build)")
    lint.set_defaults(func=_lint)

    ev = sub.add_parser("eval", help="measure the assistant on eval sets, write eval/reports/")
    ev.add_argument("sets", nargs="*", default=["dev", "test", "safety"],
                    help="set names in eval/ (dev, test, blind/dev, blind/test), paths to JSONL "
                         "files, or `safety` "
                         "(signals, replies and redaction on eval/safety/)")
    ev.set_defaults(func=_eval)

    st = sub.add_parser("safety-train", help="train the safety signals on eval/safety/dev.jsonl "
                        "(and the KB's ordinary questions), score the test half, write the "
                        "model into the package")
    st.add_argument("--out", type=Path, help="model folder (default: assistant/data/)")
    st.set_defaults(func=_safety_train)

    tune = sub.add_parser("tune", help="pick weights and thresholds on the dev halves, write "
                          "eval/thresholds.json")
    tune.add_argument("--set", nargs="+", default=["dev", "blind/dev"],
                      help="set names or JSONL paths, pooled (default: dev blind/dev, the two "
                      "tuning halves; test halves never choose anything)")
    tune.add_argument("--max-wrong-rate", type=float,
                      help="wrong-answer rate to stay under (default: setting, 0.03)")
    tune.set_defaults(func=_tune)

    abl = sub.add_parser("ablation", help="what each evidence contributes per language and "
                         "script, on eval sets (writes eval/reports/ablation.{json,md})")
    abl.add_argument("sets", nargs="*", default=["blind/dev", "blind/test"],
                     help="set names or JSONL paths (default: blind/dev blind/test)")
    abl.set_defaults(func=_ablation)

    bench = sub.add_parser("benchmark", help="score a public intent benchmark folder")
    bench.add_argument("folder", type=Path, help="folder with train.jsonl, test.jsonl [val.jsonl]")
    bench.add_argument("--per-label", type=int, help="train on N examples per label (fixed seed)")
    bench.add_argument("--work", type=Path, help="where to build (default: a temporary folder)")
    bench.add_argument("--drop-oos", action="store_true",
                       help="remove the out-of-scope rows from train and val (test keeps them)")
    bench.set_defaults(func=_benchmark)

    gaps = sub.add_parser("gaps", help="group recent unanswered messages: what to write next")
    gaps.add_argument("--days", type=float, default=1.0, help="look back this many days (1)")
    gaps.add_argument("--top", type=int, help="largest groups shown (default: setting)")
    gaps.add_argument("--format", choices=["md", "json"], default="md")
    gaps.add_argument("--out", type=Path, help="also write <out>.md and <out>.json")
    gaps.set_defaults(func=_gaps)

    draft = sub.add_parser("draft", help="write a draft KB article from a resolved ticket "
                           "(questions from the user's messages, body from the resolution and "
                           "the agent's replies); prints its path")
    draft.add_argument("ticket_id", help="the ticket's id (after `--` when it starts with -)")
    draft.set_defaults(func=_draft)

    publish = sub.add_parser("publish-draft", help="lint a draft with the KB, copy it into "
                             "kb/<lang>/ and run the checked build; refused, it is removed again")
    publish.add_argument("path", type=Path, help="the draft file (from `assistant draft`)")
    publish.add_argument("--kb", type=Path, help="knowledge base folder (default: kb/)")
    publish.add_argument("--out", type=Path, help="index folder (default: index/)")
    publish.add_argument("--quiet", action="store_true", help="no build progress output")
    publish.set_defaults(func=_publish_draft)

    mail = sub.add_parser("mail", help="the email channel: `mail serve` runs the inbound "
                          "SMTP listener and the outbox dispatcher, `mail flush` sends due mail")
    mail_sub = mail.add_subparsers(dest="mail_command", required=True)
    mail_serve = mail_sub.add_parser(
        "serve", help="accept mail for the support address and send the outbox (until Ctrl-C)")
    mail_serve.add_argument("--host", help="listen address (default: ASSISTANT_MAIL_LISTEN_HOST)")
    mail_serve.add_argument("--port", type=int,
                            help="listen port (default: ASSISTANT_MAIL_LISTEN_PORT)")
    mail_serve.set_defaults(func=_mail_serve)
    mail_flush = mail_sub.add_parser(
        "flush", help="send every unsent mail in the outbox once; print what happened")
    mail_flush.set_defaults(func=_mail_flush)

    serve = sub.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, help="server processes (default: setting, 1)")
    serve.set_defaults(func=_serve)
    return p


def add_build_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kb", type=Path, help="knowledge base folder (default: kb/)")
    p.add_argument("--out", type=Path, help="index folder (default: index/)")
    p.add_argument("--if-stale", action="store_true",
                   help="only build when the KB or the model changed since the last build")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--check", action="store_true",
                   help="lint and evaluate the new index against the published one before "
                        "publishing; refuse (exit 1) when it is worse")
    p.add_argument("--force", action="store_true",
                   help="with --check: publish even when the guard refuses")


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "kb", None):
        overrides["kb_dir"] = args.kb
    if getattr(args, "out", None):
        overrides["index_dir"] = args.out
    return load_settings(**overrides)


def _assistant(settings: Settings):
    from assistant.service import Assistant

    return Assistant(settings).warm_up()


def _ask(args: argparse.Namespace) -> int:
    assistant = _assistant(_settings(args))
    reply = assistant.answer(args.query, lang=args.lang, session_id=args.session_id)
    print(json.dumps(reply.to_dict(), ensure_ascii=False, indent=2))
    return 0


def _search(args: argparse.Namespace) -> int:
    settings = _settings(args)
    assistant = _assistant(settings)
    k = max(1, min(args.k, settings.search_max_k))
    known = assistant.state.index.kb.categories
    if args.category is not None and args.category not in known:
        print(f"error: --category {args.category!r} is not one of {', '.join(known)}",
              file=sys.stderr)
        return 2
    shown, lang, results = assistant.search_box(args.query, k=k, lang=args.lang,
                                                category=args.category)
    print(json.dumps({"query": shown, "lang": lang, "results": [r.to_dict() for r in results]},
                     ensure_ascii=False, indent=2))
    return 0


def _gaps(args: argparse.Namespace) -> int:
    """Print (and optionally write) the largest groups of unanswered messages."""
    from assistant.handoff import insights
    from assistant.knowledge.embedding import make_embedder
    from assistant.handoff.queue import open_queue
    from assistant.tooling.build import require_build_extras

    require_build_extras("`assistant gaps` (it clusters with scikit-learn)")
    settings = _settings(args)
    if args.days <= 0:
        raise AssistantError("--days must be greater than 0")
    queue = open_queue(settings.queue_dsn, settings.queue_path,
                       timeout_seconds=settings.queue_timeout_seconds).open()
    try:
        items = insights.gap_items(queue.events(insights.since(args.days)))
    finally:
        queue.close()
    embedder = make_embedder(settings)
    found = insights.gaps(items, embedder, distance=settings.gaps_distance,
                          top=args.top or settings.gaps_top, max_items=settings.gaps_max_items)
    data = {"days": args.days, "unanswered": len(items), "groups": [g.to_dict() for g in found]}
    md = insights.gaps_markdown(found, args.days, len(items))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".md").write_text(md, "utf-8")
        args.out.with_suffix(".json").write_text(json.dumps(data, ensure_ascii=False, indent=2),
                                                 "utf-8")
    print(md if args.format == "md" else json.dumps(data, ensure_ascii=False, indent=2))
    return 0


def build_command(args: argparse.Namespace) -> int:
    """Validate and build; prints what changed. Exit 2 on KB errors (old index untouched)."""
    from assistant.tooling.build import build_index, build_options, is_stale
    from assistant.knowledge.embedding import make_embedder

    settings = _settings(args)
    if args.if_stale:
        reason = is_stale(settings.kb_dir, settings.index_dir, settings.model,
                          settings.embed_backend)
        if reason is None:
            print(f"index is up to date ({settings.index_dir})")
            return 0
        print(f"rebuilding index: {reason}")
    embedder = make_embedder(settings)

    def progress(stage: str, done: int, total: int) -> None:
        if not args.quiet:
            print(f"  {stage}: {done}/{total}", file=sys.stderr, flush=True)

    if args.check:
        return _checked_build(settings, embedder, args.force, progress)
    result = build_index(settings.kb_dir, settings.index_dir, embedder,
                         model_name=settings.model, progress=progress,
                         **build_options(settings))
    _print_build(result)
    print(f"published to {result.path}")
    return 0


def _checked_build(settings: Settings, embedder, force: bool, progress) -> int:
    """`build-index --check`: 0 published, 1 refused by the guard (2 for KB errors)."""
    from assistant.tooling.guard import PUBLISHED, check_and_publish

    result = check_and_publish(settings, embedder, force=force, progress=progress,
                               out=lambda line: print(line, flush=True))
    _print_build(result.build)
    if result.status == PUBLISHED:
        print(f"published to {settings.index_dir / 'versions' / result.build.manifest.version}")
    return result.status


def _print_build(result) -> None:
    m = result.manifest
    print(f"built index {m.version} in {m.build_seconds:.1f}s ({m.backend}): {m.articles} articles "
          f"({m.article_ids} ids), {m.vectors} vectors, {m.out_of_scope} out-of-scope examples; "
          f"embedded {result.embedded}, reused {result.reused}")
    c = result.changes
    for label, items in (("added", c.added), ("changed", c.changed), ("removed", c.removed)):
        if items:
            shown = ", ".join(items[:12]) + (f", ... (+{len(items) - 12})" if len(items) > 12 else "")
            print(f"  {label} ({len(items)}): {shown}")
    if not c:
        print("  no article changed since the previous index")


def _lint(args: argparse.Namespace) -> int:
    """Exit 1 when the linter finds errors (or any finding with --strict)."""
    from assistant.knowledge.embedding import make_embedder
    from assistant.tooling.lint import lint_kb

    settings = _settings(args)
    kb_dir = args.kb or settings.kb_dir
    embedder = make_embedder(settings)
    report = lint_kb(kb_dir, settings, embedder, index_root=args.index,
                     progress=lambda m: print(f"  {m}", file=sys.stderr, flush=True))
    print(report.to_json() if args.format == "json" else report.to_markdown(), end="")
    return 1 if report.failed(args.strict) else 0


def _set_path(settings: Settings, name: str) -> tuple[str, Path]:
    path = Path(name)
    if path.suffix == ".jsonl":
        return path.stem, path
    return name.replace("/", "-"), settings.eval_dir / f"{name}.jsonl"


def _progress(done: int, total: int) -> None:
    print(f"  {done}/{total}", file=sys.stderr, flush=True)


def _eval(args: argparse.Namespace) -> int:
    from assistant.tooling import evaluation as ev

    settings = _settings(args)
    assistant, tmp = ev.isolated_assistant(settings)
    with tmp:
        assistant.warm_up()
        ids = set(assistant.index.kb.ids()) if assistant.index else None
        for name in args.sets:
            if name == "safety":
                _eval_safety(assistant, settings)
                continue
            set_name, path = _set_path(settings, name)
            rows = ev.load_eval_set(path, ids)
            print(f"evaluating {set_name} ({len(rows)} rows)", file=sys.stderr)
            obs = ev.observe(assistant, rows, _progress)
            decisions = ev.redecide(obs, assistant.thresholds, assistant.handoff_flags)
            rep = ev.report(obs, decisions, assistant.thresholds, set_name)
            points = ev.curve(obs, assistant.handoff_flags, assistant.thresholds)
            paths = ev.write_report(rep, obs, points, settings.eval_dir / "reports", settings)
            _print_summary(set_name, rep)
            print("  wrote " + ", ".join(str(p) for p in paths))
        assistant.close()
    return 0


def _ablation(args: argparse.Namespace) -> int:
    from assistant.tooling import ablation
    from assistant.tooling import evaluation as ev

    settings = _settings(args)
    assistant, tmp = ev.isolated_assistant(settings)
    with tmp:
        assistant.warm_up()
        ids = set(assistant.index.kb.ids()) if assistant.index else None
        sets = {}
        for name in args.sets:
            set_name, path = _set_path(settings, name)
            print(f"observing {set_name}", file=sys.stderr)
            sets[set_name] = ev.observe(assistant, ev.load_eval_set(path, ids), _progress,
                                        tickets=False)
        rep = ablation.run(assistant, sets)
        paths = ablation.write(rep, settings.eval_dir / "reports")
        assistant.close()
    print(ablation.markdown(rep))
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _eval_safety(assistant, settings: Settings) -> None:
    from assistant.tooling import safety_eval

    print("evaluating safety (signals, replies, redaction)", file=sys.stderr)
    rep = safety_eval.report(assistant, settings.eval_dir / "safety", settings.kb_dir,
                             settings.eval_dir)
    paths = safety_eval.write(rep, settings.eval_dir / "reports")
    theft, red = rep["classifiers"]["theft"], rep["redaction"]
    print(f"safety: theft alarm recall={theft['alarm_recall']}, alarm-or-check recall="
          f"{theft['alarm_or_check_recall']}, false alarms={rep['replies']['false_theft_alarms']}"
          f", redaction recall={red['recall']['recall']}, redaction false positives="
          f"{red['false_positives']['redacted']}/{red['false_positives']['sentences']} "
          f"(in conversations {red['false_positives']['redacted_in_sessions']})")
    print("  wrote " + ", ".join(str(p) for p in paths))


def _safety_train(args: argparse.Namespace) -> int:
    from assistant.tooling import safety_training

    settings = _settings(args)
    folder = settings.eval_dir / "safety"
    rep = safety_training.run(folder / "dev.jsonl", folder / "test.jsonl", args.out,
                              kb_dir=settings.kb_dir, signal_articles=settings.signal_articles)
    theft = rep["test"]["theft"]
    print(f"trained on {rep['dev_rows']} dev rows + {rep['kb_negatives']} KB questions; "
          f"test: theft alarm recall {theft['alarm_recall']}, alarm-or-check "
          f"{theft['alarm_or_check_recall']}, false alarms {theft['false_alarms']}")
    for signal, m in rep["test"]["signals"].items():
        print(f"  {signal}: precision {m['precision']}, recall {m['recall']}")
    return 0


def _print_summary(name: str, rep: dict) -> None:
    keys = ("answer_accuracy", "coverage", "wrong_answer_rate", "handoff_recall",
            "decline_recall", "intent_accuracy", "hit_at_1")
    print(f"{name}: " + ", ".join(f"{k}={rep.get(k)}" for k in keys))
    for lang, m in rep.get("by_lang", {}).items():
        print(f"  {lang}: " + ", ".join(f"{k}={m.get(k)}" for k in keys))


def _tune(args: argparse.Namespace) -> int:
    from assistant.tooling import evaluation as ev

    settings = _settings(args)
    target = settings.max_wrong_answer_rate if args.max_wrong_rate is None else args.max_wrong_rate
    named = [_set_path(settings, name) for name in args.set]
    held_out = [name for name, _ in named if name.split("-")[-1] == "test"]
    if held_out:
        raise SystemExit(f"error: --set {' '.join(held_out)}: a test half never chooses "
                         "thresholds; tune on dev halves and report on test")
    set_name = " + ".join(name for name, _ in named)
    assistant, tmp = ev.isolated_assistant(settings)
    with tmp:
        assistant.warm_up()
        known = set(assistant.index.kb.ids()) if assistant.index else None
        rows = [row for _, path in named for row in ev.load_eval_set(path, known)]
        print(f"tuning on {set_name} ({len(rows)} rows), wrong-answer rate <= {target} "
              "per language", file=sys.stderr)
        obs = ev.observe(assistant, rows, _progress)
        assert assistant.retriever is not None  # warmed up by observe()
        weights, mrr = ev.tune_weights(obs, assistant.retriever.weights)
        print(f"evidence weights: {weights} (MRR {mrr})")
        retuned = settings.model_copy(update={f"weight_{k}": v for k, v in
                                              weights.__dict__.items()})
        again, tmp2 = ev.isolated_assistant(retuned, embedder=assistant.embedder)
        with tmp2:
            obs = ev.observe(again.warm_up(), rows, _progress)
            results = {}
            for lang, base in again.thresholds.items():
                subset = [o for o in obs if o.trace.lang == lang]
                if subset:
                    results[lang] = ev.tune(subset, again.handoff_flags, base, target,
                                            confidence=settings.tune_confidence)
            again.close()
        ev.write_thresholds(settings.thresholds_file, results, set_name, weights)
        assistant.close()
    for lang, result in results.items():
        th, m = result.thresholds, result.metrics
        if not result.feasible:
            print(f"warning: {lang}: no thresholds keep the wrong-answer rate under {target}; "
                  "chose the lowest rate found", file=sys.stderr)
        print(f"{lang}: answer={th.answer} clarify={th.clarify} margin={th.margin} "
              f"decline={th.decline}; expected on {set_name}: coverage={m['coverage']} "
              f"answer_accuracy={m['answer_accuracy']} wrong_answer_rate={m['wrong_answer_rate']}")
    print(f"wrote {settings.thresholds_file}")
    return 0


def _benchmark(args: argparse.Namespace) -> int:
    import tempfile

    from assistant.tooling import benchmark as bm
    from assistant.knowledge.embedding import make_embedder

    settings = _settings(args)
    embedder = make_embedder(settings)
    name = args.folder.resolve().name + (f"-{args.per_label}-per-label" if args.per_label else "") \
        + ("-no-oos" if args.drop_oos else "")
    with tempfile.TemporaryDirectory(prefix="assistant-bench-") as tmp:
        work = args.work or Path(tmp)
        rep = bm.run(args.folder, work, embedder, settings, per_label=args.per_label,
                     drop_oos=args.drop_oos, log=lambda m: print(m, file=sys.stderr, flush=True))
    out = settings.eval_dir / "reports" / f"benchmark-{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rep, indent=2) + "\n", encoding="utf-8")
    keys = ("accuracy", "inscope_accuracy", "oos_recall", "oos_precision", "n_test")
    print(f"{name}: " + ", ".join(f"{k}={rep[k]}" for k in keys))
    print(f"wrote {out}")
    return 0


def _draft(args: argparse.Namespace) -> int:
    """Write the draft of a resolved ticket (exit 1 when the ticket is not resolved)."""
    from assistant.service import Assistant

    assistant = Assistant(_settings(args))  # no index or model needed to draft
    try:
        made = assistant.draft_article(args.ticket_id)
    finally:
        assistant.close()
    print(made["path"])
    if not made["created"]:
        print("note: this ticket was drafted before; that draft is left as it is",
              file=sys.stderr)
    print(f"review it (the KB needs at least 3 questions per article), then run `assistant "
          f"publish-draft {made['path']}`", file=sys.stderr)
    return 0


def _publish_draft(args: argparse.Namespace) -> int:
    """0 published, 1 refused (the linter or the guard), 2 the draft is not a valid article."""
    from assistant.knowledge.embedding import make_embedder
    from assistant.tooling.publish import publish_draft

    settings = _settings(args)

    def progress(stage: str, done: int, total: int) -> None:
        if not args.quiet:
            print(f"  {stage}: {done}/{total}", file=sys.stderr, flush=True)

    def out(line: str) -> None:  # errors on stderr, like the other commands'
        print(line, file=sys.stderr if line.startswith("error:") else sys.stdout, flush=True)

    return publish_draft(args.path, settings, make_embedder(settings), progress=progress,
                         out=out).status


def _serve(args: argparse.Namespace) -> int:
    from assistant.web.server import serve

    settings = _settings(args)
    _preflight(settings)
    logging.getLogger("assistant").setLevel(settings.log_level)
    # One BLAS/OpenMP thread per worker (set before numpy loads; workers inherit it): idle
    # pool threads spin on a small machine and slow every request; workers give parallelism.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(settings.embed_threads))
    serve(settings, host=args.host or settings.host, port=args.port or settings.port,
          workers=args.workers or settings.workers)
    return 0


def _mail_serve(args: argparse.Namespace) -> int:
    """The email channel's process: the inbound listener (mail in, `Assistant.email_in`)
    and the outbox dispatcher loop (retries, in this thread), over one loaded assistant."""
    import signal
    import threading

    from assistant.inbox.listener import MailListener

    overrides = {k: v for k, v in (("mail_listen_host", args.host),
                                   ("mail_listen_port", args.port)) if v is not None}
    settings = load_settings(**overrides)
    _preflight(settings)
    logging.getLogger("assistant").setLevel(settings.log_level)
    assistant = _assistant(settings)
    listener = MailListener(assistant.email_in, settings)
    try:
        listener.start()
    except OSError as exc:
        assistant.close()
        raise ConfigError(f"cannot listen on {settings.mail_listen_host}:"
                          f"{settings.mail_listen_port} ({exc.strerror or exc}); set "
                          "ASSISTANT_MAIL_LISTEN_HOST/PORT or --host/--port") from None
    relay = (f"{settings.smtp_host}:{settings.smtp_port}" if settings.smtp_host else
             "nowhere (ASSISTANT_SMTP_HOST is not set: mail stays in the outbox)")
    print(f"accepting mail for {settings.support_address} on {listener.host}:{listener.port}; "
          f"sending through {relay}", file=sys.stderr, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        assistant.mail.run(stop)
    except KeyboardInterrupt:
        pass
    finally:
        listener.stop()
        assistant.close()
    return 0


def _mail_flush(args: argparse.Namespace) -> int:
    """Send the outbox once (no model is loaded: only the queue and the relay)."""
    from assistant.handoff.outbox import Dispatcher
    from assistant.handoff.queue import open_queue

    settings = load_settings()
    if not settings.smtp_host:
        raise ConfigError("ASSISTANT_SMTP_HOST is not set: there is no relay to send the "
                          "outbox through; set it (and ASSISTANT_SMTP_PORT, _USER, _PASSWORD)")
    queue = open_queue(settings.queue_dsn, settings.queue_path, pool_size=1,
                       timeout_seconds=settings.queue_timeout_seconds).open()
    try:
        result = Dispatcher(queue, settings).flush(force=True)
    finally:
        queue.close()
    print(json.dumps(result.to_dict()))
    return 1 if result.failed else 0


def _preflight(settings: Settings) -> None:
    """Refuse to start, with one line naming the setting, before any worker is spawned: the
    index (there, built with the configured model) and the queue (it takes a write).

    After `scripts/run` refused a new build (`ASSISTANT_BUILD_REFUSED`), one line says the
    server starts on the last published index, and why."""
    from assistant.knowledge import index as ix
    from assistant.core.errors import IndexLoadError

    refused = f"; the new build was also refused: {settings.build_refused}" \
        if settings.build_refused else ""
    try:
        manifest = ix.read_manifest(settings.index_dir)
    except IndexLoadError as exc:
        raise ConfigError(f"ASSISTANT_INDEX_DIR={settings.index_dir}: {exc}{refused}") from None
    if manifest is None:
        raise ConfigError(f"ASSISTANT_INDEX_DIR={settings.index_dir} holds no index: build it "
                          f"with `python scripts/build_index.py --out {settings.index_dir}`"
                          f"{refused}")
    if manifest.model != settings.model:
        raise ConfigError(f"ASSISTANT_MODEL={settings.model} but the index in "
                          f"{settings.index_dir} was built with {manifest.model}: rebuild it "
                          f"(`python scripts/build_index.py`) or set "
                          f"ASSISTANT_MODEL={manifest.model}{refused}")
    _check_queue(settings)
    if settings.build_refused:
        print(f"warning: new index build refused, serving the last published index "
              f"{manifest.version}: {settings.build_refused}", file=sys.stderr, flush=True)


def _check_queue(settings: Settings) -> None:
    """The handoff queue opens, migrates and takes one durable write, or a ConfigError names
    the setting to change: ASSISTANT_QUEUE_DSN when set, else ASSISTANT_DATA_DIR (the folder
    of the SQLite file). A full disk, a read-only folder or file, an unreachable PostgreSQL
    all end here, not in a worker's traceback."""
    import re

    from assistant.core.errors import QueueError
    from assistant.handoff.queue import open_queue, safe_dsn

    if settings.queue_dsn:
        name = f"ASSISTANT_QUEUE_DSN={safe_dsn(settings.queue_dsn)}"
        fix = "point it at a writable SQLite file or a reachable PostgreSQL"
    else:
        name, fix = f"ASSISTANT_DATA_DIR={settings.data_dir}", "point it at a writable folder"
        try:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"{name} cannot be created ({exc.strerror}); {fix}") from None
        if not os.access(settings.data_dir, os.W_OK):
            raise ConfigError(f"{name} is not writable; {fix}")
    queue = open_queue(settings.queue_dsn, settings.queue_path,
                       pool_size=1, timeout_seconds=settings.queue_timeout_seconds)
    pool_log = logging.getLogger("psycopg.pool")  # its retries would add lines to the one
    level = pool_log.level
    pool_log.setLevel(logging.CRITICAL)
    try:
        queue.open()
        queue.probe()
    except (QueueError, OSError) as exc:
        reason = re.sub(r"; check ASSISTANT_\w+$", "", " ".join(str(exc).split()))
        if "full" in reason:
            fix = "free disk space or " + fix
        raise ConfigError(f"{name}: the handoff queue cannot take writes ({reason}); "
                          f"{fix}") from None
    finally:
        queue.close()
        pool_log.setLevel(level)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
