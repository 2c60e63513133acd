"""What an operator looks at in EspoCRM: records whose sync failed or waits for a person.

Read only. Rows carry ids, statuses, the service's own error message (it names fields and
reasons, never values), counters and times — no names or other personal data. The CLI
(`bitbylaw failed`) prints them; a browser console can call the same function.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# Statuses an operator must see: retried later, given up, or waiting for a person.
ATTENTION_STATUSES = ("failed", "permanently_failed", "manual_action", "invalid", "duplicate_suspected")
BOOKKEEPING = ("id", "syncStatus", "syncErrorMessage", "syncRetryCount", "syncNextRetry", "syncAutoResetAt")


@dataclass(frozen=True)
class SyncedEntity:
    """An EspoCRM entity the service keeps in sync, with the bookkeeping fields it carries."""

    name: str
    select: tuple[str, ...] = BOOKKEEPING


# One line per synced entity.
SYNCED_ENTITIES: tuple[SyncedEntity, ...] = (SyncedEntity("CBeteiligte"),)


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


def entity_names() -> list[str]:
    return [e.name for e in SYNCED_ENTITIES]


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
