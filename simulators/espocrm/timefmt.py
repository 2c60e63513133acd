"""EspoCRM's datetime and date formats (E10): UTC `YYYY-MM-DD HH:MM:SS`, dates `YYYY-MM-DD`."""

from __future__ import annotations

import re
from datetime import UTC, datetime

DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def format_datetime(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def normalise_datetime(value: str) -> str | None:
    """Accepts what EspoCRM accepts on write (`…HH:MM` or `…HH:MM:SS`); None if malformed."""
    if len(value) == 16:
        value += ":00"
    if not DATETIME_RE.match(value):
        return None
    try:
        datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return value


def is_date(value: str) -> bool:
    if not DATE_RE.match(value):
        return False
    try:
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return False
    return True
