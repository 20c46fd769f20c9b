"""A real Redis for the shared rate-limit tests: database 15, a key prefix of each test's own,
and every key under it deleted afterwards.

Skipped (with how to run them) where no Redis answers; under CI they fail instead, so a
missing server never hides these tests. `ASSISTANT_TEST_REDIS_URL` points them elsewhere."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

REDIS_URL = os.environ.get("ASSISTANT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@dataclass(frozen=True)
class SharedStore:
    url: str
    prefix: str

    def keys(self) -> list[bytes]:
        import redis

        with redis.Redis.from_url(self.url) as r:
            return list(r.scan_iter(match=f"{self.prefix}:*"))


def _problem() -> str | None:
    import redis

    try:
        with redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3) as r:
            r.ping()
    except Exception as exc:  # any failure means: no usable server here
        return f"{type(exc).__name__}: {exc}"
    return None


@contextmanager
def shared_store() -> Iterator[SharedStore]:
    """A prefix of its own on the test Redis, its keys deleted at the end; skips (or under
    CI fails) when no Redis answers."""
    import redis

    problem = _problem()
    if problem:
        message = (f"Redis not reachable at {REDIS_URL} ({problem}); start one "
                   "(scripts/ensure-redis) or set ASSISTANT_TEST_REDIS_URL")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    store = SharedStore(REDIS_URL, "test-" + secrets.token_hex(6))
    try:
        yield store
    finally:
        with redis.Redis.from_url(REDIS_URL) as r:
            for key in r.scan_iter(match=f"{store.prefix}:*"):
                r.delete(key)
