"""Sync health for `/health` (DECISIONS 16): how many parties are `permanently_failed`.

The count is one EspoCRM list call (`maxSize=1`, the total is what matters), cached for a
minute so a monitoring system polling `/health` does not load the CRM.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol


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


class SyncHealth:
    def __init__(
        self,
        crm: CountingCrm,
        threshold: int,
        ttl_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.crm, self.threshold, self.ttl_s, self.clock = crm, threshold, ttl_s, clock
        self._cached: tuple[float, dict[str, Any]] | None = None

    async def __call__(self) -> dict[str, Any]:
        now = self.clock()
        if self._cached is None or now - self._cached[0] > self.ttl_s:
            self._cached = (now, await self._measure())
        return dict(self._cached[1])

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
