"""`ctx`, the handler's view of the engine: enqueue, logger, state, locks, trace id, trigger.

`ctx.enqueue` checks the topic against the step's declared `enqueues` (an undeclared topic is
an exception, so the job fails) and fans out: one job per subscribing step, all in one durable
backend round trip. The trace id of the context travels with every job it enqueues.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .backends.base import Backend, EnqueueRequest, LockInfo, queue_name
from .logs import StepLogger
from .metrics import JOBS_DEDUPLICATED, JOBS_ENQUEUED
from .triggers import Trigger

if TYPE_CHECKING:
    from .registry import Step


class UndeclaredTopicError(RuntimeError):
    log_safe = True  # names a topic and a step: kept in dead letters (worker.error_text)


def new_trace_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Emit:
    """One enqueue for `ctx.enqueue_many`."""

    topic: str
    data: Any
    delay: float = 0.0
    dedup_key: str | None = None
    dedup_ttl: float = 3600.0


class Subscriptions:
    """topic → subscribing step names, built once from the step graph."""

    def __init__(self, steps: Sequence[Step]) -> None:
        from .triggers import QueueTrigger

        self.by_topic: dict[str, list[str]] = {}
        for step in steps:
            for t in step.triggers_of(QueueTrigger):
                self.by_topic.setdefault(t.topic, []).append(step.name)

    def queues(self, topic: str) -> list[str]:
        return [queue_name(topic, step) for step in self.by_topic.get(topic, [])]


async def enqueue_emits(
    backend: Backend, subs: Subscriptions, emits: Sequence[Emit], trace_id: str
) -> list[bool]:
    """Fan out and durably enqueue; returns per emit whether at least one job was created."""
    requests: list[EnqueueRequest] = []
    owners: list[int] = []
    for i, e in enumerate(emits):
        for q in subs.queues(e.topic):
            requests.append(EnqueueRequest(q, e.data, trace_id, e.delay, e.dedup_key, e.dedup_ttl))
            owners.append(i)
    ids = await backend.enqueue(requests) if requests else []
    created = [False] * len(emits)
    for owner, req, job_id in zip(owners, requests, ids, strict=True):
        topic, _, step = req.queue.partition("::")
        if job_id is None:
            JOBS_DEDUPLICATED.labels(topic, step).inc()
        else:
            JOBS_ENQUEUED.labels(topic, step).inc()
            created[owner] = True
    return created


class StateScope:
    """Key-value state with TTL, addressed as (group, key) like Motia's `ctx.state`."""

    def __init__(self, backend: Backend) -> None:
        self._b = backend

    async def get(self, group: str, key: str) -> Any | None:
        return await self._b.state_get(group, key)

    async def set(self, group: str, key: str, value: Any, ttl: float | None = None) -> None:
        await self._b.state_set(group, key, value, ttl)

    async def set_if_absent(self, group: str, key: str, value: Any, ttl: float | None = None) -> bool:
        return await self._b.state_set_if_absent(group, key, value, ttl)

    async def delete(self, group: str, key: str) -> bool:
        return await self._b.state_delete(group, key)

    async def get_group(self, group: str) -> dict[str, Any]:
        return await self._b.state_items(group)


class Locks:
    """Distributed locks with owner tokens (release and extend only by the owner)."""

    def __init__(self, backend: Backend) -> None:
        self._b = backend

    async def acquire(self, key: str, ttl: float, owner: str | None = None) -> str | None:
        token = owner or uuid.uuid4().hex
        return token if await self._b.acquire_lock(key, token, ttl) else None

    async def extend(self, key: str, owner: str, ttl: float) -> bool:
        return await self._b.extend_lock(key, owner, ttl)

    async def release(self, key: str, owner: str) -> bool:
        return await self._b.release_lock(key, owner)

    async def list(self, prefix: str = "") -> list[LockInfo]:
        return await self._b.list_locks(prefix)


class FlowContext:
    def __init__(
        self,
        *,
        step: Step,
        trigger: Trigger,
        trace_id: str,
        backend: Backend,
        subscriptions: Subscriptions,
        logger: StepLogger,
        attempt: int = 1,
        resources: dict[str, Any] | None = None,
    ) -> None:
        self.step = step
        self.trigger = trigger
        self.trace_id = trace_id
        self.attempt = attempt  # delivery count of the job (1 for HTTP and cron)
        self.backend = backend
        self.logger = logger
        self.state = StateScope(backend)
        self.locks = Locks(backend)
        self.resources = resources if resources is not None else {}
        self._subs = subscriptions

    async def enqueue(
        self,
        topic: str,
        data: Any,
        *,
        delay: float = 0.0,
        dedup_key: str | None = None,
        dedup_ttl: float = 3600.0,
    ) -> bool:
        """Enqueue to every subscriber of `topic`. False when a dedup key suppressed it."""
        (created,) = await self.enqueue_many([Emit(topic, data, delay, dedup_key, dedup_ttl)])
        return created

    async def enqueue_many(self, emits: Sequence[Emit]) -> list[bool]:
        for e in emits:
            if e.topic not in self.step.enqueues:
                raise UndeclaredTopicError(
                    f"step {self.step.name!r} ({self.step.file}) enqueued topic {e.topic!r}, "
                    f"which its config does not declare in 'enqueues'"
                )
        return await enqueue_emits(self.backend, self._subs, emits, self.trace_id)


class ContextFactory:
    """Builds the `ctx` of one handler run (HTTP request, job or cron tick): the one place where
    a step, its trigger and a trace id become a context with a bound logger."""

    def __init__(
        self, backend: Backend, steps: Sequence[Step], resources: dict[str, Any] | None = None
    ) -> None:
        self.backend = backend
        self.subscriptions = Subscriptions(steps)
        self.resources = resources
        self._logger = logging.getLogger("bitbylaw.steps")

    def make(
        self, step: Step, trigger: Trigger, trace_id: str, attempt: int | None = None, **log_fields: Any
    ) -> FlowContext:
        """`attempt` is a job's delivery count (logged); None for HTTP requests and cron ticks."""
        if attempt is not None:
            log_fields["attempt"] = attempt
        logger = StepLogger(
            self._logger, step=step.name, trace_id=trace_id, trigger=trigger.describe(), **log_fields
        )
        return FlowContext(
            step=step,
            trigger=trigger,
            trace_id=trace_id,
            backend=self.backend,
            subscriptions=self.subscriptions,
            logger=logger,
            attempt=attempt or 1,
            resources=self.resources,
        )
