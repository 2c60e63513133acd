"""The queue worker: one consumer loop per subscription, bounded by its concurrency.

Delivery is at least once: a job is acked only after its handler returned, so a crash between
the two runs it again — handlers must be idempotent. A failed run is retried with exponential
backoff until `max_retries`, then dead-lettered. Input that does not validate is dead-lettered
at once (retrying cannot fix it). A job that keeps killing its worker is dead-lettered when its
delivery count passes the retry limit. Leases of running jobs are renewed by one heartbeat task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .backends.base import Backend, Job, queue_name
from .context import ContextFactory
from .logs import StepLogger, bound
from .metrics import HANDLER_SECONDS, JOBS_FAILED, JOBS_PROCESSED, JOBS_RETRIED
from .registry import Step
from .retry import backoff_delay, should_dead_letter
from .triggers import QueueTrigger

log = logging.getLogger("bitbylaw.engine.worker")


@dataclass
class Subscription:
    step: Step
    trigger: QueueTrigger
    queue: str
    visibility_timeout: float


def error_text(exc: BaseException) -> str:
    """The error stored with a retried or dead-lettered job (printed by `bitbylaw dlq list`).

    A handler's exception text may quote a value — `not a date: '05.01.1980'`, a pydantic
    `input_value`, a database `DETAIL: Key (...)=(...)` — so it is kept only when the exception
    declares it safe (`log_safe = True`: client errors that name a route template, the engine's
    own errors). Otherwise: the type and where it was raised (no personal data in dead letters).
    """
    if isinstance(exc, TimeoutError):
        return "timeout: the handler did not finish in time"
    if getattr(exc, "log_safe", False):
        return f"{type(exc).__name__}: {exc}"[:2000]
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f" at {'/'.join(Path(tb.tb_frame.f_code.co_filename).parts[-2:])}:{tb.tb_lineno}" if tb else ""
    return f"{type(exc).__name__}{where} (message withheld: may hold personal data)"


def unexpected(exc: BaseException | None) -> BaseException | None:
    """The exception when its stack belongs in the log: not for errors the code expects and
    describes itself (`log_safe`: a client's HTTP error, a timeout)."""
    if exc is None or isinstance(exc, TimeoutError) or getattr(exc, "log_safe", False):
        return None
    return exc


def record_id(data: Any) -> str | int | None:
    """The id of the record a job is about (`{"id": ...}`), for log lines; ids only."""
    value = data.get("id") if isinstance(data, dict) else None
    return value if isinstance(value, str | int) and not isinstance(value, bool) else None


class AckBatcher:
    """Acks finished jobs in batches (one backend round trip for many jobs)."""

    def __init__(self, backend: Backend, max_batch: int = 256, max_wait: float = 0.005) -> None:
        self.backend, self.max_batch, self.max_wait = backend, max_batch, max_wait
        self._pending: list[Job] = []
        self._flusher: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def add(self, job: Job) -> None:
        self._pending.append(job)
        if self._flusher is None or self._flusher.done():
            delay = 0.0 if len(self._pending) >= self.max_batch else self.max_wait
            self._flusher = asyncio.ensure_future(self._flush_soon(delay))

    async def _flush_soon(self, delay: float) -> None:
        await asyncio.sleep(delay)
        # Jobs that finish while an ack is under way (slow while Redis reconnects) start no
        # second flusher (see add): this one acks them too, or they would stay leased until
        # their visibility timeout and run again.
        while self._pending:
            try:
                await self.flush()
            except Exception as exc:  # backend gone for good: the jobs run again after their lease
                log.warning("ack failed, jobs will run again", extra={"error_type": type(exc).__name__})

    async def flush(self) -> None:
        async with self._lock:
            batch, self._pending = self._pending, []
            if batch:
                await self.backend.ack(batch)


class Worker:
    def __init__(
        self,
        backend: Backend,
        steps: Sequence[Step],
        worker_id: str,
        *,
        default_visibility_timeout: float = 60.0,
        poll_block: float = 1.0,
        resources: dict[str, Any] | None = None,
    ) -> None:
        self.backend = backend
        self.worker_id = worker_id
        self.poll_block = poll_block
        self.contexts = ContextFactory(backend, steps, resources)
        self.subscriptions = [
            Subscription(
                step,
                t,
                queue_name(t.topic, step.name),
                # The lease is the visibility timeout, renewed by the heartbeat while the handler
                # runs: a dead worker's jobs return within about one visibility timeout.
                t.config.visibility_timeout or default_visibility_timeout,
            )
            for step in steps
            for t in step.triggers_of(QueueTrigger)
        ]
        self.acks = AckBatcher(backend)
        self._running: dict[str, tuple[Job, Subscription]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        await self.backend.prepare_worker(self.worker_id)
        self._loops = [asyncio.create_task(self._consume(s)) for s in self.subscriptions]
        if self.subscriptions:
            self._heartbeat_task = asyncio.create_task(self._heartbeat())

    async def stop(self, grace: float) -> None:
        """Stop taking jobs, let in-flight ones finish within `grace` seconds, flush acks.
        Jobs still running after the grace period are cancelled and stay leased: another
        worker (or this one after a restart) runs them again."""
        self._stopping.set()
        # Let each loop finish its current fetch (at most poll_block) so no job is leased and
        # then dropped; cancel whatever is still waiting after that.
        _, waiting = (
            await asyncio.wait(self._loops, timeout=self.poll_block + 1.0) if self._loops else ((), ())
        )
        for loop in waiting:
            loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("jobs still running after grace period", extra={"count": len(pending)})
                await asyncio.gather(*pending, return_exceptions=True)
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
            await asyncio.gather(self._heartbeat_task, return_exceptions=True)
        await self.acks.flush()

    @property
    def in_flight(self) -> int:
        return len(self._running)

    async def _consume(self, sub: Subscription) -> None:
        slots = asyncio.Semaphore(sub.trigger.config.concurrency)
        while not self._stopping.is_set():
            await slots.acquire()
            free = 1
            while free < sub.trigger.config.concurrency and not slots.locked():
                await slots.acquire()
                free += 1
            try:
                jobs = await self.backend.fetch(
                    sub.queue, free, sub.visibility_timeout, self.worker_id, block=self.poll_block
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # backend hiccup: back off, keep the loop alive
                log.warning("fetch failed", extra={"queue": sub.queue, "error_type": type(exc).__name__})
                jobs = []
                await asyncio.sleep(0.5)
            for _ in range(free - len(jobs)):
                slots.release()
            for job in jobs:
                self._spawn(job, sub, slots)

    def _spawn(self, job: Job, sub: Subscription, slots: asyncio.Semaphore) -> None:
        self._running[job.id] = (job, sub)
        task = asyncio.create_task(self._run_job(job, sub))
        self._tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            self._running.pop(job.id, None)
            slots.release()

        task.add_done_callback(done)

    async def _heartbeat(self) -> None:
        interval = max(min(s.visibility_timeout for s in self.subscriptions) / 3, 0.05)
        while True:
            await asyncio.sleep(interval)
            by_vt: dict[float, list[Job]] = {}
            for job, sub in list(self._running.values()):
                by_vt.setdefault(sub.visibility_timeout, []).append(job)
            for vt, jobs in by_vt.items():
                with contextlib.suppress(Exception):
                    await self.backend.extend_lease(jobs, vt)

    async def _run_job(self, job: Job, sub: Subscription) -> None:
        # Every log line of the job (engine, services, clients) carries these ids.
        with bound(trace_id=job.trace_id, step=sub.step.name, job_id=job.id, entity_id=record_id(job.data)):
            await self._run_bound(job, sub)

    async def _run_bound(self, job: Job, sub: Subscription) -> None:
        step, trigger = sub.step, sub.trigger
        cfg = trigger.config
        ctx = self.contexts.make(step, trigger, job.trace_id, job.attempt, job_id=job.id)
        logger = ctx.logger
        if job.dedup_key is not None:
            await self.backend.release_dedup(job.queue, job.dedup_key)  # edits from now on count
        if should_dead_letter(job.attempt, cfg.max_retries + 1):
            await self._dead(job, "delivery count exceeded (the job's worker died repeatedly)", logger)
            return
        try:
            data = trigger.input.model_validate(job.data) if trigger.input else job.data
        except ValidationError as exc:
            await self._dead(job, f"input does not validate: {exc.error_count()} error(s)", logger)
            return
        start = time.perf_counter()
        try:
            # asyncio.timeout, not wait_for: no second task per job (a third of the per-job cost).
            async with asyncio.timeout(cfg.timeout):
                await step.handler(data, ctx)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._failed(job, sub, exc, logger)
            return
        finally:
            HANDLER_SECONDS.labels(step.name, "queue").observe(time.perf_counter() - start)
        JOBS_PROCESSED.labels(job.topic, step.name).inc()
        self.acks.add(job)

    async def _failed(self, job: Job, sub: Subscription, exc: Exception, logger: StepLogger) -> None:
        cfg = sub.trigger.config
        reason = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
        error = error_text(exc)
        if should_dead_letter(job.attempt, cfg.max_retries):
            await self._dead(job, error, logger, exc)
            return
        delay = backoff_delay(job.attempt, cfg.backoff_base, cfg.backoff_max)
        logger.warning(
            "job failed, will retry", exc_info=unexpected(exc), error_type=reason, retry_in=round(delay, 3)
        )
        JOBS_RETRIED.labels(job.topic, sub.step.name).inc()
        await self.backend.retry(job, delay, error)

    async def _dead(self, job: Job, error: str, logger: StepLogger, exc: Exception | None = None) -> None:
        logger.error("job dead-lettered", exc_info=unexpected(exc), error=error.split(":")[0])
        JOBS_FAILED.labels(job.topic, job.step).inc()
        await self.backend.dead_letter(job, error)
