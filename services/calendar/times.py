"""Advoware's naive Europe/Berlin wall times ↔ instants.

Advoware stores local date and time without an offset. A wall time that does not exist (the
spring change skips 02:00–03:00) or exists twice (autumn repeats it) resolves with `fold=0`,
Python's rule: the offset in force before the change. So 02:30 on the spring Sunday is 01:30
UTC (03:30 summer time) and 02:30 on the autumn Sunday is 00:30 UTC (the first 02:30).
Everything is compared as instants; `representable()` maps an instant to the one Advoware's
wall time can hold, so the second 02:30 of an autumn night compares equal to what Advoware
stored for it and never flips back and forth.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
# SYNC_RULES §5: a Termin without a start time starts at 09:00; without an end it lasts 1 h.
DEFAULT_START = time(9, 0)
DEFAULT_DURATION = timedelta(hours=1)


def instant(day: date, at: time, zone: ZoneInfo = BERLIN) -> datetime:
    """The UTC instant of a local wall time (fold=0 for gaps and doubled hours)."""
    return datetime.combine(day, at.replace(tzinfo=None, fold=0), zone).astimezone(UTC)


def wall_time(moment: datetime, zone: ZoneInfo = BERLIN) -> datetime:
    """The naive local wall time of an aware instant."""
    if moment.tzinfo is None:
        raise ValueError("an instant must be timezone-aware")
    return moment.astimezone(zone).replace(tzinfo=None, fold=0)


def representable(moment: datetime, zone: ZoneInfo = BERLIN) -> datetime:
    """The instant Advoware ends up with after storing `moment` as wall time."""
    local = wall_time(moment, zone)
    return instant(local.date(), local.time(), zone)


def midnight(day: date, zone: ZoneInfo = BERLIN) -> datetime:
    return instant(day, time(0), zone)


def parse_date(value: object) -> date | None:
    """Advoware's `2026-02-10T00:00:00` (or a bare date); None for empty."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a date: {type(value).__name__}")
    return datetime.fromisoformat(value.strip()).date()


def parse_time(value: object) -> time | None:
    """Advoware's `09:00:00` (or `09:00`); None for empty."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a time: {type(value).__name__}")
    return time.fromisoformat(value.strip()).replace(microsecond=0, tzinfo=None)


def format_date(day: date) -> str:
    return f"{day.isoformat()}T00:00:00"


def format_time(at: time) -> str:
    return at.replace(microsecond=0).isoformat()
