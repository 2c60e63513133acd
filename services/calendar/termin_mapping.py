"""Advoware Termin ↔ `Appointment` (SYNC_RULES §5 field and time table).

| Advoware | normal form |
| --- | --- |
| `text`, `notiz`, `ort` | texts (empty = None) |
| `dauertermin = 1`, `datum`..`datumBis` | `AllDay(first, last)`, both inclusive; no `datumBis`: one day |
| `datum` + `uhrzeitVon` .. `datumBis` + `uhrzeitBis` | `Timed(start, end)`: wall time → instant, fold=0 |
| no `uhrzeitVon` (not all-day) | starts 09:00 |
| no `uhrzeitBis` | ends 1 h (wall time) after the start time, on `datumBis` (or `datum`) |
| `turnus = 1`, `turnusArt` 1/2/3/4, `turnusBis` | `Series(DAILY/WEEKLY/MONTHLY/YEARLY, until)` |

A Termin that cannot be read (no `datum`, an end before its start, an unknown `turnusArt`)
raises `NotExpressible`: the sync marks the mapping failed, it never guesses.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from services.calendar.model import (
    FREQ_TURNUS,
    TURNUS_FREQ,
    AllDay,
    Appointment,
    NotExpressible,
    Series,
    Timed,
    text_or_none,
)
from services.calendar.times import (
    DEFAULT_DURATION,
    DEFAULT_START,
    format_date,
    format_time,
    instant,
    parse_date,
    parse_time,
    wall_time,
)

# The Termin fields this mapping reads and writes (everything else in a Termin is left alone).
FIELDS = ("datum", "uhrzeitVon", "datumBis", "uhrzeitBis", "text", "notiz", "ort",
          "dauertermin", "turnus", "turnusArt", "turnusBis")  # fmt: skip


def from_termin(termin: Mapping[str, Any]) -> Appointment:
    try:
        first = parse_date(termin.get("datum"))
        last = parse_date(termin.get("datumBis"))
        start_time = parse_time(termin.get("uhrzeitVon"))
        end_time = parse_time(termin.get("uhrzeitBis"))
    except ValueError:
        raise NotExpressible("unreadable date or time") from None
    if first is None:
        raise NotExpressible("no datum")
    when = (
        _all_day(first, last) if _flag(termin, "dauertermin") else _timed(first, last, start_time, end_time)
    )
    return Appointment(
        when=when,
        text=text_or_none(termin.get("text")),
        notiz=text_or_none(termin.get("notiz")),
        ort=text_or_none(termin.get("ort")),
        series=_series(termin),
    )


def to_termin(appointment: Appointment, kuerzel: str) -> dict[str, Any]:
    """The Termin payload (POST, or PUT of these fields) for an appointment."""
    when = appointment.when
    payload: dict[str, Any] = {"kuerzel": kuerzel, "text": appointment.text, "notiz": appointment.notiz,
                               "ort": appointment.ort}  # fmt: skip
    if isinstance(when, AllDay):
        payload |= {"datum": format_date(when.first), "uhrzeitVon": None, "datumBis": format_date(when.last),
                    "uhrzeitBis": None, "dauertermin": 1}  # fmt: skip
    else:
        start, end = wall_time(when.start), wall_time(when.end)
        payload |= {"datum": format_date(start.date()), "uhrzeitVon": format_time(start.time()),
                    "datumBis": format_date(end.date()), "uhrzeitBis": format_time(end.time()),
                    "dauertermin": 0}  # fmt: skip
    series = appointment.series
    payload["turnus"] = 1 if series else 0
    payload["turnusArt"] = FREQ_TURNUS[series.freq] if series else None
    payload["turnusBis"] = format_date(series.until) if series and series.until else None
    return payload


def _flag(termin: Mapping[str, Any], name: str) -> bool:
    return termin.get(name) in (1, True)


def _all_day(first: date, last: date | None) -> AllDay:
    return AllDay(first, last or first)


def _timed(first: date, last: date | None, start_time: time | None, end_time: time | None) -> Timed:
    begins = start_time or DEFAULT_START
    start = instant(first, begins)
    end_day = last or first
    if end_time is None:
        # One hour of wall time, like every Advoware time: 02:00 on the autumn Sunday ends at
        # 03:00 (two real hours). An end counted in real time could fall into the repeated
        # hour, which Advoware's wall time cannot hold (it would read back as the start).
        later = datetime.combine(end_day, begins) + DEFAULT_DURATION
        end_day, end_time = later.date(), later.time()
    return Timed(start, instant(end_day, end_time))


def _series(termin: Mapping[str, Any]) -> Series | None:
    if not _flag(termin, "turnus"):
        return None
    freq = TURNUS_FREQ.get(termin.get("turnusArt"))  # type: ignore[arg-type]
    if freq is None:
        raise NotExpressible("unknown turnusArt")
    try:
        until = parse_date(termin.get("turnusBis"))
    except ValueError:
        raise NotExpressible("unreadable turnusBis") from None
    return Series(freq, until)
