"""The knowledge-base linter: content problems the build accepts but users would feel.

The build (kb.py) stops on what makes a KB unusable; the linter adds what makes it answer
badly, reported per article so an editor can fix a batch in one pass:

- `kb`: every validation problem of kb.py (errors and warnings), including en/zh
  counterparts that disagree on category or handoff and unknown placeholders;
- `duplicate`: questions of two different articles that are near-duplicates (the articles
  will fight over the same messages), by the real embeddings and by rapidfuzz;
- `misrouted`: a question of an article that the real retriever, on an index built from
  this KB, ranks under another article;
- `short`: a question too short, or made only of function words, to mean anything;
- `placeholder`: placeholders where they are not filled in (titles, questions);
- `link`: Markdown links to unknown article ids, malformed URLs, and `http://` links.

The two retrieval checks need an index of this very KB: `lint_kb` uses the published one
when it matches the KB, else builds one in a temporary folder.
"""

from __future__ import annotations

import json
import re
import string
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.process import cdist

from assistant.core import languages
from assistant.knowledge import index as ix
from assistant.core.config import Settings
from assistant.knowledge.embedding import Embedder
from assistant.knowledge.kb import check_kb, content_hash
from assistant.understanding.text import EN_STOPWORDS, normalize
from assistant.core.types import Article, KBProblem, KnowledgeBase

Severity = Literal["error", "warning"]

#: A dense similarity is only trusted when the model reads this share of both texts' tokens
#: (the default model reads most Chinese characters as [UNK], so Chinese questions all look
#: alike to it); below, only the fuzzy similarity counts.
MIN_KNOWN_RATIO = 0.8
#: Function words of Chinese questions; a question made only of these says nothing.
ZH_STOPWORDS = frozenset((
    "的 了 吗 呢 吧 啊 呀 么 是 在 有 我 你 您 他 她 它 们 这 那 个 和 与 就 都 也 还 要 想 "
    "会 能 可以 怎么 怎样 怎么办 什么 为什么 如何 哪里 哪 谁 请问 请 问 一下 帮 帮忙 谢谢 "
    "你好 好 嗯 哦").split())
MIN_WORDS = 2
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_MD_LINK = re.compile(r"(?<!!)\[([^\]\n]*)\]\(([^)\s]*)(?:\s+\"[^\"]*\")?\)")
_BARE_URL = re.compile(r"(?<![(\w])(?:https?|ftp)://[^\s)>\]]+|(?<![\w/])www\.[^\s)>\]]+",
                       re.IGNORECASE)
_ARTICLE_LINK = re.compile(r"^(?:article:|#)([a-z0-9][a-z0-9_-]*)$")
_MD_FILE_LINK = re.compile(r"^(?:\.\./(?:en|zh)/|\./)?([a-z0-9][a-z0-9_-]*)\.md$")
_PLACEHOLDER_URL = re.compile(r"^\{(official_site)\}(/\S*)?$")


@dataclass(frozen=True)
class Finding:
    """One problem: which check found it, where, and the facts an editor needs."""

    check: str
    severity: Severity
    path: str
    article: str
    message: str
    details: dict = field(default_factory=dict)

    def __str__(self) -> str:
        where = f"{self.path} ({self.article})" if self.article else self.path
        return f"{self.severity}: {self.check}: {where}: {self.message}"


@dataclass
class LintReport:
    kb_dir: str
    findings: list[Finding]
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def failed(self, strict: bool = False) -> bool:
        """True when the KB should not pass: errors, or any finding under `strict`."""
        return bool(self.errors or (strict and self.warnings))

    def to_dict(self) -> dict:
        return {"kb_dir": self.kb_dir, "errors": len(self.errors),
                "warnings": len(self.warnings), "skipped": self.skipped, "notes": self.notes,
                "findings": [asdict(f) for f in self.findings]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    def to_markdown(self) -> str:
        lines = [f"# KB lint: {self.kb_dir}", "",
                 f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)."]
        lines += [f"Skipped: {s}" for s in self.skipped]
        lines += [f"Note: {s}" for s in self.notes]
        for check in dict.fromkeys(f.check for f in self.findings):
            group = [f for f in self.findings if f.check == check]
            lines += ["", f"## {check} ({len(group)})", "",
                      "| severity | file | article | problem |", "|---|---|---|---|"]
            lines += [f"| {f.severity} | {f.path} | {f.article} | {_cell(f.message)} |"
                      for f in group]
        return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# ------------------------------------------------------------------ entry point

def lint_kb(kb_dir: Path, settings: Settings, embedder: Embedder, *,
            index_root: Path | None = None,
            progress: Callable[[str], None] | None = None) -> LintReport:
    """Every check on `kb_dir`. `index_root` must hold an index of this KB as `current`;
    without it the configured index is used when it matches the KB, else one is built."""
    kb_dir = Path(kb_dir)
    kb, problems = check_kb(kb_dir)
    findings = [_from_problem(p, kb) for p in problems]
    findings += check_short_questions(kb.articles)
    findings += check_placeholders(kb.articles)
    findings += check_links(kb.articles)
    findings += check_typography(kb.articles)
    report = LintReport(str(kb_dir), findings)
    if any(p.severity == "error" for p in problems):
        report.skipped.append("duplicate and misrouted questions: fix the errors above first")
        return report
    with _index_for(kb_dir, settings, embedder, index_root, progress) as root:
        from assistant.tooling.evaluation import isolated_assistant

        manifest = ix.read_manifest(root)
        if manifest is not None and manifest.kb_hash != content_hash(kb_dir):
            report.notes.append(f"the index at {root} was built from another version of this "
                                "KB: duplicate and misrouted questions are those of that version")

        assistant, tmp = isolated_assistant(settings.model_copy(update={"index_dir": root}),
                                            embedder=embedder)
        with tmp:
            assistant.warm_up()
            loaded = assistant.index
            assert loaded is not None
            if progress:
                progress("comparing questions across articles")
            report.findings += check_duplicates(loaded, kb, embedder,
                                                settings.lint_duplicate_similarity)
            if progress:
                progress("retrieving every question")
            report.findings += check_misrouted(assistant, kb)
            assistant.close()
    return report


class _index_for:
    """Context manager yielding an index root of `kb_dir` (reused or built in a temp dir)."""

    def __init__(self, kb_dir: Path, settings: Settings, embedder: Embedder,
                 root: Path | None, progress: Callable[[str], None] | None) -> None:
        self.kb_dir, self.settings, self.embedder = kb_dir, settings, embedder
        self.root, self.progress = root, progress
        self._tmp: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> Path:
        if self.root is not None:
            return self.root
        configured = self.settings.index_dir
        try:
            manifest = ix.read_manifest(configured)
        except ix.IndexLoadError:
            manifest = None
        if manifest and manifest.kb_hash == content_hash(self.kb_dir) \
                and manifest.model == self.settings.model:
            return configured
        from assistant.tooling.build import build_index, build_options

        if self.progress:
            self.progress("building a temporary index of this KB")
        self._tmp = tempfile.TemporaryDirectory(prefix="assistant-lint-")
        root = Path(self._tmp.name) / "index"
        # The published index's vectors and classifiers: only what changed is recomputed.
        build_index(self.kb_dir, root, self.embedder, model_name=self.settings.model,
                    reuse_from=configured, **build_options(self.settings))
        return root

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


def _from_problem(p: KBProblem, kb: KnowledgeBase) -> Finding:
    """A kb.py validation problem as a finding (checked there, not again here)."""
    check = "kb"
    if p.field in ("category", "handoff") and "version says" in p.message:
        check = "counterpart"
    elif p.field == "body" and ("placeholder" in p.message):
        check = "placeholder"
    article = next((a.id for a in kb.articles if a.path == p.path), Path(p.path).stem)
    return Finding(check, p.severity, p.path, article, f"field '{p.field}': {p.message}")


# ------------------------------------------------------------------ text-only checks

def meaningful_words(text: str, lang: str) -> tuple[int, int]:
    """(words, content words) of a question; a Han character counts as a word in zh."""
    norm = normalize(text)
    latin = _LATIN_WORD.findall(norm)
    han = _HAN.findall(norm)
    if lang == "zh" or han:
        rest = norm
        for w in sorted(ZH_STOPWORDS, key=len, reverse=True):
            rest = rest.replace(w, " ")
        content = len(_HAN.findall(rest)) + sum(1 for w in _LATIN_WORD.findall(rest)
                                                 if w not in EN_STOPWORDS)
        return len(han) + len(latin), content
    return len(latin), sum(1 for w in latin if w not in EN_STOPWORDS)


def check_short_questions(articles: Iterable[Article]) -> list[Finding]:
    """Questions under two words (two Han characters in Chinese) or only function words."""
    out = []
    for a in articles:
        for q in a.questions:
            words, content = meaningful_words(q, a.lang)
            if words < MIN_WORDS:
                unit = "Han character(s) or word(s)" if a.lang == "zh" else "word(s)"
                why = f"has {words} {unit}; needs at least {MIN_WORDS}"
            elif content == 0:
                why = "is made only of function words"
            else:
                continue
            out.append(Finding("short", "warning", a.path, a.id,
                               f"question {q!r} {why}; write what the user is asking about",
                               {"question": q, "lang": a.lang}))
    return out


def _fields(text: str) -> list[str]:
    try:
        return [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    except ValueError:
        return ["{"]


def check_placeholders(articles: Iterable[Article]) -> list[Finding]:
    """Placeholders outside the body: titles and questions are shown or matched verbatim."""
    out = []
    for a in articles:
        if _fields(a.title):
            out.append(Finding("placeholder", "error", a.path, a.id,
                               f"title {a.title!r} has a placeholder or a brace; titles are "
                               "shown as written, so users would see it",
                               {"title": a.title}))
        for q in a.questions:
            if _fields(q):
                out.append(Finding("placeholder", "warning", a.path, a.id,
                                   f"question {q!r} has a placeholder; questions are matched "
                                   "as written, so write a real example (a chain, a token)",
                                   {"question": q}))
    return out


def check_typography(articles: Iterable[Article]) -> list[Finding]:
    """Chinese typography (full-width punctuation, no spaces or line breaks between Chinese
    characters) and placeholders whose default wording reads badly where they stand."""
    from assistant.deciding.typography import chinese_problems, placeholder_problems

    out = []
    for a in articles:
        language = languages.get(a.lang)
        chinese = language.cjk_typography
        problems = placeholder_problems(a.body, language.placeholder_defaults, chinese)
        if chinese:
            problems += chinese_problems(a.title) + chinese_problems(a.body)
        out += [Finding("typography", "warning", a.path, a.id, p) for p in problems]
    return out


def check_links(articles: Iterable[Article]) -> list[Finding]:
    """Markdown links to articles (`article:<id>`, `#<id>`, `<id>.md`) that do not exist,
    malformed URLs, and plain-http URLs."""
    articles = list(articles)
    ids = {a.id for a in articles}
    out = []
    for a in articles:
        for target in _link_targets(a.body):
            problem = _link_problem(target, ids)
            if problem:
                severity, message = problem
                out.append(Finding("link", severity, a.path, a.id, message, {"target": target}))
    return out


def _link_targets(body: str) -> list[str]:
    targets = [m.group(2) for m in _MD_LINK.finditer(body)]
    without_links = _MD_LINK.sub(" ", body)
    targets += [m.group(0).rstrip(".,;:!?。，；：！？") for m in _BARE_URL.finditer(without_links)]
    return targets


def _link_problem(target: str, ids: set[str]) -> tuple[Severity, str] | None:
    """(severity, message) when a link target is wrong, else None."""
    if not target:
        return "error", "link with an empty target"
    m = _ARTICLE_LINK.match(target) or _MD_FILE_LINK.match(target)
    if m:
        if m.group(1) not in ids:
            return "error", (f"link {target!r} points to article '{m.group(1)}', which does "
                             "not exist")
        return None
    if _PLACEHOLDER_URL.match(target) or target.startswith("mailto:"):
        return None
    if target.lower().startswith("www."):
        return "error", f"URL {target!r} has no scheme; write https://{target}"
    parsed = urlparse(target)
    if parsed.scheme not in ("http", "https"):
        return "error", (f"link target {target!r} is neither an https:// URL nor an article "
                         "link (article:<id>)")
    host = parsed.hostname or ""
    if not host or "." not in host or any(c.isspace() for c in target) or ".." in host:
        return "error", f"malformed URL {target!r}"
    if parsed.scheme == "http":
        return "warning", f"URL {target!r} uses http://; use https://"
    return None


# ------------------------------------------------------------------ retrieval checks

def check_duplicates(loaded: ix.LoadedIndex, kb: KnowledgeBase, embedder: Embedder,
                     threshold: float) -> list[Finding]:
    """Pairs of questions of different articles (same language) at or above `threshold`.

    The similarity is the larger of the rapidfuzz ratio (on normalised text, 0-1) and the
    cosine of the index's own vectors, the latter only when the model reads both texts.
    """
    vectors = loaded.vectors.vectors()
    paths = {(a.id, a.lang): a.path for a in kb.articles}
    known = getattr(embedder, "known_ratio", None)
    out = []
    for lang in languages.codes():
        rows = [i for i, e in enumerate(loaded.entries) if e.kind == "question" and e.lang == lang]
        if len(rows) < 2:
            continue
        texts = [normalize(loaded.entries[i].text) for i in rows]
        ids = np.array([loaded.entries[i].article_id for i in rows])
        fuzzy = np.maximum(cdist(texts, texts, scorer=fuzz.ratio, workers=1),
                           cdist(texts, texts, scorer=fuzz.token_sort_ratio, workers=1)) / 100.0
        vecs = vectors[rows]
        dense = vecs @ vecs.T
        readable = np.array([known(t) >= MIN_KNOWN_RATIO if known else True for t in texts])
        dense = np.where(np.outer(readable, readable), dense, 0.0)
        sim = np.maximum(fuzzy, dense)
        different = ids[:, None] != ids[None, :]
        upper = np.triu(np.ones_like(different), k=1).astype(bool)
        for i, j in zip(*np.nonzero((sim >= threshold) & different & upper)):
            a, b = loaded.entries[rows[i]], loaded.entries[rows[j]]
            out.append(Finding(
                "duplicate", "error", paths.get((a.article_id, lang), a.article_id),
                a.article_id,
                f"question {a.text!r} is nearly the same as {b.text!r} of article "
                f"'{b.article_id}' (similarity {sim[i, j]:.2f}); the two articles will fight "
                "over these messages: keep it in one of them",
                {"question": a.text, "other_article": b.article_id, "other_question": b.text,
                 "similarity": round(float(sim[i, j]), 4), "dense": round(float(dense[i, j]), 4),
                 "fuzzy": round(float(fuzzy[i, j]), 4), "lang": lang}))
    return out


def check_misrouted(assistant, kb: KnowledgeBase) -> list[Finding]:
    """Each KB question through the real retriever: report those another article wins.

    The questions' vectors are kept between runs (one store per model, in the model cache
    folder): after an edit, only the changed questions are embedded again."""
    from assistant.tooling.build import query_store

    prime = getattr(assistant.embedder, "prime", None)
    if prime:
        prime([normalize(q) for a in kb.articles for q in a.questions],
              store=query_store(assistant.settings, assistant.embedder))
    out = []
    for a in kb.articles:
        for q in a.questions:
            _, hits = assistant.understand(q)
            if not hits or hits[0].id == a.id:
                continue
            own = next((h.score for h in hits if h.id == a.id), None)
            own_text = f"{own:.3f}" if own is not None else "not in the candidates"
            out.append(Finding(
                "misrouted", "warning", a.path, a.id,
                f"question {q!r} is retrieved as article '{hits[0].id}' (score "
                f"{hits[0].score:.3f}; this article {own_text}): reword it, or move it to "
                f"'{hits[0].id}' if it belongs there",
                {"question": q, "winner": hits[0].id, "winner_score": round(hits[0].score, 4),
                 "own_score": round(own, 4) if own is not None else None}))
    return out
