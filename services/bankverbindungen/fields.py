"""The bank account field map (SYNC_RULES §4): canonical values under Advoware's names, both
systems' payloads, and the `EspoCRM-ID: <id>` marker in Advoware's `bemerkung`. IBAN compact and
upper-case, BIC upper-case without spaces, empty text as None. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

ENTITY = "CBankverbindungen"
PARTY_ENTITY = "CBeteiligte"
PARTY_LINK = "bankverbindungen"  # CBeteiligte → CBankverbindungen (by beteiligteId)
FIELDS = ("iban", "bic", "bank", "kontoinhaber")  # Advoware's names; `istAktiv`/`istStandard` stay in EspoCRM
ESPO_NAMES = {"iban": "iban", "bic": "bic", "bank": "bankname", "kontoinhaber": "kontoinhaber"}
LABELS = {"iban": "IBAN", "bic": "BIC", "bank": "Bank", "kontoinhaber": "Kontoinhaber"}
MARKER = re.compile(r"EspoCRM-ID:\s*([A-Za-z0-9_-]+)")

Values = dict[str, str | None]


def compact(value: Any) -> str:
    return re.sub(r"\s+", "", str(value or "")).upper()


def canonical(field: str, value: Any) -> str | None:
    if field in ("iban", "bic"):
        return compact(value) or None
    text = str(value).strip() if value is not None else ""
    return text or None


def espo_values(record: Mapping[str, Any]) -> Values:
    return {f: canonical(f, record.get(ESPO_NAMES[f])) for f in FIELDS}


def advo_values(account: Mapping[str, Any]) -> Values:
    return {f: canonical(f, account.get(f)) for f in FIELDS}


def marker(espo_id: str) -> str:
    return f"EspoCRM-ID: {espo_id}"


def marker_of(account: Mapping[str, Any]) -> str | None:
    note = account.get("bemerkung")
    found = MARKER.search(note) if isinstance(note, str) else None
    return found.group(1) if found else None


def post_body(espo_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """A new Advoware account: the normalised values and the marker."""
    body: dict[str, Any] = {f: values.get(f) for f in FIELDS if values.get(f) is not None}
    return {**body, "bemerkung": marker(espo_id)}


def espo_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    return {ESPO_NAMES[f]: values.get(f) for f in FIELDS}


def espo_name(values: Mapping[str, Any]) -> str:
    return " ".join(str(values[f]) for f in ("bank", "iban") if values.get(f)) or "Bankverbindung"


def changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    return [f for f in FIELDS if old.get(f) != new.get(f)]
