"""EspoCRM `CBeteiligte` ↔ Advoware `Beteiligte`: one canonical set of sync-relevant party fields.

Both systems are read into a `Party` (normalised values, canonical field names) so that the
decision core (`diff.py`, `plan.py`) compares like with like, and `Party` values are written back
with the per-system payload builders below. Rules (SYNC_RULES §1, DECISIONS 8):

- EspoCRM: a person ⇔ `firmenname` is empty (name ← `lastName`, vorname ← `firstName`); a
  company takes its name from `firmenname` and has no vorname.
- Advoware: a person ⇔ `vorname` is non-empty, but once a party is linked its kind comes from the
  snapshot, so a company read from Advoware simply has no vorname.
- Dates: `2001-01-05` ↔ `2001-01-05T00:00:00`, the date part only; a zone suffix is cut off,
  never applied, so a birth date cannot move by a day.
- None, "" and whitespace are all "empty" (None in a `Party`), so they never look like a change.

Pure: no I/O, stdlib only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from services.sync.espotime import as_utc, format_espo_datetime, parse_espo_datetime

Kind = Literal["person", "company"]
Value = str | date | None

# Canonical field names, in a fixed order (tables, payloads and tests iterate in this order).
FIELDS: tuple[str, ...] = (
    "name",
    "vorname",
    "anrede",
    "titel",
    "rechtsform",
    "geburtsdatum",
    "handelsregisterNummer",
    "registergericht",
)

# Canonical name → Advoware attribute. These are also the 8 fields Advoware persists
# (EXTERNAL_SYSTEMS 1.5.1); anything else in a POST/PUT body is silently dropped by Advoware.
ADVOWARE_NAMES: Mapping[str, str] = {
    "name": "name",
    "vorname": "vorname",
    "anrede": "anrede",
    "titel": "titel",
    "rechtsform": "rechtsform",
    "geburtsdatum": "geburtsdatum",
    "handelsregisterNummer": "handelsRegisterNummer",
    "registergericht": "registergericht",
}
ADVOWARE_ACCEPTED_FIELDS: frozenset[str] = frozenset(ADVOWARE_NAMES.values())
_CANONICAL_BY_ADVOWARE = {advo: canon for canon, advo in ADVOWARE_NAMES.items()}

# EspoCRM attributes that carry a canonical field verbatim (name/vorname depend on the kind).
_ESPO_VERBATIM: Mapping[str, str] = {
    "anrede": "anrede",
    "titel": "titel",
    "rechtsform": "rechtsform",
    "handelsregisterNummer": "handelsregisterNummer",
    "registergericht": "registergericht",
}


@dataclass(frozen=True)
class Party:
    """The sync-relevant fields of one party, normalised; None means empty."""

    name: str | None = None
    vorname: str | None = None
    anrede: str | None = None
    titel: str | None = None
    rechtsform: str | None = None
    geburtsdatum: date | None = None
    handelsregisterNummer: str | None = None  # canonical spelling = EspoCRM attribute
    registergericht: str | None = None

    def get(self, field: str) -> Value:
        value: Value = getattr(self, field)
        return value

    def replace(self, changes: Mapping[str, Value]) -> Party:
        return dataclasses.replace(self, **dict(changes))  # type: ignore[arg-type]

    def to_json(self) -> dict[str, str | None]:
        """JSON-safe form for the snapshot (dates as `YYYY-MM-DD`)."""
        return {f: _json_value(self.get(f)) for f in FIELDS}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Party:
        values: dict[str, Value] = {f: clean_text(data.get(f)) for f in FIELDS}
        values["geburtsdatum"] = parse_date(data.get("geburtsdatum"))
        return cls(**values)  # type: ignore[arg-type]


def _json_value(value: Value) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


# --- normalisation -------------------------------------------------------------------------


def clean_text(value: Any) -> str | None:
    """None, "" and whitespace-only → None; other text is stripped (surrounding blanks are noise)."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def parse_date(value: Any) -> date | None:
    """The date part of `2001-01-05`, `2001-01-05T00:00:00[+01:00]` or `2001-01-05 00:00:00`.

    The part after the date is dropped, never converted: converting `…T00:00:00+01:00` to UTC
    would move the birth date to the previous day.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = clean_text(value)
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        # An unreadable date must fail the sync, not be treated as "cleared" and wiped elsewhere.
        raise ValueError(f"not a date: {text[:40]!r}") from exc


# --- kind (person / company) ---------------------------------------------------------------


def espo_kind(record: Mapping[str, Any]) -> Kind:
    return "company" if clean_text(record.get("firmenname")) else "person"


def advo_kind(record: Mapping[str, Any]) -> Kind:
    """The `vorname` rule; only for parties without a snapshot (DECISIONS 8)."""
    return "person" if clean_text(record.get("vorname")) else "company"


# --- reading -------------------------------------------------------------------------------


def espo_to_party(record: Mapping[str, Any]) -> Party:
    """Read an EspoCRM `CBeteiligte` record (kind from `firmenname`)."""
    company = espo_kind(record) == "company"
    values: dict[str, Value] = {canon: clean_text(record.get(attr)) for canon, attr in _ESPO_VERBATIM.items()}
    values["name"] = clean_text(record.get("firmenname" if company else "lastName"))
    # A company's firstName is hidden in the UI but still in the API (E7): not sync-relevant.
    values["vorname"] = None if company else clean_text(record.get("firstName"))
    values["geburtsdatum"] = parse_date(record.get("dateOfBirth"))
    return Party(**values)  # type: ignore[arg-type]


def advo_to_party(record: Mapping[str, Any], kind: Kind | None = None) -> Party:
    """Read an Advoware `Beteiligte` record.

    `kind` is the snapshot's kind of a linked party; a company has no vorname whatever Advoware
    holds (the next PUT sends ""). `kind=None` applies the vorname rule, which needs no filter.
    """
    values: dict[str, Value] = {
        canon: clean_text(record.get(advo))
        for canon, advo in ADVOWARE_NAMES.items()
        if canon != "geburtsdatum"
    }
    values["geburtsdatum"] = parse_date(record.get("geburtsdatum"))
    if kind == "company":
        values["vorname"] = None
    return Party(**values)  # type: ignore[arg-type]


# --- writing -------------------------------------------------------------------------------


def advoware_value(field: str, value: Value) -> str:
    """One canonical value as Advoware stores it; empty → "" (Advoware's "cleared")."""
    if value is None:
        return ""
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00"
    return value


def to_advoware_fields(party: Party, kind: Kind, fields: Iterable[str] = FIELDS) -> dict[str, str]:
    """The given canonical fields as Advoware attributes; a company always sends vorname ""."""
    payload = {ADVOWARE_NAMES[f]: advoware_value(f, party.get(f)) for f in fields}
    if kind == "company":
        payload["vorname"] = ""
    return payload


def advoware_create_payload(party: Party, kind: Kind) -> dict[str, str]:
    """POST body of a new party: the non-empty fields (nothing to clear yet)."""
    filled = [f for f in FIELDS if party.get(f) is not None]
    return to_advoware_fields(party, kind, filled)


def advoware_put_payload(
    current: Mapping[str, Any], changes: Mapping[str, Value], kind: Kind
) -> dict[str, Any]:
    """Read-modify-write PUT body: the accepted fields of the current record with `changes` applied.

    Only accepted fields are sent (the rest would be dropped anyway); nested lists are never sent.
    """
    body: dict[str, Any] = {k: current.get(k) for k in sorted(ADVOWARE_ACCEPTED_FIELDS) if k in current}
    for field, value in changes.items():
        body[ADVOWARE_NAMES[field]] = advoware_value(field, value)
    if kind == "company":
        body["vorname"] = ""
    return body


def to_espo_fields(changes: Mapping[str, Value], kind: Kind) -> dict[str, Any]:
    """EspoCRM attributes for the changed canonical fields only.

    A cleared field becomes null; fields that did not change are never passed in, so no null is
    sent for them (E9). A company's vorname has no EspoCRM attribute and is left out.
    """
    out: dict[str, Any] = {}
    for field, value in changes.items():
        if field == "name":
            out["firmenname" if kind == "company" else "lastName"] = value
        elif field == "vorname":
            if kind == "person":
                out["firstName"] = value
        elif field == "geburtsdatum":
            out["dateOfBirth"] = value.isoformat() if isinstance(value, date) else None
        else:
            out[_ESPO_VERBATIM[field]] = value
    return out


def canonical_name_of_advoware(attr: str) -> str | None:
    return _CANONICAL_BY_ADVOWARE.get(attr)


__all__ = ["as_utc", "format_espo_datetime", "parse_espo_datetime"]  # EspoCRM times, re-exported
