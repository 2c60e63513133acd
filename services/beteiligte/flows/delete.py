"""EspoCRM delete of a party, acted on only when EspoCRM answered 404 (SYNC_RULES §1, DECISIONS 21).

What is known comes from the snapshot or the create intent (betnr, assigned user). Nothing is
deleted or written in Advoware (legal records; the API forbids most deletes; the party has no
note field). A party the service synced is audited and its assigned user (fallback: the admin)
notified once; a party never synced is only audited. The create intent is cleared; never
`failed`. The snapshot is kept, so an EspoCRM restore finds its link state again.
"""

from __future__ import annotations

from services.beteiligte.context import PartyDeps, Run, log
from services.beteiligte.ports import SyncOutcome
from services.beteiligte.rules import ENTITY, recipient_of
from services.sync.actions import Notify


async def deleted_in_espocrm(deps: PartyDeps, run: Run) -> SyncOutcome:
    run.audit_action = "delete"
    state = await deps.db.get_sync_state(run.entity_id)
    intent = await deps.db.get_intent(run.entity_id)
    betnr = state.betnr if state is not None else (intent.betnr if intent is not None else None)
    if run.dry_run:
        return SyncOutcome(run.entity_id, "dry_run")
    if intent is not None:
        await deps.db.clear_intent(run.entity_id)
    if betnr is None:
        run.decision.update(synced=False, notified=False)
        log.info("party %s gone from EspoCRM; never synced: audited only", run.entity_id)
        return SyncOutcome(run.entity_id, "deleted" if run.action == "delete" else "not_found")
    recipient = recipient_of({}, state.snapshot if state else None, deps.settings.admin_user_id)
    message = (
        f"Beteiligter {betnr} wurde in EspoCRM gelöscht (ID {run.entity_id}). In Advoware bleibt "
        "er unverändert bestehen; bitte dort prüfen, ob er noch gebraucht wird."
    )
    notice = Notify(f"deleted:{run.entity_id}:{betnr}", "deleted", ENTITY, run.entity_id, recipient, message)
    sent = await deps.records.send([notice], {"betnr": betnr})
    run.decision.update(synced=True, betnr=betnr, recipient=recipient, notified=bool(sent))
    log.info("party %s (betNr %s) deleted in EspoCRM: audited", run.entity_id, betnr)
    return SyncOutcome(run.entity_id, "deleted")
