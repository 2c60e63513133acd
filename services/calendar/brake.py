"""The safety brake (pure): a run that would create or delete too much applies nothing.

Creates (Google inserts, restores of deleted events and cancelled occurrences, Termin POSTs)
and deletes (of events and of Termine) are counted separately, each over both systems; mapped
Termine missing from Advoware's listing that the run did not check count as deletes (a listing
that suddenly returns nothing must not wipe a calendar). Either count above
`max(CALENDAR_MASS_CHANGE_MAX_EVENTS, CALENDAR_MASS_CHANGE_MAX_PERCENT of the mapped events)`
brakes, unless an operator allowed it (`--allow-mass-changes`) or it is the first fill of a
calendar with no mapping and no events.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from services.calendar.plans import Plan


@dataclass(frozen=True)
class Brake:
    creates: int
    deletes: int
    limit: int


def limit_for(mapped: int, max_events: int, max_percent: float) -> int:
    return max(max_events, math.floor(mapped * max_percent / 100))


def counts(plans: Sequence[Plan], unconfirmed: int = 0) -> tuple[int, int]:
    return sum(p.creates for p in plans), sum(p.deletes for p in plans) + unconfirmed


def check_brake(
    plans: Sequence[Plan],
    unconfirmed: int,
    mapped: int,
    *,
    first_fill: bool,
    allowed: bool,
    max_events: int,
    max_percent: float,
) -> Brake | None:
    creates, deletes = counts(plans, unconfirmed)
    limit = limit_for(mapped, max_events, max_percent)
    if allowed or first_fill or (creates <= limit and deletes <= limit):
        return None
    return Brake(creates, deletes, limit)
