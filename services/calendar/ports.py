"""What the calendar sync takes from its surroundings and gives back: settings and the outcome.

`services/` imports nothing from `engine/`: the lock is the core's `Lock` protocol, which the
engine's `ctx.locks` satisfies as it is; the clients come from the composition root.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from services.calendar.employees import Delegation
from services.sync.policy import RetryPolicy

Status = Literal[
    "synced",  # something was written, everything applied
    "noop",  # nothing to write
    "partial",  # some appointments failed (booked on their mappings, retried later)
    "braked",  # the safety brake: nothing applied, the admin notified
    "quota_exceeded",  # Google's quota ran out: the run stopped (audited), the next tick goes on
    "locked",  # another run holds the employee's lock: run again after `retry_in`
    "skipped",  # not an active employee (or not in CALENDAR_SYNC_KUERZEL)
    "no_email",  # the employee has no e-mail address: no calendar (the admin told once)
    "dry_run",  # decided, nothing written
]
OK_STATUSES = frozenset({"synced", "noop", "partial"})


@dataclass(frozen=True)
class CalendarSettings:
    admin_user_id: str | None = "1"
    past_days: int = 30
    future_days: int = 365
    only: tuple[str, ...] = ()  # CALENDAR_SYNC_KUERZEL; empty: every active employee
    notify_users: dict[str, str] = field(default_factory=dict)  # Kürzel → EspoCRM user id
    lock_ttl_s: float = 60
    lock_retry_initial_s: float = 2
    lock_retry_max_s: float = 30
    google_deletes: Literal["restore", "propagate"] = "restore"
    max_events: int = 20
    max_percent: float = 25.0
    delegation: Delegation = "owner"
    owner: str = ""
    time_zone: str = "Europe/Berlin"
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def recipient(self, kuerzel: str) -> str | None:
        return self.notify_users.get(kuerzel) or self.admin_user_id


@dataclass
class EmployeeOutcome:
    kuerzel: str
    status: Status
    decision: Any = None  # the Decision, when one was made
    done: Counter[str] = field(default_factory=Counter)  # plan kinds applied
    failed: int = 0  # appointments whose plan failed (booked on their mappings)
    error: str | None = None  # safe for logs: ids and reasons only
    retry_in: float | None = None  # `locked`: when the job should run again
    calls: dict[str, int] = field(default_factory=dict)  # data calls per system and kind
    full: bool = False  # the Google listing was a full one

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES
