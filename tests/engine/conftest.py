"""The `backend` fixture: every contract test runs once per backend (embedded, redis); the
`example_engine` fixture: engines serving the example steps."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from engine.backends.embedded import EmbeddedBackend
from engine.registry import load_steps
from engine.runtime import Engine, EngineOptions

EXAMPLES = Path(__file__).parent / "example_steps"

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


@pytest.fixture
async def example_engine(tmp_path, monkeypatch):
    """`await example_engine(**options)`: a started engine (embedded backend, role all, a free
    port) running the example steps; every one started is stopped after the test."""
    monkeypatch.setenv("EXAMPLE_RECORD_FILE", str(tmp_path / "rec.jsonl"))
    engines: list[Engine] = []

    async def start(**options: Any) -> Engine:
        engine = Engine(
            EmbeddedBackend(tmp_path / f"engine{len(engines)}.db"),
            load_steps([EXAMPLES]),
            EngineOptions(**{"port": 0, "poll_block": 0.05, "grace": 2, **options}),
        )
        await engine.start()
        engines.append(engine)
        return engine

    yield start
    for engine in engines:
        await engine.stop()
