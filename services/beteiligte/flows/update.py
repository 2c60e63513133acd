"""Update/check of a linked party (SYNC_RULES §1 "Update/check"): GET the Advoware party, decide,
run the actions. The GET is the last read and nothing is awaited between it and the PUT
(Advoware has no optimistic locking; the residual race is documented in docs/beteiligte-sync.md).

Budget (data calls): EspoCRM GET and its addresses (by the service) + Advoware GET; + Advoware PUT
when EspoCRM changed; + each entry or address written; + one EspoCRM PUT when Advoware changed or
the bookkeeping is due; + each CAdressen write; + one EspoCRM list of the party's bank accounts, a
second Advoware GET (it stays the last read before the PUT) and each account write when
Advoware's accounts changed (SYNC_RULES §4).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.bankverbindungen.party_io import read_for_party, rows_of
from services.beteiligte.blocks import kind_conflict
from services.beteiligte.context import PartyDeps, Run, read_addresses
from services.beteiligte.execute import audit_of, execute, failed
from services.beteiligte.ports import SyncOutcome
from services.beteiligte.rules import ENTITY, decide_linked, decide_not_found, kind_mismatch
from services.beteiligte.settle import unwrap
from services.clients.errors import NotFound


async def check(
    deps: PartyDeps,
    run: Run,
    record: Mapping[str, Any],
    snapshot: Mapping[str, Any] | None,
    *,
    ours: bool = False,
) -> SyncOutcome:
    """`ours`: the link comes from this service's own create, so its kind needs no check."""
    run.audit_action = "check" if run.action == "sync_check" else run.action
    facts = run.facts(deps.settings)
    betnr = int(record["betnr"])

    async def get() -> Any:
        return unwrap(await deps.advo.get_party(betnr))

    try:
        rows = await rows_of(deps.db, run.entity_id)
        advo = await get()
        if run.addresses is None:  # found again after a delete: its addresses, then a fresh GET
            await read_addresses(deps, run)
            advo = await get()
        advo, run.bank = await read_for_party(deps.espo, run.entity_id, rows, advo, get)
    except NotFound:
        return await _not_found(deps, run, record, snapshot)
    except Exception as exc:
        return await failed(deps, run, record, exc)
    if snapshot is None and not ours and kind_mismatch(record, advo):
        return await kind_conflict(deps, run, record, betnr, advo)
    decision = decide_linked(record, advo, snapshot, facts, run.addresses or (), run.bank)
    if run.dry_run:
        run.decision.update(audit_of(decision))
        return SyncOutcome(run.entity_id, "dry_run", plan=decision)
    return await execute(deps, run, decision)


async def _not_found(
    deps: PartyDeps, run: Run, record: Mapping[str, Any], snapshot: Mapping[str, Any] | None
) -> SyncOutcome:
    decision = decide_not_found(record, snapshot, run.facts(deps.settings))
    if run.dry_run:
        run.decision.update(audit_of(decision))
        return SyncOutcome(run.entity_id, "dry_run", plan=decision)
    if decision.variant == "gone":  # the daily re-check: still gone, only the check time is kept
        await deps.db.set_recheck(ENTITY, run.entity_id, run.now)
        run.decision.update(audit_of(decision))
        return SyncOutcome(run.entity_id, "deleted_in_advoware", plan=decision)
    return await execute(deps, run, decision)
