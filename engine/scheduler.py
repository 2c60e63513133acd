"""The cron loop of one process: sleep until the next tick, claim it through the backend (so
one process in the whole deployment runs it), run the handler with a fresh trace id.

A successful run is recorded in the backend's state (`CRON_STATE` scope, one key per step), so
the last success of every cron is known deployment-wide (`bitbylaw cron list`, the
`bitbylaw_cron_last_success_timestamp_seconds` gauge) whichever process ran it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from .backends.base import Backend
from .context import ContextFactory, new_trace_id
from .crontab import UTC_NAME, catch_up_tick, next_tick
from .logs import bound
from .metrics import CRON_RUNS, HANDLER_SECONDS
from .registry import Step
from .triggers import CronTrigger

log = logging.getLogger("bitbylaw.engine.cron")
CRON_STATE = "engine.cron"


def cron_name(step: Step, trigger: CronTrigger) -> str:
    return f"{step.name}:{trigger.expression}"


class UnknownCron(LookupError):
    log_safe = True


class CronScheduler:
    def __init__(
        self,
        backend: Backend,
        steps: Sequence[Step],
        *,
        timeout: float = 900.0,
        resources: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.time,
        timezone: str = UTC_NAME,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.backend, self.timeout, self.clock = backend, timeout, clock
        self.timezone, self._sleep = timezone, sleep
        self.contexts = ContextFactory(backend, steps, resources)
        self.crons = [(s, t) for s in steps for t in s.triggers_of(CronTrigger)]
        self._tasks: list[asyncio.Task[None]] = []
        self._runs: set[asyncio.Task[bool]] = set()
        self._stopping = False

    async def start(self) -> None:
        self._stopping = False
        self._tasks = [asyncio.create_task(self._loop(s, t)) for s, t in self.crons]

    async def stop(self, grace: float) -> None:
        # The flag as well as the cancel: Python 3.11's wait_for (inside redis-py) can swallow a
        # cancellation, and a loop that lost its cancel must still end at its next turn.
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runs:
            _, pending = await asyncio.wait(self._runs, timeout=grace)
            for run in pending:
                run.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    def find(self, name: str) -> tuple[Step, CronTrigger]:
        """A cron by step name (or `step:expression` when a step has several)."""
        for step, trigger in self.crons:
            if name in (step.name, cron_name(step, trigger)):
                return step, trigger
        known = ", ".join(sorted(s.name for s, _ in self.crons)) or "none"
        raise UnknownCron(f"no cron named {name!r} (crons: {known})")

    async def run_now(self, name: str) -> bool:
        """One tick of a cron now, outside its schedule and without claiming a tick (`bitbylaw
        cron run NAME`). True when the handler succeeded."""
        step, trigger = self.find(name)
        return await self._run(step, trigger, self.clock(), catch_up=False, manual=True)

    async def _loop(self, step: Step, trigger: CronTrigger) -> None:
        name = cron_name(step, trigger)
        tz = self.timezone
        # Claim keys live a day: long past any clock skew between processes.
        ttl = 86400.0
        missed = catch_up_tick(
            trigger.expression, await self.backend.get_cron_last_tick(name), self.clock(), tz
        )
        if missed is not None and await self.backend.claim_cron_tick(name, missed, ttl):
            self._fire(step, trigger, missed, catch_up=True)
        tick = next_tick(trigger.expression, self.clock(), tz)
        while not self._stopping:
            await self._sleep(max(tick - self.clock(), 0.0))
            try:
                if await self.backend.claim_cron_tick(name, tick, ttl):
                    self._fire(step, trigger, tick, catch_up=False)
            except Exception as exc:  # backend down: skip this tick, try the next one
                log.warning("cron claim failed", extra={"cron": name, "error_type": type(exc).__name__})
            tick = next_tick(trigger.expression, max(tick, self.clock()), tz)

    def _fire(self, step: Step, trigger: CronTrigger, tick: float, catch_up: bool) -> None:
        task = asyncio.create_task(self._run(step, trigger, tick, catch_up))
        self._runs.add(task)
        task.add_done_callback(self._runs.discard)

    async def _run(
        self, step: Step, trigger: CronTrigger, tick: float, catch_up: bool, manual: bool = False
    ) -> bool:
        trace_id = new_trace_id()
        ctx = self.contexts.make(step, trigger, trace_id)
        with bound(trace_id=trace_id, step=step.name, trigger=trigger.describe()):
            logger = ctx.logger
            start = time.perf_counter()
            logger.info("cron tick", tick=tick, catch_up=catch_up, manual=manual)
            try:
                await asyncio.wait_for(
                    step.handler({"tick": tick, "catch_up": catch_up, "manual": manual}, ctx), self.timeout
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                CRON_RUNS.labels(step.name, "error").inc()
                logger.error("cron handler failed", exc_info=exc, error_type=type(exc).__name__)
                return False
            finally:
                HANDLER_SECONDS.labels(step.name, "cron").observe(time.perf_counter() - start)
            CRON_RUNS.labels(step.name, "ok").inc()
            await self._record_success(step, tick)
            return True

    async def _record_success(self, step: Step, tick: float) -> None:
        try:
            await self.backend.state_set(CRON_STATE, step.name, {"tick": tick, "finished_at": self.clock()})
        except Exception as exc:  # bookkeeping only: the run itself succeeded
            log.warning(
                "cron success not recorded", extra={"cron": step.name, "error_type": type(exc).__name__}
            )


async def last_successes(backend: Backend) -> dict[str, dict[str, float]]:
    """step name → {"tick", "finished_at"} of its last successful run, deployment-wide."""
    items = await backend.state_items(CRON_STATE)
    return {k: v for k, v in items.items() if isinstance(v, dict)}
