"""Publishing an article draft (`assistant publish-draft PATH`).

A draft made from a resolved ticket (`knowledge/drafts.py`) lives outside the KB. Publishing
it takes the path every edit takes, in an order that leaves the KB and the served index as
they were whenever it is refused:

1. the draft alone, then the draft together with a copy of the KB: what the build validates
   (fields, counterparts, duplicate ids) and the linter's checks of one article
   (placeholders, links, short questions, typography); every problem names the draft file
   and the field, and an error stops here, before the KB is touched;
2. the draft, without its draft markers, copied into `kb/<lang>/<id>.md` (articles of every
   category live side by side there);
3. the checked build (`build-index --check`): the full linter, duplicates and misrouted
   questions included, and the eval sets against the published index. When it refuses, the
   copied file is removed again, so the KB is what it was and `current` never moved.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assistant.core.config import Settings
from assistant.core.types import KBProblem
from assistant.knowledge import drafts
from assistant.knowledge.embedding import Embedder
from assistant.knowledge.kb import (
    CATEGORIES_FILE,
    check_kb,
    kb_files,
    load_categories,
    load_min_questions,
    parse_article,
)
from assistant.tooling.guard import PUBLISHED, REFUSED, CheckResult, check_and_publish
from assistant.tooling.lint import (
    check_links,
    check_placeholders,
    check_short_questions,
    check_typography,
)

#: Exit statuses, as `build-index --check`'s: published, refused, the draft is invalid.
INVALID = 2

Out = Callable[[str], None]


@dataclass
class PublishResult:
    status: int
    target: Path | None = None
    check: CheckResult | None = None


def publish_draft(draft: Path, settings: Settings, embedder: Embedder, *, out: Out = print,
                  progress=None) -> PublishResult:
    """Lint the draft with the KB, copy it in, run the checked build; undo when refused."""
    draft = Path(draft)
    kb_dir = Path(settings.kb_dir)
    try:
        text = draft.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        out(f"error: {draft}: cannot read the draft as UTF-8 text ({exc})")
        return PublishResult(INVALID)
    article_text = drafts.strip_draft_fields(text)
    status, target = _precheck(draft, article_text, kb_dir, out)
    if target is None:
        return PublishResult(status)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("x", encoding="utf-8") as f:  # never over an article written meanwhile
            f.write(article_text)
    except FileExistsError:
        out(f"error: {draft}: field 'id': {target} already exists; give the draft another id")
        return PublishResult(INVALID)
    out(f"copied {draft} to {target}; running the checked build")
    try:
        result = check_and_publish(settings, embedder, out=out, progress=progress)
    except BaseException:
        _remove(target, out)
        raise
    if result.status != PUBLISHED:
        _remove(target, out)
        out(f"refused: the knowledge base and the published index are unchanged; fix the "
            f"draft ({draft}) and publish it again")
        return PublishResult(REFUSED, target, result)
    ticket = drafts.front_value(text, "source_ticket")
    out(f"published {target}" + (f" (from ticket {ticket})" if ticket else "")
        + f" in index version {result.build.manifest.version}; servers load it on "
        "`POST /admin/reload` (or by watching the index)")
    return PublishResult(PUBLISHED, target, result)


def _precheck(draft: Path, article_text: str, kb_dir: Path, out: Out) -> tuple[int, Path | None]:
    """Step 1 on copies: (status, the article's place in the KB, None when refused)."""
    categories, _ = load_categories(kb_dir / CATEGORIES_FILE)
    min_questions, _ = load_min_questions(kb_dir / CATEGORIES_FILE)
    with tempfile.TemporaryDirectory(prefix="assistant-draft-") as tmp:
        lone = Path(tmp) / "draft.md"
        lone.write_text(article_text, "utf-8")
        article, problems = parse_article(lone, categories=categories,
                                          min_questions=min_questions)
        errors = [p for p in problems if p.severity == "error"]
        if article is None or errors:
            for p in errors:
                out(f"error: {draft}: field '{p.field}': {p.message}")
            out(f"refused: {draft} is not a valid article; the knowledge base is unchanged")
            return INVALID, None
        target = kb_dir / article.lang / f"{article.id}.md"
        if target.exists():
            out(f"error: {draft}: field 'id': {target} already exists; give the draft another "
                "id (or edit that article instead)")
            return INVALID, None
        staging = Path(tmp) / "kb"
        for path in kb_files(kb_dir):
            copy = staging / path.relative_to(kb_dir)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copy)
        staged = staging / article.lang / f"{article.id}.md"
        staged.parent.mkdir(parents=True, exist_ok=True)
        staged.write_text(article_text, "utf-8")
        status = _lint_staged(draft, staged, staging, kb_dir, out)
    return (status, target) if status == PUBLISHED else (status, None)


def _lint_staged(draft: Path, staged: Path, staging: Path, kb_dir: Path, out: Out) -> int:
    """The build's validation and the one-article lint checks over the staged copy, told in
    the real paths: every error (the KB's own too: the build would refuse them), and the
    draft's warnings."""
    def real(path: str) -> str:
        if path == str(staged):
            return str(draft)
        return path.replace(str(staging), str(kb_dir), 1)

    kb, problems = check_kb(staging)
    invalid = [p for p in problems if p.severity == "error"]
    for p in problems:
        if p.severity == "error" or p.path == str(staged):
            out(str(KBProblem(real(p.path), p.field, p.message, p.severity)))
    if invalid:
        out(f"refused: {len(invalid)} error(s); the knowledge base is unchanged")
        return INVALID
    mine = [a for a in kb.articles if a.path == str(staged)]
    findings = (check_placeholders(mine) + check_short_questions(mine) + check_typography(mine)
                + [f for f in check_links(kb.articles) if f.path == str(staged)])
    for f in findings:
        out(f"{f.severity}: {f.check}: {draft} ({f.article}): {f.message}")
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        out(f"refused: the linter found {len(errors)} error(s); the knowledge base is unchanged")
        return REFUSED
    return PUBLISHED


def _remove(target: Path, out: Out) -> None:
    try:
        target.unlink()
    except FileNotFoundError:
        return
    out(f"removed {target} again")
