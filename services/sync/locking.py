"""The per-record lock as an async context manager, renewed by its holder (SYNC_RULES §1 step 1).

    async with locked(lock, "beteiligte:42", ttl=60) as held:
        ...                       # `await held.check()` before each write (the runner's guard)

- Someone else holds it → `LockHeld` (the caller re-queues the job, never drops it; the delay
  comes from `wait_delay`).
- A background task extends the lock every third of the TTL while the block runs; a renewal
  that finds the lock no longer ours marks it lost, and the next `check()` raises `LockLost`
  before the next write. A crashed holder frees the lock within one TTL.
- The lock is released in a `finally`; a failed release is logged, never raised (the TTL frees it).

`under_lock` is what every sync job runs (parties, their bank accounts): the flow under the
lock, or — held by someone else, or lost while running — `Busy` with the delay after which the
caller re-queues the job (never dropped).

The owner token carries the acquisition time (`<hex>@<epoch>`), so operators and `/health` can
tell how long a lock has been held although its expiry moves with every renewal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

log = logging.getLogger("bitbylaw.sync.lock")
T = TypeVar("T")


def party_lock_key(party_id: str) -> str:
    """The one lock of a party: its own sync and the syncs of its bank accounts take it."""
    return f"beteiligte:{party_id}"


class Lock(Protocol):
    """A distributed lock with an owner token (the engine backend: SQLite rows or Redis keys)."""

    async def acquire(self, key: str, ttl: float, owner: str | None = None) -> str | None:
        """The owner token, or None when someone else holds the lock."""

    async def extend(self, key: str, owner: str, ttl: float) -> bool: ...

    async def release(self, key: str, owner: str) -> bool: ...


class LockHeld(Exception):
    """Another run holds the lock."""


class LockLost(Exception):
    """The lock expired or was taken over while this run held it."""


def owner_token(now: Callable[[], float] = time.time) -> str:
    return f"{uuid.uuid4().hex}@{int(now())}"


def held_since(owner: str) -> float | None:
    """The acquisition time encoded in an owner token (None for foreign tokens)."""
    try:
        return float(owner.rsplit("@", 1)[1])
    except (IndexError, ValueError):
        return None


def wait_delay(
    waits: int, initial: float, maximum: float, rand: Callable[[], float] = random.random
) -> float:
    """Delay before a job that found the lock held runs again: `initial` doubling per consecutive
    wait up to `maximum`, times a random factor in [0.8, 1.2] (no herd of waiters)."""
    base = min(initial * (2 ** max(waits, 0)), maximum)
    return base * (0.8 + 0.4 * rand())


class Held:
    def __init__(self, lock: Lock, key: str, token: str, ttl: float) -> None:
        self.lock, self.key, self.token, self.ttl = lock, key, token, ttl
        self.lost = False

    async def check(self) -> None:
        if self.lost:
            raise LockLost(f"lock {self.key} lost while held")

    async def renew_forever(self) -> None:
        while not self.lost:
            await asyncio.sleep(self.ttl / 3)
            try:
                still_ours = await self.lock.extend(self.key, self.token, self.ttl)
            except Exception as exc:  # backend hiccup: keep trying until the TTL says otherwise
                log.warning("lock %s not renewed: %s", self.key, type(exc).__name__)
                continue
            if not still_ours:
                self.lost = True
                log.warning("lock %s lost: another run holds it now", self.key)


@contextlib.asynccontextmanager
async def locked(lock: Lock, key: str, ttl: float) -> AsyncIterator[Held]:
    token = await lock.acquire(key, ttl, owner=owner_token())
    if token is None:
        raise LockHeld(key)
    held = Held(lock, key, token, ttl)
    renewal = asyncio.create_task(held.renew_forever())
    try:
        yield held
    finally:
        renewal.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewal
        try:
            await lock.release(key, token)
        except Exception as exc:
            log.warning("lock %s not released: %s", key, type(exc).__name__)


class LockTiming(Protocol):
    """The lock settings of a sync (SYNC_RULES §8: BETEILIGTE_LOCK_*)."""

    @property
    def lock_ttl_s(self) -> float: ...

    @property
    def lock_retry_initial_s(self) -> float: ...

    @property
    def lock_retry_max_s(self) -> float: ...


@dataclass(frozen=True)
class Busy:
    """The lock was held or lost: run the job again after `retry_in` seconds."""

    retry_in: float
    reason: str  # "LockHeld" or "LockLost"


async def under_lock(
    lock: Lock, key: str, timing: LockTiming, waits: int, flow: Callable[[Held], Awaitable[T]]
) -> T | Busy:
    """`flow(held)` under the renewed lock `key` (it passes `held.check` on as the runner's
    guard); `Busy` when the lock is held or was lost, with the delay for this job's `waits`-th
    consecutive wait."""
    try:
        async with locked(lock, key, timing.lock_ttl_s) as held:
            return await flow(held)
    except (LockHeld, LockLost) as exc:
        delay = wait_delay(waits, timing.lock_retry_initial_s, timing.lock_retry_max_s)
        log.info("%s: %s; retry in %.1fs", key, type(exc).__name__, delay)
        return Busy(delay, type(exc).__name__)
