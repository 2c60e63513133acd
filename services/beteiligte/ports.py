"""What the party sync needs from its surroundings, declared here so `services/` imports nothing
from `engine/` (DECISIONS 3). Steps adapt `ctx` to these; the CLI adapts a backend directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

Action = Literal["create", "update", "delete", "sync_check"]
Direction = Literal["both", "to_advoware", "to_espocrm"]
Policy = Literal["espocrm_wins", "advoware_wins"]
Clock = Callable[[], datetime]  # timezone-aware UTC


class Lock(Protocol):
    """A distributed lock with an owner token (engine backend: SQLite rows or Redis keys)."""

    async def acquire(self, key: str, ttl: float) -> str | None:
        """The owner token, or None when someone else holds the lock."""

    async def release(self, key: str, token: str) -> bool: ...


@dataclass(frozen=True)
class SyncSettings:
    admin_user_id: str = "1"
    policy: Policy = "espocrm_wins"
    lock_ttl_s: float = 15 * 60
    # A job that finds the lock held runs again after this delay (never dropped).
    locked_retry_delay_s: float = 2.0
    retry_schedule_min: tuple[float, ...] = (1, 5, 15, 60, 240)
    max_failures: int = 5
    auto_reset_after_s: float = 24 * 3600
    stale_after_s: float = 24 * 3600  # clean records are re-checked after this
    audit_show_values: bool = False


Status = Literal[
    "created",  # new Advoware party, link written back
    "synced",  # data written to one or both sides
    "bookkeeping",  # only status/stamp written
    "noop",  # nothing to write
    "locked",  # another sync holds the lock: run again after `retry_in`
    "backoff",  # failed earlier, next retry lies ahead: run again after `retry_in`
    "failed",  # failure recorded on the record (cron retries it when due)
    "permanently_failed",
    "deleted_in_advoware",
    "deleted",  # EspoCRM delete: audited (and notified), nothing deleted in Advoware
    "duplicate_suspected",  # crash recovery found several candidates: manual link needed
    "not_found",  # the EspoCRM record is gone (webhook raced a delete)
    "dry_run",  # plan computed, nothing written
]


@dataclass
class SyncOutcome:
    entity_id: str
    status: Status
    retry_in: float | None = None  # for locked / backoff: when the job should run again
    plan: Any = None  # services.beteiligte.plan.Plan when one was computed
    error: str | None = None  # safe for logs: ids and field names only, no personal data
    calls: dict[str, int] = field(default_factory=dict)  # {"advoware_read": n, ...}
