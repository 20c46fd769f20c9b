"""Safety signals: the learned model, its serving form, and the replies it leads to."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.understanding.safety import CHECK, SIGNALS, THEFT, SafetyModel, features, shipped_model
from assistant.tooling.safety_training import Row, train

ROOT = Path(__file__).resolve().parents[2]


def test_features_read_traditional_as_simplified_and_keep_negation():
    assert features("錢包被盜") == features("钱包被盗")
    assert "b:didn't_send" in features("I didn't send it")


def _rows() -> list[Row]:
    theft = ["my wallet was drained", "all my usdt is gone, i did not send it", "钱包被盗了",
             "someone emptied my wallet", "币被转走了不是我操作的", "hacked, everything gone"] * 3
    plain = ["how do i change the language", "怎么修改密码", "where is my receive address",
             "can someone steal my coins with my address?", "如果钱包被盗能冻结吗",
             "what is gas"] * 3
    return [Row(t, frozenset({THEFT}), "en", "") for t in theft] + \
        [Row(t, frozenset(), "en", "") for t in plain]


def test_training_gives_a_model_that_survives_saving_without_pickles(tmp_path):
    model, cv = train(_rows())
    assert set(cv) == {*SIGNALS, CHECK}
    assert model.thresholds[CHECK] <= model.thresholds[THEFT]
    model.save(tmp_path)
    again = SafetyModel.load(tmp_path)
    text = "my wallet got drained overnight"
    assert np.allclose(again.probabilities(text), model.probabilities(text), atol=1e-5)
    assert not any(p.suffix in (".pkl", ".joblib") for p in tmp_path.iterdir())


def test_between_the_thresholds_the_check_fires_instead_of_the_alarm():
    model, _ = train(_rows())
    p = float(model.probabilities("my usdt is gone")[model.signals.index(THEFT)])
    model.thresholds.update({THEFT: min(1.0, p + 0.01), CHECK: max(0.0, p - 0.01)})
    fired = model.read("my usdt is gone").fired
    assert CHECK in fired and THEFT not in fired


@pytest.mark.parametrize("text", ["stolen", "被盗了", "被盜了", "my funds were stolen"])
def test_the_reply_the_check_asks_for_is_a_theft_report(text):
    assert THEFT in shipped_model().read(text).fired


# ------------------------------------------------------------ the situations, end to end

@pytest.fixture(scope="module")
def assistant(starter_index, embedder, tmp_path_factory):
    from assistant.core.config import Settings
    from assistant.service import Assistant

    data = tmp_path_factory.mktemp("safety-data")
    a = Assistant(Settings(index_dir=starter_index, data_dir=data), embedder=embedder).warm_up()
    yield a
    a.close()


def _reply(assistant, text: str):
    return assistant.answer_with_trace(text, tickets=False)[0]


@pytest.mark.slow
@pytest.mark.parametrize("text", [
    "can someone steal my coins if they know my address?",
    "my TRON fee jumped from 1 to 13 TRX, was I hacked?",
    "I approved a DApp that has now rugged, am I at risk?",
    "如果钱包被盗了，你们能帮忙冻结吗",
    "我想用助记词导入钱包，可是一直提示助记词错误怎么回事呢",
])
def test_questions_about_risk_raise_no_alarm(assistant, text):
    r = _reply(assistant, text)
    assert r.reason != "reported theft" and "attacker" not in r.answer
    assert not r.redacted


@pytest.mark.slow
@pytest.mark.parametrize(("text", "article"), [
    ("I approved a DApp that has now rugged, am I at risk?", "token-approvals-revoke"),
    ("a recovery company says they can get my stolen USDT back for a fee, is it legit?",
     "recovery-service-scam"),
    ("有個自稱客服的人要我提供助記詞才能幫我解凍", "fake-support-scam"),
    ("someone airdropped me tokens worth tens of thousands of dollars, how do I sell them?",
     "phishing-airdrop-scams"),
    ("the address changes when I paste it", "address-changes-when-pasted"),
])
def test_each_signal_gets_its_article(assistant, text, article):
    r = _reply(assistant, text)
    assert r.article is not None and r.article.id == article and r.action == "answer"


@pytest.mark.slow
@pytest.mark.parametrize("text", [
    "I connected my wallet on a site a stranger sent and signed something; this morning "
    "everything was sent to an unknown address",
    "my wallet was drained last night",
    "钱包被盗了，币全没了",
])
def test_theft_reports_reach_a_person_urgently_with_the_steps_first(assistant, text):
    r = _reply(assistant, text)
    assert (r.action, r.reason) == ("handoff", "reported theft")
    assert r.article is not None and r.article.id == "stolen-funds"
    assert r.answer.lower().count("sorry") + r.answer.count("抱歉") + r.answer.count(
        "遗憾") <= 1  # apologises once


@pytest.mark.slow
def test_an_exposed_phrase_gets_move_your_funds_now_and_the_offer_of_a_person(assistant):
    r = _reply(assistant, "I typed my seed phrase into a website yesterday")
    assert r.reason == "secret exposed" and "Move your funds now" in r.answer
    assert "talk to a person" in r.answer


@pytest.mark.slow
def test_the_scam_warning_is_said_once(assistant):
    r = _reply(assistant, "someone in telegram says he is TokenPocket support and wants my "
                          "seed phrase to verify my wallet")
    assert r.article is not None and r.article.id == "fake-support-scam"
    # The article is the warning; the old preamble ("This looks like a scam") is not added.
    assert r.answer.startswith("This is almost certainly a scam")
    assert "looks like a scam" not in r.answer
