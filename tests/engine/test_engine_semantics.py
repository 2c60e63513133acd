"""Engine semantics in one process, on every backend: fan-out, trace ids, retries → dead
letter → replay, delayed jobs, dedup, undeclared topics, invalid input."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import aiohttp
import pytest

from engine.registry import load_steps
from engine.runtime import Engine, EngineOptions, all_queues
from tests.engine.example_steps._record import read_records

EXAMPLES = Path(__file__).parent / "example_steps"
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def env(backend, tmp_path, monkeypatch):
    rec = tmp_path / "rec.jsonl"
    monkeypatch.setenv("EXAMPLE_RECORD_FILE", str(rec))
    engine = Engine(backend, load_steps([EXAMPLES]), EngineOptions(port=0, poll_block=0.05, grace=2))
    await engine.start()
    async with aiohttp.ClientSession(f"http://127.0.0.1:{engine.port}") as session:
        yield engine, session, rec
    await engine.stop()


async def ingest(session, items):
    async with session.post("/ingest", json={"items": items}) as r:
        assert r.status == 202
        return await r.json(), r.headers["X-Trace-Id"]


async def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_fan_out_each_subscriber_gets_its_own_job(env):
    _, session, rec = env
    await ingest(session, [{"n": 1}, {"n": 2}])
    await wait_for(
        lambda: len(read_records(rec, "example-record")) == 2 and len(read_records(rec, "example-audit")) == 2
    )
    assert sorted(r["n"] for r in read_records(rec, "example-audit")) == [1, 2]


async def test_trace_id_same_in_webhook_log_and_every_job_log(env, caplog):
    _, session, rec = env
    caplog.set_level(logging.INFO, logger="bitbylaw.steps")
    _, trace = await ingest(session, [{"n": 7}])
    await wait_for(
        lambda: len(read_records(rec, "example-record")) == 1 and len(read_records(rec, "example-audit")) == 1
    )
    await asyncio.sleep(0.05)
    by_msg = {r.getMessage(): r for r in caplog.records if getattr(r, "trace_id", None) == trace}
    assert {"ingested", "recorded", "audited"} <= set(by_msg)
    assert by_msg["ingested"].step == "example-ingest" and by_msg["recorded"].step == "example-record"
    caused = read_records(rec, "example-record") + read_records(rec, "example-audit")
    assert len(caused) == 2 and all(r["trace_id"] == trace for r in caused)


async def test_three_retries_with_backoff_then_dead_letter_then_replay(env):
    engine, session, rec = env
    await ingest(session, [{"n": 5, "topic": "demo.flaky"}])
    await wait_for(lambda: len(read_records(rec, "example-flaky")) == 4)
    dead = []
    for _ in range(100):
        dead = await engine.backend.list_dead()
        if dead:
            break
        await asyncio.sleep(0.02)
    assert len(dead) == 1 and dead[0].attempts == 4
    # The message is withheld (it could quote personal data); type and place are kept.
    assert dead[0].error.startswith("RuntimeError at ") and "flaky_step.py:" in dead[0].error
    runs = read_records(rec, "example-flaky")
    assert [r["attempt"] for r in runs] == [1, 2, 3, 4]
    # backoff 0.1, 0.2, 0.4 s between runs: the run must not come early
    await asyncio.sleep(0.3)
    assert len(read_records(rec, "example-flaky")) == 4
    assert await engine.backend.replay_dead([dead[0].id]) == 1
    await wait_for(lambda: len(read_records(rec, "example-flaky")) == 8)
    assert [r["attempt"] for r in read_records(rec, "example-flaky")][4:] == [1, 2, 3, 4]


async def test_retry_delays_grow(env):
    _, session, rec = env
    stamps: list[float] = []
    await ingest(session, [{"n": 1, "topic": "demo.flaky"}])
    seen = 0
    deadline = time.monotonic() + 10
    while seen < 4 and time.monotonic() < deadline:
        now = len(read_records(rec, "example-flaky"))
        if now > seen:
            stamps.extend([time.monotonic()] * (now - seen))
            seen = now
        await asyncio.sleep(0.005)
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert len(gaps) == 3
    assert gaps[0] >= 0.08 and gaps[1] >= 0.18 and gaps[2] >= 0.38


async def test_delayed_job_does_not_run_early(env):
    _, session, rec = env
    start = time.monotonic()
    await ingest(session, [{"n": 3, "delay": 0.6}])
    await asyncio.sleep(0.4)
    assert read_records(rec, "example-record") == []
    await wait_for(lambda: len(read_records(rec, "example-record")) == 1)
    assert time.monotonic() - start >= 0.55


async def test_dedup_key_suppresses_second_enqueue_while_pending(env):
    _, session, rec = env
    first, _ = await ingest(session, [{"n": 1, "delay": 0.5, "dedup": "party-1"}])
    second, _ = await ingest(session, [{"n": 2, "delay": 0.5, "dedup": "party-1"}])
    assert first == {"enqueued": 1, "deduplicated": 0}
    assert second == {"enqueued": 0, "deduplicated": 1}
    await wait_for(lambda: len(read_records(rec, "example-record")) == 1)
    await asyncio.sleep(0.1)
    # the key is released when the job starts: a new edit is accepted again
    third, _ = await ingest(session, [{"n": 3, "dedup": "party-1"}])
    assert third["enqueued"] == 1
    await wait_for(lambda: len(read_records(rec, "example-record")) == 2)


async def test_enqueue_of_undeclared_topic_fails_the_job(env):
    engine, session, rec = env
    await ingest(session, [{"n": 1, "topic": "demo.bad"}])
    dead = []
    for _ in range(200):
        dead = await engine.backend.list_dead()
        if dead:
            break
        await asyncio.sleep(0.02)
    assert len(dead) == 1 and dead[0].error.startswith("UndeclaredTopicError")
    assert "'demo.item'" in dead[0].error and "example-bad-enqueue" in dead[0].error
    assert read_records(rec, "example-record") == []


async def test_invalid_queue_input_is_dead_lettered_without_retries(env):
    engine, _, rec = env
    from engine.backends.base import EnqueueRequest, queue_name

    await engine.backend.enqueue([EnqueueRequest(queue_name("demo.item", "example-record"), {"n": "x"}, "t")])
    dead = []
    for _ in range(200):
        dead = await engine.backend.list_dead()
        if dead:
            break
        await asyncio.sleep(0.02)
    assert len(dead) == 1 and dead[0].attempts == 1 and "input does not validate" in dead[0].error


async def test_queue_stats_cover_every_subscription(env):
    engine, _, _ = env
    names = all_queues(engine.steps)
    assert "demo.item::example-record" in names and "demo.item::example-audit" in names
    stats = await engine.backend.queue_stats(names)
    assert [s.queue for s in stats] == names


async def test_concurrency_bounds_parallel_runs_of_a_queue(env):
    _, session, rec = env
    # example-slow has concurrency 4: eight 0.3-s jobs run four at a time
    await ingest(session, [{"n": 3, "topic": "demo.slow"} for _ in range(8)])
    await wait_for(lambda: sum(r["event"] == "done" for r in read_records(rec, "example-slow")) == 8)
    running = peak = 0
    for r in read_records(rec, "example-slow"):
        running += 1 if r["event"] == "start" else -1
        peak = max(peak, running)
    assert peak == 4


async def test_queue_timeout_cuts_the_run_off(env):
    engine, session, rec = env
    await ingest(session, [{"n": 1, "topic": "demo.stuck"}])
    dead = []
    for _ in range(200):
        dead = await engine.backend.list_dead()
        if dead:
            break
        await asyncio.sleep(0.02)
    assert len(dead) == 1 and dead[0].error.startswith("timeout") and dead[0].attempts == 1
    assert [r["event"] for r in read_records(rec, "example-stuck")] == ["start"]
