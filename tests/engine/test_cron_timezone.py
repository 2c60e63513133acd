"""Crons read in Europe/Berlin across daylight saving time (finding 7 of the first-day report).

The real scheduler with a real (embedded) backend runs four simulated days around each DST
change on a fake clock: a daily 02:30 cron (a time missing on the spring day and doubled on the
autumn day) runs exactly once per day, and a 15-minute cron keeps its real-time rhythm through
both nights. `bitbylaw cron list` (a subprocess) names the zone and the next run.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.backends.embedded import EmbeddedBackend
from engine.crontab import next_tick
from engine.registry import Step
from engine.scheduler import CronScheduler, last_successes
from engine.triggers import cron
from tests.fixtures.service_process import base_env, run_cli

BERLIN = ZoneInfo("Europe/Berlin")
pytestmark = pytest.mark.timeout(120)


class FakeTime:
    """The scheduler's clock and sleep: sleeping moves the clock; at `end` time stands still."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.now, self.end = start.timestamp(), end.timestamp()
        self.done = asyncio.Event()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if self.now + seconds > self.end:
            self.done.set()
            await asyncio.Event().wait()  # until the scheduler is stopped
        self.now += seconds
        for _ in range(5):  # let the fired handler tasks run
            await asyncio.sleep(0)


async def run_days(tmp_path: Path, expression: str, start: datetime, end: datetime) -> list[datetime]:
    fake = FakeTime(start, end)
    runs: list[float] = []

    async def handler(tick, ctx):
        runs.append(tick["tick"])

    step = Step(name="nightly", file="test", handler=handler, triggers=[cron(expression)])
    backend = EmbeddedBackend(tmp_path / f"engine-{start:%m}.db", clock=fake.clock)
    await backend.connect()
    scheduler = CronScheduler(backend, [step], clock=fake.clock, sleep=fake.sleep, timezone="Europe/Berlin")
    try:
        await scheduler.start()
        await asyncio.wait_for(fake.done.wait(), 60)
        await scheduler.stop(grace=1)
        assert (await last_successes(backend))["nightly"]["tick"] == runs[-1]
    finally:
        await backend.close()
    return [datetime.fromtimestamp(t, BERLIN) for t in runs]


@pytest.mark.parametrize(
    ("change_day", "start"),
    [
        ("2026-03-29", datetime(2026, 3, 27, 12, tzinfo=BERLIN)),  # 02:00 → 03:00, 02:30 does not exist
        ("2026-10-25", datetime(2026, 10, 23, 12, tzinfo=BERLIN)),  # 03:00 → 02:00, 02:30 happens twice
    ],
)
async def test_a_daily_0230_cron_runs_exactly_once_on_each_day_also_on_dst_change_days(
    tmp_path, change_day, start
):
    runs = await run_days(tmp_path, "30 2 * * *", start, start + timedelta(days=4))
    per_day = Counter(r.date().isoformat() for r in runs)
    assert list(per_day.values()) == [1, 1, 1, 1], per_day
    assert change_day in per_day
    other_days = [r for r in runs if r.date().isoformat() != change_day]
    assert all((r.hour, r.minute) == (2, 30) for r in other_days)
    (on_change_day,) = [r for r in runs if r.date().isoformat() == change_day]
    # spring: the first moment after the gap; autumn: the first of the two 02:30s (summer time)
    expected = (3, 0, 7200) if change_day.endswith("03-29") else (2, 30, 7200)
    assert (on_change_day.hour, on_change_day.minute, on_change_day.utcoffset().total_seconds()) == expected


@pytest.mark.parametrize(
    ("night", "real_hours"),
    [(datetime(2026, 3, 29, 0, tzinfo=BERLIN), 3), (datetime(2026, 10, 25, 0, tzinfo=BERLIN), 5)],
)
async def test_a_15_minute_cron_keeps_its_rhythm_through_the_dst_night(tmp_path, night, real_hours):
    runs = await run_days(tmp_path, "*/15 * * * *", night - timedelta(seconds=1), night + timedelta(hours=4))
    assert len(runs) == real_hours * 4 + 1  # 00:00 … 04:00 wall clock
    gaps = {b.timestamp() - a.timestamp() for a, b in zip(runs, runs[1:], strict=False)}
    assert gaps == {900.0}


def test_crons_in_utc_on_request():
    start = datetime(2026, 7, 1, 12, tzinfo=ZoneInfo("UTC")).timestamp()
    assert datetime.fromtimestamp(next_tick("17 3 * * *", start), ZoneInfo("UTC")).hour == 3
    assert datetime.fromtimestamp(next_tick("17 3 * * *", start, "Europe/Berlin"), ZoneInfo("UTC")).hour == 1


@pytest.mark.slow
async def test_cron_list_names_the_time_zone_and_the_next_run_in_it(tmp_path):
    env = base_env(ENGINE_DB_PATH=str(tmp_path / "engine.db"))
    backend = EmbeddedBackend(tmp_path / "engine.db")
    await backend.connect()
    await backend.close()
    result = await asyncio.to_thread(run_cli, ["cron", "list", "--json"], env)
    assert result.returncode == 0, result.stderr
    rows = {r["step"]: r for r in json.loads(result.stdout)}
    audit = rows["maintenance-audit-retention"]
    assert (audit["expression"], audit["timezone"], audit["last_success"]) == (
        "17 3 * * *",
        "Europe/Berlin",
        None,
    )
    local = datetime.fromtimestamp(audit["next_run"], BERLIN)
    assert (local.hour, local.minute) == (3, 17)
    table = await asyncio.to_thread(run_cli, ["cron", "list"], env)
    assert "maintenance-audit-retention" in table.stdout and "Europe/Berlin" in table.stdout

    ran = await asyncio.to_thread(run_cli, ["cron", "run", "maintenance-audit-retention"], env)
    assert ran.returncode == 0 and ran.stdout == "cron maintenance-audit-retention ran\n", ran.stderr
    rows = {
        r["step"]: r
        for r in json.loads((await asyncio.to_thread(run_cli, ["cron", "list", "--json"], env)).stdout)
    }
    assert rows["maintenance-audit-retention"]["last_success"] is not None
    unknown = await asyncio.to_thread(run_cli, ["cron", "run", "nope"], env)
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == (
        "error: no cron named 'nope' (crons: advoware-calendar-cron, maintenance-audit-retention, "
        "vmh-beteiligte-cron)"
    )
