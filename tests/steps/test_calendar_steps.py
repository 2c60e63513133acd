"""The calendar steps (SYNC_RULES §5 triggers): the 15-minute cron, `POST /advoware/calendar/sync`
(key, body shapes old callers send, the 202 answer), the all-run's order (never-synced first,
then oldest-synced) and the employee step re-queueing a run that finds the lock held."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from config import Settings
from engine.backends.base import queue_name
from engine.backends.embedded import EmbeddedBackend
from engine.context import ContextFactory
from engine.registry import load_steps
from engine.runtime import Engine, EngineOptions
from engine.triggers import CronTrigger, QueueTrigger
from services.clients.session import close_shared_session
from tests.fixtures.google_sim import OWNER, start_google_sim
from tests.steps.conftest import PROXY_KEY, advoware_settings

ROOT = Path(__file__).resolve().parents[2]
STEPS = [s for s in load_steps([ROOT / "steps"]) if s.flows == ["calendar"]]
ALL_QUEUE = queue_name("calendar_sync_all", "advoware-calendar-all")
EMPLOYEE_QUEUE = queue_name("calendar_sync_employee", "advoware-calendar-employee")
pytestmark = pytest.mark.timeout(60)


def step(name: str):
    (found,) = [s for s in STEPS if s.name == name]
    return found


@pytest.fixture
async def contexts(tmp_path, advoware_sim):
    """The calendar steps' contexts over an embedded backend, settings for the simulators."""
    google = await start_google_sim()
    settings = Settings(
        _env_file=None,
        DATABASE_URL=f"sqlite:///{tmp_path}/s.db",
        GOOGLE_API_BASE_URL=google.url,
        GOOGLE_TOKEN_URL=google.token_url,
        GOOGLE_SERVICE_ACCOUNT_FILE=str(google.key_file(tmp_path)),
        GOOGLE_CALENDAR_OWNER=OWNER,
        **advoware_settings(advoware_sim),
    )  # type: ignore[call-arg]
    backend = EmbeddedBackend(tmp_path / "engine.db")
    await backend.connect()
    resources: dict = {"settings": settings}
    try:
        yield ContextFactory(backend, STEPS, resources), backend, advoware_sim
    finally:
        await backend.close()
        if "db" in resources:
            await resources["db"].close()
        await close_shared_session()
        await google.running.stop()


async def test_the_cron_runs_every_15_minutes_and_enqueues_one_all_run(contexts):
    factory, backend, _ = contexts
    cron_step = step("advoware-calendar-cron")
    (trigger,) = cron_step.triggers_of(CronTrigger)
    assert trigger.expression == "*/15 * * * *"
    for _ in range(2):  # a second tick while the first all-run waits adds none
        await cron_step.handler({"tick": 0, "catch_up": False}, factory.make(cron_step, trigger, "tick"))
    (stats,) = await backend.queue_stats([ALL_QUEUE])
    assert stats.depth == 1


async def test_the_all_run_enqueues_never_synced_first_then_oldest_synced(contexts):
    factory, backend, advo = contexts
    for kuerzel in ("SB", "AI", "XY", "NEU"):
        advo.state.add_employee(kuerzel, kuerzel.title(), "Test")
    advo.state.add_employee("ALT", "Alt", "Test", aktiv=False)
    await backend.zadd("calendar:last_synced", "SB", 300.0)
    await backend.zadd("calendar:last_synced", "AI", 100.0)
    await backend.zadd("calendar:last_synced", "XY", 200.0)
    all_step = step("advoware-calendar-all")
    await all_step.handler({}, factory.make(all_step, all_step.triggers_of(QueueTrigger)[0], "t" * 32))
    jobs = await backend.fetch(EMPLOYEE_QUEUE, 10, 30, "w")
    assert [j.data["kuerzel"] for j in jobs] == ["NEU", "AI", "XY", "SB"]  # the inactive one not at all
    assert jobs[0].data["email"] == "neu@kanzlei.example"


async def test_the_employee_step_requeues_a_run_that_finds_the_lock_held(contexts):
    factory, backend, advo = contexts
    advo.state.add_employee("SB", "Beispiel", "Test")
    assert await backend.acquire_lock("calendar:SB", "another-worker", 60)
    employee_step = step("advoware-calendar-employee")
    trigger = employee_step.triggers_of(QueueTrigger)[0]
    job = employee_step.triggers_of(QueueTrigger)[0].input(kuerzel="SB", email="sb@kanzlei.example")
    await employee_step.handler(job, factory.make(employee_step, trigger, "t" * 32))
    (stats,) = await backend.queue_stats([EMPLOYEE_QUEUE])
    assert stats.delayed == 1  # runs again after the holder, never dropped
    assert await backend.zrange("calendar:last_synced") == []  # no success recorded


@pytest.fixture
async def trigger_only(tmp_path):
    """The calendar steps served by an API-only process (no workers): the jobs stay queued."""
    values = {
        "PROXY_API_KEYS": PROXY_KEY,
        "ENGINE_DB_PATH": str(tmp_path / "engine.db"),
        "DATABASE_URL": f"sqlite:///{tmp_path}/s.db",
    }
    s = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    backend = EmbeddedBackend(s.engine_db_path)
    options = EngineOptions(role="api", port=0, poll_block=0.05, grace=2, resources={"settings": s})
    engine = Engine(backend, STEPS, options)
    await engine.start()
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{engine.port}") as session:
            yield session, backend
    finally:
        await engine.stop()


async def test_the_trigger_takes_old_callers_shapes_and_answers_202(trigger_only):
    session, backend = trigger_only
    url, key = "/advoware/calendar/sync", {"X-API-Key": PROXY_KEY}
    async with session.post(url, json={"kuerzel": "SB"}) as r:
        assert r.status == 401  # no key: refused before the body is read
    for body, kuerzel in (
        (None, "ALL"),
        ({}, "ALL"),
        ({"kuerzel": "ALL"}, "ALL"),
        ({"kuerzel": "sb", "full_content": True}, "SB"),
        ({"kuerzel": "Jö1"}, "JÖ1"),
    ):
        kwargs = {"json": body} if body is not None else {"data": b""}
        async with session.post(url, headers=key, **kwargs) as r:
            assert r.status == 202, (body, await r.text())
            assert await r.json() == {
                "status": "triggered",
                "kuerzel": kuerzel,
                "message": f"Calendar sync triggered for {kuerzel}",
            }
    for bad in (
        {"full_content": False},
        {"kuerzel": "S B"},
        {"kuerzel": "x" * 11},
        {"other": 1},
        {"kuerzel": 5},
    ):
        async with session.post(url, headers=key, json=bad) as r:
            assert r.status == 400, bad
            assert set(await r.json()) >= {"error"}
    all_stats, employee_stats = await backend.queue_stats([ALL_QUEUE, EMPLOYEE_QUEUE])
    assert all_stats.depth == 1  # three ALL requests while one all-run waits: one job
    jobs = await backend.fetch(EMPLOYEE_QUEUE, 10, 30, "w")
    assert sorted(j.data["kuerzel"] for j in jobs) == ["JÖ1", "SB"]
