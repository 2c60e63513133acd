"""`events.instances` (G7): the occurrences of one recurring series in a window — virtual
instances plus its stored exceptions (moved ones always, cancelled ones with `showDeleted`) —
in original-start order, offset-paged. A single event is its own only instance."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from simulators.google.access import role_of
from simulators.google.errors import gone_deleted, not_found
from simulators.google.listing import envelope, in_window
from simulators.google.query import parse_instances_query
from simulators.google.request_util import calendar_or_404, google_state, principal
from simulators.google.resources import render_listed
from simulators.google.series import Window, expand
from simulators.google.state import Event
from simulators.google.timeutil import format_utc
from simulators.google.tokens import issue_offset_token, read_offset_token


async def list_instances(request: web.Request) -> web.Response:
    state = google_state(request)
    calendar = calendar_or_404(request)
    master = calendar.events.get(request.match_info["eventId"])
    if master is None:
        raise not_found()
    if master.cancelled:
        raise gone_deleted()
    query = parse_instances_query(request.query, state.config)
    window: Window = (query.time_min, query.time_max)
    found: list[Event] = [master]
    if master.recurrence:
        found = list(expand(master, calendar, state.config, window, state.now()))
        found += [
            e
            for e in calendar.events.values()
            if e.recurring_event_id == master.id
            and (query.show_deleted or not e.cancelled)
            and in_window(e, calendar, window)
        ]
    zone = calendar.time_zone
    found.sort(key=lambda e: (format_utc((e.original_start or e.start).utc(zone)), e.id))
    offset = read_offset_token("I", query.page_token, query.fingerprint)
    page = found[offset : offset + query.max_results]
    body: dict[str, Any] = envelope(state, calendar, state.change_seq, role_of(calendar, principal(request)))
    body["items"] = [render_listed(e, calendar, query.time_zone) for e in page]
    if offset + len(page) < len(found):
        body["nextPageToken"] = issue_offset_token("I", offset + len(page), query.fingerprint)
    return web.json_response(body)


def add_instances_route(app: web.Application, base: str) -> None:
    app.router.add_get(f"{base}/calendars/{{calendarId}}/events/{{eventId}}/instances", list_instances)
