"""What the party sync takes from its surroundings and gives back: settings, the outcome.

`services/` imports nothing from `engine/` (DECISIONS 3): the lock is the core's `Lock` protocol
(`services/sync/locking.py`), which the engine's `ctx.locks` satisfies as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from services.sync.policy import RetryPolicy

Action = Literal["create", "update", "delete", "sync_check"]
Direction = Literal["both", "to_advoware", "to_espocrm"]
Policy = Literal["espocrm_wins", "advoware_wins"]
Clock = Callable[[], datetime]  # timezone-aware UTC


@dataclass(frozen=True)
class SyncSettings:
    admin_user_id: str = "1"
    policy: Policy = "espocrm_wins"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    lock_ttl_s: float = 60
    lock_retry_initial_s: float = 2
    lock_retry_max_s: float = 30
    adopt_existing: bool = True
    deleted_recheck_hours: float = 24
    audit_show_values: bool = False


Status = Literal[
    "created",  # new Advoware party (or an existing one adopted), link written back
    "synced",  # data written to one or both sides
    "bookkeeping",  # only status/stamp written
    "noop",  # nothing to write
    "locked",  # another sync holds the lock: run again after `retry_in`
    "backoff",  # failed earlier, next retry lies ahead: run again after `retry_in`
    "blocked",  # waits for its EspoCRM content to change (invalid, manual action, …): nothing done
    "failed",  # failure recorded on the record (cron retries it when due)
    "permanently_failed",
    "invalid",  # the record holds data the service cannot send (a person without lastName)
    "manual_action",  # a person must decide (kind mismatch at first link)
    "duplicate_suspected",  # several Advoware parties match: manual link needed
    "deleted_in_advoware",
    "deleted",  # EspoCRM delete: audited (and notified), nothing deleted in Advoware
    "not_found",  # the EspoCRM record is gone and was never synced
    "dry_run",  # decision computed, nothing written
]


@dataclass
class SyncOutcome:
    entity_id: str
    status: Status
    retry_in: float | None = None  # for locked / backoff: when the job should run again
    plan: Any = None  # the PartyDecision when one was computed
    error: str | None = None  # safe for logs: ids and field names only, no personal data
    calls: dict[str, int] = field(default_factory=dict)  # {"advoware_read": n, ...}
