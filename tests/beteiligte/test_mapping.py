"""Table tests of the canonical mapping (person/company, dates, normalisation, payloads)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from services.beteiligte import mapping as m


@pytest.mark.parametrize(
    ("raw", "clean"), [(None, None), ("", None), ("  \t", None), (" Max ", "Max"), (42, "42")]
)
def test_clean_text(raw, clean) -> None:
    assert m.clean_text(raw) == clean


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2001-01-05", date(2001, 1, 5)),
        ("2001-01-05T00:00:00", date(2001, 1, 5)),
        ("2001-01-05T00:00:00+02:00", date(2001, 1, 5)),
        ("2001-01-05 23:30:00", date(2001, 1, 5)),
        (datetime(2001, 1, 5, 23, 30, tzinfo=timezone(timedelta(hours=-5))), date(2001, 1, 5)),
        ("", None),
        (None, None),
    ],
)
def test_parse_date_takes_the_date_part_only(raw, expected) -> None:
    assert m.parse_date(raw) == expected


def test_unreadable_date_is_an_error_not_a_clear() -> None:
    with pytest.raises(ValueError):
        m.parse_date("05.01.2001")


def test_espo_person_and_company() -> None:
    person = m.espo_to_party(
        {"firstName": "Max", "lastName": "Muster", "firmenname": " ", "dateOfBirth": "2001-01-05"}
    )
    assert (m.espo_kind({"firmenname": " "}), person.name, person.vorname) == ("person", "Muster", "Max")
    assert person.geburtsdatum == date(2001, 1, 5)
    company = m.espo_to_party({"firmenname": "ACME", "firstName": "hidden", "lastName": "hidden"})
    assert (m.espo_kind({"firmenname": "ACME"}), company.name, company.vorname) == ("company", "ACME", None)


def test_advo_reading_and_vorname_rule() -> None:
    record = {"name": "ACME", "vorname": "Hans", "handelsRegisterNummer": "HRB 1", "geburtsdatum": ""}
    assert m.advo_kind(record) == "person" and m.advo_kind({"vorname": " "}) == "company"
    assert m.advo_to_party(record).vorname == "Hans"
    assert m.advo_to_party(record, "company").vorname is None
    assert m.advo_to_party(record).handelsregisterNummer == "HRB 1"


def test_advoware_payloads() -> None:
    party = m.Party(name="Muster", vorname="Max", geburtsdatum=date(2001, 1, 5))
    assert m.advoware_create_payload(party, "person") == {
        "name": "Muster",
        "vorname": "Max",
        "geburtsdatum": "2001-01-05T00:00:00",
    }
    assert m.to_advoware_fields(party, "company", ["name", "titel"]) == {
        "name": "Muster",
        "titel": "",
        "vorname": "",
    }
    body = m.advoware_put_payload(
        {"name": "Alt", "rowId": "r", "kommunikation": [], "x": 1}, {"titel": None}, "person"
    )
    assert body == {"name": "Alt", "titel": ""}


def test_espo_payload_per_kind_and_clears_as_null() -> None:
    changes = {"name": "Neu", "vorname": None, "geburtsdatum": None, "handelsregisterNummer": "HRB 2"}
    assert m.to_espo_fields(changes, "person") == {
        "lastName": "Neu",
        "firstName": None,
        "dateOfBirth": None,
        "handelsregisterNummer": "HRB 2",
    }
    assert m.to_espo_fields(changes, "company") == {
        "firmenname": "Neu",
        "dateOfBirth": None,
        "handelsregisterNummer": "HRB 2",
    }


def test_party_json_round_trip() -> None:
    party = m.Party(name="A", geburtsdatum=date(1999, 12, 31), registergericht="AG")
    assert m.Party.from_json(party.to_json()) == party
    assert party.to_json()["geburtsdatum"] == "1999-12-31"


def test_espo_datetimes_are_utc() -> None:
    berlin_summer = timezone(timedelta(hours=2))
    assert (
        m.format_espo_datetime(datetime(2026, 3, 29, 14, 30, tzinfo=berlin_summer)) == "2026-03-29 12:30:00"
    )
    assert m.format_espo_datetime(datetime(2026, 3, 29, 14, 30)) == "2026-03-29 14:30:00"  # naive = UTC
    assert m.parse_espo_datetime("2026-02-07 14:30:00") == datetime(2026, 2, 7, 14, 30, tzinfo=UTC)
    assert m.parse_espo_datetime("") is None
