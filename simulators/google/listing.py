"""`events.list`: full listings with filters and windows, incremental listings from a sync
token (G1), keyset paging with `nextSyncToken` only on the last page (G2)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from simulators.google.errors import bad_request
from simulators.google.query import ListQuery
from simulators.google.resources import render_listed
from simulators.google.series import Window, expand, series_overlaps
from simulators.google.state import Calendar, Event, GoogleState
from simulators.google.timeutil import format_utc
from simulators.google.tokens import (
    PageCursor,
    issue_page_token,
    issue_sync_token,
    read_page_token,
    read_sync_token,
)


def list_events(state: GoogleState, calendar: Calendar, query: ListQuery, access_role: str) -> dict[str, Any]:
    cursor = read_page_token(query.page_token, query.fingerprint) if query.page_token else None
    since = read_sync_token(state, calendar.id, query.sync_token).seq if query.sync_token else None
    if cursor is not None and since is None:
        since = cursor.since  # later pages of an incremental listing may omit the syncToken
    as_of = cursor.as_of if cursor else state.change_seq
    events = _collect(state, calendar, query, since)
    zone = calendar.time_zone
    keyed = sorted(((_sort_key(e, query, since, zone), e) for e in events), key=lambda pair: pair[0])
    if cursor is not None:
        keyed = _after(keyed, cursor.after)
    page, rest = keyed[: query.max_results], keyed[query.max_results :]
    body = envelope(state, calendar, as_of, access_role)
    body["items"] = [render_listed(event, calendar, query.time_zone) for _, event in page]
    if rest:
        body["nextPageToken"] = issue_page_token(PageCursor(page[-1][0], as_of, query.fingerprint, since))
    else:
        body["nextSyncToken"] = issue_sync_token(state, calendar.id, as_of)
    return body


def _after(keyed: list[tuple[list[Any], Event]], last: list[Any]) -> list[tuple[list[Any], Event]]:
    try:
        return [pair for pair in keyed if pair[0] > last]
    except TypeError as exc:  # a hand-made token whose key does not fit this ordering
        raise bad_request("Invalid page token value.", "invalid", location="pageToken") from exc


def envelope(state: GoogleState, calendar: Calendar, as_of: int, access_role: str) -> dict[str, Any]:
    updated = max((e.updated for e in calendar.events.values()), default=calendar.created)
    body: dict[str, Any] = {
        "kind": "calendar#events",
        "etag": f'"p{state.epoch[:6]}{as_of:010d}"',
        "summary": calendar.summary,
    }
    if calendar.description:
        body["description"] = calendar.description
    body.update(
        updated=format_utc(updated),
        timeZone=calendar.time_zone,
        accessRole=access_role,
        defaultReminders=[],
    )
    return body


def _sort_key(event: Event, query: ListQuery, since: int | None, zone: str) -> list[Any]:
    """Keys are JSON lists so a page token can carry the last one (keyset paging: items deleted
    or added while paging never shift the pages)."""
    start = format_utc(event.start.utc(zone))
    if since is not None:
        return [event.change_seq, start, event.id]
    if query.order_by == "startTime":
        return [start, event.id]
    if query.order_by == "updated":
        return [format_utc(event.updated), event.id]
    return [format_utc(event.created), start, event.id]


def _collect(state: GoogleState, calendar: Calendar, query: ListQuery, since: int | None) -> list[Event]:
    if since is not None:
        return list(_changed(state, calendar, query, since))
    window: Window = (query.time_min, query.time_max)
    return [e for e in _candidates(state, calendar, query, window) if _matches(e, calendar, query)]


def _changed(state: GoogleState, calendar: Calendar, query: ListQuery, since: int) -> Iterator[Event]:
    """G1: everything changed after the token, deleted events included."""
    for event in calendar.events.values():
        if event.change_seq <= since:
            continue
        if query.single_events and event.recurrence and not event.cancelled:
            yield from expand(event, calendar, state.config, (None, None), state.now())
        else:
            yield event


def _candidates(state: GoogleState, calendar: Calendar, query: ListQuery, window: Window) -> Iterator[Event]:
    for event in calendar.events.values():
        if not event.recurrence:
            if in_window(event, calendar, window):
                yield event
        elif query.single_events and not event.cancelled:
            yield from expand(event, calendar, state.config, window, state.now())
        elif series_overlaps(event, calendar, state.config, window, state.now()):
            yield event


def in_window(event: Event, calendar: Calendar, window: Window) -> bool:
    """Overlap: the event ends after timeMin and starts before timeMax."""
    lower, upper = window
    if lower is not None and event.end.utc(calendar.time_zone) <= lower:
        return False
    return upper is None or event.start.utc(calendar.time_zone) < upper


def _matches(event: Event, calendar: Calendar, query: ListQuery) -> bool:
    if event.cancelled and not _deleted_visible(event, query):
        return False
    if query.updated_min is not None and event.updated < query.updated_min:
        return False
    if query.ical_uid is not None and event.ical_uid != query.ical_uid:
        return False
    if query.q is not None and not _text_match(event, query.q):
        return False
    props = event.fields.get("extendedProperties") or {}
    return _props_match(props.get("private") or {}, query.private_props) and _props_match(
        props.get("shared") or {}, query.shared_props
    )


def _deleted_visible(event: Event, query: ListQuery) -> bool:
    # updatedMin always brings events deleted since then, whatever showDeleted says.
    return query.show_deleted or query.updated_min is not None


def _props_match(stored: dict[str, str], wanted: list[tuple[str, str]]) -> bool:
    """G11: every `key=value` given must match (AND)."""
    return all(stored.get(key) == value for key, value in wanted)


def _text_match(event: Event, text: str) -> bool:
    haystack = " ".join(str(event.fields.get(k, "")) for k in ("summary", "description", "location"))
    return all(word.lower() in haystack.lower() for word in text.split())
