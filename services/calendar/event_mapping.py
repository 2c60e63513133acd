"""Google event ↔ `Appointment` (SYNC_RULES §5).

Writing: `text` → `summary`, `notiz` → `description`, `ort` → `location`; timed appointments as
`dateTime` with the Berlin offset plus `timeZone`; all-day ones as `date` with Google's
exclusive end (last day + 1); a series as one RRULE; the Advoware link in
`extendedProperties.private`. Never `attendees`. `to_patch` names every field the service
manages (null clears one), so a PATCH leaves what users added in Google (reminders, colour,
guests) alone, and sets `status: confirmed`, which also restores a deleted event.

Reading: `from_event` accepts either time form (an offset or the event's `timeZone`), maps an
instant through what Advoware's wall time can hold (`times.representable`), and raises
`NotExpressible` for recurrences Advoware cannot express. An instance of a series (`recurringEventId`)
reads like a single event; whether it may be written is the sync's call (exceptions of a series
are one of the things Advoware cannot express).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.calendar.ids import event_id, private_properties
from services.calendar.model import AllDay, Appointment, NotExpressible, Timed, text_or_none
from services.calendar.recurrence import from_recurrence, to_rrule
from services.calendar.times import BERLIN, representable

ZONE = "Europe/Berlin"


def to_event(appointment: Appointment, *, frnr: int, kuerzel: str, restore: int = 0) -> dict[str, Any]:
    """The body of an insert: the client-chosen id `adv{frNr}` (`restore` > 0: `adv{frNr}r{n}`)."""
    body: dict[str, Any] = {"id": event_id(frnr, restore)}
    body |= {k: v for k, v in _managed(appointment, frnr, kuerzel).items() if v is not None}
    return body


def to_patch(appointment: Appointment, *, frnr: int, kuerzel: str) -> dict[str, Any]:
    """The body of a PATCH that makes the event show `appointment` (and be confirmed)."""
    return {**_managed(appointment, frnr, kuerzel), "status": "confirmed"}


def shows_patch(event: Mapping[str, Any], patch: Mapping[str, Any]) -> bool:
    """Whether `event` already holds what `patch` (from `to_patch`) writes: its content, status
    and link (the PATCH applied, though its answer was lost)."""
    have = (event.get("extendedProperties") or {}).get("private") or {}
    want = (patch.get("extendedProperties") or {}).get("private") or {}
    if event.get("status") != patch.get("status") or any(have.get(k) != v for k, v in want.items()):
        return False
    try:
        return from_event(event).fingerprint() == from_event({**event, **patch}).fingerprint()
    except NotExpressible:
        return False


def is_instance(event: Mapping[str, Any]) -> bool:
    """An occurrence (or moved/cancelled exception) of a series, not a master or single event."""
    return bool(event.get("recurringEventId"))


def series_exception(event: Mapping[str, Any]) -> str | None:
    """Why an event is an exception of a series, which Advoware cannot hold (a moved or a
    cancelled occurrence), or None. The reason is fit for the mapping and a notice."""
    if not is_instance(event):
        return None
    return "cancelled occurrence" if event.get("status") == "cancelled" else "moved occurrence"


def from_event(event: Mapping[str, Any]) -> Appointment:
    when = _when(event.get("start"), event.get("end"), event.get("start", {}).get("timeZone"))
    lines = event.get("recurrence")
    first_day = when.first if isinstance(when, AllDay) else when.start.astimezone(BERLIN).date()
    series = from_recurrence(list(lines), first_day) if lines and not is_instance(event) else None
    return Appointment(
        when=when,
        text=text_or_none(event.get("summary")),
        notiz=text_or_none(event.get("description")),
        ort=text_or_none(event.get("location")),
        series=series,
    )


def _managed(appointment: Appointment, frnr: int, kuerzel: str) -> dict[str, Any]:
    when = appointment.when
    if isinstance(when, AllDay):
        start: dict[str, Any] = {"date": when.first.isoformat()}
        end: dict[str, Any] = {"date": (when.last + timedelta(days=1)).isoformat()}
    else:
        start, end = _date_time(when.start), _date_time(when.end)
    series = appointment.series
    return {
        "summary": appointment.text,
        "description": appointment.notiz,
        "location": appointment.ort,
        "start": start,
        "end": end,
        "recurrence": to_rrule(series, appointment.all_day) if series else None,
        "extendedProperties": {"private": private_properties(frnr, kuerzel)},
    }


def _date_time(moment: datetime) -> dict[str, str]:
    return {"dateTime": moment.astimezone(BERLIN).isoformat(), "timeZone": ZONE}


def _when(start: Any, end: Any, zone: Any) -> AllDay | Timed:
    if not isinstance(start, Mapping) or not isinstance(end, Mapping):
        raise NotExpressible("no start or end")
    if "date" in start and "date" in end:
        first, after = _day(start["date"]), _day(end["date"])
        if after <= first:
            raise NotExpressible("end before start")
        return AllDay(first, after - timedelta(days=1))
    if "dateTime" in start and "dateTime" in end:
        return Timed(_instant(start, zone), _instant(end, zone))
    raise NotExpressible("start and end of different kinds")


def _day(value: Any) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise NotExpressible("unreadable date") from None


def _instant(value: Mapping[str, Any], event_zone: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value["dateTime"]).replace("Z", "+00:00"))
        if moment.tzinfo is None:  # no offset: the time's own zone, else the start's, else Berlin
            moment = moment.replace(tzinfo=ZoneInfo(str(value.get("timeZone") or event_zone or ZONE)))
    except (ValueError, KeyError):
        raise NotExpressible("unreadable dateTime") from None
    return representable(moment)
