"""The sync window (SYNC_RULES §5): Berlin calendar days, both ends inclusive.

An appointment is in it when its last day is on or after `first` (today − past days) and its
first day on or before `last` (today + future days); a series without an end reaches every
later day. A mapped appointment whose stored end lies before the window's start has left by the
back edge and is left alone (`left_behind`): no call, no delete.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.calendar.model import Appointment
from services.calendar.times import midnight


@dataclass(frozen=True)
class SyncWindow:
    first: date
    last: date

    @classmethod
    def around(cls, today: date, past_days: int, future_days: int) -> SyncWindow:
        if past_days < 0 or future_days < 0:
            raise ValueError("window days must not be negative")
        return cls(today - timedelta(days=past_days), today + timedelta(days=future_days))

    def contains(self, appointment: Appointment) -> bool:
        last = appointment.last_day
        return (last is None or last >= self.first) and appointment.first_day <= self.last

    def advoware_range(self) -> tuple[str, str]:
        """`von`, `bis` of the Advoware listing (which filters by overlap too)."""
        return self.first.isoformat(), self.last.isoformat()

    @property
    def starts_at(self) -> datetime:
        return midnight(self.first)

    def left_behind(self, mapped_end: datetime | None) -> bool:
        """The stored end lies before the window's first day (None: a series without end)."""
        return mapped_end is not None and mapped_end <= self.starts_at
