"""Exceptions of a series (pure): which instances differ from their series, and how to put one back.

Google keeps a moved or cancelled occurrence as an instance of its series (`<masterId>_<original
start>`, `recurringEventId`, `originalStartTime`), never as a separate event; Advoware's series
has no exceptions. An instance is an exception when it is cancelled or its content differs from
the occurrence the series has at its original start (an instance put back earlier is no
exception, so the echo of our own revert asks for nothing). An instance whose original start is
no occurrence of the series any more (the series was moved) is an exception while it shows,
none once cancelled.

A put-back occurrence is a stored instance: it no longer follows its master. So it carries the
fingerprint of what was put back (`extendedProperties.private.advowarePutBack`); while it still
shows that (`untouched`), it is the service's own copy, which follows the series' later edits
without a notice, and not an employee's exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date, datetime, time
from typing import Any, Literal
from zoneinfo import ZoneInfo

from dateutil import rrule

from services.calendar.event_mapping import ZONE, from_event, to_patch
from services.calendar.model import AllDay, Appointment, NotExpressible, Timed
from services.calendar.times import BERLIN, instant

JsonDict = dict[str, Any]
PUT_BACK_KEY = "advowarePutBack"
CANCEL = "cancel"  # `put_back`'s answer for an instance that is no occurrence of the series
_FREQ: dict[str, Literal[0, 1, 2, 3]] = {
    "YEARLY": rrule.YEARLY, "MONTHLY": rrule.MONTHLY, "WEEKLY": rrule.WEEKLY, "DAILY": rrule.DAILY,
}  # fmt: skip


def occurrence(series: Appointment, original_start: Mapping[str, Any]) -> Appointment | None:
    """The occurrence of `series` that starts at `original_start` (an instance's
    `originalStartTime`), as a single appointment; None when it cannot be read or is no
    occurrence of the series."""
    when = series.when
    try:
        if isinstance(when, AllDay):
            first = date.fromisoformat(str(original_start["date"]))
            found = replace(series, when=AllDay(first, first + (when.last - when.first)), series=None)
        else:
            moment = datetime.fromisoformat(str(original_start["dateTime"]).replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=ZoneInfo(str(original_start.get("timeZone") or ZONE)))
            found = replace(series, when=Timed(moment, moment + (when.end - when.start)), series=None)
    except (KeyError, ValueError, NotExpressible):
        return None
    return found if _recurs_at(series, found) else None


def _recurs_at(series: Appointment, single: Appointment) -> bool:
    """Whether the series has an occurrence starting where `single` starts (Berlin wall time:
    10:00 stays 10:00 across the DST changes, as in Google's expansion)."""
    if series.series is None:
        return single.when == series.when
    until = series.series.until
    if isinstance(series.when, AllDay) and isinstance(single.when, AllDay):
        start, at = datetime.combine(series.when.first, time()), datetime.combine(single.when.first, time())
        last = datetime.combine(until, time()) if until else None
    elif isinstance(series.when, Timed) and isinstance(single.when, Timed):
        start, at = series.when.start.astimezone(BERLIN), single.when.start
        last = instant(until, time(23, 59, 59)) if until else None
    else:
        return False
    rule = rrule.rrule(_FREQ[series.series.freq], dtstart=start, until=last)
    return bool(rule.between(at, at, inc=True))


def untouched(instance: Mapping[str, Any]) -> bool:
    """An occurrence the service put back and nobody changed since."""
    private = (instance.get("extendedProperties") or {}).get("private") or {}
    mark = private.get(PUT_BACK_KEY) if isinstance(private, Mapping) else None
    if not mark or instance.get("status") == "cancelled":
        return False
    try:
        return bool(from_event(instance).fingerprint() == mark)
    except NotExpressible:
        return False


def exception_reason(series: Appointment, instance: Mapping[str, Any]) -> str | None:
    """Why `instance` is an exception of `series` ("cancelled occurrence", "moved occurrence"),
    or None when it shows the occurrence unchanged (or, cancelled, is no occurrence at all)."""
    expected = occurrence(series, instance.get("originalStartTime") or {})
    if instance.get("status") == "cancelled":
        return "cancelled occurrence" if expected is not None else None
    try:
        actual = from_event(instance)
    except NotExpressible:
        return "moved occurrence"
    if expected is None or actual.fingerprint() != expected.fingerprint():
        return "moved occurrence"
    return None


def exceptions(series: Appointment, instances: Iterable[JsonDict]) -> list[tuple[JsonDict, str]]:
    """The instances that are exceptions of `series`, with their reason, in id order."""
    found = [(i, exception_reason(series, i)) for i in sorted(instances, key=lambda e: str(e.get("id")))]
    return [(i, reason) for i, reason in found if reason is not None]


def put_back(series: Appointment, instance: Mapping[str, Any], frnr: int, kuerzel: str) -> JsonDict | str:
    """The PATCH that makes `instance` the series' occurrence again (confirmed, marked as put
    back), or CANCEL when its original start is no occurrence of the series (any more)."""
    expected = occurrence(series, instance.get("originalStartTime") or {})
    if expected is None:
        return CANCEL
    body = to_patch(expected, frnr=frnr, kuerzel=kuerzel)
    body.pop("recurrence", None)  # an instance has none of its own
    body["extendedProperties"]["private"][PUT_BACK_KEY] = expected.fingerprint()
    return body
