"""The evaluator: eval-set checks, exact metrics on hand-made traces, tuning, reports."""

from __future__ import annotations

import json

import pytest
from rapidfuzz import fuzz

from assistant.tooling import evaluation as ev
from assistant.deciding.answerer import Thresholds
from assistant.core.config import ROOT, load_settings
from assistant.knowledge.kb import load_kb
from assistant.understanding.retrieval import Weights
from assistant.service import Trace
from assistant.core.types import OUT_OF_SCOPE, Hit, Intent

TH = Thresholds(answer=0.5, clarify=0.3, margin=0.05, decline=0.5)
IN = Intent("transaction", 0.8, 0.05, {"transaction": 0.8})
OOS = Intent(OUT_OF_SCOPE, 0.8, 0.8, {OUT_OF_SCOPE: 0.8})


def obs(text, action, articles, hits, intent=IN, lang="en", category="transaction"):
    row = ev.EvalRow(text, lang, action, category, tuple(articles))
    return ev.Observation(row, Trace(text, lang, intent, tuple(
        Hit(id=i, category="transaction", score=s) for i, s in hits), 10.0))


@pytest.fixture
def handmade():
    return [
        obs("q1", "answer", ["a"], [("a", 0.9), ("b", 0.2)]),            # right answer
        obs("q2", "answer", ["a"], [("b", 0.8), ("a", 0.3)]),            # confident wrong
        obs("q3", "answer", ["c"], [("c", 0.4), ("d", 0.39)]),           # clarify, contains c
        obs("q4", "decline", [], [("a", 0.2)], OOS, category="x"),       # decline, right
        obs("q5", "handoff", [], [("a", 0.1)], lang="zh"),               # low -> handoff, right
        obs("talk to a human", "handoff", [], [("a", 0.9)]),             # asked for a person
    ]


def test_metrics_are_exact_on_handmade_traces(handmade):
    ds = ev.redecide(handmade, TH, {})
    assert [d.action for d in ds] == ["answer", "answer", "clarify", "decline", "handoff",
                                      "handoff"]
    m = ev.metrics(handmade, ds)
    assert m["answer_accuracy"] == 0.5            # 1 of 2 answered correctly
    assert m["coverage"] == round(2 / 3, 4)       # 2 of 3 answer rows answered
    assert m["wrong_answer_rate"] == round(1 / 6, 4)
    assert m["handoff_precision"] == 1.0 and m["handoff_recall"] == 1.0
    assert m["decline_precision"] == 1.0 and m["decline_recall"] == 1.0
    assert m["hit_at_1"] == round(2 / 3, 4) and m["hit_at_3"] == 1.0
    assert m["mrr"] == round((1 + 0.5 + 1) / 3, 4)
    assert m["clarify_contains_answer"] == 1.0


def test_report_has_the_contract_keys_per_language_and_category(handmade):
    rep = ev.report(handmade, ev.redecide(handmade, TH, {}), TH, "mini")
    for key in ev.METRIC_KEYS:
        assert key in rep and key in rep["by_lang"]["en"] and key in rep["by_category"]["x"]
    assert set(rep["by_lang"]) == {"en", "zh"}
    assert rep["by_lang"]["zh"]["n"] == 1


def test_tune_respects_the_wrong_answer_target(handmade):
    result = ev.tune(handmade, {}, TH, max_wrong_rate=0.0)
    assert result.feasible and result.metrics["wrong_answer_rate"] == 0.0
    assert result.thresholds.answer > 0.8  # q2 (0.8, wrong) must not be answered
    loose = ev.tune(handmade, {}, TH, max_wrong_rate=0.2)
    assert loose.metrics["coverage"] >= result.metrics["coverage"]


def test_tune_weights_prefers_the_evidence_that_ranks_right():
    rows = []
    for i in range(5):
        row = ev.EvalRow(f"q{i}", "en", "answer", "t", ("good",))
        hits = (Hit(id="bad", category="t", score=0, dense=0.9, lexical=0.1),
                Hit(id="good", category="t", score=0, dense=0.5, lexical=0.9))
        rows.append(ev.Observation(row, Trace(row.text, "en", IN, hits, 1.0, 1.0)))
    w, mrr = ev.tune_weights(rows, Weights(0.5, 0.3, 0.1, 0.1))
    assert mrr == 1.0 and w.lexical > 0


def test_write_report_and_thresholds(tmp_path, handmade, fake_settings):
    per_lang = {"en": TH, "zh": TH}
    rep = ev.report(handmade, ev.redecide(handmade, per_lang, {}), per_lang, "mini")
    points = ev.curve(handmade, {}, per_lang)
    assert set(points) == {"en", "zh"}
    paths = ev.write_report(rep, handmade, points, tmp_path, fake_settings)
    data = json.loads(paths[0].read_text())
    assert data["curve"]["en"] and data["wrong_answer_rate"] == rep["wrong_answer_rate"]
    assert "| all |" in paths[1].read_text()
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths[2:])
    en = ev.tune(handmade, {}, TH, 0.0)
    zh = ev.tune(handmade, {}, TH, 0.5)
    ev.write_thresholds(tmp_path / "t.json", {"en": en, "zh": zh}, "mini",
                        Weights(0.4, 0.3, 0.1, 0.1))
    saved = json.loads((tmp_path / "t.json").read_text())
    assert saved["thresholds"]["answer_threshold"] == en.thresholds.answer
    assert saved["lang_thresholds"]["zh"]["answer_threshold"] == zh.thresholds.answer
    assert "answer_threshold_zh" not in saved["thresholds"]
    assert saved["weights"]["weight_lexical"] == 0.3
    s = load_settings(thresholds_file=tmp_path / "t.json")
    assert s.threshold("answer_threshold", "zh") == zh.thresholds.answer
    assert s.threshold("answer_threshold", "en") == en.thresholds.answer


@pytest.mark.parametrize("line,message", [
    ('{"text": "", "lang": "en", "action": "answer", "category": "x", "articles": ["a"]}',
     "field 'text'"),
    ('{"text": "hi", "lang": "fr", "action": "answer", "category": "x", "articles": ["a"]}',
     "field 'lang'"),
    ('{"text": "hi", "lang": "en", "action": "maybe", "category": "x"}', "field 'action'"),
    ('{"text": "hi", "lang": "en", "action": "answer", "category": "x", "articles": []}',
     "needs at least one article"),
    ('{"text": "hi", "lang": "en", "action": "answer", "category": "x", "articles": ["zz"]}',
     "unknown article id 'zz'"),
    ("{broken", "invalid JSON"),
])
def test_bad_eval_rows_name_file_line_and_field(tmp_path, line, message):
    path = tmp_path / "set.jsonl"
    path.write_text('{"text": "ok", "lang": "en", "action": "decline", "category": "x"}\n'
                    + line + "\n")
    with pytest.raises(ev.EvalSetError) as info:
        ev.load_eval_set(path, known_ids={"a"})
    assert "set.jsonl:2" in str(info.value) and message in str(info.value)


@pytest.mark.slow
def test_observe_runs_the_real_assistant(fake_assistant):
    rows = [ev.EvalRow("my transaction failed", "en", "answer", "transaction", ("tx-failed",)),
            ev.EvalRow("今天天气怎么样", "zh", "decline", OUT_OF_SCOPE)]
    got = ev.observe(fake_assistant, rows, tickets=False)
    ds = ev.redecide(got, fake_assistant.thresholds, fake_assistant.handoff_flags)
    assert ds[0].article_id == "tx-failed" and ds[1].action == "decline"
    assert got[0].trace.latency_ms > 0


# ------------------------------------------------------------------ the wallet eval set

@pytest.fixture(scope="module")
def wallet_sets():
    kb = load_kb(ROOT / "kb")
    ids = set(kb.ids())
    sets = {name: ev.load_eval_set(ROOT / "eval" / f"{name}.jsonl", ids) for name in ("dev", "test")}
    return kb, sets


def test_wallet_eval_set_size_and_mix(wallet_sets):
    _, sets = wallet_sets
    rows = sets["dev"] + sets["test"]
    assert len(rows) >= 400
    zh = sum(1 for r in rows if r.lang == "zh")
    assert 0.4 <= zh / len(rows) <= 0.6
    assert sum(1 for r in rows if r.action == "decline") >= 40
    assert sum(1 for r in rows if r.action == "handoff") >= 30
    assert abs(len(sets["dev"]) - len(sets["test"])) <= len(rows) * 0.2


def test_wallet_eval_rows_are_not_copies_of_kb_questions(wallet_sets):
    kb, sets = wallet_sets
    questions = [q.lower() for a in kb.articles for q in a.questions] + \
        [q.lower() for q in kb.out_of_scope]
    too_close = [(r.text, q) for r in sets["dev"] + sets["test"] for q in questions
                 if fuzz.ratio(r.text.lower(), q) >= 90]
    assert too_close == []


def test_dev_and_test_do_not_overlap(wallet_sets):
    _, sets = wallet_sets
    assert not {r.text for r in sets["dev"]} & {r.text for r in sets["test"]}
