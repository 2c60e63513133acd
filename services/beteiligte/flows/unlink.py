"""Operator command `bitbylaw beteiligte unlink ID` (DECISIONS 16): forget a party's Advoware link.

After `deleted_in_advoware` no automatic re-create happens; an operator clears the link here:
`betnr` and `advowareRowId` become null, the record goes back to `pending_sync` (the cron picks
it up; the next sync creates or adopts the party), and the snapshot, any create intent, block
and re-check are deleted. The service runs it under the party's lock like any other flow.
"""

from __future__ import annotations

from services.beteiligte.context import PartyDeps, Run, log
from services.beteiligte.rules import ENTITY
from services.sync.policy import clear_if_set

_CLEARED = (
    "betnr",
    "advowareRowId",
    "advowareDeletedAt",
    "syncErrorMessage",
    "syncNextRetry",
    "syncAutoResetAt",
)


async def unlink(deps: PartyDeps, run: Run) -> bool:
    """False when there was no link to clear. Raises NotFound for an unknown record."""
    run.audit_action = "unlink"
    record = await deps.espo.get(ENTITY, run.entity_id)
    had_snapshot = await deps.db.delete_snapshot(run.entity_id)
    had_intent = await deps.db.clear_intent(run.entity_id)
    await deps.db.clear_block(ENTITY, run.entity_id)
    await deps.db.clear_recheck(ENTITY, run.entity_id)
    fields = clear_if_set(record, _CLEARED)
    if not fields and not had_snapshot and not had_intent:
        return False
    fields.update(syncStatus="pending_sync", syncRetryCount=0)
    await deps.espo.update(ENTITY, run.entity_id, fields)
    run.decision["betnr"] = record.get("betnr")
    log.info("party %s unlinked from betNr %s", run.entity_id, record.get("betnr"))
    return True
