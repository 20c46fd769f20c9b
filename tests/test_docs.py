"""The README documents every CLI command, every endpoint and every setting."""

from __future__ import annotations

import re

import pytest

from assistant.web.app import create_app
from assistant.cli import _parser
from assistant.core.config import ENV_PREFIX, ROOT, Settings

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    sub = next(a for a in _parser()._actions if a.dest == "command")
    return sorted(sub.choices)


@pytest.mark.parametrize("command", _commands())
def test_every_cli_command_is_documented(command):
    assert f"assistant {command}" in README


def _paths(routes) -> set[str]:
    """Every path the app serves, inside included routers too."""
    out: set[str] = set()
    for r in routes:
        inner = getattr(r, "original_router", None)
        out |= _paths(inner.routes) if inner is not None else {r.path}
    return out


def test_every_route_is_documented():
    routes = {p for p in _paths(create_app().routes)
              if not p.startswith(("/docs", "/redoc", "/openapi"))}
    assert {"/answer", "/agent/tickets", "/admin/stats", "/static"} <= routes
    for path in routes:
        assert re.search(rf"`(GET|POST) {re.escape(path)}", README), path


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name):
    assert f"{ENV_PREFIX}{name.upper()}" in README


def test_two_commands_and_ci():
    assert "scripts/run" in README and "scripts/test" in README
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()
