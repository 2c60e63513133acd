"""Pure sync bookkeeping of a `CBeteiligte` record: failures, retries, cron selection, round trips.

Every function takes the EspoCRM record (a dict) and `now`, and returns the EspoCRM attributes to
write, or a decision. Nothing here does I/O. Schedules and thresholds are parameters with the
production defaults (SYNC_RULES §1 "Failures and retries"), so tests can compress them.

The service writes only the statuses `clean`, `failed`, `permanently_failed` and
`deleted_in_advoware`; `pending_sync` and `dirty` are EspoCRM's own. A bookkeeping attribute is
only written as null when it currently holds a value (EspoCRM rejects some nulls, E9).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from services.beteiligte.mapping import (
    ADVOWARE_ACCEPTED_FIELDS,
    as_utc,
    canonical_name_of_advoware,
    clean_text,
    espo_to_party,
    format_espo_datetime,
    parse_date,
    parse_espo_datetime,
)

RETRY_SCHEDULE_MINUTES: tuple[float, ...] = (1, 5, 15, 60, 240)
MAX_FAILURES = 5
AUTO_RESET_AFTER = timedelta(hours=24)
STAMP_MAX_AGE = timedelta(hours=24)
MAX_ERROR_MESSAGE = 2000
# Advoware attributes checked after every PUT even when the caller passes a narrower list.
CRITICAL_FIELDS: tuple[str, ...] = ("name", "vorname", "rechtsform")

CronDecision = Literal["sync", "reset_then_sync"] | None

_RETRY_FIELDS = ("syncErrorMessage", "syncNextRetry", "syncAutoResetAt", "advowareDeletedAt")


@dataclass(frozen=True)
class FailureUpdate:
    """EspoCRM attributes of a failure, and whether the user must be told (permanently failed)."""

    fields: Mapping[str, Any]
    notify: bool
    permanent: bool


def clear_if_set(record: Mapping[str, Any], attrs: Sequence[str]) -> dict[str, Any]:
    return {a: None for a in attrs if record.get(a) not in (None, "")}


def truncate_message(message: str, limit: int = MAX_ERROR_MESSAGE) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


def on_failure(
    record: Mapping[str, Any],
    error: str | BaseException,
    now: datetime,
    *,
    schedule: Sequence[float] = RETRY_SCHEDULE_MINUTES,
    max_failures: int = MAX_FAILURES,
    auto_reset_after: timedelta = AUTO_RESET_AFTER,
    permanent: bool = False,
) -> FailureUpdate:
    """`failed` with backoff, or `permanently_failed` at the last allowed failure.

    `permanent=True` is the round-trip rule: permanently failed *without* auto reset, because
    retrying a field Advoware always ignores would never succeed.
    """
    count = int(record.get("syncRetryCount") or 0) + 1
    fields: dict[str, Any] = {
        "syncRetryCount": count,
        "syncErrorMessage": truncate_message(str(error) or type(error).__name__),
    }
    if permanent or count >= max_failures:
        fields["syncStatus"] = "permanently_failed"
        fields.update(clear_if_set(record, ["syncNextRetry", "syncAutoResetAt"]))
        if not permanent:
            fields["syncAutoResetAt"] = format_espo_datetime(now + auto_reset_after)
        return FailureUpdate(fields=fields, notify=True, permanent=True)
    delay = schedule[min(count, len(schedule)) - 1]
    fields["syncStatus"] = "failed"
    fields["syncNextRetry"] = format_espo_datetime(now + timedelta(minutes=delay))
    return FailureUpdate(fields=fields, notify=False, permanent=False)


def on_success(record: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """`clean`, the stamp, and the retry attributes cleared (only those that hold a value)."""
    fields: dict[str, Any] = {"syncStatus": "clean", "advowareLastSync": format_espo_datetime(now)}
    if int(record.get("syncRetryCount") or 0) != 0:
        fields["syncRetryCount"] = 0
    fields.update(clear_if_set(record, _RETRY_FIELDS))
    return fields


def reset_fields(record: Mapping[str, Any]) -> dict[str, Any]:
    """The cron's reset of a due `permanently_failed` record: `failed`, counter 0, retry now."""
    fields: dict[str, Any] = {"syncStatus": "failed", "syncRetryCount": 0}
    fields.update(clear_if_set(record, ["syncNextRetry", "syncAutoResetAt"]))
    return fields


def retry_due(record: Mapping[str, Any], now: datetime) -> float | None:
    """Seconds to wait before a `failed` record may be synced; None = go ahead.

    Backoff applies only to `failed`: a user's edit (→ dirty) or a reset is synced at once.
    """
    if record.get("syncStatus") != "failed":
        return None
    next_retry = parse_espo_datetime(record.get("syncNextRetry"))
    if next_retry is None:
        return None
    wait = (next_retry - as_utc(now)).total_seconds()
    return wait if wait > 0 else None


def stamp_due(record: Mapping[str, Any], now: datetime, max_age: timedelta = STAMP_MAX_AGE) -> bool:
    """True when `advowareLastSync` is missing or at least `max_age` old."""
    last = parse_espo_datetime(record.get("advowareLastSync"))
    return last is None or last <= as_utc(now) - max_age


def cron_wants(
    record: Mapping[str, Any], now: datetime, *, stale_after: timedelta = STAMP_MAX_AGE
) -> CronDecision:
    """What the 15-minute cron does with a record (SYNC_RULES §1 "Triggers")."""
    status = record.get("syncStatus")
    if status in (None, "", "pending_sync", "dirty", "syncing", "conflict"):
        # `syncing`/`conflict` are never written by this service; a leftover of the old system
        # would otherwise sit outside every filter forever.
        return "sync"
    if status == "failed":
        return "sync" if retry_due(record, now) is None else None
    if status == "permanently_failed":
        reset_at = parse_espo_datetime(record.get("syncAutoResetAt"))
        if reset_at is not None and reset_at <= as_utc(now):
            return "reset_then_sync"
        return None
    if status == "clean":
        return "sync" if stamp_due(record, now, stale_after) else None
    return None  # deleted_in_advoware: waits for an operator (`bitbylaw beteiligte unlink`)


def bookkeeping_due(record: Mapping[str, Any], now: datetime, *, webhook: bool) -> bool:
    """Must an unchanged record still get a bookkeeping write?

    Yes when it is not `clean` or still carries retry leftovers; the 24-h stamp counts only for
    cron/manual checks, because a webhook-triggered check of a clean record writes nothing.
    """
    if record.get("syncStatus") != "clean":
        return True
    if int(record.get("syncRetryCount") or 0) != 0 or clear_if_set(record, _RETRY_FIELDS):
        return True
    return not webhook and stamp_due(record, now)


# --- round-trip validation -----------------------------------------------------------------


def _comparable(attr: str, value: Any) -> Any:
    canon = canonical_name_of_advoware(attr)
    if canon == "geburtsdatum":
        try:
            return parse_date(value)
        except ValueError:
            return clean_text(value)
    return clean_text(value)


def validate_roundtrip(
    sent: Mapping[str, Any], put_response: Mapping[str, Any], *, fields: Sequence[str] | None = None
) -> list[str]:
    """Advoware attributes whose stored value differs from what was sent (normalised), sorted.

    By default every accepted attribute in the body is checked, plus the critical ones
    (name, vorname, rechtsform): a non-critical field Advoware ignores would otherwise be
    re-sent on every sync.
    """
    checked = set(CRITICAL_FIELDS) | set(sent) if fields is None else set(fields)
    checked &= set(sent) & ADVOWARE_ACCEPTED_FIELDS
    return sorted(a for a in checked if _comparable(a, sent.get(a)) != _comparable(a, put_response.get(a)))


def mismatch_fingerprint(
    mismatched: Sequence[str], sent: Mapping[str, Any], stored: Mapping[str, Any]
) -> str:
    """A short hash of (field, sent, stored) — kept in the snapshot, no personal data in clear."""
    rows = [
        [a, str(_comparable(a, sent.get(a))), str(_comparable(a, stored.get(a)))] for a in sorted(mismatched)
    ]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]


def espo_fingerprint(espo_fields: Mapping[str, Any]) -> str:
    """Hash of the EspoCRM side's canonical fields: "has the record changed since?"."""
    return hashlib.sha256(json.dumps(dict(espo_fields), sort_keys=True, default=str).encode()).hexdigest()[
        :16
    ]


def judge_roundtrip(
    mismatched: Sequence[str],
    fingerprint: str,
    espo_print: str,
    previous: Mapping[str, Any] | None,
) -> tuple[Literal["ok", "retry", "permanent"], dict[str, Any] | None]:
    """Verdict on a PUT's round trip, and the mismatch record to keep in the snapshot.

    The same mismatch (same fields, same values) twice in a row → `permanent`: permanently
    failed without auto reset until the record changes in EspoCRM (`roundtrip_blocked`).
    """
    if not mismatched:
        return "ok", None
    same = previous is not None and previous.get("fingerprint") == fingerprint
    verdict: Literal["retry", "permanent"] = "permanent" if same else "retry"
    record = {
        "fields": sorted(mismatched),
        "fingerprint": fingerprint,
        "espo": espo_print,
        "permanent": verdict == "permanent",
    }
    return verdict, record


def espo_record_fingerprint(record: Mapping[str, Any]) -> str:
    """`espo_fingerprint` of an EspoCRM record's sync-relevant fields."""
    return espo_fingerprint(espo_to_party(record).to_json())


def roundtrip_blocked(record: Mapping[str, Any], snapshot: Mapping[str, Any] | None) -> bool:
    """True while a record is permanently failed by the round-trip rule and unchanged in EspoCRM.

    The handler checks this before syncing: such a record is skipped (no write) until a user
    edits one of its sync-relevant fields.
    """
    if record.get("syncStatus") != "permanently_failed" or not snapshot:
        return False
    mismatch = snapshot.get("roundtripMismatch") or {}
    return bool(mismatch.get("permanent")) and mismatch.get("espo") == espo_record_fingerprint(record)
