"""Public-benchmark runner on a tiny folder in the same format (real model, real build)."""

from __future__ import annotations

import json

import pytest

from assistant.tooling import benchmark as bm
from assistant.core.config import Settings

pytestmark = pytest.mark.slow

LABELS = {
    "card_arrival": ["when will my card arrive", "card still not delivered", "where is my new card",
                     "how long does card delivery take", "my card has not come in the mail",
                     "tracking for my card", "card delivery status", "still waiting for the card"],
    "Exchange_rate": ["what exchange rate do you use", "is the exchange rate fair",
                      "how are exchange rates calculated", "rate for converting euros",
                      "why was the exchange rate bad", "currency conversion rate",
                      "what rate applies to dollars", "exchange rate today"],
    "lost_or_stolen_card": ["i lost my card", "my card was stolen", "someone took my card",
                            "cannot find my card anywhere", "report a stolen card",
                            "card missing from wallet", "freeze my lost card", "card got stolen"],
}
OOS_TRAIN = ["what is the weather", "tell me a joke", "play some music", "who won the game",
             "recipe for pasta", "how tall is everest"]


def _write(folder, with_val: bool):
    folder.mkdir()
    train = [{"text": t, "label": lab} for lab, ts in LABELS.items() for t in ts]
    train += [{"text": t, "label": "oos"} for t in OOS_TRAIN]
    test = [{"text": "has my card been shipped yet", "label": "card_arrival"},
            {"text": "my card got stolen yesterday", "label": "lost_or_stolen_card"},
            {"text": "what's the conversion rate for pounds", "label": "Exchange_rate"},
            {"text": "sing me a song", "label": "oos"}]
    files = {"train": train, "test": test}
    if with_val:
        files["val"] = [{"text": "card not arrived yet", "label": "card_arrival"},
                        {"text": "exchange rate for yen", "label": "Exchange_rate"},
                        {"text": "lost my debit card", "label": "lost_or_stolen_card"},
                        {"text": "what's the news today", "label": "oos"}]
    for name, rows in files.items():
        (folder / f"{name}.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return folder


@pytest.mark.parametrize("with_val", [True, False])
def test_benchmark_runs_end_to_end(tmp_path, embedder, with_val):
    folder = _write(tmp_path / "mini", with_val)
    settings = Settings(thresholds_file=tmp_path / "none.json")
    rep = bm.run(folder, tmp_path / "work", embedder, settings, log=lambda m: None)
    assert {"accuracy", "inscope_accuracy", "oos_recall", "oos_precision", "n_test"} <= set(rep)
    assert not [k for k in rep if k.endswith(("_seconds", "_ms_p50"))]  # deterministic
    assert rep["n_test"] == 4 and rep["labels"] == 3
    assert rep["inscope_accuracy"] >= 2 / 3
    assert rep["tuned_on"] == ("val" if with_val else "train holdout (10%)")
    kb_files = sorted(p.name for p in (tmp_path / "work" / "kb-tune" / "en").iterdir())
    assert kb_files == ["card_arrival.md", "exchange_rate.md", "lost_or_stolen_card.md"]


def test_score_counts_oos_like_the_paper():
    s = bm.score(["a", "b", "oos", "oos"], ["a", "oos", "oos", "b"])
    assert s == {"accuracy": 0.5, "inscope_accuracy": 0.5, "oos_recall": 0.5,
                 "oos_precision": 0.5, "n_test": 4}


def test_missing_split_is_a_clear_error(tmp_path, embedder):
    (tmp_path / "empty").mkdir()
    with pytest.raises(bm.BenchmarkError, match="train.jsonl"):
        bm.run(tmp_path / "empty", tmp_path / "w", embedder, Settings(), log=lambda m: None)


def test_subsample_keeps_n_per_label_and_all_oos():
    rows = [bm.Example(f"t{i}", "a") for i in range(20)] + [bm.Example("x", "oos")] * 3
    out = bm._subsample(rows, 5, seed=0)
    assert sum(1 for r in out if r.label == "a") == 5 and sum(1 for r in out if r.label == "oos") == 3


def test_labels_with_one_or_two_examples_are_accepted(tmp_path, embedder):
    """Real datasets have rare labels: they build, and the tuning split keeps one of each."""
    from assistant.tooling.benchmark import Example, _holdout, write_kb
    from assistant.knowledge.kb import load_kb

    train = [Example("how do i freeze my card", "freeze_card"),
             Example("stop my card please", "freeze_card"),
             Example("what is the exchange rate", "exchange_rate")]
    write_kb(train, tmp_path / "kb")
    kb = load_kb(tmp_path / "kb")
    assert sorted(len(a.questions) for a in kb.articles) == [1, 2]
    fit, tune = _holdout(train, 0.5, seed=0)
    assert {e.label for e in fit} == {"freeze_card", "exchange_rate"}
    assert [e.label for e in tune] == ["freeze_card"]


def test_without_out_of_scope_rows_thresholds_come_from_the_in_scope_scores():
    """A dataset with no out-of-scope rows still declines: thresholds sit at the low end of
    the in-scope rows' scores instead of never declining."""
    from assistant.deciding.answerer import Thresholds
    from assistant.tooling.benchmark import INSCOPE_REJECT, choose_thresholds
    from assistant.tooling.evaluation import EvalRow, Observation
    from assistant.service import Trace
    from assistant.core.types import Hit, Intent

    obs = []
    for i in range(100):
        score, oos = 0.5 + i / 200, i / 200  # 0.50 .. 0.995, 0.0 .. 0.495
        row = EvalRow(f"q{i}", "en", "answer", "a", ("a",))
        trace = Trace(f"q{i}", "en", Intent("a", 0.9, out_of_scope=oos),
                      (Hit(id="a", category="a", score=score),), 1.0)
        obs.append(Observation(row, trace))
    th = choose_thresholds(obs, {"a": "label_a"}, Thresholds(0.5, 0.3, 0.05, 0.5),
                           expect_oos=True)
    assert 0.5 < th.answer < 0.55 and 0.45 < th.decline < 0.5 and INSCOPE_REJECT == 0.05
    plain = choose_thresholds(obs, {"a": "label_a"}, Thresholds(0.5, 0.3, 0.05, 0.5))
    assert plain.decline > 1.0  # no out-of-scope traffic expected: never decline
