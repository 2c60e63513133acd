"""Cron tick computation (pure) and the per-process scheduler loop.

Every process computes the same tick times from the expression; `Backend.claim_cron_tick`
lets exactly one of them run each tick. After downtime, ticks missed while no process ran are
not replayed: at most one catch-up run for the newest missed tick.

Expressions are read as wall-clock times of a time zone (the engine's `cron_timezone`, default
UTC; the service sets Europe/Berlin). Across daylight saving time no run is skipped or doubled:
a time that does not exist on the spring day (02:30 in Berlin) runs once, at the first instant
after the gap (croniter's rule); a time that exists twice on the autumn day runs once, at its
first occurrence — unless the hour field is a wildcard (`*/15 * * * *`, `0 * * * *`), whose
runs in the repeated hour are runs of a different hour and all happen (as cron does it).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from croniter import croniter

UTC_NAME = "UTC"


@lru_cache(maxsize=32)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _hour_is_wildcard(expression: str) -> bool:
    return "*" in expression.split()[1]


def _repeated_wall_time(moment: datetime, zone: ZoneInfo) -> bool:
    """True for the second occurrence of a wall-clock time (the autumn night's repeated hour)."""
    wall = moment.astimezone(zone).replace(tzinfo=None)
    first = wall.replace(tzinfo=zone, fold=0).timestamp()
    return first < moment.timestamp()


def _ticks(expression: str, start: float, tz: str, forward: bool) -> float:
    zone = _zone(tz)
    it = croniter(expression, datetime.fromtimestamp(start, zone))
    skip_repeats = not _hour_is_wildcard(expression)
    while True:
        moment = it.get_next(datetime) if forward else it.get_prev(datetime)
        if not (skip_repeats and _repeated_wall_time(moment, zone)):
            return float(moment.timestamp())


def next_tick(expression: str, after: float, tz: str = UTC_NAME) -> float:
    """The first tick strictly after `after` (epoch seconds)."""
    return _ticks(expression, after, tz, forward=True)


def previous_tick(expression: str, at_or_before: float, tz: str = UTC_NAME) -> float:
    return _ticks(expression, at_or_before + 1e-6, tz, forward=False)


def catch_up_tick(
    expression: str, last_claimed: float | None, now: float, tz: str = UTC_NAME
) -> float | None:
    """The one missed tick to run at start-up, or None. Nothing is missed on a first start
    (no tick was ever claimed) or when the newest past tick is the last claimed one."""
    if last_claimed is None:
        return None
    newest_past = previous_tick(expression, now, tz)
    return newest_past if newest_past > last_claimed else None


def interval_seconds(expression: str, tz: str = UTC_NAME, around: float | None = None) -> float:
    """The usual time between two ticks (the longer of two consecutive gaps), for alerting on
    a cron that stopped running."""
    start = datetime.now().timestamp() if around is None else around
    first = next_tick(expression, start, tz)
    second = next_tick(expression, first, tz)
    third = next_tick(expression, second, tz)
    return max(second - first, third - second)
