"""Small record builders for the Beteiligte table tests (a linked, clean person by default)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.beteiligte.mapping import Party, format_espo_datetime

NOW = datetime(2026, 3, 29, 12, 0, 0, tzinfo=UTC)
RECENT = format_espo_datetime(NOW - timedelta(hours=1))
STALE = format_espo_datetime(NOW - timedelta(hours=25))

BASE = Party(
    name="Mustermann",
    vorname="Max",
    anrede="Herr",
    titel="Dr.",
    rechtsform="Privatperson",
    geburtsdatum=Party.from_json({"geburtsdatum": "1980-01-05"}).geburtsdatum,
)


def espo(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": "68e4af00172be7924",
        "betnr": 104860,
        "firmenname": None,
        "firstName": "Max",
        "lastName": "Mustermann",
        "anrede": "Herr",
        "titel": "Dr.",
        "rechtsform": "Privatperson",
        "dateOfBirth": "1980-01-05",
        "handelsregisterNummer": None,
        "registergericht": None,
        "assignedUserId": "user-1",
        "syncStatus": "clean",
        "syncRetryCount": 0,
        "advowareLastSync": RECENT,
        "advowareRowId": "ROW1",
        "modifiedAt": format_espo_datetime(NOW),  # never used for change detection
    }
    record.update(overrides)
    return record


def advo(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "betNr": 104860,
        "rowId": "ROW1",
        "name": "Mustermann",
        "vorname": "Max",
        "anrede": "Herr",
        "titel": "Dr.",
        "rechtsform": "Privatperson",
        "geburtsdatum": "1980-01-05T00:00:00",
        "handelsRegisterNummer": None,
        "registergericht": None,
        "geaendertAm": "2020-01-01T00:00:00",  # unreliable, never used
        "kommunikation": [],
    }
    record.update(overrides)
    return record


def snap(
    party: Party = BASE, *, kind: str = "person", row_id: str | None = "ROW1", **extra: Any
) -> dict[str, Any]:
    return {"party": party.to_json(), "kind": kind, "rowId": row_id, "assignedUserId": "user-1", **extra}


def company_espo(**overrides: Any) -> dict[str, Any]:
    base = {"firmenname": "ACME GmbH", "firstName": None, "lastName": None, "anrede": None, "titel": None}
    base.update({"rechtsform": "GmbH", "dateOfBirth": None, "handelsregisterNummer": "HRB 1"})
    base.update({"registergericht": "AG Köln"})
    return espo(**{**base, **overrides})


def company_advo(**overrides: Any) -> dict[str, Any]:
    base = {"name": "ACME GmbH", "vorname": "", "anrede": None, "titel": None, "rechtsform": "GmbH"}
    base.update({"geburtsdatum": None, "handelsRegisterNummer": "HRB 1", "registergericht": "AG Köln"})
    return advo(**{**base, **overrides})


COMPANY = Party(name="ACME GmbH", rechtsform="GmbH", handelsregisterNummer="HRB 1", registergericht="AG Köln")
