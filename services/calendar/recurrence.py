"""`Series` ↔ Google's `recurrence` lines (RFC 5545 RRULE), and what Advoware cannot express.

Advoware knows one frequency and an end day (`turnusArt`, `turnusBis`). So an RRULE maps when
it is `FREQ=DAILY|WEEKLY|MONTHLY|YEARLY`, optionally `INTERVAL=1`, `UNTIL`, `WKST`, and BY-parts
that only restate the start (`BYDAY` = the start's weekday for a weekly series, `BYMONTHDAY` =
its day, `BYMONTH` = its month for a yearly one), as Google's own UI writes them. Anything else
— another interval, several or ordinal BYDAYs, COUNT, EXDATE/RDATE/EXRULE, a second RRULE —
raises `NotExpressible` naming the part.

`UNTIL` is the end of `turnusBis` in Berlin: the date form for all-day series, the UTC form of
23:59:59 local for timed ones (RFC 5545 wants UNTIL in UTC when DTSTART has a zone). Reading
accepts the date, UTC and floating forms and keeps the Berlin day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from services.calendar.model import TURNUS_FREQ, NotExpressible, Series
from services.calendar.times import BERLIN, instant

FREQS = frozenset(TURNUS_FREQ.values())
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_HARMLESS = frozenset({"WKST"})


def to_rrule(series: Series, all_day: bool) -> list[str]:
    rule = f"RRULE:FREQ={series.freq}"
    if series.until is not None:
        if all_day:
            rule += f";UNTIL={series.until.strftime('%Y%m%d')}"
        else:
            end = instant(series.until, time(23, 59, 59)).astimezone(UTC)
            rule += f";UNTIL={end.strftime('%Y%m%dT%H%M%SZ')}"
    return [rule]


def from_recurrence(lines: list[str], first_day: date) -> Series:
    """The series of a master's `recurrence`, starting on `first_day` (Berlin)."""
    rules = []
    for line in lines:
        name = line.split(":", 1)[0].split(";", 1)[0].strip().upper()
        if name != "RRULE":
            raise NotExpressible(name or "empty recurrence line")
        rules.append(line.split(":", 1)[1] if ":" in line else "")
    if len(rules) != 1:
        raise NotExpressible("several RRULEs")
    return _from_rule(rules[0], first_day)


def _from_rule(rule: str, first_day: date) -> Series:
    parts: dict[str, str] = {}
    for item in filter(None, rule.strip().split(";")):
        key, sep, value = item.partition("=")
        if not sep:
            raise NotExpressible("unreadable RRULE")
        parts[key.strip().upper()] = value.strip().upper()
    freq = parts.pop("FREQ", "")
    if freq not in FREQS:
        raise NotExpressible(f"FREQ={freq}" if freq else "no FREQ")
    until = _until(parts.pop("UNTIL")) if "UNTIL" in parts else None
    if parts.pop("INTERVAL", "1") != "1":
        raise NotExpressible("INTERVAL")
    if "COUNT" in parts:
        raise NotExpressible("COUNT")
    restated = {
        "BYDAY": freq == "WEEKLY" and parts.get("BYDAY") == WEEKDAYS[first_day.weekday()],
        "BYMONTHDAY": freq in ("MONTHLY", "YEARLY") and parts.get("BYMONTHDAY") == str(first_day.day),
        "BYMONTH": freq == "YEARLY" and parts.get("BYMONTH") == str(first_day.month),
    }
    for key in sorted(parts):
        if key not in _HARMLESS and not restated.get(key, False):
            raise NotExpressible(key)
    if until is not None and until < first_day:
        raise NotExpressible("UNTIL before the start")
    return Series(freq, until)  # type: ignore[arg-type]


def _until(value: str) -> date:
    try:
        if len(value) == 8:
            return datetime.strptime(value, "%Y%m%d").date()
        if value.endswith("Z"):
            moment = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            return moment.astimezone(BERLIN).date()
        return datetime.strptime(value, "%Y%m%dT%H%M%S").date()
    except ValueError:
        raise NotExpressible("unreadable UNTIL") from None
