"""Times as the Calendar API speaks them: RFC 3339 instants, `date` vs `dateTime` (G6) and
rendering of stored instants in a zone (G12)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from simulators.google.errors import bad_request


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise bad_request(f"Invalid time zone definition: {name}", "invalid") from exc


def valid_zone_name(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def parse_instant(value: str, what: str = "time") -> datetime:
    """An RFC 3339 timestamp with offset (`Z` or `±hh:mm`) as an aware UTC datetime."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise bad_request(f"Bad Request: invalid {what} value", "badRequest") from exc
    if "T" not in value or parsed.tzinfo is None:
        raise bad_request(f"Bad Request: {what} needs a date, a time and an offset", "badRequest")
    return parsed.astimezone(UTC)


def format_utc(instant: datetime) -> str:
    """`created`/`updated` style: milliseconds and `Z`."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


def format_local(instant: datetime, tz: ZoneInfo) -> str:
    """`dateTime` style: seconds and the zone's offset, `Z` for UTC."""
    text = instant.astimezone(tz).replace(microsecond=0).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """Midnight of a calendar day in a zone, as a UTC instant (all-day bounds)."""
    return datetime.combine(day, time(0), tz).astimezone(UTC)


@dataclass(frozen=True)
class EventTime:
    """The `start`/`end`/`originalStartTime` of an event: either a day (all-day, G6) or an
    instant plus an optional IANA zone used for rendering and recurrence (G12)."""

    day: date | None = None
    instant: datetime | None = None
    time_zone: str | None = None

    @property
    def all_day(self) -> bool:
        return self.day is not None

    def render_zone(self, fallback: str) -> ZoneInfo:
        return ZoneInfo(self.time_zone or fallback)

    def local(self, fallback: str) -> datetime:
        """Wall-clock start in its zone; all-day days start at midnight of the fallback zone."""
        tz = self.render_zone(fallback)
        if self.day is not None:
            return datetime.combine(self.day, time(0), tz)
        assert self.instant is not None
        return self.instant.astimezone(tz)

    def utc(self, calendar_zone: str) -> datetime:
        """The instant used for windows and ordering."""
        if self.day is not None:
            return day_start(self.day, ZoneInfo(calendar_zone))
        assert self.instant is not None
        return self.instant

    def to_json(self, calendar_zone: str, response_zone: str | None = None) -> dict[str, str]:
        if self.day is not None:
            return {"date": self.day.isoformat()}
        assert self.instant is not None
        tz = ZoneInfo(self.time_zone or response_zone or calendar_zone)
        out = {"dateTime": format_local(self.instant, tz)}
        if self.time_zone:
            out["timeZone"] = self.time_zone
        return out

    def dump(self) -> dict[str, str]:
        """Lossless form for snapshots."""
        if self.day is not None:
            return {"date": self.day.isoformat()}
        assert self.instant is not None
        out = {"dateTime": self.instant.isoformat()}
        if self.time_zone:
            out["timeZone"] = self.time_zone
        return out

    def shifted(self, delta: timedelta) -> EventTime:
        if self.day is not None:
            return EventTime(day=self.day + delta)
        assert self.instant is not None
        return EventTime(instant=self.instant + delta, time_zone=self.time_zone)


def parse_event_time(raw: Any, which: str) -> EventTime:
    """Validate a `start`/`end` object as Google does (messages as the real API words them)."""
    if not isinstance(raw, dict):
        raise bad_request(f"Missing {which} time.", "required")
    tz_name = raw.get("timeZone")
    if tz_name is not None and (not isinstance(tz_name, str) or not valid_zone_name(tz_name)):
        raise bad_request(f"Invalid time zone definition for {which} time.", "timeZone")
    if raw.get("date") and raw.get("dateTime"):
        raise bad_request(f"Invalid {which} time.", "invalid")
    if raw.get("date"):
        try:
            return EventTime(day=date.fromisoformat(str(raw["date"])))
        except ValueError as exc:
            raise bad_request(f"Invalid {which} time.", "invalid") from exc
    if not raw.get("dateTime"):
        raise bad_request(f"Missing {which} time.", "required")
    return EventTime(instant=_parse_date_time(str(raw["dateTime"]), tz_name, which), time_zone=tz_name)


def _parse_date_time(value: str, tz_name: str | None, which: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise bad_request(f"Invalid {which} time.", "invalid") from exc
    if parsed.tzinfo is None:
        # Without an offset the wall time is read in the event's own zone, as Google does.
        if not tz_name:
            raise bad_request(f"Missing time zone definition for {which} time.", "timeZone")
        parsed = parsed.replace(tzinfo=ZoneInfo(tz_name))
    return parsed.astimezone(UTC)


def load_event_time(raw: dict[str, str]) -> EventTime:
    """Inverse of `EventTime.dump`."""
    if "date" in raw:
        return EventTime(day=date.fromisoformat(raw["date"]))
    return EventTime(
        instant=datetime.fromisoformat(raw["dateTime"]).astimezone(UTC), time_zone=raw.get("timeZone")
    )
