"""What happened, and what the knowledge base fails to answer.

`stats` counts decisions per day, category and language, helpfulness and the queue's state:
the numbers behind `GET /admin/stats`. `gaps` groups the messages the assistant could not
answer (handoffs for low confidence, declines, clarifications, not-helpful feedback) by
similarity, so editors see which article to write next. Both read the (redacted) events the
queue stores; neither sees a secret.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np

from assistant.deciding.answerer import REASON_HUMAN, REASON_SCAM, REASON_THEFT
from assistant.knowledge.embedding import Embedder
from assistant.understanding.text import analyze, normalize

ACTIONS = ("answer", "clarify", "handoff", "decline")
#: Handoffs that are not content gaps: the user asked for a person, or an article answered
#: and also routed to one, or a follow-up of a handoff already counted.
_NOT_GAPS = {REASON_HUMAN, REASON_THEFT, REASON_SCAM, "article routes to a person",
             "details received", "repeated request"}


def since(days: float, now: datetime | None = None) -> str:
    """The ISO time `days` ago, in the queue's timestamp format."""
    start = (now or datetime.now(timezone.utc)) - timedelta(days=days)
    return start.astimezone(timezone.utc).isoformat(timespec="microseconds")


def stats(events: dict[str, list[dict]], now: datetime | None = None) -> dict:
    """Decisions per day, category and language; helpfulness; queue size and waits."""
    now = now or datetime.now(timezone.utc)
    turns, feedback, tickets = events["turns"], events["feedback"], events["tickets"]

    def counts(rows: list[dict]) -> dict[str, int]:
        c = Counter(r["action"] for r in rows)
        return {a: c.get(a, 0) for a in ACTIONS} | {"total": len(rows)}

    def grouped(key) -> dict[str, dict[str, int]]:
        groups: dict[str, list[dict]] = defaultdict(list)
        for r in turns:
            groups[key(r) or "unknown"].append(r)
        return {k: counts(v) for k, v in sorted(groups.items())}

    helpful = sum(1 for f in feedback if f["helpful"])
    waits = [_minutes(t["created_at"], t["claimed_at"]) for t in tickets if t["claimed_at"]]
    open_tickets = [t for t in tickets if t["status"] == "open"]
    ratings = [t["rating"] for t in tickets if t["rating"]]
    status = Counter(t["status"] for t in tickets)
    return {
        "messages": counts(turns),
        "per_day": grouped(lambda r: r["at"][:10]),
        "per_category": grouped(lambda r: r["category"]),
        "per_language": grouped(lambda r: r["lang"]),
        "feedback": {"helpful": helpful, "not_helpful": len(feedback) - helpful,
                     "helpful_rate": round(helpful / len(feedback), 4) if feedback else None},
        "queue": {
            "open": len(open_tickets),
            "claimed": status.get("claimed", 0),
            "resolved": status.get("resolved", 0),
            "abandoned": status.get("abandoned", 0),
            "urgent_open": sum(1 for t in open_tickets if t["priority"] == "urgent"),
            "oldest_open_minutes": round(max((_minutes(t["created_at"], now)
                                              for t in open_tickets), default=0.0), 1),
            "median_wait_minutes": round(statistics.median(waits), 1) if waits else None,
            "mean_rating": round(statistics.fmean(ratings), 2) if ratings else None,
        },
        "gap_candidates": len(gap_items(events)),
        "satisfaction": {
            "by_team": _ratings(tickets, "team"),
            "by_agent": _ratings(tickets, "agent"),
            "by_channel": _ratings(tickets, "channel"),
        },
        "reopened": sum(1 for t in tickets if t.get("reopened")),
    }


#: Comments shown per team or agent: the newest, so the page stays short.
RECENT_COMMENTS = 10


def _ratings(tickets: list[dict], key: str) -> dict[str, dict]:
    """Satisfaction per team, agent or channel: how many rated, the mean, the spread of
    scores and the newest comments (what the FAQ and agents' training learn from)."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for t in tickets:
        if t.get("rating"):
            groups[t.get(key) or "unknown"].append(t)
    out = {}
    for name, rows in sorted(groups.items()):
        scores = [int(r["rating"]) for r in rows]
        spread = Counter(scores)
        newest = sorted(rows, key=lambda r: r.get("resolved_at") or r["created_at"],
                        reverse=True)
        out[name] = {
            "rated": len(scores), "mean": round(statistics.fmean(scores), 2),
            "scores": {str(k): spread.get(k, 0) for k in range(1, 6)},
            "comments": [{"ticket": r["id"], "rating": r["rating"], "text": r["rating_comment"]}
                         for r in newest if r.get("rating_comment")][:RECENT_COMMENTS],
        }
    return out


@dataclass
class GapItem:
    text: str
    lang: str
    kind: str  # handoff, decline, clarify or not_helpful
    category: str | None = None


@dataclass
class Gap:
    size: int
    kinds: dict[str, int]
    languages: dict[str, int]
    categories: dict[str, int]
    examples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"size": self.size, "kinds": self.kinds, "languages": self.languages,
                "categories": self.categories, "examples": self.examples}


def gap_items(events: dict[str, list[dict]]) -> list[GapItem]:
    """The messages that point at missing or weak content."""
    items = [GapItem(t["query"], t["lang"], t["action"], t.get("category"))
             for t in events["turns"]
             if t["action"] in ("handoff", "decline", "clarify")
             and t.get("reason") not in _NOT_GAPS]
    items += [GapItem(f["query"], f.get("lang") or "en", "not_helpful", None)
              for f in events["feedback"] if not f["helpful"] and f.get("query")]
    return [i for i in items if i.text and i.text.strip()]


def gaps(items: list[GapItem], embedder: Embedder, *, distance: float, top: int,
         examples: int = 5, max_items: int = 5000) -> list[Gap]:
    """Groups of similar unanswered messages, largest first.

    Similarity mixes the embedding model (weighted by how much of the text it can read) with
    character and word n-grams, so Chinese groups as well as English does.
    """
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    items = items[-max_items:]
    if not items:
        return []
    if len(items) == 1:
        labels = np.zeros(1, dtype=int)
    else:
        texts = [normalize(i.text) for i in items]
        lexical = TfidfVectorizer(analyzer=analyze, sublinear_tf=True).fit_transform(texts)
        dense = embedder.encode(texts)
        share = np.array([[embedder.known_ratio(t)] for t in texts], dtype=np.float32)
        features = np.hstack([dense * np.sqrt(share), lexical.toarray() * np.sqrt(1.0 - share / 2)])
        features /= np.linalg.norm(features, axis=1, keepdims=True) + 1e-12
        labels = AgglomerativeClustering(n_clusters=None, distance_threshold=distance,
                                         metric="cosine", linkage="average").fit_predict(features)
    groups: dict[int, list[GapItem]] = defaultdict(list)
    for label, item in zip(labels, items):
        groups[int(label)].append(item)
    result = []
    for members in groups.values():
        seen: list[str] = []
        for m in members:  # distinct examples, in order of arrival
            if m.text not in seen:
                seen.append(m.text)
        result.append(Gap(
            size=len(members),
            kinds=dict(Counter(m.kind for m in members).most_common()),
            languages=dict(Counter(m.lang for m in members).most_common()),
            categories=dict(Counter(m.category for m in members if m.category).most_common()),
            examples=seen[:examples]))
    result.sort(key=lambda g: (-g.size, g.examples[0] if g.examples else ""))
    return result[:top]


def gaps_markdown(found: list[Gap], days: float, total: int) -> str:
    lines = [f"# Content gaps, last {days:g} day(s)", "",
             f"{total} unanswered message(s) (handoffs for low confidence, declines, "
             "clarifications, not-helpful feedback), largest groups first.", ""]
    if not found:
        lines.append("Nothing to report: every message was answered.")
    for n, g in enumerate(found, 1):
        kinds = ", ".join(f"{k} {v}" for k, v in g.kinds.items())
        langs = ", ".join(f"{k} {v}" for k, v in g.languages.items())
        cats = ", ".join(g.categories) or "none"
        lines += [f"## {n}. {g.size} message(s): {g.examples[0]}", "",
                  f"- outcomes: {kinds}", f"- languages: {langs}", f"- categories: {cats}",
                  "- examples:"]
        lines += [f"  - {e}" for e in g.examples]
        lines.append("")
    return "\n".join(lines)


def _minutes(start: str, end: str | datetime) -> float:
    a = datetime.fromisoformat(start)
    b = end if isinstance(end, datetime) else datetime.fromisoformat(end)
    return max((b - a).total_seconds() / 60, 0.0)
