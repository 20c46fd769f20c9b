"""Measuring the redaction (offline tooling, used by `assistant eval` and the tests).

Recall: every secret `secret_cases` types, message by message through a `SessionWindow` as
a conversation would send them, with the earlier parts scrubbed when a later message
completes a phrase; whatever is left is searched with `leaks`. False positives: ordinary
sentences in both languages and both Chinese scripts, which must come out unchanged.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from assistant.knowledge.kb import load_kb
from assistant.understanding.redaction import PHRASE_MARK, SessionWindow, redact
from assistant.tooling.secret_cases import SecretCase, leaks, ordinary_sentences, secret_cases

#: Six words of twelve leave 66 bits to guess: not a phrase a thief can finish, and not
#: always told apart from a list of everyday words. Measured and reported, not promised.
BEST_EFFORT_SHAPES = frozenset({"en12_partial6"})
_SENTENCE = re.compile(r"(?<=[。！？!?.；;\n])")


def stored_after(case: SecretCase) -> list[str]:
    """What a conversation would have stored of the case's messages after redaction."""
    window = SessionWindow()
    stored: list[str] = []
    for message in case.messages:
        red, earlier = window.redact("conversation", message)
        for fragment in earlier:
            stored = [s.replace(fragment, PHRASE_MARK) for s in stored]
        stored.append(red.text)
    return stored


def recall_report(seeds: range = range(3)) -> dict:
    """Cases per shape and how many left a fragment (four words in a row, a key piece)."""
    total: Counter[str] = Counter()
    leaked: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    for seed in seeds:
        for case in secret_cases(seed=seed):
            total[case.shape] += 1
            found = leaks(case, "\n".join(stored_after(case)))
            if found:
                leaked[case.shape] += 1
                examples.setdefault(case.shape, found[:2])
    promised = [s for s in total if s not in BEST_EFFORT_SHAPES]
    caught = sum(total[s] - leaked[s] for s in promised)
    return {"cases": sum(total[s] for s in promised), "caught": caught,
            "recall": round(caught / max(1, sum(total[s] for s in promised)), 4),
            "shapes": len(promised), "leaked_shapes": {s: leaked[s] for s in promised
                                                       if leaked[s]},
            "best_effort": {s: {"cases": total[s], "caught": total[s] - leaked[s]}
                            for s in sorted(BEST_EFFORT_SHAPES) if total[s]}}


def ordinary_corpus(kb_dir: Path, eval_dir: Path, generated: int = 3000) -> list[tuple[str, str]]:
    """(source, sentence): every KB title, question and body sentence (the Chinese ones also
    in traditional characters), every eval row, and generated sentences that talk about
    phrases and keys next to ordinary words, numbers, hashes and addresses."""
    from assistant.understanding.text import to_traditional

    out: list[tuple[str, str]] = []
    kb = load_kb(kb_dir)
    for a in kb.articles:
        parts = [a.title, *a.questions, *(s.strip() for s in _SENTENCE.split(a.body))]
        for text in filter(None, parts):
            out.append((f"kb-{a.lang}", text))
            if a.lang == "zh":
                out.append(("kb-zh-hant", to_traditional(text)))
    out += [("kb-out-of-scope", q) for q in kb.out_of_scope]
    for path in sorted(eval_dir.glob("*.jsonl")) + sorted(eval_dir.glob("*/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append((f"eval-{path.parent.name}/{path.stem}", json.loads(line)["text"]))
    out += [(f"generated-{lang}", text) for lang, text in ordinary_sentences(n=generated)]
    return out


def false_positive_report(corpus: list[tuple[str, str]]) -> dict:
    """How many ordinary sentences the redaction changed, by source (should be none)."""
    by_source: Counter[str] = Counter(src for src, _ in corpus)
    hit = [(src, text) for src, text in corpus if redact(text).found]
    # The same sentences typed as one conversation, three to a session (as the chat sends
    # them), so the window that joins split phrases is measured too.
    window = SessionWindow()
    in_session = []
    for i, (_, text) in enumerate(corpus):
        red, scrub = window.redact(f"fp-{i // 3}", text)
        if red.found or scrub:
            in_session.append(text)
    return {"sentences": len(corpus), "redacted": len(hit),
            "redacted_in_sessions": len(in_session),
            "by_source": dict(sorted(by_source.items())),
            "examples": [text for _, text in hit[:10]],
            "examples_in_sessions": in_session[:10]}
