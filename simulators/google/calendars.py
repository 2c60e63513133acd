"""Calendars and the calendar list (3.2): one calendar per employee, named by Kürzel. A calendar
lives in the account of the principal that created it (the delegated user, or the service
account itself); the calendar list shows what the caller owns or was shared (access.py)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from simulators.google.access import can_see, role_of
from simulators.google.errors import bad_request, not_found
from simulators.google.ids import etag
from simulators.google.request_util import calendar_or_404, google_state, json_body, principal
from simulators.google.state import Calendar, GoogleState
from simulators.google.timeutil import valid_zone_name
from simulators.google.tokens import issue_offset_token, read_offset_token

_CONFERENCE = {"allowedConferenceSolutionTypes": ["hangoutsMeet"]}


def render_calendar(calendar: Calendar) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": "calendar#calendar", "etag": calendar.etag, "id": calendar.id}
    out["summary"] = calendar.summary
    if calendar.description:
        out["description"] = calendar.description
    out["timeZone"] = calendar.time_zone
    out["conferenceProperties"] = _CONFERENCE
    return out


def render_list_entry(calendar: Calendar, viewer: str) -> dict[str, Any]:
    out = render_calendar(calendar)
    out["kind"] = "calendar#calendarListEntry"
    out.update(
        colorId="14",
        backgroundColor="#9fe1e7",
        foregroundColor="#000000",
        selected=True,
        accessRole=role_of(calendar, viewer),
        defaultReminders=[],
    )
    return out


def create_calendar(
    state: GoogleState, summary: str, time_zone: str, description: str | None = None, *, owner: str
) -> Calendar:
    seq, now = state.next_change()
    calendar = Calendar(
        id=state.new_calendar_id(),
        summary=summary,
        time_zone=time_zone,
        created=now,
        etag=etag(now, seq),
        description=description,
        owner=owner,
    )
    state.calendars[calendar.id] = calendar
    return calendar


def _apply_calendar_fields(
    state: GoogleState, body: dict[str, Any], current: Calendar | None
) -> dict[str, Any]:
    summary = body.get("summary", current.summary if current else None)
    if not summary or not isinstance(summary, str):
        raise bad_request("Missing title.", "required")
    zone = body.get("timeZone") or (current.time_zone if current else state.config.default_time_zone)
    if not isinstance(zone, str) or not valid_zone_name(zone):
        raise bad_request("Invalid time zone definition.", "invalid")
    description = body.get("description", current.description if current else None)
    return {"summary": summary, "time_zone": zone, "description": description}


async def insert_calendar(request: web.Request) -> web.Response:
    state = google_state(request)
    fields = _apply_calendar_fields(state, await json_body(request), None)
    calendar = create_calendar(state, **fields, owner=principal(request))
    return web.json_response(render_calendar(calendar))


async def get_calendar(request: web.Request) -> web.Response:
    return web.json_response(render_calendar(calendar_or_404(request)))


async def update_calendar(request: web.Request) -> web.Response:
    """PATCH and PUT of a calendar's summary, description and zone."""
    state = google_state(request)
    calendar = calendar_or_404(request, need="owner")
    body = await json_body(request)
    if request.method == "PUT":
        body = {"description": None, **body}
    fields = _apply_calendar_fields(state, body, calendar)
    calendar.summary, calendar.time_zone, calendar.description = (
        fields["summary"], fields["time_zone"], fields["description"]
    )  # fmt: skip
    seq, now = state.next_change()
    calendar.etag = etag(now, seq)
    return web.json_response(render_calendar(calendar))


async def delete_calendar(request: web.Request) -> web.Response:
    state = google_state(request)
    calendar = calendar_or_404(request, need="owner")
    del state.calendars[calendar.id]
    return web.Response(status=204)


async def list_calendar_list(request: web.Request) -> web.Response:
    """`users/me/calendarList` with offset paging (the list is small: one per employee)."""
    state = google_state(request)
    config = state.config
    try:
        size = min(
            int(request.query.get("maxResults", config.calendar_list_max_default)),
            config.calendar_list_max_cap,
        )
    except ValueError as exc:
        raise bad_request("Invalid value for: maxResults", "invalidParameter") from exc
    offset = read_offset_token("L", request.query.get("pageToken"))
    viewer = principal(request)
    calendars = [c for c in state.calendars.values() if can_see(c, viewer)]
    page = calendars[offset : offset + max(size, 1)]
    body: dict[str, Any] = {
        "kind": "calendar#calendarList",
        "etag": f'"p{state.epoch[:6]}{state.change_seq:010d}"',
        "items": [render_list_entry(c, viewer) for c in page],
    }
    if offset + len(page) < len(calendars):
        body["nextPageToken"] = issue_offset_token("L", offset + len(page))
    return web.json_response(body)


async def get_calendar_list_entry(request: web.Request) -> web.Response:
    calendar = google_state(request).calendar(request.match_info["calendarId"])
    if calendar is None or not can_see(calendar, principal(request)):
        raise not_found()
    return web.json_response(render_list_entry(calendar, principal(request)))


def add_calendar_routes(app: web.Application, base: str) -> None:
    app.router.add_get(f"{base}/users/me/calendarList", list_calendar_list)
    app.router.add_get(f"{base}/users/me/calendarList/{{calendarId}}", get_calendar_list_entry)
    app.router.add_post(f"{base}/calendars", insert_calendar)
    app.router.add_get(f"{base}/calendars/{{calendarId}}", get_calendar)
    app.router.add_patch(f"{base}/calendars/{{calendarId}}", update_calendar)
    app.router.add_put(f"{base}/calendars/{{calendarId}}", update_calendar)
    app.router.add_delete(f"{base}/calendars/{{calendarId}}", delete_calendar)
