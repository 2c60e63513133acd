"""Event bodies in and out: validation of what a client writes (G6, G10, G11) and the JSON
resource Google answers with (3.3)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from simulators.google.errors import bad_request
from simulators.google.recurrence import build_ruleset
from simulators.google.state import Calendar, Event
from simulators.google.timeutil import EventTime, format_utc, parse_event_time

# Fields the server owns or handles structurally; everything else a client sends is kept as is.
_STRUCTURAL = {
    "kind", "etag", "id", "htmlLink", "created", "updated", "creator", "organizer", "iCalUID",
    "recurringEventId", "originalStartTime", "start", "end", "recurrence", "status", "sequence",
    "hangoutLink", "privateCopy", "locked",
}  # fmt: skip
_STATUSES = ("confirmed", "tentative", "cancelled")
# Times are replaced as a whole by PATCH: merging {"dateTime"} into {"date"} would mix both.
_REPLACED_BY_PATCH = {"start", "end", "originalStartTime", "recurrence"}


@dataclass
class Writable:
    """What a client may set on an event, validated."""

    start: EventTime
    end: EventTime
    recurrence: list[str] | None
    status: str
    fields: dict[str, Any]
    sequence: int | None


def parse_writable(body: dict[str, Any], calendar_zone: str, is_instance: bool = False) -> Writable:
    if not isinstance(body, dict):
        raise bad_request("Bad Request", "badRequest")
    start = parse_event_time(body.get("start"), "start")
    end = parse_event_time(body.get("end"), "end")
    _check_range(start, end)
    recurrence = None if is_instance else _parse_recurrence(body.get("recurrence"), start, calendar_zone)
    status = body.get("status") or "confirmed"
    if status not in _STATUSES:
        raise bad_request("Invalid value for: status", "invalid")
    fields = {k: v for k, v in body.items() if k not in _STRUCTURAL and v is not None}
    _check_extended_properties(fields.get("extendedProperties"))
    sequence = body.get("sequence")
    if sequence is not None and not isinstance(sequence, int):
        raise bad_request("Invalid sequence value.", "invalid")
    return Writable(start, end, recurrence, status, fields, sequence)


def _check_range(start: EventTime, end: EventTime) -> None:
    if start.all_day != end.all_day:
        raise bad_request("Start and end times must either both be date or both be dateTime.", "invalid")
    if start.day is not None and end.day is not None and end.day <= start.day:
        raise bad_request("The specified time range is empty.", "timeRangeEmpty")
    if start.instant is not None and end.instant is not None and end.instant < start.instant:
        raise bad_request("The specified time range is empty.", "timeRangeEmpty")


def _parse_recurrence(raw: Any, start: EventTime, calendar_zone: str) -> list[str] | None:
    if not raw:
        return None
    if not isinstance(raw, list) or not all(isinstance(line, str) for line in raw):
        raise bad_request("Invalid recurrence rule.", "invalid")
    if not start.all_day and not start.time_zone:
        # Google needs the zone to expand a timed series (G12).
        raise bad_request("Missing time zone definition for start time.", "timeZone")
    build_ruleset(raw, start, calendar_zone)
    return list(raw)


def _check_extended_properties(raw: Any) -> None:
    """G11: `private` and `shared` are string→string maps."""
    if raw is None:
        return
    if not isinstance(raw, dict) or set(raw) - {"private", "shared"}:
        raise bad_request("Invalid value for: extendedProperties", "invalid")
    for scope in raw.values():
        if not isinstance(scope, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in scope.items()
        ):
            raise bad_request("Invalid extended property value.", "invalid")


def merge_patch(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """PATCH semantics: objects merge recursively, arrays and times are replaced, null clears."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict) and key not in _REPLACED_BY_PATCH:
            merged[key] = merge_patch(merged[key], value)
        else:
            merged[key] = value
    return merged


def writable_view(event: Event) -> dict[str, Any]:
    """The event as a client would send it back (input of PATCH merging)."""
    view: dict[str, Any] = dict(event.fields)
    view["start"] = event.start.dump()
    view["end"] = event.end.dump()
    view["status"] = event.status
    if event.recurrence:
        view["recurrence"] = list(event.recurrence)
    return view


def html_link(event_id: str, calendar_id: str) -> str:
    eid = base64.urlsafe_b64encode(f"{event_id} {calendar_id}".encode()).decode().rstrip("=")
    return f"https://www.google.com/calendar/event?eid={eid}"


def render_event(event: Event, calendar: Calendar, response_zone: str | None = None) -> dict[str, Any]:
    """The full `calendar#event` resource (also for cancelled events read by id, G8)."""
    zone = calendar.time_zone
    out: dict[str, Any] = {
        "kind": "calendar#event",
        "etag": event.etag,
        "id": event.id,
        "status": event.status,
        "htmlLink": html_link(event.id, calendar.id),
        "created": format_utc(event.created),
        "updated": format_utc(event.updated),
    }
    out.update(
        {k: event.fields[k] for k in ("summary", "description", "location", "colorId") if k in event.fields}
    )
    out["creator"] = {"email": calendar.owner}
    out["organizer"] = {"email": calendar.id, "displayName": calendar.summary, "self": True}
    out["start"] = event.start.to_json(zone, response_zone)
    out["end"] = event.end.to_json(zone, response_zone)
    if event.recurrence:
        out["recurrence"] = list(event.recurrence)
    if event.recurring_event_id:
        out["recurringEventId"] = event.recurring_event_id
    if event.original_start is not None:
        out["originalStartTime"] = event.original_start.to_json(zone, response_zone)
    out["iCalUID"] = event.ical_uid
    out["sequence"] = event.sequence
    rest = {k: v for k, v in event.fields.items() if k not in out}
    out.update(rest)
    out.setdefault("reminders", {"useDefault": True})
    out.setdefault("eventType", "default")
    return out


def render_cancelled(event: Event, calendar: Calendar, response_zone: str | None = None) -> dict[str, Any]:
    """A deleted event in a list (G1): id and status, plus the series link for exceptions."""
    out: dict[str, Any] = {
        "kind": "calendar#event",
        "etag": event.etag,
        "id": event.id,
        "status": "cancelled",
    }
    if event.recurring_event_id:
        out["recurringEventId"] = event.recurring_event_id
    if event.original_start is not None:
        out["originalStartTime"] = event.original_start.to_json(calendar.time_zone, response_zone)
    return out


def render_listed(event: Event, calendar: Calendar, response_zone: str | None = None) -> dict[str, Any]:
    """An event as a listing shows it: deleted ones reduced to their id and status (G1)."""
    if event.cancelled:
        return render_cancelled(event, calendar, response_zone)
    return render_event(event, calendar, response_zone)
