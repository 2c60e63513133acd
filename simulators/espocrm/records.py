"""The write pipeline of one record: coerce the sent attributes, derive the computed ones
(`name`, primary e-mail/phone), run the entity hooks and stamp the system fields.

Writes are partial (E11): only sent attributes change. Pure functions over plain dicts; the
store (`state.py`) decides where records live and who is told about changes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from .entities import SYSTEM_FIELDS, WEBHOOK_EXCLUDED, EntityDef
from .errors import ValidationFailure
from .hooks import run_hooks
from .values import (
    check_iban,
    coerce,
    normalise_email_data,
    normalise_phone_data,
    primary_of,
    replace_primary,
)

Record = dict[str, Any]


@dataclass
class SaveContext:
    user_id: str
    now: str
    validate_iban: bool = True


def blank_record(defn: EntityDef) -> Record:
    record: Record = dict.fromkeys(SYSTEM_FIELDS)
    record.update(dict.fromkeys(defn.fields))
    record.update(copy.deepcopy(defn.defaults))
    return record


def create(defn: EntityDef, record_id: str, data: Record, ctx: SaveContext) -> Record:
    record = blank_record(defn)
    record["id"] = record_id
    _apply(defn, record, data, ctx)
    _derive(defn, record, data, creating=True)
    run_hooks(defn, None, record, data)
    _require(defn, record)
    record.update(createdAt=ctx.now, modifiedAt=ctx.now, createdById=ctx.user_id, modifiedById=ctx.user_id)
    return record


def update(defn: EntityDef, before: Record, data: Record, ctx: SaveContext) -> Record:
    record = dict(before)
    _apply(defn, record, data, ctx)
    _derive(defn, record, data, creating=False)
    run_hooks(defn, before, record, data)
    _require(defn, record)
    # E6: every save moves modifiedAt, the service's own included.
    record.update(modifiedAt=ctx.now, modifiedById=ctx.user_id)
    return record


def changed_attributes(before: Record, after: Record) -> list[str]:
    """Attributes an update webhook item carries (never modifiedAt/modifiedBy, 2.3)."""
    return [k for k, v in after.items() if k not in WEBHOOK_EXCLUDED and before.get(k) != v]


def _apply(defn: EntityDef, record: Record, data: Record, ctx: SaveContext) -> None:
    for attribute, value in data.items():
        if attribute in SYSTEM_FIELDS or attribute not in defn.fields:
            continue  # EspoCRM ignores attributes the entity does not define
        if attribute in ("emailAddress", "phoneNumber") and f"{attribute}Data" in data:
            continue  # the set wins over the plain value when both are sent
        stored = coerce(defn, attribute, value)
        if attribute == "iban" and ctx.validate_iban:
            check_iban(stored)
        record[attribute] = stored


def _derive(defn: EntityDef, record: Record, data: Record, creating: bool) -> None:
    _derive_contacts(record, data)
    sources = _name_sources(defn) & data.keys()
    # An explicit `name` is kept unless the attributes it is computed from are written too.
    if "name" in defn.fields and (sources or (creating and not record.get("name"))):
        derived = _derived_name(defn.name, record)
        if derived:
            record["name"] = derived


def _derive_contacts(record: Record, data: Record) -> None:
    for plain, key, normalise in (
        ("emailAddress", "emailAddress", normalise_email_data),
        ("phoneNumber", "phoneNumber", normalise_phone_data),
    ):
        data_attr = f"{plain}Data"
        if data_attr not in record:
            continue
        if data_attr in data:
            items = normalise(record[data_attr] or [])
        elif plain in data:
            items = normalise(replace_primary(record[data_attr] or [], key, record[plain]))
        else:
            continue
        record[data_attr] = items
        record[plain] = primary_of(items, key)


def _name_sources(defn: EntityDef) -> set[str]:
    return {
        "CBeteiligte": {"firstName", "lastName", "firmenname"},
        "CBankverbindungen": {"bankname", "iban"},
        "CAdressen": {"strasse", "plz", "ort"},
    }.get(defn.name, set())


def _derived_name(entity: str, record: Record) -> str:
    if entity == "CBeteiligte":
        if record.get("firmenname"):
            return str(record["firmenname"])
        return " ".join(p for p in (record.get("firstName"), record.get("lastName")) if p)
    if entity == "CBankverbindungen":
        return " ".join(p for p in (record.get("bankname"), record.get("iban")) if p)
    if entity == "CAdressen":
        town = " ".join(p for p in (record.get("plz"), record.get("ort")) if p)
        return ", ".join(p for p in (record.get("strasse"), town) if p)
    return ""


def _require(defn: EntityDef, record: Record) -> None:
    for attribute in defn.not_null:
        if record.get(attribute) in (None, ""):
            raise ValidationFailure(attribute, "required")
