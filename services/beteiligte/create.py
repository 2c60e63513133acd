"""Create of a party in Advoware, idempotent across crashes and lost responses (SYNC_RULES §1).

Normal path (3 data calls; 4 when the POST answer lacks `rowId`): record the intent (entity id,
payload fingerprint) → POST → record the betNr in the intent → ONE EspoCRM write (`betnr`,
`advowareRowId`, `clean`, stamp, retry fields cleared) → snapshot → clear the intent.

A later run that finds an intent:
- with a betNr (the POST succeeded, the EspoCRM write did not happen): GET the party and link
  it as an initial sync — no second POST;
- without a betNr (crash or `OutcomeUnknown` during the POST): search Advoware by name and
  first name, keep the candidates whose other fields equal the payload and that no other
  EspoCRM record links; one → adopt it like above, none → POST, several → `failed` with
  "possible duplicate, link betnr by hand" and a notification (status `duplicate_suspected`).
The Advoware party has no note field, so the `EspoCRM-ID:` marker cannot be used here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from services.beteiligte.apply import make_plan, run_plan, save_snapshot, status_of
from services.beteiligte.audit import plan_decision
from services.beteiligte.context import ENTITY, Run, SyncDeps, log
from services.beteiligte.failures import book_failure, failure_update
from services.beteiligte.mapping import ADVOWARE_ACCEPTED_FIELDS, clean_text, parse_date
from services.beteiligte.notify import send_once, value_hash
from services.beteiligte.plan import Plan, recipient_of
from services.beteiligte.ports import SyncOutcome
from services.clients.errors import NotFound, OutcomeUnknown

DUPLICATE_MESSAGE = "possible duplicate, link betnr by hand"
# Fields that identify a party when the EspoCRM record changed since the lost POST.
IDENTITY_FIELDS = frozenset({"name", "vorname", "geburtsdatum", "handelsRegisterNummer"})


def fingerprint(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(dict(payload), sort_keys=True, default=str).encode()).hexdigest()[:32]


def _norm(attr: str, value: Any) -> Any:
    if attr == "geburtsdatum":
        try:
            return parse_date(value)
        except ValueError:
            return clean_text(value)
    return clean_text(value)


def same_party(payload: Mapping[str, Any], candidate: Mapping[str, Any], fields: frozenset[str]) -> bool:
    """Do the candidate's fields equal the payload (only fields Advoware returns are compared)?"""
    compared = (fields & ADVOWARE_ACCEPTED_FIELDS) & set(candidate)
    return all(_norm(a, payload.get(a)) == _norm(a, candidate.get(a)) for a in compared)


async def create_party(
    deps: SyncDeps, run: Run, record: Mapping[str, Any], snapshot: Mapping[str, Any] | None
) -> SyncOutcome:
    """Route of a record without betnr."""
    run.audit_action = "create"
    try:
        plan = make_plan(deps, run, record, None, snapshot)
    except Exception as exc:
        return await book_failure(deps, run, record, exc)
    run.decision.update(plan_decision(plan))
    if plan.variant == "skip" or plan.advoware_create is None:
        return SyncOutcome(run.entity_id, "dry_run" if run.dry_run else "noop", plan=plan)
    if run.dry_run:
        return SyncOutcome(run.entity_id, "dry_run", plan=plan)
    intent = await deps.db.get_intent(run.entity_id)
    if intent is not None and intent.betnr is not None:
        run.decision["recovery"] = "intent_with_betnr"
        return await link_existing(deps, run, record, intent.betnr, plan)
    if intent is not None:
        return await recover(deps, run, record, plan, intent.fingerprint)
    return await post(deps, run, record, plan)


async def post(deps: SyncDeps, run: Run, record: Mapping[str, Any], plan: Plan) -> SyncOutcome:
    payload = dict(plan.advoware_create or {})
    await deps.db.record_intent(run.entity_id, fingerprint(payload))
    try:
        created = await deps.advo.create_party(payload)
    except OutcomeUnknown as exc:  # the party may exist now: the next run searches, never re-POSTs
        return await book_failure(deps, run, record, f"{exc} (outcome unknown; next run searches Advoware)")
    except Exception as exc:  # surely not created (4xx, 429/refused after retries)
        await deps.db.clear_intent(run.entity_id)
        return await book_failure(deps, run, record, exc)
    betnr = int(created["betNr"])
    await deps.db.set_intent_betnr(run.entity_id, betnr)
    log.info("party %s created in Advoware as %s", run.entity_id, betnr)
    stored: Mapping[str, Any] | None = created if "name" in created else None
    row_id = created.get("rowId")
    if row_id is None:  # A5: one GET for the rowId (and the stored record)
        try:
            stored = await deps.advo.get_party(betnr)
        except Exception as exc:
            return await book_failure(deps, run, record, exc, extra={"betnr": betnr})
        row_id = stored.get("rowId")
    return await finish(
        deps, run, record, plan.settle_advoware(row_id=row_id, betnr=betnr, stored=stored), betnr
    )


async def finish(deps: SyncDeps, run: Run, record: Mapping[str, Any], plan: Plan, betnr: int) -> SyncOutcome:
    """The one EspoCRM write after the POST, notifications, snapshot, intent cleared."""
    run.decision.update(plan_decision(plan), betnr=betnr)
    row_id = (plan.espo_update or {}).get("advowareRowId")
    try:
        await deps.espo.update(ENTITY, run.entity_id, dict(plan.espo_update or {}))
    except Exception as exc:
        applied = plan.snapshot_for(advoware_ok=True, espo_ok=False, row_id=row_id)
        await save_snapshot(deps, run, betnr, applied)
        link = {"betnr": betnr, **({"advowareRowId": row_id} if row_id else {})}
        return await book_failure(deps, run, record, exc, extra=link, plan=plan)
    for notice in plan.notifications:
        key = f"{notice.kind}:{run.entity_id}:create:{betnr}"
        await send_once(deps, run.entity_id, key, notice.kind, notice.recipient, notice.message)
    await save_snapshot(deps, run, betnr, plan.new_snapshot, list(plan.roundtrip_failed))
    await deps.db.clear_intent(run.entity_id)
    if plan.roundtrip_failed:
        run.error = str((plan.espo_update or {}).get("syncErrorMessage"))
    return SyncOutcome(run.entity_id, status_of(plan), plan=plan, error=run.error)


async def link_existing(
    deps: SyncDeps, run: Run, record: Mapping[str, Any], betnr: int, create_plan: Plan, party: Any = None
) -> SyncOutcome:
    """The party exists in Advoware (POST got through, or adopted): link it as an initial sync."""
    try:
        if party is None or party.get("rowId") is None:
            party = await deps.advo.get_party(betnr)
    except NotFound:  # the party we created is gone again: start afresh
        await deps.db.clear_intent(run.entity_id)
        return await post(deps, run, record, create_plan)
    except Exception as exc:
        return await book_failure(deps, run, record, exc, extra={"betnr": betnr})
    linked = {**record, "betnr": betnr}
    try:
        plan = make_plan(deps, run, linked, party, None)
    except Exception as exc:
        return await book_failure(deps, run, record, exc, extra={"betnr": betnr})
    link = {"betnr": betnr, "advowareRowId": party.get("rowId")}
    plan = dataclasses.replace(plan, espo_update={**link, **(plan.espo_update or {})})
    run.decision.update(plan_decision(plan), betnr=betnr)
    outcome = await run_plan(deps, run, linked, plan, betnr, link)
    if outcome.status in ("synced", "bookkeeping", "noop"):
        await deps.db.clear_intent(run.entity_id)
        outcome.status = "created"
    return outcome


async def recover(
    deps: SyncDeps, run: Run, record: Mapping[str, Any], plan: Plan, intent_print: str
) -> SyncOutcome:
    """An intent without betNr: the POST may or may not have happened. Look before POSTing."""
    payload = dict(plan.advoware_create or {})
    try:
        found = await candidates(deps, run.entity_id, payload, intent_print)
    except Exception as exc:
        return await book_failure(deps, run, record, exc)
    run.decision["recovery"] = {"candidates": len(found)}
    log.info("create recovery of %s: %d candidate(s)", run.entity_id, len(found))
    if not found:
        return await post(deps, run, record, plan)
    if len(found) == 1:
        betnr = int(found[0]["betNr"])
        await deps.db.set_intent_betnr(run.entity_id, betnr)
        return await link_existing(deps, run, record, betnr, plan, found[0])
    return await duplicate_suspected(deps, run, record, plan, sorted(int(p["betNr"]) for p in found))


async def candidates(
    deps: SyncDeps, entity_id: str, payload: Mapping[str, Any], intent_print: str
) -> list[dict[str, Any]]:
    """Parties that may be the one the lost POST created (DECISIONS 6)."""
    name = str(payload.get("name") or "")
    found = await deps.advo.search_parties(name, payload.get("vorname") or None)
    # The record changed since the POST: compare the identifying fields only.
    fields = ADVOWARE_ACCEPTED_FIELDS if fingerprint(payload) == intent_print else IDENTITY_FIELDS
    found = [p for p in found if p.get("betNr") is not None and same_party(payload, p, fields)]
    if not found:
        return []
    where = [{"type": "in", "attribute": "betnr", "value": [int(p["betNr"]) for p in found]}]
    page = await deps.espo.list(ENTITY, where=where, select=["id", "betnr"], max_size=200)
    linked = {r.get("betnr") for r in page["list"] if r.get("id") != entity_id}
    return [p for p in found if int(p["betNr"]) not in linked]


async def duplicate_suspected(
    deps: SyncDeps, run: Run, record: Mapping[str, Any], plan: Plan, betnrs: list[int]
) -> SyncOutcome:
    failure = failure_update(deps, record, DUPLICATE_MESSAGE, run)
    await deps.espo.update(ENTITY, run.entity_id, dict(failure.fields))
    message = (
        f"Beteiligter {run.entity_id}: mögliche Dublette in Advoware (betNr {', '.join(map(str, betnrs))}); "
        "bitte die richtige betnr von Hand verknüpfen."
    )
    recipient = recipient_of(record, None, deps.settings.admin_user_id)
    key = f"manual_action:{run.entity_id}:duplicate:{value_hash(betnrs)}"
    await send_once(deps, run.entity_id, key, "manual_action", recipient, message)
    run.error = DUPLICATE_MESSAGE
    run.decision["duplicate_candidates"] = betnrs
    log.warning("party %s: %d duplicate candidates, manual link needed", run.entity_id, len(betnrs))
    return SyncOutcome(run.entity_id, "duplicate_suspected", plan=plan, error=DUPLICATE_MESSAGE)
