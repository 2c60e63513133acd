"""Adoption of a calendar the service found rather than made (pure; DECISIONS 10).

Events carrying an Advoware link (`advowareFrNr`) are mapped by it (`rules.py`, the rebuild of a
lost database is the same path). Others are matched to unmapped Termine by start, end and
subject; a match is mapped and marked (the link written into the event). Events left over are
reported and wait for `bitbylaw calendar adopt KUERZEL --apply` before they reach Advoware.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from services.calendar.model import AllDay, Appointment

MatchKey = tuple[str, str, str | None]


def match_key(appointment: Appointment) -> MatchKey:
    """(start, end, subject): all-day by their days, timed by their instants."""
    when = appointment.when
    if isinstance(when, AllDay):
        return (when.first.isoformat(), when.last.isoformat(), appointment.text)
    return (when.start.isoformat(), when.end.isoformat(), appointment.text)


def match(
    termine: Iterable[tuple[int, Appointment]], events: Iterable[tuple[str, Appointment]]
) -> dict[str, int]:
    """event id → frNr for events whose (start, end, subject) equals exactly one unmatched
    Termin's; pairs are taken in frNr and event-id order, each side used once."""
    free: dict[MatchKey, list[int]] = {}
    for frnr, appointment in sorted(termine, key=lambda p: p[0]):
        free.setdefault(match_key(appointment), []).append(frnr)
    matched: dict[str, int] = {}
    for event_id, appointment in sorted(events, key=lambda p: p[0]):
        candidates = free.get(match_key(appointment))
        if candidates:
            matched[event_id] = candidates.pop(0)
    return matched


def report(matched: Mapping[str, int], unmatched: Iterable[str], linked: Iterable[Any]) -> dict[str, Any]:
    return {"linked": len(list(linked)), "matched": len(matched), "unmatched": sorted(unmatched)}
