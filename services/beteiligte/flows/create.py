"""Create of a party in Advoware, idempotent across crashes and lost answers (SYNC_RULES §1 Create).

1. A create intent with a betNr (the POST got through, the EspoCRM write did not): GET that
   party and link it as an initial sync — no search, no POST.
2. A create intent without betNr (the POST's outcome is unknown): search Advoware with the
   payload recorded in the intent (even with adoption off), then with the record's current
   identity when that differs and nothing matched.
3. Otherwise, with `BETEILIGTE_ADOPT_EXISTING`: search by name (+ first name) before creating.
   One match not linked elsewhere → link it; several → `duplicate_suspected`; none → POST, and
   one "possible duplicate" notice when there were partial matches.
4. The POST (the executor records the intent before it and the betNr right after it), then ONE
   EspoCRM write; the intent is cleared once EspoCRM holds the betnr.
A kind mismatch at first link is a manual action (DECISIONS 25). A link brings the Advoware
party's bank accounts over in the same run (matched to the party's EspoCRM accounts by IBAN,
else created there, `clean`), as every party sync does (SYNC_RULES §4).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from services.bankverbindungen.party_io import read_for_party, rows_of
from services.beteiligte.blocks import hold, kind_conflict
from services.beteiligte.context import PartyDeps, Run, log
from services.beteiligte.execute import audit_of, execute, failed
from services.beteiligte.identity import sort_candidates
from services.beteiligte.mapping import Party, advo_to_party, espo_kind, espo_to_party
from services.beteiligte.ports import SyncOutcome
from services.beteiligte.rules import (
    ENTITY,
    STATUS,
    decide_create,
    decide_link,
    kind_mismatch,
    recipient_of,
    snapshot_of_post,
)
from services.beteiligte.settle import unwrap
from services.clients.errors import NotFound
from services.db import Intent
from services.sync.actions import Notify


async def create(deps: PartyDeps, run: Run, record: Mapping[str, Any], intent: Intent | None) -> SyncOutcome:
    """`intent`: the record's create intent as stored when the run began."""
    run.audit_action = "create"
    facts = run.facts(deps.settings)
    decision = decide_create(record, facts, run.addresses or ())
    if decision.variant == "skip":
        return SyncOutcome(run.entity_id, "dry_run" if run.dry_run else "noop", plan=decision)
    try:
        if intent is not None and intent.betnr is not None:
            run.decision["recovery"] = "intent_with_betnr"
            party = unwrap(await deps.advo.get_party(intent.betnr))
            return await _link(deps, run, record, intent.betnr, party, ours=True, payload=intent.payload)
        matches, partials, ours = await _search(deps, run, record, intent)
    except NotFound:  # the party we created is gone again: start afresh
        if not run.dry_run:
            await deps.db.clear_intent(run.entity_id)
        matches, partials, ours = [], [], False
    except Exception as exc:
        return await failed(deps, run, record, exc)
    run.decision["search"] = {"matches": matches, "partials": partials}
    if len(matches) > 1:
        return await _duplicates(deps, run, record, matches)
    if matches:
        try:
            party = unwrap(await deps.advo.get_party(matches[0]))
        except Exception as exc:
            return await failed(deps, run, record, exc)
        payload = intent.payload if ours and intent is not None else None
        return await _link(deps, run, record, matches[0], party, ours=ours, payload=payload)
    if partials:
        decision = dataclasses.replace(
            decision, actions=(*decision.actions, _possible_duplicate(deps, record, partials))
        )
    if run.dry_run:
        run.decision.update(audit_of(decision))
        return SyncOutcome(run.entity_id, "dry_run", plan=decision)
    return await execute(deps, run, decision)


async def _search(
    deps: PartyDeps, run: Run, record: Mapping[str, Any], intent: Any
) -> tuple[list[int], list[int], bool]:
    """(matches, partials, found by the intent's payload: the party this service POSTed) — by
    the intent's payload first, then by the record's identity."""
    kind = espo_kind(record)
    current = espo_to_party(record)
    wanted: list[Party] = []
    if intent is not None and intent.payload:
        wanted.append(advo_to_party(intent.payload, kind))
    if deps.settings.adopt_existing or intent is not None:
        if not wanted or _identity(wanted[0]) != _identity(current):
            wanted.append(current)
    partials: list[int] = []
    for n, party in enumerate(wanted):
        found = await deps.advo.search_parties(party.name or "", party.vorname)
        matches, partial = sort_candidates(party, kind, found)
        if matches:
            linked = await _linked_elsewhere(deps, run.entity_id, matches)
            partial += [b for b in matches if b in linked]
            matches = [b for b in matches if b not in linked]
        partials += partial
        if matches:
            return matches, sorted(set(partials)), n == 0 and bool(intent and intent.payload)
    return [], sorted(set(partials)), False


def _identity(party: Party) -> tuple[Any, ...]:
    return tuple(
        party.get(f) for f in ("name", "vorname", "geburtsdatum", "rechtsform", "handelsregisterNummer")
    )


async def _linked_elsewhere(deps: PartyDeps, entity_id: str, betnrs: list[int]) -> set[int]:
    where = [{"type": "in", "attribute": "betnr", "value": betnrs}]
    page = await deps.espo.list(ENTITY, where=where, select=["id", "betnr"], max_size=200)
    return {int(r["betnr"]) for r in page["list"] if r.get("id") != entity_id and r.get("betnr")}


async def _link(
    deps: PartyDeps,
    run: Run,
    record: Mapping[str, Any],
    betnr: int,
    party: Mapping[str, Any],
    *,
    ours: bool,
    payload: Mapping[str, Any] | None = None,
) -> SyncOutcome:
    """Link an existing Advoware party as an initial sync: one adopted (kind checked, one
    notice), or the one our own interrupted POST created (neither). The betNr is recorded in
    the intent before any write, so a crash in the middle resumes this link, never a search."""
    if not ours and kind_mismatch(record, party):
        return await kind_conflict(deps, run, record, betnr, party)
    how = "Wiederaufnahme einer unterbrochenen Anlage" if ours else "Übernahme bei der Anlage"
    base = snapshot_of_post(record, payload)

    async def get_again() -> Any:
        return unwrap(await deps.advo.get_party(betnr))

    try:  # the Advoware party's accounts come over in this run (SYNC_RULES §4 "From Advoware")
        rows = await rows_of(deps.db, run.entity_id)
        party, bank = await read_for_party(deps.espo, run.entity_id, rows, party, get_again)
    except Exception as exc:
        return await failed(deps, run, record, exc)
    decision = decide_link(
        record,
        betnr,
        party,
        run.facts(deps.settings),
        how=how,
        base=base,
        addresses=run.addresses or (),
        bank=bank,
    )
    if ours:
        decision = dataclasses.replace(
            decision, actions=tuple(a for a in decision.actions if not isinstance(a, Notify))
        )
    run.decision["linked"] = betnr
    if run.dry_run:
        run.decision.update(audit_of(decision))
        return SyncOutcome(run.entity_id, "dry_run", plan=decision)
    log.info("party %s linked to existing Advoware party %s", run.entity_id, betnr)
    await deps.db.record_intent(run.entity_id, "link", None)  # keeps a recorded betNr
    await deps.db.set_intent_betnr(run.entity_id, betnr)
    return await execute(deps, run, decision)


async def _duplicates(deps: PartyDeps, run: Run, record: Mapping[str, Any], betnrs: list[int]) -> SyncOutcome:
    listed = ", ".join(map(str, betnrs))
    message = f"possible duplicate in Advoware (betNr {listed}): link the right betnr by hand"
    text = (
        f"Beteiligter {run.entity_id}: mehrere passende Beteiligte in Advoware (betNr {listed}); "
        "nichts wurde angelegt. Bitte die richtige betnr von Hand verknüpfen."
    )
    return await hold(
        deps, run, record, "duplicate_suspected", message, notice_kind="duplicate_suspected", notice_text=text
    )


def _possible_duplicate(deps: PartyDeps, record: Mapping[str, Any], partials: list[int]) -> Notify:
    listed = ", ".join(map(str, partials))
    text = (
        f"Beteiligter {record['id']} wurde in Advoware neu angelegt; ähnliche Beteiligte gibt es schon "
        f"(betNr {listed}). Bitte prüfen, ob es eine Dublette ist."
    )
    recipient = recipient_of(record, None, deps.settings.admin_user_id)
    key = f"possible_duplicate:{record['id']}:{listed}"
    return Notify(key, "possible_duplicate", ENTITY, str(record["id"]), recipient, text, requires=(STATUS,))
