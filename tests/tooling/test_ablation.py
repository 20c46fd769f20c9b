"""The ablation: variants re-rank shortlists, the report names every variant and script."""

from __future__ import annotations

from assistant.tooling import ablation
from assistant.tooling import evaluation as ev
from assistant.understanding.retrieval import EVIDENCE, Weights
from assistant.service import Trace
from assistant.core.types import Hit, Intent

IN = Intent("transaction", 0.8, 0.05, {"transaction": 0.8})
W = Weights(dense=0.5, lexical=0.5, fuzzy=0.0, intent=0.0)


def _obs(script: str, gold: str) -> ev.Observation:
    row = ev.EvalRow("q", "en" if script == "latin" else "zh", "answer", "transaction",
                     (gold,), script=script)
    hits = (Hit(id="dense-pick", category="transaction", score=0.6, dense=0.9, lexical=0.2),
            Hit(id="lexical-pick", category="transaction", score=0.55, dense=0.3, lexical=0.8))
    return ev.Observation(row, Trace("q", row.lang, IN, hits, 1.0, 1.0))


def test_variants_remove_each_used_evidence_once():
    got = ablation.variants(W)
    assert got["all evidence"] == W
    assert got["without dense"].dense == 0 and got["without dense"].lexical == 0.5
    assert "without fuzzy" not in got  # unused evidence has nothing to remove
    assert {e for e in EVIDENCE if getattr(got["lexical only"], e)} == {"lexical"}


def test_rescore_reorders_the_shortlist_under_other_weights():
    o = _obs("hans", "lexical-pick")
    assert ablation.rescore([o], W)[0].trace.hits[0].id == "dense-pick"
    assert ablation.rescore([o], ablation.variants(W)["lexical only"])[0].trace.hits[0].id \
        == "lexical-pick"
    extra = [{"lexical-pick": 1.0}]
    boosted = ablation.rescore([o], W, extra, extra_weight=5.0)[0].trace.hits
    assert boosted[0].id == "lexical-pick" and boosted[0].score > boosted[1].score


def test_markdown_has_a_row_per_variant_and_a_column_per_script():
    m = {k: 0.5 for k in ablation.KEYS}
    rep = {"weights": W.__dict__, "sets": {"blind-dev": {
        "all evidence": {"latin": m, "hans": m, "all": m},
        "without dense": {"latin": m, "hans": m, "all": m}}}}
    text = ablation.markdown(rep)
    assert "| without dense | 0.500 / 0.500 / 0.500 / 0.500" in text
    assert "English hit@1" in text and "Chinese (simplified) hit@1" in text
    assert "Chinese (traditional)" not in text
