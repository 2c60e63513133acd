"""The normal form of an appointment: what both sides are mapped into and compared in.

Timed appointments hold UTC instants (compared by instant: no one-hour shifts at DST);
all-day ones hold Berlin calendar days, both ends inclusive. A series is a frequency and the
last day it may occur on. Texts are None when empty on either side (Advoware `None`, Google
a missing field or ""). Two appointments are the same content exactly when their
`fingerprint()`s are equal: that is what "changed since the last sync" compares.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from services.calendar.times import midnight, wall_time

Freq = Literal["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]
# Advoware `turnusArt` (EXTERNAL_SYSTEMS 1.5.6) ↔ RRULE FREQ.
TURNUS_FREQ: dict[int, Freq] = {1: "DAILY", 2: "WEEKLY", 3: "MONTHLY", 4: "YEARLY"}
FREQ_TURNUS: dict[Freq, int] = {freq: art for art, freq in TURNUS_FREQ.items()}


class NotExpressible(ValueError):
    """The appointment cannot be carried to the other side unchanged. `reason` is a short
    fixed text (rule part or field name, never content), fit for the mapping's failure reason,
    logs and notices."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AllDay:
    first: date
    last: date  # inclusive

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise NotExpressible("end before start")


@dataclass(frozen=True)
class Timed:
    start: datetime  # UTC
    end: datetime  # UTC

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("timed appointments hold aware instants")
        # Held in UTC, so equal instants are equal values (and fingerprints) whatever the offset.
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "end", self.end.astimezone(UTC))
        if self.end < self.start:
            raise NotExpressible("end before start")


@dataclass(frozen=True)
class Series:
    freq: Freq
    until: date | None = None  # the last day an occurrence may start on (Berlin); None: no end


@dataclass(frozen=True)
class Appointment:
    when: AllDay | Timed
    text: str | None = None
    notiz: str | None = None
    ort: str | None = None
    series: Series | None = None

    def __post_init__(self) -> None:
        if self.series and self.series.until is not None and self.series.until < self.first_day:
            raise NotExpressible("series ends before it starts")

    @property
    def all_day(self) -> bool:
        return isinstance(self.when, AllDay)

    @property
    def first_day(self) -> date:
        when = self.when
        return when.first if isinstance(when, AllDay) else wall_time(when.start).date()

    def last_day_of_first(self) -> date:
        """The last day the first occurrence occupies (an end at midnight ends the day before)."""
        when = self.when
        if isinstance(when, AllDay):
            return when.last
        end = when.end if when.end == when.start else when.end - timedelta(microseconds=1)
        return wall_time(end).date()

    @property
    def last_day(self) -> date | None:
        """The last day the appointment (every occurrence) occupies; None: a series without end."""
        if self.series is None:
            return self.last_day_of_first()
        if self.series.until is None:
            return None
        return self.series.until + (self.last_day_of_first() - self.first_day)

    def span(self) -> tuple[datetime, datetime | None]:
        """First start and last end as UTC instants (None: never ends), for the mapping's
        `mapped_start`/`mapped_end`."""
        when = self.when
        start = midnight(when.first) if isinstance(when, AllDay) else when.start
        last = self.last_day
        if last is None:
            return start, None
        if isinstance(when, AllDay) or self.series is not None:
            return start, max(midnight(last + timedelta(days=1)), _end(when))
        return start, when.end

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self._canonical(), sort_keys=True).encode()).hexdigest()

    def _canonical(self) -> dict[str, object]:
        when = self.when
        timing = (
            {"first": when.first.isoformat(), "last": when.last.isoformat()}
            if isinstance(when, AllDay)
            else {"start": when.start.isoformat(), "end": when.end.isoformat()}
        )
        series = None
        if self.series is not None:
            until = self.series.until.isoformat() if self.series.until else None
            series = {"freq": self.series.freq, "until": until}
        return {"when": timing, "text": self.text, "notiz": self.notiz, "ort": self.ort, "series": series}


def _end(when: AllDay | Timed) -> datetime:
    return midnight(when.last + timedelta(days=1)) if isinstance(when, AllDay) else when.end


def text_or_none(value: object) -> str | None:
    """Empty texts are absent on both sides."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise NotExpressible("text field is not a string")
    return value
