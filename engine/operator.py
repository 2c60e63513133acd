"""What an operator looks at, read from the engine's backend: queues, delayed jobs, dead letters,
crons. The CLI prints these rows; a browser console can serve the same functions.

Rows carry ids, counts, times and the stored error texts (as safe as a dead letter's), never a
job's payload: only the id of the record a job is about.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .backends.base import Backend, split_queue_name
from .crontab import next_tick
from .registry import Step
from .scheduler import last_successes
from .triggers import CronTrigger
from .worker import record_id


@dataclass(frozen=True)
class QueueRow:
    queue: str
    topic: str
    step: str
    depth: int
    in_flight: int
    delayed: int
    dead: int
    oldest_age_s: float | None


@dataclass(frozen=True)
class JobRow:
    """A delayed job or a dead letter."""

    id: str
    queue: str
    record_id: str | int | None
    attempts: int
    at: float  # delayed: when it runs; dead letter: when it failed
    error: str | None
    trace_id: str


@dataclass(frozen=True)
class CronRow:
    step: str
    expression: str
    timezone: str
    next_run: float
    last_success: float | None


def as_dict(row: Any) -> dict[str, Any]:
    return asdict(row)


async def queue_rows(backend: Backend, queues: Sequence[str]) -> list[QueueRow]:
    rows = []
    for s in await backend.queue_stats(queues):
        topic, step = split_queue_name(s.queue)
        rows.append(QueueRow(s.queue, topic, step, s.depth, s.in_flight, s.delayed, s.dead, s.oldest_age))
    return rows


async def delayed_rows(backend: Backend, queues: Sequence[str], limit: int = 100) -> list[JobRow]:
    return [
        JobRow(j.id, j.queue, record_id(j.data), j.attempts, j.run_at, j.last_error, j.trace_id)
        for j in await backend.list_delayed(queues, limit)
    ]


async def dead_letter_rows(backend: Backend, limit: int = 100) -> list[JobRow]:
    return [
        JobRow(d.id, d.queue, record_id(d.data), d.attempts, d.failed_at, d.error, d.trace_id)
        for d in await backend.list_dead(limit)
    ]


async def cron_rows(
    backend: Backend, steps: Sequence[Step], timezone: str, now: float | None = None
) -> list[CronRow]:
    now = time.time() if now is None else now
    done = await last_successes(backend)
    return [
        CronRow(
            s.name,
            t.expression,
            timezone,
            next_tick(t.expression, now, timezone),
            done.get(s.name, {}).get("finished_at"),
        )
        for s in steps
        for t in s.triggers_of(CronTrigger)
    ]
