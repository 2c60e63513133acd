"""EspoCRM delete of a party (SYNC_RULES §1 "EspoCRM delete").

The record is gone, the webhook carries only its id, so nothing is loaded from EspoCRM: what is
known comes from the snapshot (betnr, assigned user). Nothing is deleted in Advoware (legal
records; the API forbids most deletes) and nothing is written there either — see
docs/beteiligte-sync.md for why no note is added. A party the service synced is audited and its
assigned user (fallback: the admin) is notified once; a party never synced is only audited. A
delete is never `failed`. The snapshot is kept (an EspoCRM restore finds its link state again);
a pending create intent is dropped.
"""

from __future__ import annotations

from services.beteiligte.context import Run, SyncDeps, log
from services.beteiligte.notify import send_once
from services.beteiligte.plan import recipient_of
from services.beteiligte.ports import SyncOutcome


async def handle_delete(deps: SyncDeps, run: Run) -> SyncOutcome:
    run.audit_action = "delete"
    state = await deps.db.get_sync_state(run.entity_id)
    intent = await deps.db.get_intent(run.entity_id)
    if run.dry_run:
        return SyncOutcome(run.entity_id, "dry_run")
    if intent is not None:
        await deps.db.clear_intent(run.entity_id)
    if state is None:
        run.decision.update(synced=False, notified=False)
        log.info("party %s deleted in EspoCRM; never synced: audited only", run.entity_id)
        return SyncOutcome(run.entity_id, "deleted")
    recipient = recipient_of({}, state.snapshot, deps.settings.admin_user_id)
    message = (
        f"Beteiligter {state.betnr} wurde in EspoCRM gelöscht (ID {run.entity_id}). In Advoware bleibt "
        "er unverändert bestehen; bitte dort prüfen, ob er noch gebraucht wird."
    )
    key = f"deleted:{run.entity_id}:{state.betnr}"
    sent = await send_once(deps, run.entity_id, key, "deleted", recipient, message)
    run.decision.update(synced=True, betnr=state.betnr, recipient=recipient, notified=sent)
    log.info("party %s (betNr %s) deleted in EspoCRM: audited, notified=%s", run.entity_id, state.betnr, sent)
    return SyncOutcome(run.entity_id, "deleted")
