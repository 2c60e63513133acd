"""Recurring series (G7): RRULE/EXRULE/RDATE/EXDATE lines expanded with dateutil in the
series' own zone, so a weekly 10:00 Europe/Berlin stays at 10:00 local across DST (G12)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil import rrule

from simulators.google.errors import bad_request
from simulators.google.timeutil import EventTime

Occurrence = datetime | date  # aware local datetime for timed series, date for all-day ones

_UNTIL = re.compile(r"UNTIL=([0-9]{8}(?:T[0-9]{6}Z?)?)")
_BOUND = re.compile(r"(?:^|[;:])(?:COUNT|UNTIL)=")


def is_bounded(recurrence: list[str]) -> bool:
    """Every RRULE ends (COUNT or UNTIL); RDATEs are finite anyway."""
    rules = [line.upper() for line in recurrence if line.split(":")[0].split(";")[0].upper() == "RRULE"]
    return all(_BOUND.search(rule) for rule in rules)


def series_zone(start: EventTime, calendar_zone: str) -> ZoneInfo:
    return ZoneInfo(start.time_zone or calendar_zone)


def build_ruleset(recurrence: list[str], start: EventTime, calendar_zone: str) -> rrule.rruleset:
    """Parse the recurrence lines of a master; any unreadable line is a 400, as with Google."""
    tz = series_zone(start, calendar_zone)
    dtstart = _dtstart(start, tz)
    rset = rrule.rruleset()
    for line in recurrence:
        try:
            _add_line(rset, line.strip(), dtstart, tz, start.all_day)
        except (ValueError, TypeError, KeyError) as exc:
            raise bad_request("Invalid recurrence rule.", "invalid") from exc
    return rset


def _dtstart(start: EventTime, tz: ZoneInfo) -> datetime:
    # All-day series iterate naive midnights; timed ones aware wall times in the series' zone.
    if start.day is not None:
        return datetime.combine(start.day, time(0))
    assert start.instant is not None
    return start.instant.astimezone(tz)


def _add_line(rset: rrule.rruleset, line: str, dtstart: datetime, tz: ZoneInfo, all_day: bool) -> None:
    name, _, rest = line.partition(":")
    kind = name.split(";")[0].upper()
    if kind in ("RRULE", "EXRULE"):
        rule = rrule.rrulestr(_normalize_until(rest, tz, all_day), dtstart=dtstart)
        (rset.rrule if kind == "RRULE" else rset.exrule)(rule)  # type: ignore[arg-type]
    elif kind in ("RDATE", "EXDATE"):
        for value in _parse_dates(name, rest, dtstart, tz, all_day):
            (rset.rdate if kind == "RDATE" else rset.exdate)(value)
    else:
        raise ValueError(f"unknown recurrence line {kind}")


def _normalize_until(rule: str, tz: ZoneInfo, all_day: bool) -> str:
    """dateutil insists on a UTC UNTIL for aware starts and a naive one for naive starts; Google
    accepts all forms, so bring UNTIL into the shape dateutil needs."""

    def fix(match: re.Match[str]) -> str:
        value = match.group(1)
        if all_day:
            return "UNTIL=" + value.rstrip("Z")
        if value.endswith("Z"):
            return match.group(0)
        local = (
            datetime.strptime(value, "%Y%m%dT%H%M%S")
            if "T" in value
            else datetime.combine(datetime.strptime(value, "%Y%m%d").date(), time(23, 59, 59))
        )
        return "UNTIL=" + local.replace(tzinfo=tz).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    return _UNTIL.sub(fix, rule.removeprefix("RRULE:").removeprefix("EXRULE:"))


def _parse_dates(name: str, values: str, dtstart: datetime, tz: ZoneInfo, all_day: bool) -> list[datetime]:
    params = dict(p.split("=", 1) for p in name.split(";")[1:] if "=" in p)
    value_tz = ZoneInfo(params["TZID"]) if "TZID" in params else tz
    out = []
    for value in values.split(","):
        value = value.strip()
        if "T" not in value:
            day = datetime.strptime(value, "%Y%m%d")
            # A bare date on a timed series means "the instance on that day" (its start time).
            out.append(day if all_day else datetime.combine(day.date(), dtstart.timetz()))
            continue
        parsed = datetime.strptime(value.rstrip("Z"), "%Y%m%dT%H%M%S")
        aware = parsed.replace(tzinfo=UTC if value.endswith("Z") else value_tz)
        out.append(aware.astimezone(tz).replace(tzinfo=None) if all_day else aware)
    return out


def occurrences(
    recurrence: list[str],
    start: EventTime,
    end: EventTime,
    calendar_zone: str,
    window: tuple[datetime | None, datetime | None],
    horizon: datetime | None,
    cap: int,
) -> Iterator[Occurrence]:
    """Original starts of the series whose instance overlaps `window` (UTC instants, either end
    open), never past `horizon` (None: no limit, for series that end), at most `cap` of them."""
    rset = build_ruleset(recurrence, start, calendar_zone)
    tz = series_zone(start, calendar_zone)
    cal_tz = ZoneInfo(calendar_zone)
    duration = _duration(start, end, tz)
    lower, upper = window
    if horizon is not None:
        upper = min(upper, horizon) if upper else horizon
    first = _local_bound(lower - duration, tz, cal_tz, start.all_day) if lower else None
    candidates = rset.xafter(first, inc=True) if first is not None else iter(rset)
    produced = 0
    for occ in candidates:
        occ_start = occ.replace(tzinfo=cal_tz) if start.all_day else occ
        if (upper is not None and occ_start.astimezone(UTC) >= upper) or produced >= cap:
            return
        if lower is not None and (occ_start + duration).astimezone(UTC) <= lower:
            continue
        produced += 1
        yield occ.date() if start.all_day else occ


def _duration(start: EventTime, end: EventTime, tz: ZoneInfo) -> timedelta:
    if start.day is not None and end.day is not None:
        return end.day - start.day
    # Wall-clock difference: same-tzinfo arithmetic in Python ignores the offset, so an
    # instance that crosses no DST change keeps its length in local time.
    return end.local(tz.key) - start.local(tz.key)


def _local_bound(instant: datetime, tz: ZoneInfo, cal_tz: ZoneInfo, all_day: bool) -> datetime:
    if all_day:
        return instant.astimezone(cal_tz).replace(tzinfo=None)
    return instant.astimezone(tz)


def instance_times(
    occ: Occurrence, start: EventTime, end: EventTime, calendar_zone: str
) -> tuple[EventTime, EventTime, EventTime]:
    """Start, end and originalStartTime of the instance starting at `occ`."""
    if isinstance(occ, datetime):
        tz = series_zone(start, calendar_zone)
        duration = _duration(start, end, tz)
        first = EventTime(instant=occ.astimezone(UTC), time_zone=start.time_zone)
        last = EventTime(instant=(occ + duration).astimezone(UTC), time_zone=end.time_zone)
        return first, last, first
    assert start.day is not None and end.day is not None
    first = EventTime(day=occ)
    return first, EventTime(day=occ + (end.day - start.day)), first


def is_occurrence(
    recurrence: list[str], start: EventTime, end: EventTime, calendar_zone: str, original: Occurrence
) -> bool:
    """Whether `original` (from an instance id) is one of the series' starts."""
    if isinstance(original, datetime):
        lower = original
    else:
        lower = datetime.combine(original, time(0), ZoneInfo(calendar_zone)).astimezone(UTC)
    window = (lower, lower + timedelta(seconds=1))
    for occ in occurrences(recurrence, start, end, calendar_zone, window, lower + timedelta(days=1), 5):
        if isinstance(occ, datetime) and isinstance(original, datetime):
            if occ.astimezone(UTC) == original:
                return True
        elif occ == original:
            return True
    return False
