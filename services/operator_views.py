"""What an operator looks at about the synced records: those whose sync failed or waits for a
person (from EspoCRM), locks held too long, and how audited outcomes are classed.

Read only. Rows carry ids, statuses, the service's own error message (it names fields and
reasons, never values), counters and times — no names or other personal data. The CLI
(`bitbylaw failed`) and the operator console call the same functions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from services.sync.locking import held_since

# Statuses an operator must see: retried later, given up, or waiting for a person.
ATTENTION_STATUSES = ("failed", "permanently_failed", "manual_action", "invalid", "duplicate_suspected")
BOOKKEEPING = ("id", "syncStatus", "syncErrorMessage", "syncRetryCount", "syncNextRetry", "syncAutoResetAt")


# Audited results by what they ask of an operator (anything not named here is "other").
OutcomeKind = Literal["ok", "failed", "attention", "other"]
_OK = ("created", "synced", "bookkeeping", "noop", "ok", "deleted", "deleted_in_advoware")
_FAILED = ("failed", "permanently_failed", "error")
_ATTENTION = ("manual_action", "invalid", "duplicate_suspected", "blocked")
OUTCOME_KINDS: dict[str, OutcomeKind] = {
    **dict.fromkeys(_OK, "ok"),
    **dict.fromkeys(_FAILED, "failed"),
    **dict.fromkeys(_ATTENTION, "attention"),
}


@dataclass(frozen=True)
class SyncedEntity:
    """An EspoCRM entity the service keeps in sync: the bookkeeping fields it carries, the
    prefix of its lock keys (`beteiligte:ID`) and of the topics of its jobs."""

    name: str
    lock_prefix: str
    topic_prefix: str
    select: tuple[str, ...] = BOOKKEEPING


# One line per synced entity.
SYNCED_ENTITIES: tuple[SyncedEntity, ...] = (SyncedEntity("CBeteiligte", "beteiligte:", "vmh.beteiligte."),)


class ListingCrm(Protocol):
    def iter_all(
        self, entity: str, where: Any = None, select: Any = None, order_by: str = "id", page_size: int = 200
    ) -> AsyncIterator[dict[str, Any]]: ...


@dataclass(frozen=True)
class FailedRecord:
    entity: str
    id: str
    status: str
    error: str | None
    retry_count: int | None
    next_retry: str | None  # EspoCRM datetime (UTC)
    auto_reset_at: str | None


@dataclass(frozen=True)
class StuckLock:
    entity: str
    id: str
    key: str
    held_s: float


class HeldLock(Protocol):
    @property
    def key(self) -> str: ...

    @property
    def owner(self) -> str: ...


def entity_names() -> list[str]:
    return [e.name for e in SYNCED_ENTITIES]


def synced_entity(name: str) -> SyncedEntity | None:
    return next((e for e in SYNCED_ENTITIES if e.name == name), None)


def entity_of_topic(topic: str) -> str | None:
    """The synced entity a job's topic is about (`vmh.beteiligte.update` → CBeteiligte)."""
    return next((e.name for e in SYNCED_ENTITIES if topic.startswith(e.topic_prefix)), None)


def outcome_kind(result: str) -> OutcomeKind:
    return OUTCOME_KINDS.get(result, "other")


def stuck_locks(locks: Sequence[HeldLock], threshold_s: float, now: float) -> list[StuckLock]:
    """Record locks held longer than `threshold_s` (their holder renews them, so only a stuck
    sync holds one that long; the owner token carries when it was taken), longest first."""
    rows = []
    for lock in locks:
        since = held_since(lock.owner)
        entity = next((e for e in SYNCED_ENTITIES if lock.key.startswith(e.lock_prefix)), None)
        if since is None or entity is None or now - since <= threshold_s:
            continue
        rows.append(StuckLock(entity.name, lock.key.removeprefix(entity.lock_prefix), lock.key, now - since))
    return sorted(rows, key=lambda r: -r.held_s)


async def failed_records(
    crm: ListingCrm, entities: Sequence[str] | None = None, limit: int = 1000
) -> list[FailedRecord]:
    """Records of the synced entities (all, or those named) in an attention status."""
    wanted = [e for e in SYNCED_ENTITIES if entities is None or e.name in entities]
    unknown = sorted(set(entities or ()) - {e.name for e in SYNCED_ENTITIES})
    if unknown:
        raise ValueError(f"not a synced entity: {', '.join(unknown)} (synced: {', '.join(entity_names())})")
    where = [{"type": "in", "attribute": "syncStatus", "value": list(ATTENTION_STATUSES)}]
    rows: list[FailedRecord] = []
    for entity in wanted:
        async for r in crm.iter_all(entity.name, where=where, select=list(entity.select)):
            rows.append(
                FailedRecord(
                    entity.name,
                    str(r["id"]),
                    str(r.get("syncStatus")),
                    r.get("syncErrorMessage"),
                    r.get("syncRetryCount"),
                    r.get("syncNextRetry"),
                    r.get("syncAutoResetAt"),
                )
            )
            if len(rows) >= limit:
                return rows
    return rows
