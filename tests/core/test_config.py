"""Settings: environment prefix, validation messages, tuned thresholds file."""

from __future__ import annotations

import json
import os

import pytest

from assistant.core.config import load_settings
from assistant.core.errors import ConfigError


def test_environment_prefix(monkeypatch, tmp_path):
    monkeypatch.setenv("ASSISTANT_ANSWER_THRESHOLD", "0.7")
    monkeypatch.setenv("ASSISTANT_THRESHOLDS_FILE", str(tmp_path / "none.json"))
    assert load_settings().answer_threshold == 0.7


def test_bad_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("ASSISTANT_ANSWER_THRESHOLD", "lots")
    with pytest.raises(ConfigError, match="ASSISTANT_ANSWER_THRESHOLD must be a number, got lots"):
        load_settings()


@pytest.mark.parametrize("name,value,message", [
    ("ANSWER_THRESHOLD", "1.5", "ASSISTANT_ANSWER_THRESHOLD must be between 0 and 1, got 1.5"),
    ("CANDIDATES", "0", "ASSISTANT_CANDIDATES must be between 1 and 100, got 0"),
    ("CANDIDATES", "2.5", "ASSISTANT_CANDIDATES must be a whole number, got 2.5"),
    ("RATE_LIMIT_BURST", "-3", "ASSISTANT_RATE_LIMIT_BURST must be at least 1, got -3"),
    ("INTENT_C", "0", "ASSISTANT_INTENT_C must be greater than 0, got 0"),
    ("LOG_QUERIES", "maybe", "ASSISTANT_LOG_QUERIES must be true or false, got maybe"),
    ("LOG_LEVEL", "LOUD", "ASSISTANT_LOG_LEVEL must be one of 'DEBUG', 'INFO'"),
    ("CORS_ORIGINS", "https://a.example", "ASSISTANT_CORS_ORIGINS must be a JSON list"),
    ("OFFICIAL_SITE", "http://example.com", "ASSISTANT_OFFICIAL_SITE must be an https:// URL"),
    ("SUPPORT_EMAIL", "nobody", "ASSISTANT_SUPPORT_EMAIL must be an e-mail address, got nobody"),
    ("CHECK_SETS", ",", "ASSISTANT_CHECK_SETS must name at least one eval set"),
    ("WATCH_INDEX_SECONDS", "-1", "ASSISTANT_WATCH_INDEX_SECONDS must be between 0 and 3600"),
])
def test_messages_name_the_variable_the_rule_and_the_value(monkeypatch, tmp_path, name, value,
                                                           message):
    monkeypatch.setenv("ASSISTANT_THRESHOLDS_FILE", str(tmp_path / "none.json"))
    monkeypatch.setenv(f"ASSISTANT_{name}", value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert message in str(info.value) and "\n" not in str(info.value)


def test_clarify_threshold_above_answer_threshold_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("ASSISTANT_THRESHOLDS_FILE", str(tmp_path / "none.json"))
    monkeypatch.setenv("ASSISTANT_CLARIFY_THRESHOLD", "0.6")
    with pytest.raises(ConfigError, match="ASSISTANT_CLARIFY_THRESHOLD must not be above "
                                          "ASSISTANT_ANSWER_THRESHOLD .0.5;.*got 0.6"):
        load_settings()
    monkeypatch.setenv("ASSISTANT_ANSWER_THRESHOLD", "0.7")
    assert load_settings().clarify_threshold == 0.6


def test_order_is_checked_per_language_and_names_the_tuned_file(monkeypatch, tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"lang_thresholds": {"zh": {"answer_threshold": 0.4}}}))
    monkeypatch.setenv("ASSISTANT_THRESHOLDS_FILE", str(path))
    monkeypatch.setenv("ASSISTANT_LANG_THRESHOLDS", '{"zh": {"clarify_threshold": 0.45}}')
    with pytest.raises(ConfigError) as info:
        load_settings()
    msg = str(info.value)
    assert ("ASSISTANT_LANG_THRESHOLDS[zh].clarify_threshold must not be above "
            f"ASSISTANT_LANG_THRESHOLDS[zh].answer_threshold [from {path}]") in msg
    assert "got 0.45" in msg


def test_language_thresholds_merge_file_and_environment(monkeypatch, tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"lang_thresholds": {"zh": {"answer_threshold": 0.6,
                                                            "clarify_threshold": 0.3}}}))
    monkeypatch.setenv("ASSISTANT_THRESHOLDS_FILE", str(path))
    monkeypatch.setenv("ASSISTANT_LANG_THRESHOLDS", '{"zh": {"clarify_threshold": 0.2}}')
    s = load_settings()
    assert s.threshold("answer_threshold", "zh") == 0.6  # from the file
    assert s.threshold("clarify_threshold", "zh") == 0.2  # the environment wins
    assert s.threshold("answer_threshold", "en") == s.answer_threshold


@pytest.mark.parametrize("value, expected", [
    ('{"xx": {"answer_threshold": 0.5}}', "'xx' is not one of en, zh"),
    ('{"zh": {"answer": 0.5}}', "'answer' is not one of answer_threshold"),
    ('{"zh": {"answer_threshold": 1.5}}', "between 0 and 1"),
])
def test_language_thresholds_are_validated(monkeypatch, tmp_path, value, expected):
    monkeypatch.setenv("ASSISTANT_THRESHOLDS_FILE", str(tmp_path / "none.json"))
    monkeypatch.setenv("ASSISTANT_LANG_THRESHOLDS", value)
    with pytest.raises(ConfigError, match="ASSISTANT_LANG_THRESHOLDS") as info:
        load_settings()
    assert expected in str(info.value)


def test_all_weights_zero_and_paths_of_the_wrong_kind(monkeypatch, tmp_path):
    monkeypatch.setenv("ASSISTANT_THRESHOLDS_FILE", str(tmp_path / "none.json"))
    for w in ("DENSE", "LEXICAL", "FUZZY", "INTENT", "ARTICLE", "BODY"):
        monkeypatch.setenv(f"ASSISTANT_WEIGHT_{w}", "0")
    with pytest.raises(ConfigError, match="are all 0; at least one must be positive"):
        load_settings()
    monkeypatch.delenv("ASSISTANT_WEIGHT_LEXICAL")
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "file"))
    with pytest.raises(ConfigError, match=r"ASSISTANT_DATA_DIR=.*file is a file; it must be a "
                                          "folder"):
        load_settings()


def test_the_committed_settings_are_valid(monkeypatch):
    for name in [n for n in os.environ if n.startswith("ASSISTANT_")]:
        monkeypatch.delenv(name)
    s = load_settings()
    assert s.clarify_threshold <= s.answer_threshold and s.check_set_names == ["dev", "test"]


def test_tuned_thresholds_override_defaults_but_not_explicit_values(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"thresholds": {"answer_threshold": 0.61, "clarify_margin": 0.02,
                                               "not_a_setting": 1}}))
    s = load_settings(thresholds_file=path, clarify_margin=0.09)
    assert s.answer_threshold == 0.61 and s.clarify_margin == 0.09


def test_broken_thresholds_file_is_a_clear_error(tmp_path):
    path = tmp_path / "t.json"
    path.write_text("{nope")
    with pytest.raises(ConfigError, match="t.json"):
        load_settings(thresholds_file=path)


def test_bad_secret_settings_are_named_but_never_printed(monkeypatch):
    from assistant.core.config import load_settings
    from assistant.core.errors import ConfigError

    monkeypatch.setenv("ASSISTANT_AGENT_TOKENS", '{"alice": "short-secret"}')
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "ASSISTANT_AGENT_TOKENS" in str(err.value) and "short-secret" not in str(err.value)
    monkeypatch.delenv("ASSISTANT_AGENT_TOKENS")
    monkeypatch.setenv("ASSISTANT_QUEUE_DSN", "mysql://user:pw@host/db")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "ASSISTANT_QUEUE_DSN" in str(err.value) and "pw" not in str(err.value)
