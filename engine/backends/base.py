"""The storage contract of the step engine.

Every backend (embedded SQLite, Redis) implements `Backend`. The engine talks to queues,
delayed jobs, dedup keys, dead letters, cron leadership, locks, key-value state and priority
sets only through this class, and one contract test suite (`tests/engine/contract/`) runs
against every backend, the way saq runs one `TestQueue` per backend.

Vocabulary:
- A *queue* is one subscription: topic + subscribing step (`queue_name(topic, step)`).
  Fan-out happens above the backend: the engine enqueues one job per subscriber queue.
- A job's `attempt` is its delivery count: 1 on the first delivery, +1 for every redelivery
  (after a retry, or after its worker died and its lease expired).
- Times are epoch seconds (float) from the backend's injectable clock.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

Clock = Callable[[], float]


def queue_name(topic: str, step: str) -> str:
    """The queue of one subscriber of a topic."""
    return f"{topic}::{step}"


def split_queue_name(queue: str) -> tuple[str, str]:
    topic, _, step = queue.partition("::")
    return topic, step


@dataclass(frozen=True)
class EnqueueRequest:
    """One job to create. `delay` in seconds; `dedup_key` suppresses a second job with the same
    key on the same queue until the first one starts or `dedup_ttl` seconds pass."""

    queue: str
    data: Any
    trace_id: str
    delay: float = 0.0
    dedup_key: str | None = None
    dedup_ttl: float = 3600.0


@dataclass
class Job:
    id: str
    queue: str
    data: Any
    trace_id: str
    attempt: int
    enqueued_at: float
    dedup_key: str | None = None
    # Backend-private handle (SQLite rowid, Redis stream entry id, ...).
    receipt: Any = field(default=None, repr=False, compare=False)

    @property
    def topic(self) -> str:
        return split_queue_name(self.queue)[0]

    @property
    def step(self) -> str:
        return split_queue_name(self.queue)[1]


@dataclass(frozen=True)
class DeadLetter:
    id: str
    queue: str
    data: Any
    trace_id: str
    attempts: int
    error: str
    failed_at: float


@dataclass(frozen=True)
class DelayedJob:
    """A job waiting for its time: scheduled with a delay, or a retry waiting for its backoff
    (then `last_error` says why it failed; the text is as safe as a dead letter's)."""

    id: str
    queue: str
    data: Any
    trace_id: str
    attempts: int  # runs so far (0 for a job that never ran)
    run_at: float
    last_error: str | None


@dataclass(frozen=True)
class QueueStats:
    queue: str
    depth: int  # ready to run now
    in_flight: int  # delivered, not yet acked
    delayed: int  # scheduled for later (incl. retries waiting for backoff)
    dead: int
    oldest_age: float | None  # seconds since the oldest ready job was enqueued


@dataclass(frozen=True)
class LockInfo:
    key: str
    owner: str
    expires_at: float


class BackendUnavailable(RuntimeError):
    """The backend cannot be reached (Redis down, SQLite file locked)."""


class Backend(abc.ABC):
    """Abstract storage for the engine. All methods are coroutines and safe to call from many
    tasks of one event loop; the Redis backend is also safe across processes and hosts."""

    name: str = "abstract"

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or time.time

    # -- lifecycle ---------------------------------------------------------------------------
    @abc.abstractmethod
    async def connect(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def ping(self) -> float:
        """Round trip in seconds; raises BackendUnavailable."""

    async def prepare_worker(self, worker_id: str) -> None:  # noqa: B027 - optional hook
        """Called once before a worker starts consuming (embedded: take over stale leases)."""

    # -- queue -------------------------------------------------------------------------------
    @abc.abstractmethod
    async def enqueue(self, requests: Sequence[EnqueueRequest]) -> list[str | None]:
        """Durably create the jobs in one round trip / transaction. Returns the new job id per
        request, or None where the dedup key suppressed it."""

    @abc.abstractmethod
    async def fetch(
        self, queue: str, count: int, visibility_timeout: float, worker_id: str, block: float = 0.0
    ) -> list[Job]:
        """Deliver up to `count` ready jobs of `queue` (due delayed jobs included) and lease them
        to `worker_id` for `visibility_timeout` seconds. A job whose lease ran out (its worker
        died) is delivered again with attempt + 1. When nothing is ready, wait up to `block`
        seconds for a job to arrive (Redis: blocking XREADGROUP; embedded: in-process
        notification plus polling for due delayed jobs), then return what there is (maybe [])."""

    @abc.abstractmethod
    async def extend_lease(self, jobs: Sequence[Job], visibility_timeout: float) -> None:
        """Keep running jobs leased (heartbeat for handlers longer than the visibility timeout)."""

    @abc.abstractmethod
    async def ack(self, jobs: Sequence[Job]) -> None:
        """The jobs are done; remove them durably."""

    @abc.abstractmethod
    async def retry(self, job: Job, delay: float, error: str) -> None:
        """Release the job to run again after `delay` seconds (its next delivery has attempt+1)."""

    @abc.abstractmethod
    async def dead_letter(self, job: Job, error: str) -> None:
        """Move the job to the dead-letter list."""

    @abc.abstractmethod
    async def release_dedup(self, queue: str, dedup_key: str) -> None:
        """Forget a dedup key (called when its job starts)."""

    @abc.abstractmethod
    async def list_dead(self, limit: int = 100) -> list[DeadLetter]: ...

    @abc.abstractmethod
    async def replay_dead(self, ids: Sequence[str] | None = None) -> int:
        """Re-enqueue dead letters (all when `ids` is None) with attempt reset. Returns count."""

    @abc.abstractmethod
    async def queue_stats(self, queues: Sequence[str]) -> list[QueueStats]: ...

    @abc.abstractmethod
    async def list_delayed(self, queues: Sequence[str], limit: int = 100) -> list[DelayedJob]:
        """Jobs of `queues` not yet due (delayed or waiting for a retry), soonest first."""

    # -- cron --------------------------------------------------------------------------------
    @abc.abstractmethod
    async def claim_cron_tick(self, cron_name: str, tick: float, ttl: float) -> bool:
        """True for exactly one caller per (cron_name, tick) across all processes."""

    @abc.abstractmethod
    async def get_cron_last_tick(self, cron_name: str) -> float | None:
        """The newest tick that was claimed (for 'at most one catch-up run' after downtime)."""

    # -- locks -------------------------------------------------------------------------------
    @abc.abstractmethod
    async def acquire_lock(self, key: str, owner: str, ttl: float) -> bool: ...

    @abc.abstractmethod
    async def extend_lock(self, key: str, owner: str, ttl: float) -> bool:
        """Only the owner may extend; False if the lock is not (any longer) held by `owner`."""

    @abc.abstractmethod
    async def release_lock(self, key: str, owner: str) -> bool:
        """Only the owner may release; False otherwise."""

    @abc.abstractmethod
    async def force_release_lock(self, key: str) -> bool:
        """Operator override (`bitbylaw locks release KEY`)."""

    @abc.abstractmethod
    async def list_locks(self, prefix: str = "") -> list[LockInfo]: ...

    # -- key-value state ---------------------------------------------------------------------
    @abc.abstractmethod
    async def state_get(self, scope: str, key: str) -> Any | None: ...

    @abc.abstractmethod
    async def state_set(self, scope: str, key: str, value: Any, ttl: float | None = None) -> None: ...

    @abc.abstractmethod
    async def state_set_if_absent(
        self, scope: str, key: str, value: Any, ttl: float | None = None
    ) -> bool: ...

    @abc.abstractmethod
    async def state_delete(self, scope: str, key: str) -> bool: ...

    @abc.abstractmethod
    async def state_items(self, scope: str) -> dict[str, Any]:
        """All live keys of a scope."""

    # -- priority set (calendar: oldest-synced first) ------------------------------------------
    @abc.abstractmethod
    async def zadd(self, name: str, member: str, score: float) -> None: ...

    @abc.abstractmethod
    async def zrange(self, name: str, limit: int | None = None) -> list[tuple[str, float]]:
        """Members by ascending score."""

    @abc.abstractmethod
    async def zrem(self, name: str, member: str) -> bool: ...
