"""Coercion and validation of written attribute values, and the e-mail/phone sets.

EspoCRM keeps e-mail addresses and phone numbers as sets (`emailAddressData`,
`phoneNumberData`) and derives the plain `emailAddress`/`phoneNumber` from the primary item.
"""

from __future__ import annotations

import re
from typing import Any

from simulators.common.iban import is_valid as iban_is_valid

from .entities import EntityDef
from .errors import CustomValidationError, ValidationFailure
from .timefmt import is_date, normalise_datetime

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_TYPES = ("Mobile", "Office", "Home", "Fax", "Other")
DEFAULT_PHONE_TYPE = "Mobile"


def coerce(defn: EntityDef, attribute: str, value: Any) -> Any:
    """The stored form of a written value, or a 400 validation failure."""
    if value is None:
        if attribute in defn.not_null:
            raise ValidationFailure(attribute, "required")
        return None
    kind = defn.fields[attribute]
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValidationFailure(attribute, "valid")
        try:
            return int(value)
        except ValueError:
            raise ValidationFailure(attribute, "valid") from None
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValidationFailure(attribute, "valid")
        return value
    if kind == "object":
        if not isinstance(value, dict):
            raise ValidationFailure(attribute, "valid")
        return value
    if kind == "array":
        if not isinstance(value, list):
            raise ValidationFailure(attribute, "valid")
        return value
    if not isinstance(value, str):
        raise ValidationFailure(attribute, "valid")
    if kind == "datetime":
        normalised = normalise_datetime(value)
        if normalised is None:
            raise ValidationFailure(attribute, "valid")
        return normalised
    if kind == "date" and value != "" and not is_date(value):
        raise ValidationFailure(attribute, "valid")
    if kind == "enum" and value not in defn.enums.get(attribute, (value,)):
        raise ValidationFailure(attribute, "valid")
    return value


def _with_primary(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Exactly one primary: the first flagged one, else the first item."""
    flagged = next((i for i, item in enumerate(items) if item["primary"]), 0)
    for i, item in enumerate(items):
        item["primary"] = i == flagged
    return items


def normalise_email_data(raw: list[Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for entry in raw:
        if not isinstance(entry, dict) or not isinstance(entry.get("emailAddress"), str):
            raise ValidationFailure("emailAddress", "valid")
        address = entry["emailAddress"].strip()
        if not EMAIL_RE.match(address):
            raise ValidationFailure("emailAddress", "valid")
        if address.lower() in seen:
            continue
        seen.add(address.lower())
        items.append(
            {
                "emailAddress": address,
                "lower": address.lower(),
                "primary": bool(entry.get("primary", False)),
                "optOut": bool(entry.get("optOut", False)),
                "invalid": bool(entry.get("invalid", False)),
            }
        )
    return _with_primary(items)


def normalise_phone_data(raw: list[Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for entry in raw:
        if not isinstance(entry, dict) or not isinstance(entry.get("phoneNumber"), str):
            raise ValidationFailure("phoneNumber", "valid")
        number = entry["phoneNumber"].strip()
        if not number or number in seen:
            continue
        seen.add(number)
        items.append(
            {
                "phoneNumber": number,
                "type": entry.get("type") or DEFAULT_PHONE_TYPE,
                "primary": bool(entry.get("primary", False)),
                "optOut": bool(entry.get("optOut", False)),
                "invalid": bool(entry.get("invalid", False)),
            }
        )
    return _with_primary(items)


def primary_of(items: list[dict[str, Any]], key: str) -> str | None:
    return next((item[key] for item in items if item["primary"]), None)


def replace_primary(items: list[dict[str, Any]], key: str, value: str | None) -> list[Any]:
    """Writing the plain `emailAddress`/`phoneNumber` replaces the primary item of the set."""
    rest = [dict(item, primary=False) for item in items if not item["primary"]]
    if not value:
        return rest
    rest = [item for item in rest if item[key].lower() != value.lower()]
    return [{key: value, "primary": True}, *rest]


def check_iban(value: Any) -> None:
    if isinstance(value, str) and value and not iban_is_valid(value):
        raise CustomValidationError("invalidIbanChecksum", "CBankverbindungen")
