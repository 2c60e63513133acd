"""Runs a party decision through the core's runner and settles what it applied.

After `run()`: the new snapshot computed from what was applied (`snapshot.py`) is stored with
the notices the run earned, in one transaction; the notices are delivered; a failed write is
booked on the record through the retry policy (with the link fields a POST made, so a link is
never lost); a round-trip block is remembered. Shared by the create and the update flows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from services.bankverbindungen.party_io import settle_party_plan
from services.beteiligte import summary
from services.beteiligte.address_io import child_failure, mark_address_failed
from services.beteiligte.context import PartyDeps, Run, content_fingerprint, log
from services.beteiligte.executor import AddressMismatch, PartyExecutor
from services.beteiligte.inflight import INFLIGHT, planned
from services.beteiligte.kommunikation.state import IN_FLIGHT as KOMM_IN_FLIGHT
from services.beteiligte.kommunikation.state import in_flight
from services.beteiligte.mapping import Party
from services.beteiligte.ports import Status, SyncOutcome
from services.beteiligte.rules import ENTITY, POST, PUT, PartyDecision
from services.beteiligte.settle import unwrap
from services.beteiligte.snapshot import address_ids, mismatch_fields, next_snapshot, unchanged
from services.sync.actions import Action, Call, Notify, Patch, describe
from services.sync.audit import safe_message
from services.sync.notify import to_outbox
from services.sync.policy import STAMP, FailureUpdate
from services.sync.runner import Applied, run

SUMMED_KINDS = frozenset({"conflict", "linked_existing"})
HELD = "heldNotices"  # snapshot key: notices of a write whose outcome is not known yet


async def execute(deps: PartyDeps, run_: Run, decision: PartyDecision) -> SyncOutcome:
    entries_ahead = _entries_ahead(decision)
    writes_ahead = await _write_ahead(deps, run_, decision, entries_ahead)

    async def pushed(action: Any) -> None:
        """The party PUT landed: from here on an EspoCRM write without a stamp may land too
        (one-way runs; entry and address calls do not count)."""
        landed_put = getattr(action, "key", None) == PUT
        if landed_put and writes_ahead and writes_ahead.get("pull") and "stamp" not in writes_ahead:
            await _store_ahead(deps, run_, decision, {**writes_ahead, "done": ["push"]})

    executor = PartyExecutor(deps.espo, deps.advo, deps.db, betnr=decision.record.get("betnr"))
    applied = await run(decision.actions, executor, guard=run_.guard, on_applied=pushed)
    if decision.children is not None:  # the bank account rows this run applied (their own table)
        await settle_party_plan(deps.db, decision.children.bank, applied.advanced)
    run_.decision.update(audit_of(decision, applied))
    released, held = held_notices(decision, applied)
    notices = await _hold_for_summary(deps, run_, decision, [*applied.notices, *released])
    betnr = _betnr(decision, applied)
    snapshot = next_snapshot(decision, applied)
    if snapshot is not None and applied.failure is not None:
        notices += child_failure(snapshot, applied.failure.error, decision)
    if snapshot is not None and (held or HELD in (decision.old_snapshot or {})):
        snapshot[HELD] = [dataclasses.asdict(n) for n in held]
    unsure = still_in_flight(applied)
    if snapshot is not None and writes_ahead and unsure:
        snapshot[INFLIGHT] = unsure  # the failed write may have landed: tell the next run
    if snapshot is not None and (doubt := _entry_write_in_doubt(decision, applied)):
        snapshot[KOMM_IN_FLIGHT] = doubt
    rows = to_outbox(notices, deps.settings.admin_user_id, {"betnr": betnr} if betnr else None)
    # A write ahead in the database is replaced even when nothing advanced (a write surely failed).
    stored_ahead = writes_ahead is not None or bool(entries_ahead)
    changed = stored_ahead or not unchanged(snapshot or {}, decision.old_snapshot)
    if snapshot is not None and betnr is not None and changed:
        answered = bool(set(applied.answers))
        fields = mismatch_fields(snapshot) if answered else None
        await deps.db.save_snapshot(
            run_.entity_id,
            betnr,
            snapshot,
            mismatch_fields=fields,
            notices=rows,
            addresses=address_ids(snapshot),
        )
    elif rows:
        await deps.db.enqueue_notifications(rows)
    if applied.failure is not None:
        return await _book_failure(deps, run_, decision, applied)
    if decision.variant in ("create", "link"):
        await deps.db.clear_intent(run_.entity_id)  # EspoCRM holds the betnr now
    if rows or run_.notices_waiting:  # nothing queued, nothing waiting: no outbox read
        await deps.records.deliver(run_.entity_id)
    status = status_of(decision, applied)
    if status == "permanently_failed":  # a round-trip block: until the content changes
        answer = applied.patch_answers.get((ENTITY, run_.entity_id))
        await deps.records.remember_block(
            decision.record, status, content_fingerprint(decision.record, run_.addresses), answer
        )
    if applied.problems:
        run_.error = applied.problems[0]
    log.info(
        "party %s: %s (to Advoware: %s; to EspoCRM: %s; conflicts: %d)",
        run_.entity_id, status, ",".join(decision.to_advoware) or "-", ",".join(decision.to_espocrm) or "-",
        len(decision.conflicts),
    )  # fmt: skip
    return SyncOutcome(run_.entity_id, status, plan=decision, error=run_.error)


async def _book_failure(deps: PartyDeps, run_: Run, decision: PartyDecision, applied: Applied) -> SyncOutcome:
    failure = applied.failure
    assert failure is not None
    message = safe_message(failure.error)
    if failure.outcome_unknown:
        message += " (outcome unknown; the next run looks it up before writing again)"
    if isinstance(failure.error, AddressMismatch):
        message = str(failure.error)  # ids only: which address was meant, which one answered
    kept = applied.kept.get((ENTITY, run_.entity_id), {})
    await mark_address_failed(deps.espo, failure.action, message)
    booked = await book(deps, run_, decision.record, message, extra=kept)
    await deps.records.deliver(run_.entity_id)
    status: Status = "permanently_failed" if booked.permanent else "failed"
    return SyncOutcome(run_.entity_id, status, plan=decision, error=message)


async def book(deps: PartyDeps, run_: Run, record: Any, message: str, *, extra: Any = None) -> FailureUpdate:
    """Book a failure on the record (one write) and say so in the log and the audit."""

    def notice(failure: FailureUpdate) -> Notify:
        party = record.get("betnr") or run_.entity_id
        text = f"Synchronisation von Beteiligtem {party} endgültig fehlgeschlagen: {message}"
        episode = failure.fields.get("syncAutoResetAt") or run_.now.isoformat()
        key = f"permanently_failed:{run_.entity_id}:{episode}"
        recipient = record.get("assignedUserId") or deps.settings.admin_user_id
        return Notify(key, "permanently_failed", ENTITY, run_.entity_id, recipient, text)

    booked = await deps.records.book_failure(
        record, message, fingerprint=content_fingerprint(record, run_.addresses), extra=extra, notice=notice
    )
    status = "permanently_failed" if booked.permanent else "failed"
    log.warning("sync of party %s %s: %s", run_.entity_id, status, message)
    run_.error = message
    run_.decision["failure"] = {"status": status, "retry_count": booked.fields.get("syncRetryCount")}
    return booked


async def _hold_for_summary(
    deps: PartyDeps, run_: Run, decision: PartyDecision, notices: list[Notify]
) -> list[Notify]:
    """A bulk run sums initial-sync conflicts and links up for the admin (DECISIONS 10, 29)."""
    if not run_.bulk or decision.variant not in ("initial", "link"):
        return notices
    held = [n for n in notices if n.kind in SUMMED_KINDS]
    for n in held:
        await summary.hold(deps, run_.entity_id, n.key)
    if held:
        run_.decision["notice"] = "admin_summary"
    return [n for n in notices if n.kind not in SUMMED_KINDS]


async def _write_ahead(
    deps: PartyDeps, run_: Run, decision: PartyDecision, entries: dict[str, Any]
) -> dict[str, Any] | None:
    """Store what this run is about to write before it writes (`inflight.py`), with the values
    both sides already agree on: they are true whatever happens to the writes; and the entry
    PUTs about to be made (`kommunikation/state.py`). Addresses need none: a lost POST is found
    by its marker, a PUT's fields are compared with EspoCRM's again."""
    party_writes = decision.to_advoware or decision.to_espocrm
    if decision.old_snapshot is None or not decision.record.get("betnr") or not (party_writes or entries):
        return None
    ahead = None
    if party_writes:
        ahead = planned(decision.to_advoware, decision.to_espocrm, decision.target, _stamp(decision.actions))
    await _store_ahead(deps, run_, decision, ahead)
    return ahead


def _entries_ahead(decision: PartyDecision) -> dict[str, Any]:
    children = decision.children
    if decision.old_snapshot is None or not decision.record.get("betnr") or children is None:
        return {}
    komm = children.komm
    return in_flight(komm.calls, komm.espo_advances, _stamp(decision.actions), komm.notes)


def _entry_write_in_doubt(decision: PartyDecision, applied: Applied) -> dict[str, Any] | None:
    """The failed entry PUT or party EspoCRM write, when it may have landed (no answer, or a
    5xx): the next run looks whether it did."""
    failure = applied.failure
    if failure is None or not failure.maybe_applied or decision.children is None:
        return None
    if isinstance(failure.action, Call):
        return in_flight([failure.action], {}, notes=decision.children.komm.notes) or None
    if failure.action.ref == (ENTITY, str(decision.record["id"])):
        return in_flight([], decision.children.komm.espo_advances, _stamp((failure.action,))) or None
    return None


async def _store_ahead(
    deps: PartyDeps, run_: Run, decision: PartyDecision, ahead: dict[str, Any] | None
) -> None:
    old = decision.old_snapshot or {}
    agreed = Party().replace(decision.agreed).to_json()
    party = {**(old.get("party") or {}), **{f: agreed[f] for f in decision.agreed}}
    snapshot = {**old, "party": party, **({INFLIGHT: ahead} if ahead else {})}
    if entries := _entries_ahead(decision):
        snapshot[KOMM_IN_FLIGHT] = entries
    if held := held_ahead(decision):
        snapshot[HELD] = held
    await deps.db.save_snapshot(run_.entity_id, int(decision.record["betnr"]), snapshot)


def held_ahead(decision: PartyDecision) -> list[dict[str, Any]]:
    """The held notices with this run's conflict notices added: a process that dies after the
    resolving write landed (before it sent them) leaves them held, and the next run — which no
    longer sees the conflict — sends them (`held_notices`); one that sees it again sends its own
    when it resolves it. A run that ends stores what it actually holds."""
    held = list((decision.old_snapshot or {}).get(HELD) or [])
    keys = {n["key"] for n in held}
    planned = [a for a in decision.actions if isinstance(a, Notify) and a.kind == "conflict" and a.requires]
    return held + [dataclasses.asdict(n) for n in planned if n.key not in keys]


def still_in_flight(applied: Applied) -> dict[str, Any] | None:
    """After the run only the failed write's values stay in flight, and only when it may have
    landed; what ran is in the snapshot, what never ran cannot have landed."""
    failure = applied.failure
    if failure is None or not failure.maybe_applied:
        return None
    action = failure.action
    values = {k.removeprefix("party."): v for k, v in action.advances.items() if k.startswith("party.")}
    if not values:
        return None  # an entry or address write: the next run matches it by value and marker
    fields = tuple(values)
    target = Party().replace(values)
    if isinstance(action, Call):
        return planned(fields, (), target, None)
    return planned((), fields, target, _stamp((action,)))


def _stamp(actions: Sequence[Action]) -> str | None:
    """The stamp the party's EspoCRM write carries: whether the record holds it tells whether
    the write landed (`inflight.py`). An address's write carries a stamp of its own record."""
    return next(
        (
            a.fields[STAMP]
            for a in actions
            if isinstance(a, Patch) and a.entity == ENTITY and STAMP in a.fields
        ),
        None,
    )


def held_notices(decision: PartyDecision, applied: Applied) -> tuple[list[Notify], list[Notify]]:
    """(notices to send now, notices to keep holding). A conflict notice whose resolving write
    failed without a clear answer is held in the snapshot: if a later run no longer sees that
    conflict, the write had been applied and the notice goes out; if it sees it again, that run
    notifies as usual when it resolves it. Never lost, never sent twice."""
    old = [Notify(**n) for n in ((decision.old_snapshot or {}).get(HELD) or [])]
    planned = {a.key for a in decision.actions if isinstance(a, Notify)}
    sent = {n.key for n in applied.notices}
    released = [n for n in old if n.key not in planned]
    held = [n for n in old if n.key in planned and n.key not in sent]
    held += [n for n in applied.maybe_notices if n.key not in {h.key for h in held}]
    return released, held


def _betnr(decision: PartyDecision, applied: Applied) -> int | None:
    created = unwrap(applied.answers.get(POST))
    if isinstance(created, dict) and created.get("betNr") is not None:
        return int(created["betNr"])
    betnr = decision.record.get("betnr")
    return int(betnr) if betnr else None


def status_of(decision: PartyDecision, applied: Applied) -> Status:
    written = applied.written.get((ENTITY, str(decision.record["id"])), {})
    if applied.problems:
        return "permanently_failed" if written.get("syncStatus") == "permanently_failed" else "failed"
    if decision.variant in ("create", "link"):
        return "created"
    if decision.variant in ("not_found", "gone"):
        return "deleted_in_advoware"
    if decision.writes_data:
        return "synced"
    return "bookkeeping" if written else "noop"


def audit_of(decision: PartyDecision, applied: Applied | None = None) -> dict[str, Any]:
    """What was decided (and applied), as an audit `decision`; values only under masked keys."""
    out: dict[str, Any] = {
        "variant": decision.variant,
        "to_advoware": list(decision.to_advoware),
        "to_espocrm": list(decision.to_espocrm),
        "espo_changed": list(decision.espo_changed),
        "advo_changed": list(decision.advo_changed),
        "winners": {c.field: c.winner for c in decision.conflicts},
        "actions": [describe(a) for a in decision.actions],
    }
    if decision.conflicts:
        out["conflicts"] = {
            c.field: {"espocrm": _json(c.espo_value), "advoware": _json(c.advo_value), "winner": c.winner}
            for c in decision.conflicts
        }
    changes = {
        "advoware": {f: _change(decision.advo.get(f), decision.target.get(f)) for f in decision.to_advoware},
        "espocrm": {f: _change(decision.espo.get(f), decision.target.get(f)) for f in decision.to_espocrm},
    }
    if changes["advoware"] or changes["espocrm"]:
        out["changes"] = changes
    if decision.children is not None:
        out.update(decision.children.audit())
    if applied is not None:
        out["applied"] = list(applied.answers) + [f"patch:{e}" for e, _ in applied.written]
        if applied.problems:
            out["roundtrip_failed"] = applied.problems
        if applied.failure is not None:
            out["stopped_at"] = describe(applied.failure.action)
    return out


def _json(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else value.isoformat()


def _change(before: Any, after: Any) -> dict[str, Any]:
    return {"before": _json(before), "after": _json(after)}


async def failed(deps: PartyDeps, run_: Run, record: Any, exc: Exception) -> SyncOutcome:
    """A read failed before anything was written: book it (in a dry run, only report it)."""
    message = safe_message(exc)
    if run_.dry_run:
        return SyncOutcome(run_.entity_id, "dry_run", error=message)
    booked = await book(deps, run_, record, message)
    return SyncOutcome(run_.entity_id, "permanently_failed" if booked.permanent else "failed", error=message)
