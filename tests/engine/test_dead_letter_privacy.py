"""Dead letters and retry errors (stored, printed by `bitbylaw dlq list`) keep the type and where
an exception was raised, but not its text unless it is declared safe: a handler's exception may
quote a name or a birth date (DECISIONS 17)."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest

from engine.backends.base import EnqueueRequest, queue_name
from engine.backends.embedded import EmbeddedBackend
from engine.registry import load_steps
from engine.runtime import Engine, EngineOptions

pytestmark = pytest.mark.timeout(30)

STEP = """
from engine import QueueConfig, queue
from services.clients.errors import ServerError

config = {
    "name": "leaky",
    "triggers": [queue("t.leaky", config=QueueConfig(max_retries=1, backoff_base=0.01))],
    "enqueues": [],
}


async def handler(data, ctx):
    if data["kind"] == "value":
        raise ValueError("not a date: '05.01.1980' (Erika Mustermann)")
    if data["kind"] == "key":
        raise KeyError("erika.mustermann@example.org")
    raise ServerError("espocrm", "PUT", "api/v1/CBeteiligte/{id}", 503)
"""


async def dead_letters(tmp_path: Path, kinds: list[str]) -> dict[str, str]:
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "leaky_step.py").write_text(textwrap.dedent(STEP))
    engine = Engine(
        EmbeddedBackend(tmp_path / "engine.db"),
        load_steps([tmp_path / "steps"]),
        EngineOptions(port=0, poll_block=0.05, grace=1),
    )
    await engine.start()
    try:
        q = queue_name("t.leaky", "leaky")
        await engine.backend.enqueue([EnqueueRequest(q, {"kind": k}, f"trace-{k}") for k in kinds])
        for _ in range(300):
            dead = await engine.backend.list_dead()
            if len(dead) == len(kinds):
                return {d.trace_id: d.error for d in dead}
            await asyncio.sleep(0.02)
        raise AssertionError("jobs were not dead-lettered")
    finally:
        await engine.stop()


async def test_dead_letter_error_withholds_exception_text(tmp_path):
    errors = await dead_letters(tmp_path, ["value", "key", "api"])
    text = "\n".join(errors.values())
    for value in ("05.01.1980", "Mustermann", "erika.mustermann@example.org"):
        assert value not in text, value
    assert errors["trace-value"].startswith("ValueError at ") and "leaky_step.py:" in errors["trace-value"]
    assert errors["trace-key"].startswith("KeyError at ")
    # Client errors name only system, method, route template and status: kept for operators.
    assert errors["trace-api"] == "ServerError: espocrm PUT api/v1/CBeteiligte/{id}: HTTP 503"
