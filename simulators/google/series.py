"""Instances of recurring series (G7): virtual instances generated from a master, and stored
exceptions (modified or cancelled instances) that replace them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from simulators.google.config import GoogleSimConfig
from simulators.google.ids import instance_id, split_instance_id
from simulators.google.recurrence import Occurrence, instance_times, is_bounded, is_occurrence, occurrences
from simulators.google.state import Calendar, Event

Window = tuple[datetime | None, datetime | None]


def virtual_instance(master: Event, occ: Occurrence, calendar_zone: str) -> Event:
    """The instance of `master` starting at `occ`, as Google would show it (not stored)."""
    start, end, original = instance_times(occ, master.start, master.end, calendar_zone)
    return Event(
        id=instance_id(master.id, occ),
        calendar_id=master.calendar_id,
        start=start,
        end=end,
        created=master.created,
        updated=master.updated,
        etag=master.etag,
        change_seq=master.change_seq,
        ical_uid=master.ical_uid,
        status=master.status,
        sequence=master.sequence,
        fields=dict(master.fields),
        recurring_event_id=master.id,
        original_start=original,
    )


def expand(
    master: Event,
    calendar: Calendar,
    config: GoogleSimConfig,
    window: Window,
    now: datetime,
) -> Iterator[Event]:
    """Virtual instances of `master` in `window`; occurrences that have a stored exception are
    skipped (the exception is listed on its own)."""
    assert master.recurrence
    horizon = _horizon(master.recurrence, config, now)
    for occ in occurrences(
        master.recurrence,
        master.start,
        master.end,
        calendar.time_zone,
        window,
        horizon,
        config.max_instances_per_series,
    ):
        if instance_id(master.id, occ) not in calendar.events:
            yield virtual_instance(master, occ, calendar.time_zone)


def _horizon(recurrence: list[str], config: GoogleSimConfig, anchor: datetime) -> datetime | None:
    """How far a series is expanded: a bounded one (COUNT/UNTIL) in full, wherever it starts
    (a cap on the horizon once hid such series starting over 730 days ahead from every
    listing while events.get found them); an open-ended one `expansion_horizon_days` past
    `anchor`, like Google's own bounded expansion."""
    if is_bounded(recurrence):
        return None
    return anchor + timedelta(days=config.expansion_horizon_days)


def find_event(calendar: Calendar, event_id: str) -> Event | None:
    """A stored event, or a virtual instance addressed by `<masterId>_<stamp>`."""
    stored = calendar.events.get(event_id)
    if stored is not None:
        return stored
    parts = split_instance_id(event_id)
    if parts is None:
        return None
    master = calendar.events.get(parts[0])
    if master is None or not master.recurrence or master.cancelled:
        return None
    if not is_occurrence(master.recurrence, master.start, master.end, calendar.time_zone, parts[1]):
        return None
    occ = parts[1]
    if isinstance(occ, datetime):
        occ = occ.astimezone(master.start.render_zone(calendar.time_zone))
    return virtual_instance(master, occ, calendar.time_zone)


def series_overlaps(
    master: Event, calendar: Calendar, config: GoogleSimConfig, window: Window, now: datetime
) -> bool:
    """Whether any instance of the series (exceptions aside) lies in `window`. An open-ended
    series is searched from its own start (or the window's) on, so one starting years ahead
    is still listed as a master."""
    assert master.recurrence
    starts = [now, master.start.utc(calendar.time_zone), *([window[0]] if window[0] else [])]
    horizon = _horizon(master.recurrence, config, max(starts))
    found = occurrences(master.recurrence, master.start, master.end, calendar.time_zone, window, horizon, 1)
    return next(found, None) is not None
