"""Advoware Termin ↔ Appointment, table by table (SYNC_RULES §5 field and time table)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.calendar.model import AllDay, Appointment, NotExpressible, Series, Timed
from services.calendar.termin_mapping import from_termin, to_termin
from services.calendar.times import instant, representable, wall_time


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def termin(**values: Any) -> dict[str, Any]:
    return {"frNr": 101, "rowId": "AAA=", "kuerzel": "SB", "dauertermin": 0, "turnus": 0, **values}


# (case, Termin fields, expected timing)
TIMING = [
    ("timed, winter", {"datum": "2026-02-10T00:00:00", "uhrzeitVon": "10:00:00", "uhrzeitBis": "11:30:00"},
     Timed(utc(2026, 2, 10, 9), utc(2026, 2, 10, 10, 30))),
    ("timed, summer", {"datum": "2026-07-01T00:00:00", "uhrzeitVon": "10:00:00", "uhrzeitBis": "11:00:00"},
     Timed(utc(2026, 7, 1, 8), utc(2026, 7, 1, 9))),
    ("no start time: 09:00", {"datum": "2026-02-10T00:00:00", "uhrzeitBis": "10:30:00"},
     Timed(utc(2026, 2, 10, 8), utc(2026, 2, 10, 9, 30))),
    ("no times: 09:00 for 1 h", {"datum": "2026-02-10T00:00:00"},
     Timed(utc(2026, 2, 10, 8), utc(2026, 2, 10, 9))),
    ("no end time: 1 h", {"datum": "2026-02-10T00:00:00", "uhrzeitVon": "16:15:00"},
     Timed(utc(2026, 2, 10, 15, 15), utc(2026, 2, 10, 16, 15))),
    ("short forms", {"datum": "2026-02-10", "uhrzeitVon": "10:00", "uhrzeitBis": "10:45"},
     Timed(utc(2026, 2, 10, 9), utc(2026, 2, 10, 9, 45))),
    ("multi-day timed, never capped at 24 h",
     {"datum": "2026-02-10T00:00:00", "uhrzeitVon": "14:00:00", "datumBis": "2026-02-13T00:00:00", "uhrzeitBis": "12:00:00"},
     Timed(utc(2026, 2, 10, 13), utc(2026, 2, 13, 11))),
    ("multi-day without end time ends on datumBis",
     {"datum": "2026-02-10T00:00:00", "uhrzeitVon": "14:00:00", "datumBis": "2026-02-12T00:00:00"},
     Timed(utc(2026, 2, 10, 13), utc(2026, 2, 12, 14))),
    ("zero length", {"datum": "2026-02-10T00:00:00", "uhrzeitVon": "10:00:00", "uhrzeitBis": "10:00:00"},
     Timed(utc(2026, 2, 10, 9), utc(2026, 2, 10, 9))),
    # DST: 02:00-03:00 does not exist on 29 March 2026; fold=0 takes the winter offset.
    ("spring 01:30-03:30 lasts one hour",
     {"datum": "2026-03-29T00:00:00", "uhrzeitVon": "01:30:00", "uhrzeitBis": "03:30:00"},
     Timed(utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 30))),
    ("spring non-existent 02:30 → 01:30 UTC (03:30 summer time)",
     {"datum": "2026-03-29T00:00:00", "uhrzeitVon": "02:30:00", "uhrzeitBis": "04:00:00"},
     Timed(utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 2))),
    # DST: 02:00-03:00 happens twice on 25 October 2026; fold=0 takes the first (summer time).
    ("autumn Sat 22:00-Sun 04:00 lasts seven hours",
     {"datum": "2026-10-24T00:00:00", "uhrzeitVon": "22:00:00", "datumBis": "2026-10-25T00:00:00", "uhrzeitBis": "04:00:00"},
     Timed(utc(2026, 10, 24, 20), utc(2026, 10, 25, 3))),
    ("autumn doubled 02:30 → the first one",
     {"datum": "2026-10-25T00:00:00", "uhrzeitVon": "02:30:00", "uhrzeitBis": "03:30:00"},
     Timed(utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 2, 30))),
    # Found by the round-trip property: one real hour after the first 02:00 is the second 02:00,
    # which Advoware's wall time cannot hold; the default hour is one of wall time.
    ("autumn 02:00 without end: one wall-clock hour",
     {"datum": "2026-10-25T00:00:00", "uhrzeitVon": "02:00:00"},
     Timed(utc(2026, 10, 25, 0), utc(2026, 10, 25, 2))),
    ("spring 01:30 without end: 02:30 does not exist, one real hour",
     {"datum": "2026-03-29T00:00:00", "uhrzeitVon": "01:30:00"},
     Timed(utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 30))),
    ("23:30 without end ends after midnight", {"datum": "2026-02-10T00:00:00", "uhrzeitVon": "23:30:00"},
     Timed(utc(2026, 2, 10, 22, 30), utc(2026, 2, 10, 23, 30))),
    ("all-day", {"datum": "2026-02-10T00:00:00", "datumBis": "2026-02-10T00:00:00", "dauertermin": 1},
     AllDay(date(2026, 2, 10), date(2026, 2, 10))),
    ("all-day without datumBis: one day", {"datum": "2026-02-10T00:00:00", "dauertermin": 1},
     AllDay(date(2026, 2, 10), date(2026, 2, 10))),
    ("all-day ignores times", {"datum": "2026-02-10", "uhrzeitVon": "10:00", "dauertermin": 1},
     AllDay(date(2026, 2, 10), date(2026, 2, 10))),
    ("multi-day all-day", {"datum": "2026-02-10T00:00:00", "datumBis": "2026-02-14T00:00:00", "dauertermin": True},
     AllDay(date(2026, 2, 10), date(2026, 2, 14))),
    ("all-day across the spring change", {"datum": "2026-03-28", "datumBis": "2026-03-30", "dauertermin": 1},
     AllDay(date(2026, 3, 28), date(2026, 3, 30))),
]  # fmt: skip


@pytest.mark.parametrize(("case", "fields", "expected"), TIMING, ids=[c for c, _, _ in TIMING])
def test_timing(case: str, fields: dict[str, Any], expected: AllDay | Timed) -> None:
    appointment = from_termin(termin(**fields))
    assert appointment.when == expected, case
    assert appointment.series is None
    # Written back, the Termin means the same appointment.
    assert from_termin(to_termin(appointment, "SB")) == appointment


def test_texts_map_and_empty_means_absent() -> None:
    appointment = from_termin(termin(datum="2026-02-10", text="Gerichtstermin", notiz="", ort="LG Köln"))
    assert (appointment.text, appointment.notiz, appointment.ort) == ("Gerichtstermin", None, "LG Köln")
    assert from_termin(termin(datum="2026-02-10", text=None)).text is None


SERIES = [
    ("daily open", {"turnus": 1, "turnusArt": 1}, Series("DAILY", None)),
    ("weekly until", {"turnus": 1, "turnusArt": 2, "turnusBis": "2026-06-30T00:00:00"}, Series("WEEKLY", date(2026, 6, 30))),
    ("monthly", {"turnus": 1, "turnusArt": 3, "turnusBis": "2026-12-31"}, Series("MONTHLY", date(2026, 12, 31))),
    ("yearly", {"turnus": 1, "turnusArt": 4}, Series("YEARLY", None)),
    ("turnusArt without turnus is no series", {"turnus": 0, "turnusArt": 2}, None),
]  # fmt: skip


@pytest.mark.parametrize(("case", "fields", "expected"), SERIES, ids=[c for c, _, _ in SERIES])
def test_series(case: str, fields: dict[str, Any], expected: Series | None) -> None:
    appointment = from_termin(termin(datum="2026-03-16", uhrzeitVon="10:00", **fields))
    assert appointment.series == expected, case
    payload = to_termin(appointment, "SB")
    assert from_termin(payload) == appointment
    assert (payload["turnus"], payload["turnusArt"]) == ((1, fields["turnusArt"]) if expected else (0, None))


INVALID = [
    ("no datum", {"uhrzeitVon": "10:00"}, "no datum"),
    ("end before start", {"datum": "2026-02-10", "uhrzeitVon": "10:00", "uhrzeitBis": "09:00"}, "end before start"),
    ("datumBis before datum", {"datum": "2026-02-10", "datumBis": "2026-02-09", "dauertermin": 1}, "end before start"),
    ("unknown turnusArt", {"datum": "2026-02-10", "turnus": 1, "turnusArt": 0}, "unknown turnusArt"),
    ("series without turnusArt", {"datum": "2026-02-10", "turnus": 1}, "unknown turnusArt"),
    ("series ending before its start", {"datum": "2026-02-10", "turnus": 1, "turnusArt": 2, "turnusBis": "2026-02-01"},
     "series ends before it starts"),
    ("garbage date", {"datum": "10.02.2026"}, "unreadable date or time"),
    ("garbage time", {"datum": "2026-02-10", "uhrzeitVon": "10 Uhr"}, "unreadable date or time"),
    ("text of another type", {"datum": "2026-02-10", "text": 42}, "text field is not a string"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "fields", "reason"), INVALID, ids=[c for c, _, _ in INVALID])
def test_unreadable_termine_are_not_guessed(case: str, fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(NotExpressible) as info:
        from_termin(termin(**fields))
    assert info.value.reason == reason, case


def test_payload_has_every_field_and_the_kuerzel() -> None:
    appointment = Appointment(Timed(utc(2026, 2, 10, 9), utc(2026, 2, 10, 10)), text="A")
    assert to_termin(appointment, "SB") == {
        "kuerzel": "SB", "text": "A", "notiz": None, "ort": None,
        "datum": "2026-02-10T00:00:00", "uhrzeitVon": "10:00:00",
        "datumBis": "2026-02-10T00:00:00", "uhrzeitBis": "11:00:00", "dauertermin": 0,
        "turnus": 0, "turnusArt": None, "turnusBis": None,
    }  # fmt: skip


def test_wall_time_helpers() -> None:
    assert wall_time(utc(2026, 10, 25, 1, 30)) == datetime(2026, 10, 25, 2, 30)  # the second 02:30
    assert representable(utc(2026, 10, 25, 1, 30)) == utc(2026, 10, 25, 0, 30)  # → the first
    assert representable(utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 25, 0, 30)
    assert instant(date(2026, 3, 29), datetime(2026, 1, 1, 2, 30).time()) == utc(2026, 3, 29, 1, 30)
    with pytest.raises(ValueError):
        wall_time(datetime(2026, 1, 1))
