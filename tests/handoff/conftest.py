"""Queue tests here run on every backend, the in-memory one included."""

from __future__ import annotations

import secrets

import pytest


@pytest.fixture(params=["sqlite", "postgres", "memory"])
def queue_dsn(request, tmp_path) -> str:
    """Overrides the suite's two-backend `queue_dsn`: memory joins SQLite and PostgreSQL.

    The memory store is named, so the several queue objects one test opens share it like
    connections to one database; the random name keeps tests apart.
    """
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    if request.param == "memory":
        return f"memory://test-{secrets.token_hex(6)}"
    return request.getfixturevalue("pg_dsn")
