"""EspoCRM datetimes: UTC text `YYYY-MM-DD HH:MM:SS` (EXTERNAL_SYSTEMS E10), for every entity."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

ESPO_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def as_utc(moment: datetime) -> datetime:
    """Aware UTC datetime; a naive one is taken to be UTC already (the service works in UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_espo_datetime(moment: datetime) -> str:
    return as_utc(moment).strftime(ESPO_DATETIME_FORMAT)


def parse_espo_datetime(value: Any) -> datetime | None:
    """EspoCRM datetime text → aware UTC datetime; empty → None."""
    if isinstance(value, datetime):
        return as_utc(value)
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    return as_utc(datetime.fromisoformat(text))
