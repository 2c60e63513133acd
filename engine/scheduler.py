"""The cron loop of one process: sleep until the next tick, claim it through the backend (so
one process in the whole deployment runs it), run the handler with a fresh trace id."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from .backends.base import Backend
from .context import ContextFactory, new_trace_id
from .crontab import catch_up_tick, next_tick
from .metrics import CRON_RUNS, HANDLER_SECONDS
from .registry import Step
from .triggers import CronTrigger

log = logging.getLogger("bitbylaw.engine.cron")


def cron_name(step: Step, trigger: CronTrigger) -> str:
    return f"{step.name}:{trigger.expression}"


class CronScheduler:
    def __init__(
        self,
        backend: Backend,
        steps: Sequence[Step],
        *,
        timeout: float = 900.0,
        resources: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.backend, self.timeout, self.clock = backend, timeout, clock
        self.contexts = ContextFactory(backend, steps, resources)
        self.crons = [(s, t) for s in steps for t in s.triggers_of(CronTrigger)]
        self._tasks: list[asyncio.Task[None]] = []
        self._runs: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop(s, t)) for s, t in self.crons]

    async def stop(self, grace: float) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runs:
            _, pending = await asyncio.wait(self._runs, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _loop(self, step: Step, trigger: CronTrigger) -> None:
        name = cron_name(step, trigger)
        # Claim keys live a day: long past any clock skew between processes.
        ttl = 86400.0
        missed = catch_up_tick(trigger.expression, await self.backend.get_cron_last_tick(name), self.clock())
        if missed is not None and await self.backend.claim_cron_tick(name, missed, ttl):
            self._fire(step, trigger, missed, catch_up=True)
        tick = next_tick(trigger.expression, self.clock())
        while True:
            await asyncio.sleep(max(tick - self.clock(), 0.0))
            try:
                if await self.backend.claim_cron_tick(name, tick, ttl):
                    self._fire(step, trigger, tick, catch_up=False)
            except Exception as exc:  # backend down: skip this tick, try the next one
                log.warning("cron claim failed", extra={"cron": name, "error_type": type(exc).__name__})
            tick = next_tick(trigger.expression, max(tick, self.clock()))

    def _fire(self, step: Step, trigger: CronTrigger, tick: float, catch_up: bool) -> None:
        task = asyncio.create_task(self._run(step, trigger, tick, catch_up))
        self._runs.add(task)
        task.add_done_callback(self._runs.discard)

    async def _run(self, step: Step, trigger: CronTrigger, tick: float, catch_up: bool) -> None:
        trace_id = new_trace_id()
        ctx = self.contexts.make(step, trigger, trace_id)
        logger = ctx.logger
        start = time.perf_counter()
        logger.info("cron tick", tick=tick, catch_up=catch_up)
        try:
            await asyncio.wait_for(step.handler({"tick": tick, "catch_up": catch_up}, ctx), self.timeout)
            CRON_RUNS.labels(step.name, "ok").inc()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            CRON_RUNS.labels(step.name, "error").inc()
            logger.error("cron handler failed", error_type=type(exc).__name__)
        finally:
            HANDLER_SECONDS.labels(step.name, "cron").observe(time.perf_counter() - start)
