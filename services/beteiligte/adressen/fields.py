"""EspoCRM `CAdressen` ↔ Advoware addresses: one canonical set of address fields.

| EspoCRM `CAdressen` | Advoware address | after creation |
| --- | --- | --- |
| `strasse`, `plz`, `ort`, `anschrift` | same names | writable (PUT) |
| `land`, `postfach`, `postfachPlz` | same names | read-only in Advoware |
| `gueltigVon`, `gueltigBis` | same names (date part) | read-only in Advoware |
| `istStandard` | `standardAnschrift` | read-only in Advoware |
| `bemerkung` | `bemerkung` | see below |

`bemerkung`: at create Advoware gets `EspoCRM-ID: <id>` (plus a newline and EspoCRM's note);
later note edits are not synced; an Advoware-born address gives its note to EspoCRM as is.

Text is trimmed (empty → None); dates compare by their date part. The only stable match between
the two systems is the marker `EspoCRM-ID: <id>` in Advoware's note. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from services.beteiligte.mapping import clean_text

ENTITY = "CAdressen"
WRITABLE: tuple[str, ...] = ("strasse", "plz", "ort", "anschrift")
READ_ONLY: tuple[str, ...] = ("land", "postfach", "postfachPlz", "gueltigVon", "gueltigBis", "istStandard")
FIELDS: tuple[str, ...] = WRITABLE + READ_ONLY
DATES = frozenset({"gueltigVon", "gueltigBis"})
ADVOWARE_NAME = {f: ("standardAnschrift" if f == "istStandard" else f) for f in FIELDS}
MARKER = re.compile(r"EspoCRM-ID:\s*([A-Za-z0-9_-]+)")

Values = dict[str, Any]  # canonical field → str | bool | None


def _date(value: Any) -> str | None:
    text = clean_text(value)
    return text[:10] if text else None


def _canonical(field: str, value: Any) -> Any:
    if field == "istStandard":
        return bool(value)
    if field in DATES:
        return _date(value)
    return clean_text(value)


def espo_values(record: Mapping[str, Any]) -> Values:
    return {f: _canonical(f, record.get(f)) for f in FIELDS}


def advo_values(address: Mapping[str, Any]) -> Values:
    return {f: _canonical(f, address.get(ADVOWARE_NAME[f])) for f in FIELDS}


def marker_of(address: Mapping[str, Any]) -> str | None:
    """The EspoCRM id in an Advoware address's note (`EspoCRM-ID: <id>`), if any."""
    note = address.get("bemerkung")
    found = MARKER.search(note) if isinstance(note, str) else None
    return found.group(1) if found else None


def match_key(values: Mapping[str, Any]) -> tuple[str, ...]:
    """(strasse, plz, ort) trimmed, case-folded, whitespace runs collapsed: pairs an unmarked
    Advoware address with an EspoCRM one when neither is known yet."""
    return tuple(" ".join(str(values.get(f) or "").split()).casefold() for f in ("strasse", "plz", "ort"))


def _advo_value(field: str, value: Any) -> Any:
    if field == "istStandard":
        return bool(value)
    if value is None:
        return ""  # Advoware's "cleared"
    return f"{value}T00:00:00" if field in DATES else value


def post_body(espo_id: str, values: Mapping[str, Any], note: Any) -> dict[str, Any]:
    """All 11 fields of a new Advoware address; the note carries the marker."""
    body = {
        ADVOWARE_NAME[f]: _advo_value(f, values.get(f)) for f in FIELDS if values.get(f) not in (None, "")
    }
    body["standardAnschrift"] = bool(values.get("istStandard"))
    text = clean_text(note)
    body["bemerkung"] = f"EspoCRM-ID: {espo_id}" + (f"\n{text}" if text else "")
    return body


def put_body(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changed writable fields; a value cleared in EspoCRM is sent as ""."""
    return {f: _advo_value(f, changes[f]) for f in WRITABLE if f in changes}


def espo_fields(changes: Mapping[str, Any]) -> dict[str, Any]:
    """EspoCRM attributes of changed fields (a cleared field is null; dates at midnight)."""
    out: dict[str, Any] = {}
    for f, value in changes.items():
        out[f] = f"{value} 00:00:00" if f in DATES and value else value
    return out


def espo_name(values: Mapping[str, Any]) -> str:
    street = values.get("strasse") or values.get("postfach") or ""
    town = " ".join(str(v) for v in (values.get("plz"), values.get("ort")) if v)
    return ", ".join(p for p in (street, town) if p) or "Adresse"


def show(values: Mapping[str, Any], fields: Iterable[str]) -> str:
    """`field: value` pairs for the EspoCRM record's own instruction text (not for logs)."""
    return ", ".join(f"{f} = {values.get(f)!r}" for f in fields)
