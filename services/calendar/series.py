"""Exceptions of a series (pure): which instances differ from their series, and how to put one back.

Google keeps a moved or cancelled occurrence as an instance of its series (`<masterId>_<original
start>`, `recurringEventId`, `originalStartTime`), never as a separate event; Advoware's series
has no exceptions. An instance is an exception when it is cancelled or its content differs from
the occurrence the series has at its original start (an instance put back earlier is no
exception, so the echo of our own revert asks for nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.calendar.event_mapping import ZONE, from_event, to_patch
from services.calendar.model import AllDay, Appointment, NotExpressible, Timed

JsonDict = dict[str, Any]


def occurrence(series: Appointment, original_start: Mapping[str, Any]) -> Appointment | None:
    """The occurrence of `series` that starts at `original_start` (an instance's
    `originalStartTime`), as a single appointment; None when it cannot be read."""
    when = series.when
    try:
        if isinstance(when, AllDay):
            first = date.fromisoformat(str(original_start["date"]))
            return replace(series, when=AllDay(first, first + (when.last - when.first)), series=None)
        moment = datetime.fromisoformat(str(original_start["dateTime"]).replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(str(original_start.get("timeZone") or ZONE)))
        return replace(series, when=Timed(moment, moment + (when.end - when.start)), series=None)
    except (KeyError, ValueError, NotExpressible):
        return None


def exception_reason(series: Appointment, instance: Mapping[str, Any]) -> str | None:
    """Why `instance` is an exception of `series` ("cancelled occurrence", "moved occurrence"),
    or None when it shows the occurrence unchanged."""
    if instance.get("status") == "cancelled":
        return "cancelled occurrence"
    expected = occurrence(series, instance.get("originalStartTime") or {})
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


def put_back(series: Appointment, instance: Mapping[str, Any], frnr: int, kuerzel: str) -> JsonDict | None:
    """The PATCH that makes `instance` the series' occurrence again (confirmed); None when its
    original start cannot be read."""
    expected = occurrence(series, instance.get("originalStartTime") or {})
    if expected is None:
        return None
    body = to_patch(expected, frnr=frnr, kuerzel=kuerzel)
    body.pop("recurrence", None)  # an instance has none of its own
    return body
