"""UTC time for the service database: one clock type, and a guard against naive datetimes.

Every timestamp the database stores or returns is timezone-aware UTC; a naive datetime is a bug
(Advoware's naive Berlin time must never slip in unnoticed), so it is rejected, not guessed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def require_utc(value: datetime, what: str = "timestamp") -> datetime:
    """`value` converted to UTC; raises ValueError for a naive datetime."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value!r}")
    return value.astimezone(UTC)
