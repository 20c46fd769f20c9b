"""Statistics and content gaps from a day of stored (redacted) traffic."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient

from assistant.handoff import insights
from assistant.web.app import create_app
from assistant.cli import main
from assistant.core.config import Settings
from assistant.handoff.queue import NewTicket, SqliteHandoffQueue
from assistant.service import Assistant

NFT = ["how do I see my NFTs in the wallet", "my NFT collection is not showing",
       "NFTs I bought don't appear in my wallet", "where can I view my NFTs", "NFT 不显示怎么办",
       "钱包里看不到我的NFT"]
STAKE = ["how do I stake TRX to earn rewards", "staking rewards not received",
         "how can I stake my tokens in the app", "where do I unstake my TRX",
         "质押TRX怎么领取奖励", "怎么质押代币赚收益"]
OTHER = ["what's the weather tomorrow", "tell me a joke"]


def _day_of_traffic(q: SqliteHandoffQueue) -> None:
    for text in NFT:
        q.record_turn({"session_id": None, "lang": "zh" if "不" in text or "钱包" in text
                       else "en", "query": text, "action": "handoff", "reason": "low confidence",
                       "category": "how_to"})
    for text in STAKE[:-1]:
        q.record_turn({"lang": "en", "query": text, "action": "decline",
                       "reason": "out of scope"})
    q.add_feedback({"lang": "zh", "query": STAKE[-1], "helpful": False})
    for text in OTHER:
        q.record_turn({"lang": "en", "query": text, "action": "decline", "reason": "out of scope"})
    for _ in range(5):  # asking for a person is not a content gap
        q.record_turn({"lang": "zh", "query": "转人工", "action": "handoff",
                       "reason": "user asked for a person"})
        q.record_turn({"lang": "en", "query": "I forgot my password", "action": "answer",
                       "reason": "confident match", "article_id": "forgot-password"})


@pytest.mark.slow
def test_gaps_group_unanswered_themes_largest_first(tmp_path, embedder):
    q = SqliteHandoffQueue(tmp_path / "q.sqlite3").open()
    _day_of_traffic(q)
    items = insights.gap_items(q.events(insights.since(1)))
    assert len(items) == len(NFT) + len(STAKE) + len(OTHER)
    assert all(i.text not in ("转人工", "I forgot my password") for i in items)
    found = insights.gaps(items, embedder, distance=Settings().gaps_distance, top=5)
    top_two = [set(g.examples) for g in found[:2]]
    sizes = [g.size for g in found[:2]]
    assert sizes[0] >= 4 and sizes[1] >= 4
    assert any(s <= set(NFT) for s in top_two) and any(s <= set(STAKE) for s in top_two)
    for g in found:  # no group mixes two themes
        assert not (set(g.examples) & set(NFT) and set(g.examples) & set(STAKE))
    nft = next(g for g in found if set(g.examples) <= set(NFT))
    assert nft.kinds == {"handoff": nft.size} and nft.categories == {"how_to": nft.size}
    md = insights.gaps_markdown(found, 1, len(items))
    assert md.startswith("# Content gaps") and nft.examples[0] in md
    q.close()


@pytest.mark.slow
def test_gaps_command_writes_markdown_and_json(tmp_path, monkeypatch, capsys, tiny_index):
    kb, index = tiny_index
    q = SqliteHandoffQueue(tmp_path / "data" / "handoff.sqlite3").open()
    _day_of_traffic(q)
    q.close()
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSISTANT_THRESHOLDS_FILE", str(tmp_path / "none.json"))
    assert main(["gaps", "--days", "1", "--top", "3", "--out", str(tmp_path / "gaps")]) == 0
    data = json.loads((tmp_path / "gaps.json").read_text("utf-8"))
    assert data["unanswered"] == 14 and len(data["groups"]) == 3
    assert data["groups"][0]["size"] >= data["groups"][1]["size"] >= data["groups"][2]["size"]
    assert "# Content gaps" in capsys.readouterr().out
    assert (tmp_path / "gaps.md").read_text("utf-8").count("## ") == 3
    assert main(["gaps", "--days", "0"]) == 1


def test_stats_count_what_the_api_decided(fake_settings, fake_embedder):
    token = "admin-token-0123456789"
    s = fake_settings.model_copy(update={"admin_token": token})
    messages = ["I forgot my wallet password", "my transaction failed", "钱包密码忘了怎么办",
                "what's the weather today", "tell me a joke", "转人工"]
    with TestClient(create_app(s, Assistant(s, embedder=fake_embedder))) as c:
        actions = [c.post("/answer", json={"query": m, "skip_details": True}).json()
                   for m in messages]
        c.post("/feedback", json={"helpful": True, "query": messages[0]})
        c.post("/feedback", json={"helpful": False, "query": messages[1]})
        assert c.get("/admin/stats").status_code == 401
        got = c.get("/admin/stats?days=1", headers={"Authorization": f"Bearer {token}"}).json()
        bad = c.get("/admin/stats?days=0", headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 422
    expected = Counter(a["action"] for a in actions)
    assert got["messages"] == {a: expected.get(a, 0) for a in insights.ACTIONS} | {
        "total": len(messages)}
    today = datetime.now(timezone.utc).date().isoformat()
    assert got["per_day"][today]["total"] == len(messages)
    langs = Counter(a["lang"] for a in actions)
    assert {k: v["total"] for k, v in got["per_language"].items()} == dict(langs)
    assert got["feedback"] == {"helpful": 1, "not_helpful": 1, "helpful_rate": 0.5}
    assert got["queue"]["open"] == sum(1 for a in actions if a["ticket"])


def test_queue_waits_and_ratings(tmp_path):
    q = SqliteHandoffQueue(tmp_path / "q.sqlite3").open()
    clock_times = iter(datetime(2026, 11, 25, 3, m, tzinfo=timezone.utc) for m in range(0, 60, 5))
    q.clock = lambda: next(clock_times)
    a = q.create(NewTicket(query="x", lang="en", reason="low confidence"))  # 03:00
    b = q.create(NewTicket(query="y", lang="en", reason="low confidence",
                           priority="urgent"))  # 03:05
    q.claim(a.id, "alice")  # 03:10 → waited 10 minutes
    q.resolve(a.id, "alice", "ok")  # 03:15
    q.rate(a.id, 4, None)  # 03:20
    got = insights.stats(q.events("2026-11-25"),
                         now=datetime(2026, 11, 25, 4, 5, tzinfo=timezone.utc))
    assert got["queue"]["median_wait_minutes"] == pytest.approx(10.0)
    assert got["queue"]["open"] == 1 and got["queue"]["urgent_open"] == 1
    assert got["queue"]["oldest_open_minutes"] == pytest.approx(60.0)
    assert got["queue"]["mean_rating"] == 4 and got["queue"]["resolved"] == 1
    assert b.id != a.id
    q.close()


def test_satisfaction_by_team_agent_and_channel(make_queue):
    q = make_queue()
    rated = [("tier1", "alice", 5, "fast"), ("tier1", "bob", 2, "slow answer"),
             ("tier2", "bob", 4, None), ("tier1", "alice", 3, "ok")]
    for team, agent, score, comment in rated:
        t = q.create(NewTicket(query="q", lang="en", reason="r", team=team,
                               channel="email" if team == "tier2" else "chat"))
        q.claim(t.id, agent)
        q.resolve(t.id, agent, "done")
        q.rate(t.id, score, comment)
    q.create(NewTicket(query="unrated", lang="en", reason="r"))
    got = insights.stats(q.events("2000"))["satisfaction"]
    assert {k: (v["rated"], v["mean"]) for k, v in got["by_team"].items()} == {
        "tier1": (3, 3.33), "tier2": (1, 4.0)}
    assert {k: (v["rated"], v["mean"]) for k, v in got["by_agent"].items()} == {
        "alice": (2, 4.0), "bob": (2, 3.0)}
    assert got["by_agent"]["bob"]["scores"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 0}
    assert [c["text"] for c in got["by_agent"]["bob"]["comments"]] == ["slow answer"]
    assert set(got["by_channel"]) == {"chat", "email"}
