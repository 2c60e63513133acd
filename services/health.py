"""Sync health for `/health` (DECISIONS 16): parties `permanently_failed`, party locks held too long.

The count is one EspoCRM list call (`maxSize=1`, the total is what matters), cached for a
minute so a monitoring system polling `/health` does not load the CRM. A party lock held longer
than the threshold (its holder renews it, so only a stuck sync holds one that long) makes the
health `degraded` too; the lock's owner token carries when it was taken.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from services.sync.locking import held_since


class CountingCrm(Protocol):
    async def list(
        self,
        entity: str,
        where: Any = None,
        select: Any = None,
        order_by: Any = None,
        order: Any = "asc",
        offset: int = 0,
        max_size: int = 200,
    ) -> dict[str, Any]: ...


ListLocks = Callable[[str], Awaitable[list[Any]]]


class SyncHealth:
    def __init__(
        self,
        crm: CountingCrm,
        threshold: int,
        ttl_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        list_locks: ListLocks | None = None,
        locked_threshold_s: float = 600.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.crm, self.threshold, self.ttl_s, self.clock = crm, threshold, ttl_s, clock
        self.list_locks, self.locked_threshold_s, self.wall_clock = list_locks, locked_threshold_s, wall_clock
        self._cached: tuple[float, dict[str, Any]] | None = None

    async def __call__(self) -> dict[str, Any]:
        now = self.clock()
        if self._cached is None or now - self._cached[0] > self.ttl_s:
            self._cached = (now, await self._measure())
        result = dict(self._cached[1])
        stuck = await self._stuck_locks()
        if stuck:
            result["sync"] = {**result.get("sync", {}), "locked_too_long": stuck}
            result["degraded"] = True
        return result

    async def _measure(self) -> dict[str, Any]:
        where = [{"type": "equals", "attribute": "syncStatus", "value": "permanently_failed"}]
        try:
            page = await self.crm.list("CBeteiligte", where, ["id"], max_size=1)
        except Exception as exc:  # health must answer even when EspoCRM does not
            return {"sync": {"espocrm": "unreachable", "error_type": type(exc).__name__}, "degraded": True}
        failed = int(page["total"])
        return {
            "sync": {"permanently_failed": failed, "threshold": self.threshold},
            "degraded": failed >= self.threshold,
        }

    async def _stuck_locks(self) -> list[str]:
        """Party locks held longer than the threshold (keys only: ids, no personal data)."""
        if self.list_locks is None:
            return []
        try:
            locks = await self.list_locks("beteiligte:")
        except Exception:
            return []
        cutoff = self.wall_clock() - self.locked_threshold_s
        return sorted(
            lock.key for lock in locks if (since := held_since(lock.owner)) is not None and since < cutoff
        )
