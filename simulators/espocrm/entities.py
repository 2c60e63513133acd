"""Entity definitions: which attributes each entity type has, their types and defaults, which
must not be null (E9), and which fields EspoCRM's custom hook watches (E5).

Only the entities the service touches are modelled. Unknown attributes in a write are ignored,
as EspoCRM ignores attributes that are not defined on the entity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

FieldType = Literal["id", "varchar", "text", "int", "bool", "date", "datetime", "enum", "array", "object"]

PARTY_SYNC_STATUSES = (
    "pending_sync",
    "dirty",
    "syncing",
    "clean",
    "failed",
    "permanently_failed",
    "conflict",
    "deleted_in_advoware",
    # SYNC_RULES §1: the docs tell the EspoCRM admin to add these three.
    "invalid",
    "manual_action",
    "duplicate_suspected",
)
# 1.5.4 lists EspoCRM's own `clean`/`unclean`/`failed`; SYNC_RULES §4 adds the rest.
BANK_SYNC_STATUSES = (
    "pending_sync",
    "dirty",
    "clean",
    "unclean",
    "failed",
    "permanently_failed",
    "invalid",
    "manual_action",
)
ADDRESS_SYNC_STATUSES = ("pending_sync", "dirty", "clean", "failed", "manual_action")

# Attributes every record has; maintained by the simulator, ignored in writes.
SYSTEM_FIELDS: dict[str, FieldType] = {
    "id": "id",
    "createdAt": "datetime",
    "modifiedAt": "datetime",
    "createdById": "varchar",
    "modifiedById": "varchar",
}
# Never part of an update webhook item (2.3).
WEBHOOK_EXCLUDED = frozenset({"modifiedAt", "modifiedById", "modifiedByName", "isFollowed"})


@dataclass(frozen=True)
class EntityDef:
    name: str
    fields: dict[str, FieldType]
    defaults: dict[str, Any] = field(default_factory=dict)
    not_null: frozenset[str] = frozenset()
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Fields the E5 hook watches; empty = no hook on this entity.
    sync_fields: frozenset[str] = frozenset()
    # Bookkeeping fields (open point 10, alternative "ignore bookkeeping-only changes" mode).
    bookkeeping: frozenset[str] = frozenset()
    # link name -> (foreign entity, foreign key attribute) for `GET /{entity}/{id}/{link}`.
    links: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Default list order (EspoCRM's entity default is createdAt desc).
    order_by: str = "createdAt"
    order_desc: bool = True

    def type_of(self, attribute: str) -> FieldType | None:
        return SYSTEM_FIELDS.get(attribute) or self.fields.get(attribute)


_PARTY_BOOKKEEPING = frozenset(
    {
        "betnr",
        "syncStatus",
        "advowareLastSync",
        "advowareRowId",
        "kommunikationHash",
        "syncErrorMessage",
        "syncRetryCount",
        "syncNextRetry",
        "syncAutoResetAt",
        "advowareDeletedAt",
    }
)

CBETEILIGTE = EntityDef(
    name="CBeteiligte",
    fields={
        "name": "varchar",
        "firstName": "varchar",
        "lastName": "varchar",
        "firmenname": "varchar",
        "anrede": "varchar",
        "titel": "varchar",
        "rechtsform": "varchar",
        "dateOfBirth": "date",
        "handelsregisterNummer": "varchar",
        "registergericht": "varchar",
        "emailAddress": "varchar",
        "emailAddressData": "array",
        "phoneNumber": "varchar",
        "phoneNumberData": "array",
        "assignedUserId": "varchar",
        "description": "text",
        "betnr": "int",
        "syncStatus": "enum",
        "advowareLastSync": "datetime",
        "advowareRowId": "varchar",
        "kommunikationHash": "varchar",
        "syncErrorMessage": "text",
        "syncRetryCount": "int",
        "syncNextRetry": "datetime",
        "syncAutoResetAt": "datetime",
        "advowareDeletedAt": "datetime",
    },
    defaults={
        "syncStatus": "pending_sync",
        "syncRetryCount": 0,
        "emailAddressData": [],
        "phoneNumberData": [],
    },
    not_null=frozenset({"name", "syncStatus"}),
    enums={"syncStatus": PARTY_SYNC_STATUSES},
    sync_fields=frozenset(
        {
            "firstName",
            "lastName",
            "firmenname",
            "anrede",
            "titel",
            "rechtsform",
            "dateOfBirth",
            "handelsregisterNummer",
            "registergericht",
            "emailAddressData",
            "phoneNumberData",
        }
    ),
    bookkeeping=_PARTY_BOOKKEEPING,
    links={
        "adressen": ("CAdressen", "beteiligteId"),
        "bankverbindungen": ("CBankverbindungen", "beteiligteId"),
    },
)

CBANKVERBINDUNGEN = EntityDef(
    name="CBankverbindungen",
    fields={
        "name": "varchar",
        "iban": "varchar",
        "bic": "varchar",
        "kontoinhaber": "varchar",
        "bankname": "varchar",
        "istAktiv": "bool",
        "istStandard": "bool",
        "beteiligteId": "varchar",
        "assignedUserId": "varchar",
        "advowareKontoId": "int",
        "advowareLastSync": "datetime",
        "syncStatus": "enum",
        "syncErrorMessage": "text",
        "syncRetryCount": "int",
        "syncNextRetry": "datetime",
        "syncAutoResetAt": "datetime",
    },
    defaults={"syncStatus": "pending_sync", "syncRetryCount": 0, "istAktiv": True, "istStandard": False},
    not_null=frozenset({"name", "syncStatus"}),
    enums={"syncStatus": BANK_SYNC_STATUSES},
    sync_fields=frozenset({"iban", "bic", "kontoinhaber", "bankname", "istAktiv", "istStandard"}),
    bookkeeping=frozenset(
        {
            "advowareKontoId",
            "advowareLastSync",
            "syncStatus",
            "syncErrorMessage",
            "syncRetryCount",
            "syncNextRetry",
            "syncAutoResetAt",
        }
    ),
)

CADRESSEN = EntityDef(
    name="CAdressen",
    fields={
        "name": "varchar",
        "strasse": "varchar",
        "plz": "varchar",
        "ort": "varchar",
        "anschrift": "varchar",
        "land": "varchar",
        "postfach": "varchar",
        "postfachPlz": "varchar",
        "istStandard": "bool",
        "gueltigVon": "datetime",
        "gueltigBis": "datetime",
        "bemerkung": "text",
        "beteiligteId": "varchar",
        "assignedUserId": "varchar",
        "advowareReihenfolgeIndex": "int",
        "syncStatus": "enum",
        "syncErrorMessage": "text",
        "advowareLastSync": "datetime",
    },
    defaults={"istStandard": False},
    enums={"syncStatus": ADDRESS_SYNC_STATUSES},
    bookkeeping=frozenset({"advowareReihenfolgeIndex", "syncStatus", "syncErrorMessage", "advowareLastSync"}),
)

NOTIFICATION = EntityDef(
    name="Notification",
    fields={
        "type": "varchar",
        "userId": "varchar",
        "message": "text",
        "read": "bool",
        "relatedType": "varchar",
        "relatedId": "varchar",
        "data": "object",  # EspoCRM's jsonObject
    },
    defaults={"type": "Message", "read": False},
    not_null=frozenset({"userId"}),
)

WEBHOOK = EntityDef(
    name="Webhook",
    fields={
        "event": "varchar",
        "url": "varchar",
        "isActive": "bool",
        "userId": "varchar",
        "entityType": "varchar",
        "type": "varchar",
        "field": "varchar",
        "secretKey": "varchar",
        "skipOwn": "bool",
    },
    defaults={"isActive": True, "skipOwn": False},
    not_null=frozenset({"event", "url"}),
)

ENTITIES: dict[str, EntityDef] = {
    e.name: e for e in (CBETEILIGTE, CBANKVERBINDUNGEN, CADRESSEN, NOTIFICATION, WEBHOOK)
}
