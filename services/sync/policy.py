"""The retry policy and the status bookkeeping of a synced EspoCRM record, for every entity.

`RetryPolicy` is the only place the retry schedule, the maximum number of failures and the
auto-reset live (SYNC_RULES §1 "Failures and retries", DECISIONS 27, 30); parties, bank accounts
and calendar mappings use the same object, built from settings. Its methods are pure: they take
the record (its bookkeeping attributes) and `now`, and return the attributes to write.

Bookkeeping attributes (the same names on `CBeteiligte` and `CBankverbindungen`): `syncStatus`,
`syncRetryCount`, `syncErrorMessage`, `syncNextRetry`, `syncAutoResetAt`, `advowareLastSync`. An
attribute is written as null only when it holds a value (EspoCRM rejects some nulls, E9).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from services.sync.espotime import as_utc, format_espo_datetime, parse_espo_datetime

MAX_ERROR_MESSAGE = 2000
# Statuses under which a record waits for its content to change (DECISIONS 26).
BLOCKED_STATUSES = frozenset({"invalid", "manual_action", "duplicate_suspected", "permanently_failed"})
# Set by EspoCRM itself, or leftovers of the old system that would sit outside every filter.
WANTS_SYNC_STATUSES = ("pending_sync", "dirty", "syncing", "conflict")
RETRY_ATTRS = ("syncErrorMessage", "syncNextRetry", "syncAutoResetAt", "advowareDeletedAt")
STAMP = "advowareLastSync"  # the time of the last successful sync, written with its data
BOOKKEEPING_ATTRS = frozenset({"syncStatus", STAMP, "syncRetryCount", *RETRY_ATTRS})

CronDecision = Literal["sync", "reset_then_sync"] | None


def clear_if_set(record: Mapping[str, Any], attrs: Sequence[str]) -> dict[str, Any]:
    return {a: None for a in attrs if record.get(a) not in (None, "")}


def truncate_message(message: str, limit: int = MAX_ERROR_MESSAGE) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


@dataclass(frozen=True)
class FailureUpdate:
    """Attributes of a failure; `notify`: this failure starts a permanently-failed episode."""

    fields: Mapping[str, Any]
    notify: bool
    permanent: bool


@dataclass(frozen=True)
class RetryPolicy:
    schedule_minutes: tuple[float, ...] = (1, 5, 15, 60, 240)
    max_failures: int = 5
    auto_reset_hours: float = 24
    stale_hours: float = 24  # a clean record is re-checked after this

    @property
    def auto_reset(self) -> timedelta:
        return timedelta(hours=self.auto_reset_hours)

    @property
    def stale_after(self) -> timedelta:
        return timedelta(hours=self.stale_hours)

    def delay(self, failures: int) -> timedelta:
        """Wait after the `failures`-th failure in a row (the schedule's last step repeats)."""
        return timedelta(minutes=self.schedule_minutes[min(max(failures, 1), len(self.schedule_minutes)) - 1])

    def on_failure(
        self, record: Mapping[str, Any], message: str, now: datetime, *, permanent: bool = False
    ) -> FailureUpdate:
        """`failed` with backoff, or `permanently_failed` at the last allowed failure.

        `permanent=True` (the round-trip rule) is permanently failed without auto-reset. An
        episode of `permanently_failed` starts once: later failures change neither the reset
        time nor notify again (DECISIONS 27).
        """
        count = int(record.get("syncRetryCount") or 0) + 1
        fields: dict[str, Any] = {"syncRetryCount": count, "syncErrorMessage": truncate_message(message)}
        if record.get("syncStatus") == "permanently_failed":
            if permanent and record.get("syncAutoResetAt"):
                fields["syncAutoResetAt"] = None  # a round-trip block has no auto-reset
            return FailureUpdate(fields, notify=False, permanent=True)
        if permanent or count >= self.max_failures:
            fields["syncStatus"] = "permanently_failed"
            fields.update(clear_if_set(record, ["syncNextRetry", "syncAutoResetAt"]))
            if not permanent:
                fields["syncAutoResetAt"] = format_espo_datetime(now + self.auto_reset)
            return FailureUpdate(fields, notify=True, permanent=True)
        fields["syncStatus"] = "failed"
        fields["syncNextRetry"] = format_espo_datetime(now + self.delay(count))
        return FailureUpdate(fields, notify=False, permanent=False)

    def on_success(self, record: Mapping[str, Any], now: datetime) -> dict[str, Any]:
        """`clean`, the stamp, and the retry attributes cleared (only those that hold a value).

        The stamp always differs from the one the record holds (a second later when the last
        sync fell in the same second): whether the record holds it tells whether this write
        landed, also when its answer was lost (the writes in flight)."""
        stamp = format_espo_datetime(now)
        if parse_espo_datetime(record.get(STAMP)) == parse_espo_datetime(stamp):
            stamp = format_espo_datetime(now + timedelta(seconds=1))
        fields: dict[str, Any] = {"syncStatus": "clean", STAMP: stamp}
        if int(record.get("syncRetryCount") or 0) != 0:
            fields["syncRetryCount"] = 0
        fields.update(clear_if_set(record, RETRY_ATTRS))
        return fields

    def on_block(self, record: Mapping[str, Any], status: str, message: str) -> dict[str, Any]:
        """A record that waits for a person (invalid, manual_action, duplicate_suspected): no
        retry counter, no next retry (DECISIONS 26, 33)."""
        fields: dict[str, Any] = {"syncStatus": status, "syncErrorMessage": truncate_message(message)}
        if int(record.get("syncRetryCount") or 0) != 0:
            fields["syncRetryCount"] = 0
        fields.update(clear_if_set(record, ["syncNextRetry", "syncAutoResetAt"]))
        return fields

    @staticmethod
    def reset_fields(record: Mapping[str, Any]) -> dict[str, Any]:
        """The cron's auto-reset of a due `permanently_failed` record: `failed`, counter 0."""
        fields: dict[str, Any] = {"syncStatus": "failed", "syncRetryCount": 0}
        fields.update(clear_if_set(record, ["syncNextRetry", "syncAutoResetAt"]))
        return fields

    @staticmethod
    def retry_due(record: Mapping[str, Any], now: datetime) -> float | None:
        """Seconds to wait before a `failed` record may be synced; None = go ahead. Backoff
        applies only to `failed`: a user's edit (→ dirty) or a reset is synced at once."""
        if record.get("syncStatus") != "failed":
            return None
        next_retry = parse_espo_datetime(record.get("syncNextRetry"))
        if next_retry is None:
            return None
        wait = (next_retry - as_utc(now)).total_seconds()
        return wait if wait > 0 else None

    def stamp_due(self, record: Mapping[str, Any], now: datetime) -> bool:
        last = parse_espo_datetime(record.get(STAMP))
        return last is None or last <= as_utc(now) - self.stale_after

    def bookkeeping_due(self, record: Mapping[str, Any], now: datetime, *, webhook: bool) -> bool:
        """Must an unchanged record still get a bookkeeping write? Yes when it is not `clean` or
        carries retry leftovers; the stale stamp counts only for cron and manual checks."""
        if record.get("syncStatus") != "clean":
            return True
        if int(record.get("syncRetryCount") or 0) != 0 or clear_if_set(record, RETRY_ATTRS):
            return True
        return not webhook and self.stamp_due(record, now)

    def cron_wants(self, record: Mapping[str, Any], now: datetime) -> CronDecision:
        """What the cron does with a record by its bookkeeping alone (blocked and deleted records
        are decided by the service database, `records.py`)."""
        status = record.get("syncStatus")
        if status in (None, "", *WANTS_SYNC_STATUSES):
            return "sync"
        if status == "failed":
            return "sync" if self.retry_due(record, now) is None else None
        if status == "permanently_failed":
            reset_at = parse_espo_datetime(record.get("syncAutoResetAt"))
            return "reset_then_sync" if reset_at is not None and reset_at <= as_utc(now) else None
        if status == "clean":
            return "sync" if self.stamp_due(record, now) else None
        return None
