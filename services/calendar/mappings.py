"""Value types of the calendar sync state: one mapping per appointment, one state row per
employee. Plain frozen dataclasses (no I/O): the pure decision reads them, the sync computes a
new one with `dataclasses.replace` from what was applied, and the service database
(`services/db/calendar.py`) stores them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

SourceSystem = Literal["advoware", "google"]
MappingStatus = Literal["pending", "synced", "failed"]
SOURCE_SYSTEMS: tuple[str, ...] = get_args(SourceSystem)
MAPPING_STATUSES: tuple[str, ...] = get_args(MappingStatus)


@dataclass(frozen=True)
class CalendarMapping:
    """An Advoware Termin ↔ a Google event of the employee's calendar.

    `source_system` owns the appointment (wins a conflict); the fingerprints are of the mapped
    content as last synced (`services/calendar`), `google_etag`/`google_updated` of the event
    as last seen; `mapped_start`/`mapped_end` the appointment's span as last synced (UTC; end
    None: a series without an end), so a run can leave alone what left the window. `id` is None
    until stored; the timestamps are set by the store."""

    kuerzel: str
    calendar_id: str
    source_system: SourceSystem
    advoware_frnr: int | None = None
    google_event_id: str | None = None
    status: MappingStatus = "pending"
    advoware_row_id: str | None = None
    advoware_fingerprint: str | None = None
    google_etag: str | None = None
    google_updated: datetime | None = None
    google_fingerprint: str | None = None
    mapped_start: datetime | None = None
    mapped_end: datetime | None = None
    failure_count: int = 0
    next_retry_at: datetime | None = None  # failed: by the schedule, then the auto-reset (or a change)
    failure_reason: str | None = None
    # Both sides' content when the last failure was booked: a change of either side (another
    # fingerprint) makes a waiting failed mapping due again.
    failed_fingerprint: str | None = None
    # `<side>:<fingerprint>` of the content a write to that side carries, saved before the write
    # (None once both sides agree): a side showing it holds the service's own write — applied,
    # though its answer or the process was lost — not a user's edit.
    write_intent: str | None = None
    id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.source_system not in SOURCE_SYSTEMS:
            raise ValueError(f"source_system must be one of {SOURCE_SYSTEMS}")
        if self.status not in MAPPING_STATUSES:
            raise ValueError(f"status must be one of {MAPPING_STATUSES}")
        if self.advoware_frnr is None and self.google_event_id is None:
            raise ValueError("a mapping needs an Advoware frNr or a Google event id")
        if self.failure_count < 0:
            raise ValueError("failure_count must not be negative")


@dataclass(frozen=True)
class CalendarEmployee:
    """Per employee: the calendar id, the Google sync token (None: list in full next time),
    when the last full listing and the last successful run were, whether a safety-brake
    episode is open (its admin notice already sent), with whom the calendar is shared, and
    since when the calendar is adopted (None: a calendar the service found rather than made,
    whose events without an Advoware link wait for `bitbylaw calendar adopt KUERZEL --apply`)."""

    kuerzel: str
    calendar_id: str | None = None
    shared_with: str | None = None
    sync_token: str | None = None
    last_full_sync: datetime | None = None
    last_success: datetime | None = None
    braking: bool = False
    adopted_at: datetime | None = None
    updated_at: datetime | None = None
