"""The reads of one employee's run, before anything is decided (I/O).

1. Advoware's listing of the window (one call).
2. Google: incremental from the stored sync token (one call per page); a full listing when there
   is no token, the token expired (410 → exactly one full listing), the calendar is not adopted
   yet, or no mapping exists (a lost mapping table is rebuilt from the events' links).
   Full listings include deleted events and are not limited to the window (a sync token cannot
   be combined with one either), so an event missing from it is gone.
3. Only what the listings call for (`view.py`): the GET by frNr of mapped Termine missing from
   the window — skipped when there are more than the brake allows, which then brakes — and of
   Termine linked by unmapped events; the GET of open mappings' events the incremental listing
   did not bring; the instances of open or changed series.
A no-change run therefore reads exactly one page from each system.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.calendar.brake import limit_for
from services.calendar.mappings import CalendarEmployee, CalendarMapping
from services.calendar.view import JsonDict, Observed, missing, series_to_list, to_confirm, to_fetch
from services.calendar.window import SyncWindow
from services.clients.errors import FullSyncRequired, Gone, NotFound

PAGE = 2500  # Google's largest page: 500 appointments in one call


@dataclass(frozen=True)
class Reading:
    observed: Observed
    next_sync_token: str | None
    expired_token: bool  # the stored token was refused (410): this was the one full listing


@dataclass(frozen=True)
class Limits:
    max_events: int
    max_percent: float
    allow_mass_changes: bool


async def read_employee(
    google: Any,
    advoware: Any,
    kuerzel: str,
    calendar_id: str | None,
    state: CalendarEmployee,
    mappings: Sequence[CalendarMapping],
    window: SyncWindow,
    now: datetime,
    limits: Limits,
    *,
    full: bool = False,
) -> Reading:
    """`calendar_id` None: the calendar does not exist yet (a dry run): its side is empty.
    `full`: list Google in full whatever the state (adoption)."""
    termine: list[JsonDict] = await advoware.list_termine(kuerzel, *window.advoware_range())
    full = full or state.sync_token is None or state.adopted_at is None or not mappings
    expired = False
    events: list[JsonDict] = []
    token: str | None = None
    if calendar_id is not None and not full:
        try:
            listing = await google.list_events(calendar_id, sync_token=state.sync_token, max_results=PAGE)
            events, token = listing.items, listing.next_sync_token
        except FullSyncRequired:
            full = expired = True
    if calendar_id is not None and full:
        listing = await google.list_events(calendar_id, show_deleted=True, max_results=PAGE)
        events, token = listing.items, listing.next_sync_token
    gone = missing(mappings, termine, window)
    limit = limit_for(len(mappings), limits.max_events, limits.max_percent)
    unconfirmed = frozenset(gone) if len(gone) > limit and not limits.allow_mass_changes else frozenset()
    fetched: dict[str, JsonDict | None] = {}
    instances: dict[str, list[JsonDict]] = {}
    if calendar_id is not None:
        series = series_to_list(mappings, termine, events, now)
        listed = {e.get("id") for e in events}
        # A series' instances are judged against its master as it is now: fetched if not listed.
        masters = {s for s in series if s not in listed}
        for event_id in sorted({*to_fetch(mappings, events, full, now), *masters}):
            fetched[event_id] = await _get_event(google, calendar_id, event_id)
        for event_id in series:
            instances[event_id] = await _instances(google, calendar_id, event_id, window)
    seen = [*events, *(e for e in fetched.values() if e is not None)]  # links of fetched events too
    confirmed = {
        frnr: await advoware.get_termin(frnr)
        for frnr in to_confirm(mappings, termine, seen, window)
        if frnr not in unconfirmed
    }
    observed = Observed(mappings, termine, events, full, confirmed, unconfirmed, fetched, instances)
    return Reading(observed, token, expired)


async def _get_event(google: Any, calendar_id: str, event_id: str) -> JsonDict | None:
    try:
        event: JsonDict = await google.get_event(calendar_id, event_id)
        return event
    except (NotFound, Gone):
        return None


async def _instances(google: Any, calendar_id: str, event_id: str, window: SyncWindow) -> list[JsonDict]:
    try:
        found: list[JsonDict] = await google.list_instances(
            calendar_id, event_id, time_min=window.starts_at.isoformat(), show_deleted=True
        )
        return found
    except (NotFound, Gone):
        return []
