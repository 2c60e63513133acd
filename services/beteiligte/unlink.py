"""Operator command `bitbylaw beteiligte unlink ID` (DECISIONS 16): forget a party's Advoware link.

After `deleted_in_advoware` no automatic re-create happens; an operator clears the link here:
`betnr` and `advowareRowId` become null, the record goes back to `pending_sync` (so the cron
picks it up and the next sync creates the party anew), and the snapshot and any create intent
are deleted. Taken under the party's lock, so it never races a running sync.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.beteiligte import bookkeeping
from services.beteiligte.context import ENTITY, log
from services.db import AuditEntry

if TYPE_CHECKING:
    from services.beteiligte.service import BeteiligteSyncService

_CLEARED = (
    "betnr",
    "advowareRowId",
    "advowareDeletedAt",
    "syncErrorMessage",
    "syncNextRetry",
    "syncAutoResetAt",
)


class LockedError(RuntimeError):
    """Another sync holds the party's lock; try again in a moment."""


async def unlink(service: BeteiligteSyncService, entity_id: str) -> bool:
    key = service.lock_key(entity_id)
    token = await service.lock.acquire(key, service.settings.lock_ttl_s)
    if token is None:
        raise LockedError(f"{key} is locked by a running sync; try again")
    try:
        return await _unlink(service, entity_id)
    finally:
        await service.release_lock(key, token)


async def _unlink(service: BeteiligteSyncService, entity_id: str) -> bool:
    record = await service.espo.get(ENTITY, entity_id)
    had_snapshot = await service.db.delete_snapshot(entity_id)
    had_intent = await service.db.clear_intent(entity_id)
    fields = bookkeeping.clear_if_set(record, _CLEARED)
    if not fields and not had_snapshot and not had_intent:
        return False
    fields.update(syncStatus="pending_sync", syncRetryCount=0)
    await service.espo.update(ENTITY, entity_id, fields)
    await service.db.add_audit(
        AuditEntry(ENTITY, entity_id, "unlink", "ok", trigger="cli", decision={"betnr": record.get("betnr")})
    )
    log.info("party %s unlinked from betNr %s", entity_id, record.get("betnr"))
    return True
