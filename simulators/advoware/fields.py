"""Validation and normalisation of incoming field values.

Advoware is a .NET application: datetimes come back as naive local (Europe/Berlin) strings like
`2001-01-05T00:00:00`, whatever form the client sent. Values that cannot be bound to the field's
type are a 400, as ASP.NET model binding would answer.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from simulators.advoware.httputil import ApiError
from simulators.advoware.state import BERLIN


def _bad(name: str, value: Any) -> ApiError:
    return ApiError(400, f"The value {value!r} is not valid for field '{name}'.")


def parse_datetime(name: str, value: Any) -> datetime:
    """A naive Berlin datetime from `YYYY-MM-DD` or an ISO datetime; offsets are converted."""
    if not isinstance(value, str):
        raise _bad(name, value)
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _bad(name, value) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(BERLIN).replace(tzinfo=None)
    return parsed.replace(microsecond=0)


def datetime_or_none(name: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    return parse_datetime(name, value).isoformat()


def time_or_none(name: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _bad(name, value)
    try:
        parsed = time.fromisoformat(value.strip())
    except ValueError:
        raise _bad(name, value) from None
    return parsed.replace(microsecond=0, tzinfo=None).isoformat()


def str_or_none(name: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise _bad(name, value)


def boolean(name: str, value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    raise _bad(name, value)


def flag(name: str, value: Any) -> int:
    """Advoware's 0/1 integer flags (`dauertermin`, `turnus`); JSON booleans are accepted."""
    if value is None:
        return 0
    if isinstance(value, bool) or value in (0, 1):
        return int(value)
    raise _bad(name, value)


def small_int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(name, value)
    return value


def query_date(name: str, value: str) -> date:
    try:
        return datetime.fromisoformat(value.strip()).date()
    except ValueError:
        raise _bad(name, value) from None
