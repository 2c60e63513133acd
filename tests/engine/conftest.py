"""The `backend` fixture: every contract test runs once per backend (embedded, redis)."""

from __future__ import annotations

import uuid

import pytest

from engine.backends.embedded import EmbeddedBackend

try:  # the Redis fixture module; its server is only started when a redis test runs
    from tests.fixtures.redis_server import redis_server, redis_url  # noqa: F401
except ImportError:  # pragma: no cover - during bring-up only
    redis_url = None


@pytest.fixture(params=["embedded", "redis"])
async def backend(request, tmp_path):
    if request.param == "embedded":
        b = EmbeddedBackend(tmp_path / "engine.db")
    else:
        from engine.backends.redis import RedisBackend

        url = request.getfixturevalue("redis_url")
        b = RedisBackend(url=url, prefix=f"t{uuid.uuid4().hex[:8]}")
    await b.connect()
    try:
        yield b
    finally:
        await b.close()
