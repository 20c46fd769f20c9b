"""Loading and validating the knowledge base.

Every file is checked and every problem is reported at once, each naming the file and the
field, so an editor fixes a whole batch in one pass. Errors stop a build; warnings do not.
"""

from __future__ import annotations

import hashlib
import logging
import re
import string
from collections import defaultdict
from importlib import resources
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from assistant.core import languages
from assistant.core.errors import KBValidationError
from assistant.core.types import (
    CATEGORIES,
    PLACEHOLDERS,
    Article,
    KBProblem,
    KnowledgeBase,
)

log = logging.getLogger(__name__)

OUT_OF_SCOPE_FILE = "out_of_scope.yaml"
CATEGORIES_FILE = "categories.yaml"
MIN_QUESTIONS = 3
MAX_LOGGED_WARNINGS = 20
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
REQUIRED = ("id", "title", "category", "lang", "questions")


def kb_files(kb_dir: Path) -> list[Path]:
    """Article files and the out-of-scope list, in a stable order (the content hash uses it)."""
    files = sorted(p for lang in languages.codes() for p in (kb_dir / lang).glob("*.md"))
    extra = [kb_dir / OUT_OF_SCOPE_FILE, kb_dir / CATEGORIES_FILE]
    return files + [p for p in extra if p.is_file()]


def content_hash(kb_dir: Path) -> str:
    """SHA-256 over relative paths and bytes: changes whenever an editor changes anything."""
    h = hashlib.sha256()
    for p in kb_files(kb_dir):
        h.update(p.relative_to(kb_dir).as_posix().encode())
        h.update(b"\0")
        h.update(p.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def load_kb(kb_dir: Path, *, strict: bool = True) -> KnowledgeBase:
    """Load and validate `kb_dir`. Raises KBValidationError listing every error when strict."""
    if not Path(kb_dir).is_dir():
        raise KBValidationError([KBProblem(str(kb_dir), "-", "folder does not exist")])
    kb, problems = check_kb(kb_dir)
    errors = [p for p in problems if p.severity == "error"]
    for w in kb.warnings[:MAX_LOGGED_WARNINGS]:
        log.warning("%s", w)
    if len(kb.warnings) > MAX_LOGGED_WARNINGS:
        log.warning("... and %d more warnings", len(kb.warnings) - MAX_LOGGED_WARNINGS)
    if errors and strict:
        raise KBValidationError(errors + list(kb.warnings))
    return kb


def check_kb(kb_dir: Path) -> tuple[KnowledgeBase, list[KBProblem]]:
    """Every problem of `kb_dir` (errors and warnings) and the articles that parsed.

    For tools that report rather than stop (the linter); files with errors are left out.
    """
    kb_dir = Path(kb_dir)
    problems: list[KBProblem] = []
    if not kb_dir.is_dir():
        return KnowledgeBase(()), [KBProblem(str(kb_dir), "-", "folder does not exist")]
    categories, found = load_categories(kb_dir / CATEGORIES_FILE)
    problems.extend(found)
    min_questions, found = load_min_questions(kb_dir / CATEGORIES_FILE)
    problems.extend(found)
    articles: list[Article] = []
    for path in (p for lang in languages.codes() for p in sorted((kb_dir / lang).glob("*.md"))):
        article, found = parse_article(path, expected_lang=path.parent.name,
                                       categories=categories, min_questions=min_questions)
        problems.extend(found)
        if article is not None:
            articles.append(article)
    unexpected = [p for p in kb_dir.glob("*/*.md") if p.parent.name not in languages.codes()]
    problems.extend(
        KBProblem(str(p), "lang", f"folder '{p.parent.name}' is not one of {', '.join(languages.codes())}")
        for p in unexpected
    )
    problems.extend(_check_collection(articles))
    out_of_scope, found = load_out_of_scope(kb_dir / OUT_OF_SCOPE_FILE)
    problems.extend(found)
    if not articles and not any(p.severity == "error" for p in problems):
        problems.append(KBProblem(str(kb_dir), "-", "no articles found under "
                                  + " or ".join(f"{c}/" for c in languages.codes())))
    warnings = tuple(p for p in problems if p.severity == "warning")
    return KnowledgeBase(tuple(articles), tuple(out_of_scope), warnings, categories), problems


def parse_article(path: Path, expected_lang: str | None = None,
                  categories: tuple[str, ...] = CATEGORIES, min_questions: int = MIN_QUESTIONS
                  ) -> tuple[Article | None, list[KBProblem]]:
    """Parse one article file; returns the article (None if unusable) and its problems."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [KBProblem(where, "-", f"cannot read file as UTF-8: {exc}")]
    if not text.lstrip("\ufeff").startswith("---"):
        return None, [KBProblem(where, "front matter",
                                "file must start with '---' and a YAML front matter block")]
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        return None, [KBProblem(where, "front matter", f"invalid YAML: {_yaml_reason(exc)}")]
    meta: dict[str, Any] = dict(post.metadata)
    problems = [KBProblem(where, f, "missing required field") for f in REQUIRED if f not in meta]
    if problems:
        return None, problems

    def err(field: str, msg: str) -> None:
        problems.append(KBProblem(where, field, msg))

    art_id, title, category, lang = meta["id"], meta["title"], meta["category"], meta["lang"]
    if not isinstance(art_id, str) or not ID_PATTERN.match(art_id):
        err("id", f"{art_id!r} must be lowercase letters, digits, '-' or '_' (max 80)")
    if not isinstance(title, str) or not title.strip():
        err("title", "must be a non-empty string")
    if category not in categories:
        shown = ", ".join(categories[:12]) + (", ..." if len(categories) > 12 else "")
        err("category", f"{category!r} is not one of {shown}")
    if lang not in languages.codes():
        err("lang", f"{lang!r} is not one of {', '.join(languages.codes())}")
    elif expected_lang and lang != expected_lang:
        err("lang", f"{lang!r} but the file is in the '{expected_lang}/' folder")
    questions = meta["questions"]
    if not isinstance(questions, list) or not all(isinstance(q, str) for q in questions):
        err("questions", "must be a list of strings")
        questions = []
    questions = [q.strip() for q in questions if q.strip()]
    if len(questions) < min_questions:
        err("questions", f"has {len(questions)}, needs at least {min_questions} phrasings")
    if len(set(q.lower() for q in questions)) < len(questions):
        err("questions", "contains the same question twice")
    tags = meta.get("tags", []) or []
    if not isinstance(tags, list) or not all(isinstance(t, (str, int)) for t in tags):
        err("tags", "must be a list of strings")
        tags = []
    handoff = meta.get("handoff", False)
    if not isinstance(handoff, bool):
        err("handoff", f"{handoff!r} must be true or false")
    unknown = set(meta) - set(REQUIRED) - {"tags", "handoff"}
    for f in sorted(unknown):
        problems.append(KBProblem(where, f, "unknown field (ignored)", "warning"))
    body = post.content.strip()
    if not body:
        err("body", "the answer text after the front matter is empty")
    problems.extend(_check_placeholders(where, body))
    if any(p.severity == "error" for p in problems):
        return None, problems
    return (
        Article(
            id=art_id, title=title.strip(), category=category, lang=lang,
            questions=tuple(questions), body=body, tags=tuple(str(t) for t in tags),
            handoff=bool(handoff), path=where,
        ),
        problems,
    )


GENERAL_OUT_OF_SCOPE = "general_out_of_scope.yaml"


def general_out_of_scope() -> tuple[str, ...]:
    """Out-of-scope examples shipped with the product (chit-chat, other topics, nonsense;
    no product's own questions), for a knowledge base that lists none of its own."""
    path = Path(str(resources.files("assistant").joinpath("data", GENERAL_OUT_OF_SCOPE)))
    questions, problems = load_out_of_scope(path)
    if problems:
        raise KBValidationError(problems)
    return tuple(questions)


def load_out_of_scope(path: Path) -> tuple[list[str], list[KBProblem]]:
    """The optional list of questions the assistant should decline: `questions: [..]`."""
    if not path.is_file():
        return [], []
    where = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return [], [KBProblem(where, "-", f"invalid YAML: {_yaml_reason(exc)}")]
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        return [], [KBProblem(where, "questions", "expected a mapping with a 'questions' list")]
    items = data["questions"]
    if not all(isinstance(q, str) and q.strip() for q in items):
        return [], [KBProblem(where, "questions", "every entry must be a non-empty string")]
    return [q.strip() for q in items], []


def load_categories(path: Path) -> tuple[tuple[str, ...], list[KBProblem]]:
    """The KB's categories: `categories: [..]` in categories.yaml, else the wallet's six."""
    if not path.is_file():
        return CATEGORIES, []
    where = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return CATEGORIES, [KBProblem(where, "-", f"invalid YAML: {_yaml_reason(exc)}")]
    items = data.get("categories") if isinstance(data, dict) else None
    if (not isinstance(items, list) or len(items) < 2
            or not all(isinstance(c, str) and ID_PATTERN.match(c) for c in items)):
        return CATEGORIES, [KBProblem(where, "categories", "expected a list of at least two "
                                      "names (lowercase letters, digits, '-', '_')")]
    if "out_of_scope" in items:
        return CATEGORIES, [KBProblem(where, "categories", "'out_of_scope' is reserved; list "
                                      "such questions in out_of_scope.yaml")]
    return tuple(items), []


def load_min_questions(path: Path) -> tuple[int, list[KBProblem]]:
    """Phrasings each article needs: `min_questions` in categories.yaml (a KB made from a
    labelled dataset may have labels with one example), else `MIN_QUESTIONS`."""
    if not path.is_file():
        return MIN_QUESTIONS, []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        return MIN_QUESTIONS, []  # reported by load_categories
    value = data.get("min_questions", MIN_QUESTIONS) if isinstance(data, dict) else MIN_QUESTIONS
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        return MIN_QUESTIONS, [KBProblem(str(path), "min_questions",
                                         "expected a whole number of at least 1")]
    return value, []


def _check_placeholders(where: str, body: str) -> list[KBProblem]:
    try:
        fields = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(body)
                  if f is not None]
    except ValueError as exc:
        return [KBProblem(where, "body", f"broken placeholder braces ({exc}); "
                                         "write '{{' and '}}' for literal braces")]
    names = [f for f, _, _ in fields]
    problems = []
    for name, spec, conv in fields:
        if spec or conv:  # `{amount:d}` fails at answer time, `{chain!r}` shows quotes
            suffix = (f"!{conv}" if conv else "") + (f":{spec}" if spec else "")
            problems.append(KBProblem(
                where, "body", f"placeholder {{{name}{suffix}}} has a format; write just "
                f"{{{name}}}"))
    for name in sorted(set(names)):
        if name not in PLACEHOLDERS:
            problems.append(KBProblem(
                where, "body", f"unknown placeholder {{{name}}}; allowed: "
                + ", ".join("{" + p + "}" for p in PLACEHOLDERS)))
    return problems


def _check_collection(articles: list[Article]) -> list[KBProblem]:
    """Checks across files: duplicate ids, missing counterparts, counterparts that disagree."""
    problems: list[KBProblem] = []
    by_key: dict[tuple[str, str], list[Article]] = defaultdict(list)
    for a in articles:
        by_key[(a.lang, a.id)].append(a)
    for (lang, art_id), group in sorted(by_key.items()):
        if len(group) > 1:
            others = ", ".join(a.path for a in group[1:])
            problems.append(KBProblem(group[0].path, "id",
                                      f"duplicate id '{art_id}' in {lang} (also in {others})"))
    langs_by_id: dict[str, dict[str, Article]] = defaultdict(dict)
    for a in articles:
        langs_by_id[a.id][a.lang] = a
    present = [lang for lang in languages.codes() if any(a.lang == lang for a in articles)]
    for art_id, versions in sorted(langs_by_id.items()):
        for lang in present:  # a one-language KB is fine; a half-translated one is flagged
            if lang not in versions:
                some = next(iter(versions.values()))
                problems.append(KBProblem(some.path, "id",
                                          f"'{art_id}' has no {lang} counterpart", "warning"))
        ordered = [versions[lang] for lang in languages.codes() if lang in versions]
        first = ordered[0]  # the default language's version when there is one
        for other in ordered[1:]:
            if other.category != first.category:
                problems.append(KBProblem(other.path, "category", f"'{other.category}' but the "
                                          f"{first.lang} version says '{first.category}'"))
            if other.handoff != first.handoff:
                problems.append(KBProblem(other.path, "handoff", f"{other.handoff} but the "
                                          f"{first.lang} version says {first.handoff}"))
    return problems


def _yaml_reason(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{problem} (line {mark.line + 1})" if mark is not None else str(problem)
