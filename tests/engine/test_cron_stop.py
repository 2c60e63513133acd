"""Stopping the cron loop when its cancellation is lost.

Python 3.11's `asyncio.wait_for` (used by redis-py around socket writes) can swallow a
cancellation that arrives as the awaited call completes; a worker's cron loop then went on
ticking after SIGTERM and the process never exited. The backend below loses the cancellation
that way, deterministically, in the middle of a tick's claim.
"""

from __future__ import annotations

import asyncio

import pytest

from engine.backends.embedded import EmbeddedBackend
from engine.registry import Step
from engine.scheduler import CronScheduler
from engine.triggers import cron

pytestmark = pytest.mark.timeout(30)


class LosesOneCancellation(EmbeddedBackend):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.claiming = asyncio.Event()
        self.lost = False

    async def claim_cron_tick(self, cron_name: str, tick: float, ttl: float) -> bool:
        if not self.lost:
            self.claiming.set()
            try:
                await asyncio.Event().wait()  # until cancelled
            except asyncio.CancelledError:
                self.lost = True  # swallowed, as the 3.11 wait_for race does
        return await super().claim_cron_tick(cron_name, tick, ttl)


async def test_stop_ends_a_cron_loop_whose_cancellation_was_lost(tmp_path):
    runs: list[float] = []

    async def handler(data, ctx):
        runs.append(data["tick"])

    backend = LosesOneCancellation(tmp_path / "engine.db")
    await backend.connect()
    scheduler = CronScheduler(
        backend, [Step(name="every-second", file="test", handler=handler, triggers=[cron("* * * * * *")])]
    )
    try:
        await scheduler.start()
        await asyncio.wait_for(backend.claiming.wait(), 10)
        await asyncio.wait_for(scheduler.stop(grace=2), 10)
        assert backend.lost  # the loop did lose its cancellation, and still stopped
        ran = len(runs)
        await asyncio.sleep(1.5)
        assert len(runs) == ran  # and nothing ticks after stop
    finally:
        await backend.close()
