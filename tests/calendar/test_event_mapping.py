"""Google event ↔ Appointment and the recurrence rules Advoware can and cannot express."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.calendar.event_mapping import from_event, is_instance, series_exception, to_event, to_patch
from services.calendar.model import AllDay, Appointment, NotExpressible, Series, Timed
from services.calendar.recurrence import from_recurrence, to_rrule


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def timed_event(start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {"id": "x", "start": {"dateTime": start, "timeZone": "Europe/Berlin"},
            "end": {"dateTime": end, "timeZone": "Europe/Berlin"}, **extra}  # fmt: skip


READ = [
    ("offset form", timed_event("2026-03-02T10:00:00+01:00", "2026-03-02T11:30:00+01:00"),
     Timed(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10, 30))),
    ("UTC form", timed_event("2026-03-02T09:00:00Z", "2026-03-02T10:30:00Z"),
     Timed(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10, 30))),
    ("zone only", timed_event("2026-07-02T10:00:00", "2026-07-02T11:00:00"),
     Timed(utc(2026, 7, 2, 8), utc(2026, 7, 2, 9))),
    ("another zone", {"start": {"dateTime": "2026-03-02T10:00:00", "timeZone": "America/New_York"},
                      "end": {"dateTime": "2026-03-02T11:00:00", "timeZone": "America/New_York"}},
     Timed(utc(2026, 3, 2, 15), utc(2026, 3, 2, 16))),
    ("all-day, exclusive end", {"start": {"date": "2026-03-02"}, "end": {"date": "2026-03-03"}},
     AllDay(date(2026, 3, 2), date(2026, 3, 2))),
    ("multi-day all-day", {"start": {"date": "2026-03-02"}, "end": {"date": "2026-03-06"}},
     AllDay(date(2026, 3, 2), date(2026, 3, 5))),
    # The second 02:30 of the autumn night cannot be held by Advoware's wall time: it reads as
    # the first, so what Advoware stores for it compares equal (no ping-pong).
    ("autumn second 02:30", timed_event("2026-10-25T02:30:00+01:00", "2026-10-25T03:30:00+01:00"),
     Timed(utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 2, 30))),
]  # fmt: skip


@pytest.mark.parametrize(("case", "event", "expected"), READ, ids=[c for c, _, _ in READ])
def test_read_times(case: str, event: dict[str, Any], expected: AllDay | Timed) -> None:
    assert from_event(event).when == expected, case


def test_read_texts() -> None:
    event = timed_event("2026-03-02T10:00:00+01:00", "2026-03-02T11:00:00+01:00", summary="Frist",
                        description="", location="Kanzlei", attendees=[{"email": "a@b.de"}])  # fmt: skip
    appointment = from_event(event)
    assert (appointment.text, appointment.notiz, appointment.ort) == ("Frist", None, "Kanzlei")


BAD_TIMES = [
    ({"start": {"date": "2026-03-02"}, "end": {"dateTime": "2026-03-02T10:00:00Z"}}, "start and end of different kinds"),
    ({"start": {"date": "2026-03-02"}, "end": {"date": "2026-03-02"}}, "end before start"),
    ({"start": {"dateTime": "gestern"}, "end": {"dateTime": "heute"}}, "unreadable dateTime"),
    ({"start": {"dateTime": "2026-03-02T10:00:00Z"}, "end": {"dateTime": "2026-03-02T09:00:00Z"}}, "end before start"),
    ({"summary": "ohne Zeit"}, "no start or end"),
]  # fmt: skip


@pytest.mark.parametrize(("event", "reason"), BAD_TIMES)
def test_unreadable_times(event: dict[str, Any], reason: str) -> None:
    with pytest.raises(NotExpressible) as info:
        from_event(event)
    assert info.value.reason == reason


MONDAY = date(2026, 3, 16)
EXPRESSIBLE = [
    (["RRULE:FREQ=DAILY"], Series("DAILY")),
    (["RRULE:FREQ=WEEKLY;BYDAY=MO"], Series("WEEKLY")),
    (["RRULE:FREQ=WEEKLY;INTERVAL=1;WKST=SU"], Series("WEEKLY")),
    (["RRULE:FREQ=MONTHLY;BYMONTHDAY=16"], Series("MONTHLY")),
    (["RRULE:FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=16"], Series("YEARLY")),
    (["RRULE:FREQ=WEEKLY;UNTIL=20260430T215959Z"], Series("WEEKLY", date(2026, 4, 30))),
    (["RRULE:FREQ=WEEKLY;UNTIL=20260430"], Series("WEEKLY", date(2026, 4, 30))),
    (["RRULE:FREQ=WEEKLY;UNTIL=20260430T100000"], Series("WEEKLY", date(2026, 4, 30))),
    # 23:30 UTC on 30 April is already 1 May in Berlin.
    (["RRULE:FREQ=WEEKLY;UNTIL=20260430T233000Z"], Series("WEEKLY", date(2026, 5, 1))),
    (["rrule:freq=weekly;byday=mo"], Series("WEEKLY")),
]


@pytest.mark.parametrize(("lines", "expected"), EXPRESSIBLE)
def test_expressible_recurrence(lines: list[str], expected: Series) -> None:
    assert from_recurrence(lines, MONDAY) == expected


INEXPRESSIBLE = [
    (["RRULE:FREQ=WEEKLY;INTERVAL=2"], "INTERVAL"),
    (["RRULE:FREQ=WEEKLY;BYDAY=MO,WE"], "BYDAY"),
    (["RRULE:FREQ=WEEKLY;BYDAY=TU"], "BYDAY"),  # not the start's weekday
    (["RRULE:FREQ=MONTHLY;BYDAY=3MO"], "BYDAY"),
    (["RRULE:FREQ=DAILY;BYDAY=MO"], "BYDAY"),
    (["RRULE:FREQ=WEEKLY;COUNT=6"], "COUNT"),
    (["RRULE:FREQ=WEEKLY", "EXDATE;TZID=Europe/Berlin:20260323T100000"], "EXDATE"),
    (["RRULE:FREQ=WEEKLY", "RDATE:20260324T100000Z"], "RDATE"),
    (["EXRULE:FREQ=MONTHLY"], "EXRULE"),
    (["RRULE:FREQ=WEEKLY", "RRULE:FREQ=MONTHLY"], "several RRULEs"),
    (["RRULE:FREQ=HOURLY"], "FREQ=HOURLY"),
    (["RRULE:INTERVAL=1"], "no FREQ"),
    (["RRULE:FREQ=MONTHLY;BYSETPOS=-1;BYDAY=FR"], "BYDAY"),
    (["RRULE:FREQ=YEARLY;BYWEEKNO=12"], "BYWEEKNO"),
    (["RRULE:FREQ=WEEKLY;UNTIL=morgen"], "unreadable UNTIL"),
    (["RRULE:FREQ=WEEKLY;UNTIL=20260301"], "UNTIL before the start"),
    (["RRULE:FREQWEEKLY"], "unreadable RRULE"),
]


@pytest.mark.parametrize(("lines", "reason"), INEXPRESSIBLE)
def test_what_advoware_cannot_express(lines: list[str], reason: str) -> None:
    with pytest.raises(NotExpressible) as info:
        from_recurrence(lines, MONDAY)
    assert info.value.reason == reason


def test_until_forms_written() -> None:
    series = Series("WEEKLY", date(2026, 4, 30))
    assert to_rrule(series, all_day=True) == ["RRULE:FREQ=WEEKLY;UNTIL=20260430"]
    # End of 30 April in Berlin (summer time) is 21:59:59 UTC; in winter 22:59:59.
    assert to_rrule(series, all_day=False) == ["RRULE:FREQ=WEEKLY;UNTIL=20260430T215959Z"]
    assert to_rrule(Series("DAILY", date(2026, 1, 31)), all_day=False) == [
        "RRULE:FREQ=DAILY;UNTIL=20260131T225959Z"
    ]
    assert to_rrule(Series("YEARLY"), all_day=False) == ["RRULE:FREQ=YEARLY"]


SAMPLE = Appointment(Timed(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10)), text="Frist", ort="LG")


def test_insert_body() -> None:
    body = to_event(SAMPLE, frnr=123456, kuerzel="SB")
    assert body == {
        "id": "adv123456",
        "summary": "Frist",
        "location": "LG",
        "start": {"dateTime": "2026-03-02T10:00:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-03-02T11:00:00+01:00", "timeZone": "Europe/Berlin"},
        "extendedProperties": {"private": {"advowareFrNr": "123456", "kuerzel": "SB"}},
    }
    assert to_event(SAMPLE, frnr=123456, kuerzel="SB", restore=2)["id"] == "adv123456r2"
    all_day = Appointment(AllDay(date(2026, 3, 2), date(2026, 3, 4)), series=Series("YEARLY"))
    body = to_event(all_day, frnr=7, kuerzel="SB")
    assert (body["id"], body["start"], body["end"]) == (
        "adv07",
        {"date": "2026-03-02"},
        {"date": "2026-03-05"},
    )
    assert body["recurrence"] == ["RRULE:FREQ=YEARLY"] and "summary" not in body


def test_patch_names_every_managed_field_and_confirms() -> None:
    patch = to_patch(SAMPLE, frnr=123456, kuerzel="SB")
    assert patch["description"] is None and patch["recurrence"] is None  # cleared in Google
    assert patch["status"] == "confirmed" and "id" not in patch and "attendees" not in patch
    assert from_event(patch) == SAMPLE


def test_instances_read_without_their_masters_rule() -> None:
    instance = timed_event("2026-03-09T14:00:00+01:00", "2026-03-09T15:00:00+01:00",
                           recurringEventId="adv123", originalStartTime={"dateTime": "2026-03-09T10:00:00+01:00"})  # fmt: skip
    assert is_instance(instance) and not is_instance(to_event(SAMPLE, frnr=1, kuerzel="SB"))
    assert from_event(instance).series is None


def test_series_exceptions_are_named() -> None:
    master = to_event(SAMPLE, frnr=1, kuerzel="SB") | {"recurrence": ["RRULE:FREQ=WEEKLY"]}
    moved = {"id": "adv01_20260309T090000Z", "recurringEventId": "adv01", "status": "confirmed"}
    cancelled = {"id": "adv01_20260316T090000Z", "recurringEventId": "adv01", "status": "cancelled"}
    assert series_exception(master) is None
    assert series_exception(moved) == "moved occurrence"
    assert series_exception(cancelled) == "cancelled occurrence"
