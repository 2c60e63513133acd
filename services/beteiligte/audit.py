"""The audit trail of party sync decisions (SYNC_RULES §7, DECISIONS 17).

Every handle() leaves one entry: action and result, the plan's variant, which fields went where,
conflicts with their winner, field changes with before/after values (stored under `changes` /
`conflicts`, which the repository masks unless the firm's operators asked for values), the API
calls made (from `count_calls`) and a safe error text.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from services.beteiligte.context import ENTITY, Run, SyncDeps, log
from services.beteiligte.mapping import FIELDS, Party, Value
from services.beteiligte.plan import Plan
from services.clients.calls import CallLog
from services.db import AuditEntry


def _value(value: Value) -> Any:
    return value if value is None or isinstance(value, str) else value.isoformat()


def _changes(before: Party, after: Party, fields: tuple[str, ...]) -> dict[str, Any]:
    return {f: {"before": _value(before.get(f)), "after": _value(after.get(f))} for f in fields}


def plan_decision(plan: Plan) -> dict[str, Any]:
    """What a plan decided, as an audit `decision` (values only under masked keys)."""
    decision: dict[str, Any] = {
        "variant": plan.variant,
        "to_advoware": list(plan.to_advoware),
        "to_espocrm": list(plan.to_espocrm),
        "espo_changed": list(plan.espo_changed),
        "advo_changed": list(plan.advo_changed),
        "winners": {c.field: c.winner for c in plan.conflicts},
    }
    if plan.conflicts:
        decision["conflicts"] = {
            c.field: {"espocrm": _value(c.espo_value), "advoware": _value(c.advo_value), "winner": c.winner}
            for c in plan.conflicts
        }
    if plan.roundtrip_failed:
        decision["roundtrip_failed"] = list(plan.roundtrip_failed)
    basis = plan.basis
    if basis is not None:
        target = basis.target
        decision["changes"] = {
            "advoware": _changes(basis.advo, target, tuple(f for f in FIELDS if f in plan.to_advoware)),
            "espocrm": _changes(basis.espo, target, tuple(f for f in FIELDS if f in plan.to_espocrm)),
        }
    return decision


def api_calls(calls: CallLog | None) -> list[dict[str, Any]]:
    """Every exchange of this run (route templates: no ids, no names)."""
    if calls is None:
        return []
    return [
        {"system": r.system, "method": r.method, "route": r.route, "status": r.status, "data": r.data}
        for r in calls.records
    ]


def call_counts(calls: CallLog | None) -> dict[str, int]:
    """`{"advoware_read": n, "advoware_write": n, "espocrm_read": n, "espocrm_write": n}` (data calls)."""
    counts: Counter[str] = Counter()
    for r in calls.records if calls is not None else ():
        if r.data:
            counts[f"{r.system}_{r.kind}"] += 1
    return dict(counts)


async def record(deps: SyncDeps, run: Run, result: str, calls: CallLog | None) -> None:
    """Store the run's audit entry; a failing audit write is logged, never raised past the sync."""
    entry = AuditEntry(
        entity_type=ENTITY,
        entity_id=run.entity_id,
        action=run.audit_action or run.action,
        result=result,
        trace_id=run.trace_id,
        trigger=run.trigger,
        decision={"direction": run.direction, **run.decision},
        api_calls=api_calls(calls),
        error=run.error,
    )
    try:
        await deps.db.add_audit(entry)
    except Exception as exc:  # the sync's writes are done; losing one audit line must not undo them
        log.error("audit entry for %s not stored: %s", run.entity_id, type(exc).__name__)
