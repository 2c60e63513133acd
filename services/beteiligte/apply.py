"""Update/check of a linked party (SYNC_RULES §1): GET the Advoware party, plan, apply.

Order of the writes, as `plan.py` prescribes: Advoware PUT (read-modify-write body from the
plan; the new rowId comes from the PUT response, no extra GET) → settle (round-trip check) →
ONE EspoCRM write (data and bookkeeping) → notifications (each once; an initial sync's conflict
becomes an item of the admin summary, `summary.py`) → snapshot. A failing
write stores the snapshot of what was applied (`snapshot_for`) and books the failure.

Budget (data calls): 2 reads always (EspoCRM GET by the caller, Advoware GET here); + PUT when
EspoCRM changed; + EspoCRM PUT when Advoware changed or the bookkeeping is due.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.beteiligte.audit import plan_decision
from services.beteiligte.context import ENTITY, Run, SyncDeps, log
from services.beteiligte.failures import book_failure
from services.beteiligte.notify import send_plan_notices
from services.beteiligte.plan import NOT_FOUND, Plan, plan_sync
from services.beteiligte.ports import Status, SyncOutcome
from services.beteiligte.summary import hold_initial_conflicts
from services.clients.errors import NotFound


def make_plan(deps: SyncDeps, run: Run, record: Mapping[str, Any], advo: Any, snapshot: Any) -> Plan:
    return plan_sync(
        record,
        advo,
        snapshot,
        now=run.now,
        policy=deps.settings.policy,
        direction=run.direction,
        trigger=run.plan_trigger,
        admin_user_id=deps.settings.admin_user_id,
    )


async def load_advoware(deps: SyncDeps, betnr: int) -> Any:
    """The party, or NOT_FOUND after a 404 (deleted in Advoware, A6)."""
    try:
        return await deps.advo.get_party(betnr)
    except NotFound:
        return NOT_FOUND


async def save_snapshot(
    deps: SyncDeps,
    run: Run,
    betnr: int,
    snapshot: Mapping[str, Any] | None,
    mismatch: list[str] | None = None,
) -> None:
    if snapshot is not None:
        await deps.db.save_snapshot(run.entity_id, betnr, dict(snapshot), mismatch_fields=mismatch)


def status_of(plan: Plan) -> Status:
    written = plan.espo_update or {}
    if plan.roundtrip_failed and written.get("syncStatus") == "permanently_failed":
        return "permanently_failed"
    if plan.roundtrip_failed:
        return "failed"
    if plan.variant == "not_found":
        return "deleted_in_advoware"
    if plan.variant == "create":
        return "created"
    if plan.writes_data:
        return "synced"
    return "bookkeeping" if plan.espo_update else "noop"


async def check_linked(
    deps: SyncDeps, run: Run, record: Mapping[str, Any], snapshot: Mapping[str, Any] | None
) -> SyncOutcome:
    """Update/check of a record that has a betnr."""
    betnr = int(record["betnr"])
    try:
        advo = await load_advoware(deps, betnr)
        plan = make_plan(deps, run, record, advo, snapshot)
    except Exception as exc:
        return await book_failure(deps, run, record, exc)
    run.audit_action = "check" if run.action == "sync_check" else run.action
    run.decision.update(plan_decision(plan))
    if run.dry_run:
        return SyncOutcome(run.entity_id, "dry_run", plan=plan)
    return await run_plan(deps, run, record, plan, betnr)


async def run_plan(
    deps: SyncDeps,
    run: Run,
    record: Mapping[str, Any],
    plan: Plan,
    betnr: int,
    link: Mapping[str, Any] | None = None,
) -> SyncOutcome:
    """Apply a linked plan (update, initial or not_found). `link` (betnr, rowId of an adopted
    party) is also written with a failure, so a link once made is never lost."""
    row_id: str | None = None
    if plan.advoware_update is not None:
        try:
            stored = await deps.advo.update_party(betnr, dict(plan.advoware_update))
        except Exception as exc:
            await save_snapshot(deps, run, betnr, plan.snapshot_for(advoware_ok=False, espo_ok=False))
            return await book_failure(deps, run, record, exc, extra=link, plan=plan)
        row_id = stored.get("rowId")
        plan = plan.settle_advoware(row_id=row_id, stored=stored)
        run.decision.update(plan_decision(plan))
    if plan.espo_update:
        try:
            await deps.espo.update(ENTITY, run.entity_id, dict(plan.espo_update))
        except Exception as exc:
            applied = plan.snapshot_for(advoware_ok=row_id is not None, espo_ok=False, row_id=row_id)
            await save_snapshot(deps, run, betnr, applied)
            extra = {**(link or {}), **({"advowareRowId": row_id} if row_id else {})}
            return await book_failure(deps, run, record, exc, extra=extra, plan=plan)
    occurrence = str(betnr) if plan.variant == "not_found" else run.now.isoformat()
    notices = await hold_initial_conflicts(deps, run.entity_id, plan)  # initial: summed up later
    if notices != plan.notifications:
        run.decision["conflict_notice"] = "admin_summary"
    await send_plan_notices(deps, run.entity_id, notices, plan.conflicts, occurrence)
    mismatch = list(plan.roundtrip_failed) if plan.advoware_update is not None else None
    await save_snapshot(deps, run, betnr, plan.new_snapshot, mismatch)
    status = status_of(plan)
    if plan.roundtrip_failed:
        run.error = str((plan.espo_update or {}).get("syncErrorMessage") or "round trip failed")
    log.info(
        "party %s: %s (to Advoware: %s; to EspoCRM: %s; conflicts: %d)",
        run.entity_id, status, ",".join(plan.to_advoware) or "-", ",".join(plan.to_espocrm) or "-",
        len(plan.conflicts),
    )  # fmt: skip
    return SyncOutcome(run.entity_id, status, plan=plan, error=run.error)
