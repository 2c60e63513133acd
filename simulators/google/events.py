"""Event handlers (3.2): insert with client-chosen ids (G10), get incl. deleted (G8) and virtual
instances (G7), PATCH/PUT with If-Match (G5), delete (G8), list (listing.py)."""

from __future__ import annotations

import dataclasses
from typing import Any

from aiohttp import web

from simulators.google.access import role_of
from simulators.google.errors import bad_request, duplicate_id, gone_deleted, not_found, precondition_failed
from simulators.google.ids import valid_event_id
from simulators.google.listing import list_events
from simulators.google.query import parse_list_query
from simulators.google.request_util import calendar_or_404, google_state, json_body, principal
from simulators.google.resources import Writable, merge_patch, parse_writable, render_event, writable_view
from simulators.google.series import find_event
from simulators.google.state import Calendar, Event, EventWrite, GoogleState


def _respond(state: GoogleState, calendar: Calendar, event: Event, request: web.Request) -> web.Response:
    body = render_event(event, calendar, request.query.get("timeZone"))
    return web.json_response(body, headers={"ETag": event.etag})


def _log_write(state: GoogleState, request: web.Request, event: Event) -> None:
    """Whether the write asked Google to mail the event's guests (`sendUpdates`)."""
    attendees = event.fields.get("attendees")
    count = len(attendees) if isinstance(attendees, list) else 0
    state.event_writes.append(EventWrite(request.method, event.id, request.query.get("sendUpdates"), count))


def create_event(state: GoogleState, calendar: Calendar, body: dict[str, Any]) -> Event:
    """Validate and store a new event (also used by the seeder)."""
    event_id = body.get("id")
    if event_id is not None:
        if not isinstance(event_id, str) or not valid_event_id(event_id):
            raise bad_request("Invalid resource id value.", "invalid")
        if event_id in calendar.events:
            # Also for deleted events: ids are never reused (G10, DECISIONS 5).
            raise duplicate_id()
    data = parse_writable(body, calendar.time_zone)
    seq, now = state.next_change()
    new_id = event_id or state.new_event_id()
    event = Event(
        id=new_id,
        calendar_id=calendar.id,
        start=data.start,
        end=data.end,
        created=now,
        updated=now,
        etag="",
        change_seq=seq,
        ical_uid=str(body.get("iCalUID") or f"{new_id}@google.com"),
        status=data.status,
        sequence=data.sequence or 0,
        recurrence=data.recurrence,
        fields=data.fields,
    )
    state.touch(event)
    calendar.events[event.id] = event
    return event


async def insert_event(request: web.Request) -> web.Response:
    state = google_state(request)
    calendar = calendar_or_404(request)
    event = create_event(state, calendar, await json_body(request))
    _log_write(state, request, event)
    return _respond(state, calendar, event, request)


async def get_event(request: web.Request) -> web.StreamResponse:
    state = google_state(request)
    calendar = calendar_or_404(request)
    event = _event_or_404(calendar, request)
    if request.headers.get("If-None-Match") == event.etag:
        return web.Response(status=304, headers={"ETag": event.etag})
    return _respond(state, calendar, event, request)


async def list_events_handler(request: web.Request) -> web.Response:
    state = google_state(request)
    calendar = calendar_or_404(request)
    query = parse_list_query(request.query, state.config)
    return web.json_response(list_events(state, calendar, query, role_of(calendar, principal(request))))


async def update_event(request: web.Request) -> web.Response:
    """PATCH merges into the stored event, PUT replaces it; both bump etag and `updated`."""
    state = google_state(request)
    calendar = calendar_or_404(request)
    event = _event_or_404(calendar, request)
    _check_if_match(request, event)
    body = await json_body(request)
    if request.method == "PATCH":
        body = merge_patch(writable_view(event), body)
    data = parse_writable(body, calendar.time_zone, is_instance=event.recurring_event_id is not None)
    event = _materialize(calendar, event)
    _apply(event, data)
    state.touch(event)
    if event.cancelled and event.recurrence:
        _cancel_exceptions(state, calendar, event)
    _log_write(state, request, event)
    return _respond(state, calendar, event, request)


async def delete_event(request: web.Request) -> web.Response:
    state = google_state(request)
    calendar = calendar_or_404(request)
    event = _event_or_404(calendar, request)
    if event.cancelled:
        raise gone_deleted()  # G8
    _check_if_match(request, event)
    event = _materialize(calendar, event)
    _cancel(state, event)
    if event.recurrence:
        _cancel_exceptions(state, calendar, event)
    _log_write(state, request, event)
    return web.Response(status=204)


def _event_or_404(calendar: Calendar, request: web.Request) -> Event:
    event = find_event(calendar, request.match_info["eventId"])
    if event is None:
        raise not_found()
    return event


def _check_if_match(request: web.Request, event: Event) -> None:
    expected = request.headers.get("If-Match")
    if expected is not None and expected != "*" and expected != event.etag:
        raise precondition_failed()  # G5


def _materialize(calendar: Calendar, event: Event) -> Event:
    """A virtual instance that gets written becomes a stored exception of its series."""
    if event.id not in calendar.events:
        event = dataclasses.replace(event, fields=dict(event.fields))
        calendar.events[event.id] = event
    return event


def _apply(event: Event, data: Writable) -> None:
    significant = (data.start, data.end, data.recurrence, data.status) != (
        event.start, event.end, event.recurrence, event.status,
    )  # fmt: skip
    event.start, event.end, event.status, event.fields = data.start, data.end, data.status, data.fields
    if event.recurring_event_id is None:
        event.recurrence = data.recurrence
    # Google raises `sequence` on changes that matter to attendees (times, recurrence, status).
    event.sequence = max(event.sequence + (1 if significant else 0), data.sequence or 0)


def _cancel(state: GoogleState, event: Event) -> None:
    event.status = "cancelled"
    event.sequence += 1
    state.touch(event)


def _cancel_exceptions(state: GoogleState, calendar: Calendar, master: Event) -> None:
    """Deleting a series deletes its modified instances too."""
    for other in calendar.events.values():
        if other.recurring_event_id == master.id and not other.cancelled:
            _cancel(state, other)


def add_event_routes(app: web.Application, base: str) -> None:
    events = f"{base}/calendars/{{calendarId}}/events"
    app.router.add_get(events, list_events_handler)
    app.router.add_post(events, insert_event)
    app.router.add_get(f"{events}/{{eventId}}", get_event)
    app.router.add_patch(f"{events}/{{eventId}}", update_event)
    app.router.add_put(f"{events}/{{eventId}}", update_event)
    app.router.add_delete(f"{events}/{{eventId}}", delete_event)
