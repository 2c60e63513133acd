"""Event ids, the Advoware link, the sync window, spans and employees."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.calendar.employees import CalendarAccount, Employee, calendar_account, employees_to_sync
from services.calendar.ids import event_id, linked_frnr, linked_kuerzel, next_restore_id, parse_event_id
from services.calendar.model import AllDay, Appointment, Series, Timed
from services.calendar.window import SyncWindow


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


BASE32HEX = set("0123456789abcdefghijklmnopqrstuv")


@pytest.mark.parametrize("frnr", [1, 9, 10, 123456, 10**12])
def test_event_ids_are_valid_base32hex_and_parse_back(frnr: int) -> None:
    for restore in (0, 1, 12):
        value = event_id(frnr, restore)
        assert set(value) <= BASE32HEX and 5 <= len(value) <= 1024
        assert parse_event_id(value) == (frnr, restore)


def test_event_id_parsing_and_restores() -> None:
    assert event_id(123) == "adv123" and event_id(1) == "adv01"
    for foreign in ("adv123_20260302T090000Z", "sim0001", "adv1", "adv12r0", "ADV12"):
        assert parse_event_id(foreign) is None
    assert next_restore_id("adv123", 123) == "adv123r1"
    assert next_restore_id("adv123r1", 123) == "adv123r2"
    assert next_restore_id("k3j2h1g0f9", 123) == "adv123r1"  # a Google-born event
    with pytest.raises(ValueError):
        event_id(0)


def test_linked_frnr_from_extended_properties() -> None:
    event = {"extendedProperties": {"private": {"advowareFrNr": "4711", "kuerzel": "SB"}}}
    assert linked_frnr(event) == 4711 and linked_kuerzel(event) == "SB"
    for props in ({}, {"private": {"advowareFrNr": "x"}}, {"private": {"advowareFrNr": "0"}}, {"shared": {}}):
        assert linked_frnr({"extendedProperties": props}) is None
    assert linked_frnr({}) is None and linked_kuerzel({}) is None


WINDOW = SyncWindow.around(date(2026, 3, 1), past_days=30, future_days=365)


@pytest.mark.parametrize(
    ("appointment", "inside"),
    [
        (Appointment(AllDay(date(2026, 1, 30), date(2026, 1, 30))), True),  # first day of the window
        (Appointment(AllDay(date(2026, 1, 29), date(2026, 1, 29))), False),
        (Appointment(AllDay(date(2026, 1, 25), date(2026, 2, 2))), True),  # reaches into it
        (Appointment(AllDay(date(2027, 3, 1), date(2027, 3, 1))), True),  # last day
        (Appointment(AllDay(date(2027, 3, 2), date(2027, 3, 2))), False),
        # Ends at midnight: occupies only the day before.
        (Appointment(Timed(utc(2026, 1, 28, 22), utc(2026, 1, 29, 23))), False),
        (Appointment(Timed(utc(2026, 1, 28, 22), utc(2026, 1, 29, 23, 1))), True),
        (Appointment(AllDay(date(2025, 1, 6), date(2025, 1, 6)), series=Series("WEEKLY")), True),
        (
            Appointment(
                AllDay(date(2025, 1, 6), date(2025, 1, 6)), series=Series("WEEKLY", date(2026, 1, 29))
            ),
            False,
        ),
    ],
)
def test_window_overlap_in_berlin_days(appointment: Appointment, inside: bool) -> None:
    assert WINDOW.contains(appointment) is inside


def test_window_edges_and_left_behind() -> None:
    assert WINDOW.advoware_range() == ("2026-01-30", "2027-03-01")
    assert WINDOW.starts_at == utc(2026, 1, 29, 23)
    assert WINDOW.left_behind(utc(2026, 1, 29, 23)) and not WINDOW.left_behind(utc(2026, 1, 29, 23, 0, 1))
    assert not WINDOW.left_behind(None)
    with pytest.raises(ValueError):
        SyncWindow.around(date(2026, 3, 1), -1, 1)


def test_spans_for_the_mapping() -> None:
    timed = Appointment(Timed(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10)))
    assert timed.span() == (utc(2026, 3, 2, 9), utc(2026, 3, 2, 10))
    all_day = Appointment(AllDay(date(2026, 3, 2), date(2026, 3, 3)))
    assert all_day.span() == (utc(2026, 3, 1, 23), utc(2026, 3, 3, 23))
    series = Appointment(
        Timed(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10)), series=Series("WEEKLY", date(2026, 4, 6))
    )
    assert series.span() == (utc(2026, 3, 2, 9), utc(2026, 4, 6, 22))  # end of the last day (summer time)
    assert Appointment(all_day.when, series=Series("DAILY")).span()[1] is None


def test_fingerprint_is_by_instant_and_content() -> None:
    a = Appointment(Timed(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10)), text="A")
    same = Appointment(Timed(utc(2026, 3, 2, 9).astimezone(), utc(2026, 3, 2, 10)), text="A")
    assert a == same and a.fingerprint() == same.fingerprint()
    for other in (
        Appointment(a.when, text="B"),
        Appointment(a.when, text="A", ort="x"),
        Appointment(Timed(utc(2026, 3, 2, 9), utc(2026, 3, 2, 11)), text="A"),
        Appointment(a.when, text="A", series=Series("DAILY")),
    ):
        assert other.fingerprint() != a.fingerprint()


MITARBEITER = [
    {"kuerzel": "SB", "email": "SB@Kanzlei.example", "aktiv": True},
    {"kuerzel": "ai", "email": "ai@kanzlei.example", "aktiv": True},
    {"kuerzel": "RO", "email": None, "aktiv": True},
    {"kuerzel": "XX", "email": "xx@kanzlei.example", "aktiv": False},
    {"kuerzel": "", "aktiv": True},
    {"kuerzel": "SB", "email": "doppelt@kanzlei.example", "aktiv": True},
]


def test_employees_to_sync() -> None:
    assert employees_to_sync(MITARBEITER) == [
        Employee("AI", "ai@kanzlei.example", True),
        Employee("RO", None, True),
        Employee("SB", "sb@kanzlei.example", True),
    ]
    assert [e.kuerzel for e in employees_to_sync(MITARBEITER, only={"sb", "XX"})] == ["SB"]


def test_calendar_account_per_delegation() -> None:
    sb = Employee("SB", "sb@kanzlei.example", True)
    assert calendar_account(sb, "owner", "Kalender@Kanzlei.example") == CalendarAccount(
        "kalender@kanzlei.example", "sb@kanzlei.example"
    )
    assert calendar_account(sb, "employee", "") == CalendarAccount("sb@kanzlei.example", None)
    assert calendar_account(Employee("RO", None, True), "owner", "k@x.de") is None
    with pytest.raises(ValueError):
        calendar_account(sb, "owner", "")
