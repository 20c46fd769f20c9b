"""Settings: environment prefix, validation messages, tuned thresholds file."""

from __future__ import annotations

import json

import pytest

from assistant.config import load_settings
from assistant.errors import ConfigError


def test_environment_prefix(monkeypatch, tmp_path):
    monkeypatch.setenv("ASSISTANT_ANSWER_THRESHOLD", "0.7")
    monkeypatch.setenv("ASSISTANT_THRESHOLDS_FILE", str(tmp_path / "none.json"))
    assert load_settings().answer_threshold == 0.7


def test_bad_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("ASSISTANT_ANSWER_THRESHOLD", "lots")
    with pytest.raises(ConfigError, match="ASSISTANT_ANSWER_THRESHOLD='lots'"):
        load_settings()


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
