"""The address sync's edges that touch the outside: a failed address write marks its `CAdressen`
record `failed`; a PUT that changed the wrong address (its index moved under it) is remembered,
so the next run puts the damaged address back instead of copying the damage to EspoCRM; and
the `CAdressen` webhooks find the party an address belongs to."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from services.beteiligte.adressen.fields import ENTITY as ADDRESS_ENTITY
from services.beteiligte.adressen.fields import WRITABLE, advo_values
from services.beteiligte.executor import AddressMismatch
from services.beteiligte.kommunikation.notices import Who
from services.beteiligte.rules import ENTITY, PartyDecision, recipient_of
from services.sync.actions import Call, Notify, Patch

log = logging.getLogger("bitbylaw.beteiligte")


def _address_of(action: Call | Patch) -> str | None:
    """The existing CAdressen record a failed write was for (None: not an address write)."""
    if isinstance(action, Patch):
        return action.record_id if action.entity == ADDRESS_ENTITY else None
    if action.op == "update_address":
        return str(action.target["espo_id"])
    if action.op == "create_address":
        return str(action.target)
    return None


async def mark_address_failed(espo: Any, action: Call | Patch, message: str) -> None:
    """An address write that fails makes its CAdressen record `failed` too (best effort: the
    party's failure is booked either way, and the next run writes the address again)."""
    record_id = _address_of(action)
    if record_id is None:
        return
    try:
        await espo.update(ADDRESS_ENTITY, record_id, {"syncStatus": "failed", "syncErrorMessage": message})
    except Exception as exc:
        log.warning("address %s not marked failed: %s", record_id, type(exc).__name__)


def child_failure(snapshot: dict[str, Any], error: BaseException, decision: PartyDecision) -> list[Notify]:
    """A PUT answered by another address than meant: the answering address now holds what was
    sent; the snapshot says so (the next run writes its own values back to it, instead of taking
    the damage for a desktop edit) and one notice asks a person to check both."""
    if not isinstance(error, AddressMismatch):
        return []
    found = error.answer.get("id")
    damaged = advo_values(error.answer)
    for row in snapshot.get("addresses") or []:
        if row.get("advoId") is not None and found is not None and int(row["advoId"]) == int(found):
            row["fields"] = {**row.get("fields", {}), **{f: damaged.get(f) for f in WRITABLE}}
    record = decision.record
    who = Who(str(record["id"]), record.get("betnr"), recipient_of(record, None, None))
    message = (
        f"Beteiligter {who.betnr}: beim Schreiben der Adresse {error.espo_id} hat Advoware die Adresse "
        f"{found} geändert (die Reihenfolge hat sich verschoben). Bitte beide Adressen in Advoware prüfen; "
        "die nächste Synchronisation schreibt sie erneut."
    )
    key = f"address_mismatch:{who.record_id}:{error.espo_id}:{found}"
    return [Notify(key, "manual_action", ENTITY, who.record_id, who.recipient, message)]


async def parties_of_addresses(items: Iterable[Mapping[str, Any]], db: Any, espo: Any) -> list[str]:
    """The parties whose sync a CAdressen webhook must trigger: the item's `beteiligteId` (an
    address moved to another party triggers both), else the party the database knows holds it,
    else (an update of an address never synced) its record's `beteiligteId`. A delete of an
    address the service never synced triggers nothing: there is nothing to do for it."""
    parties: list[str] = []
    for item in items:
        address_id = str(item["id"])
        found = [str(item["beteiligteId"])] if item.get("beteiligteId") else []
        known = await db.party_of_address(address_id)
        if known:
            found.append(known)
        if not found and not item.get("deleted"):
            try:
                record = await espo.get(ADDRESS_ENTITY, address_id, select=["id", "beteiligteId"])
                found += [str(record["beteiligteId"])] if record.get("beteiligteId") else []
            except Exception as exc:  # gone meanwhile, or EspoCRM down: the cron still catches it
                log.info("address %s: party not found (%s)", address_id, type(exc).__name__)
        parties += [p for p in found if p not in parties]
    return parties
