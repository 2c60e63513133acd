"""Value types the database returns and accepts; the same Python types from both engines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JsonDict = dict[str, Any]


def normalize_fields(fields: Sequence[str]) -> tuple[str, ...]:
    """Field names as a sorted, duplicate-free tuple, so two runs compare equal."""
    return tuple(sorted(set(fields)))


@dataclass(frozen=True)
class PartySyncState:
    """What the service last synced for one EspoCRM party (SYNC_RULES §1 "Sync state")."""

    espo_id: str
    betnr: int
    snapshot: JsonDict
    # Fields whose Advoware round trip did not stick on the last write (empty: none).
    mismatch_fields: tuple[str, ...]
    updated_at: datetime

    def is_repeated_mismatch(self, fields: Sequence[str]) -> bool:
        """True when `fields` is the same non-empty mismatch as last time (→ permanently_failed)."""
        current = normalize_fields(fields)
        return bool(current) and current == self.mismatch_fields


@dataclass(frozen=True)
class Intent:
    """A create intent: recorded before the Advoware POST, `betnr` set right after it; `payload`
    is the body as POSTed (recovery searches with it, DECISIONS 23)."""

    espo_id: str
    fingerprint: str
    betnr: int | None
    created_at: datetime
    updated_at: datetime
    payload: JsonDict | None = None


@dataclass(frozen=True)
class Block:
    """A record that waits for its EspoCRM content to change (DECISIONS 26)."""

    entity_type: str
    entity_id: str
    reason: str
    fingerprint: str
    modified_at: str | None
    created_at: datetime


@dataclass(frozen=True)
class BankAccountState:
    """What the service last synced for one EspoCRM bank account (SYNC_RULES §4). `fields`: the
    synced values in canonical form; `wanted`: EspoCRM's values waiting to be made by hand in
    Advoware (`manual`); `tombstone`: deleted in EspoCRM, never re-created from Advoware."""

    account_id: str
    party_id: str
    betnr: int | None
    konto_id: int | None
    fields: JsonDict
    wanted: JsonDict | None = None
    tombstone: bool = False
    manual: bool = False
    updated_at: datetime | None = None


@dataclass(frozen=True)
class OutboxNotification:
    """A notification recorded with the sync state it belongs to, sent afterwards."""

    dedupe_key: str
    entity_type: str
    entity_id: str
    kind: str
    recipient: str
    message: str
    data: JsonDict = field(default_factory=dict)


@dataclass(frozen=True)
class AuditEntry:
    """One sync decision to record. `decision` follows the convention in `masking.py`."""

    entity_type: str
    entity_id: str
    action: str
    result: str
    trace_id: str | None = None
    trigger: str | None = None
    decision: Mapping[str, Any] = field(default_factory=dict)
    api_calls: Sequence[Mapping[str, Any]] = ()
    error: str | None = None


@dataclass(frozen=True)
class AuditRecord:
    """A stored audit entry as read back (decision already masked if it was stored masked)."""

    id: int
    entity_type: str
    entity_id: str
    trace_id: str | None
    trigger: str | None
    action: str
    result: str
    decision: JsonDict
    api_calls: list[Any]
    error: str | None
    created_at: datetime


@dataclass(frozen=True)
class OutcomeCount:
    """How many audit entries of one entity type had one result within one UTC hour."""

    entity_type: str
    result: str
    hour: datetime
    count: int


@dataclass(frozen=True)
class SentNotification:
    """A notification the service already sent, keyed by its dedupe key."""

    dedupe_key: str
    entity_type: str
    entity_id: str
    kind: str
    created_at: datetime
