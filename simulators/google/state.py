"""In-memory state of the simulator: calendars with their events, the change counter that
sync tokens point into, the clock, and lossless (de)serialisation for snapshots."""

from __future__ import annotations

import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from simulators.common.snapshot import read_json, write_json
from simulators.google.config import GoogleSimConfig
from simulators.google.ids import etag, generated_calendar_id, generated_event_id
from simulators.google.timeutil import EventTime, load_event_time


@dataclass
class Event:
    """One stored event: a single event, a recurring master or an exception of a series."""

    id: str
    calendar_id: str
    start: EventTime
    end: EventTime
    created: datetime
    updated: datetime
    etag: str
    change_seq: int
    ical_uid: str
    status: str = "confirmed"
    sequence: int = 0
    recurrence: list[str] | None = None
    # Free fields stored as the client sent them (summary, description, extendedProperties, ...).
    fields: dict[str, Any] = field(default_factory=dict)
    recurring_event_id: str | None = None
    original_start: EventTime | None = None

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"

    def dump(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "calendar_id": self.calendar_id,
            "start": self.start.dump(),
            "end": self.end.dump(),
            "created": self.created.isoformat(),
            "updated": self.updated.isoformat(),
            "etag": self.etag,
            "change_seq": self.change_seq,
            "ical_uid": self.ical_uid,
            "status": self.status,
            "sequence": self.sequence,
            "recurrence": self.recurrence,
            "fields": self.fields,
            "recurring_event_id": self.recurring_event_id,
            "original_start": self.original_start.dump() if self.original_start else None,
        }

    @classmethod
    def load(cls, raw: dict[str, Any]) -> Event:
        data = dict(raw)
        data["start"] = load_event_time(raw["start"])
        data["end"] = load_event_time(raw["end"])
        data["created"] = datetime.fromisoformat(raw["created"])
        data["updated"] = datetime.fromisoformat(raw["updated"])
        if raw.get("original_start"):
            data["original_start"] = load_event_time(raw["original_start"])
        return cls(**data)


@dataclass
class AclRule:
    """One sharing rule of a calendar: `scope_type` user | group | domain | default."""

    scope_type: str
    scope_value: str | None
    role: str
    etag: str

    @property
    def id(self) -> str:
        return self.scope_type if self.scope_value is None else f"{self.scope_type}:{self.scope_value}"

    def dump(self) -> dict[str, Any]:
        return {"scope_type": self.scope_type, "scope_value": self.scope_value, "role": self.role,
                "etag": self.etag}  # fmt: skip


@dataclass
class Calendar:
    id: str
    summary: str
    time_zone: str
    created: datetime
    etag: str
    description: str | None = None
    # The account the calendar lives in (the principal that created it); ACL rules share it.
    owner: str = ""
    acl: dict[str, AclRule] = field(default_factory=dict)
    events: dict[str, Event] = field(default_factory=dict)

    def dump(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "summary": self.summary,
            "time_zone": self.time_zone,
            "created": self.created.isoformat(),
            "etag": self.etag,
            "description": self.description,
            "owner": self.owner,
            "acl": [rule.dump() for rule in self.acl.values()],
            "events": [event.dump() for event in self.events.values()],
        }

    @classmethod
    def load(cls, raw: dict[str, Any]) -> Calendar:
        calendar = cls(
            id=raw["id"],
            summary=raw["summary"],
            time_zone=raw["time_zone"],
            created=datetime.fromisoformat(raw["created"]),
            etag=raw["etag"],
            description=raw.get("description"),
            owner=raw.get("owner", ""),
        )
        for item in raw.get("acl", []):
            rule = AclRule(**item)
            calendar.acl[rule.id] = rule
        for item in raw.get("events", []):
            event = Event.load(item)
            calendar.events[event.id] = event
        return calendar


@dataclass
class RateLimitRule:
    """Answer the next `count` API calls (optionally only those whose path contains `route`,
    and only those of `method`) with a Google rate-limit error of `kind` (G9)."""

    count: int
    kind: str
    route: str | None = None
    method: str | None = None


@dataclass(frozen=True)
class IssuedToken:
    """An access token the fake token endpoint issued: for whom, until when (real time)."""

    principal: str
    expires: datetime
    scopes: frozenset[str]


@dataclass(frozen=True)
class EventWrite:
    """One write to an event, as tests check it: did it ask Google to mail the guests?"""

    method: str
    event_id: str
    send_updates: str | None
    attendees: int


class GoogleState:
    """All calendars and events plus the counters that make ids, etags and sync tokens."""

    def __init__(self, config: GoogleSimConfig) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        self.calendars: dict[str, Calendar] = {}
        self.change_seq = 0
        self.id_counter = 0
        # Sync tokens name the epoch they were issued in; a new epoch (reset, or the admin
        # extra `invalidate-sync-tokens`) makes every earlier token invalid (G4).
        self.epoch = uuid.uuid4().hex[:12]
        self.clock_offset = timedelta(0)
        # Access tokens survive a reset (it empties data, not sessions); `/_admin/expire-tokens`.
        self.issued_tokens: dict[str, IssuedToken] = getattr(self, "issued_tokens", {})
        self.rate_limits: list[RateLimitRule] = []
        # Workspace users: delegation subjects the token endpoint accepts (lower-case).
        self.users: set[str] = {u.lower() for u in self.config.users}
        self.event_writes: deque[EventWrite] = deque(maxlen=10_000)

    # -- time and counters -------------------------------------------------------------------

    def now(self) -> datetime:
        """The simulator's clock (the config's clock plus the admin offset), millisecond steps
        like Google's `updated`."""
        now = self.config.clock().astimezone(UTC) + self.clock_offset
        return now.replace(microsecond=now.microsecond // 1000 * 1000)

    def real_now(self) -> datetime:
        """The config's clock without the admin offset: tokens and JWTs live in real time (the
        client signs with its own clock), data time (`updated`, sync-token age) may be moved."""
        return self.config.clock().astimezone(UTC)

    def next_change(self) -> tuple[int, datetime]:
        self.change_seq += 1
        return self.change_seq, self.now()

    def invalidate_sync_tokens(self) -> None:
        self.epoch = uuid.uuid4().hex[:12]

    def touch(self, event: Event) -> None:
        """Record a change: new change number, `updated` and etag (G5)."""
        event.change_seq, event.updated = self.next_change()
        event.etag = etag(event.updated, event.change_seq)

    def new_event_id(self) -> str:
        self.id_counter += 1
        return generated_event_id("sim", self.id_counter)

    def new_calendar_id(self) -> str:
        self.id_counter += 1
        return generated_calendar_id("sim", self.id_counter)

    # -- lookups -----------------------------------------------------------------------------

    def calendar(self, calendar_id: str) -> Calendar | None:
        return self.calendars.get(calendar_id)

    def calendar_by_summary(self, summary: str, owner: str) -> Calendar | None:
        return next((c for c in self.calendars.values() if c.summary == summary and c.owner == owner), None)

    # -- persistence ---------------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        return {
            "change_seq": self.change_seq,
            "id_counter": self.id_counter,
            "epoch": self.epoch,
            "clock_offset_s": self.clock_offset.total_seconds(),
            "users": sorted(self.users),
            "calendars": [calendar.dump() for calendar in self.calendars.values()],
        }

    def load(self, raw: dict[str, Any]) -> None:
        self.reset()
        self.change_seq = int(raw.get("change_seq", 0))
        self.id_counter = int(raw.get("id_counter", 0))
        self.epoch = str(raw.get("epoch", self.epoch))
        self.clock_offset = timedelta(seconds=float(raw.get("clock_offset_s", 0)))
        self.users |= {str(u).lower() for u in raw.get("users", [])}
        for item in raw.get("calendars", []):
            calendar = Calendar.load(item)
            self.calendars[calendar.id] = calendar

    def save_snapshot(self, path: Path) -> None:
        write_json(path, self.dump(), indent=1)

    def load_snapshot(self, path: Path) -> bool:
        data = read_json(path)
        if data is None:
            return False
        self.load(data)
        return True
