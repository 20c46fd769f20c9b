"""The README documents every CLI command, every endpoint and every setting."""

from __future__ import annotations

import re

import pytest

from assistant.web.api import create_app
from assistant.cli import _parser
from assistant.core.config import ENV_PREFIX, ROOT, Settings

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    sub = next(a for a in _parser()._actions if a.dest == "command")
    return sorted(sub.choices)


@pytest.mark.parametrize("command", _commands())
def test_every_cli_command_is_documented(command):
    assert f"assistant {command}" in README


def test_every_route_is_documented():
    routes = {r.path for r in create_app().routes if not r.path.startswith(("/docs", "/redoc",
                                                                             "/openapi"))}
    for path in routes:
        assert re.search(rf"`(GET|POST) {re.escape(path)}", README), path


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name):
    assert f"{ENV_PREFIX}{name.upper()}" in README


def test_two_commands_and_ci():
    assert "scripts/run" in README and "scripts/test" in README
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()
