"""The party's new snapshot, computed from what the runner applied (SYNC_RULES §1 "Sync state").

- a field equal on both sides before the run, or whose write was applied, advances (to what
  the applied write made true: the target, or what Advoware stored when it did not stick);
- a field whose write failed or was not attempted keeps its old value, so the next run sees the
  same change and the same conflict (DECISIONS 22);
- the rowId is stored only when the new snapshot describes Advoware's party completely (every
  Advoware-side change was also applied to EspoCRM); otherwise the old rowId stays and the next
  run compares Advoware field by field again;
- an initial sync (no old snapshot) stores nothing until every field is settled;
- the Kommunikation rows and the addresses advance per applied write (`children.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from services.beteiligte.inflight import INFLIGHT
from services.beteiligte.kommunikation.state import IN_FLIGHT as KOMM_IN_FLIGHT
from services.beteiligte.mapping import FIELDS, Party, Value, advo_to_party
from services.beteiligte.rules import POST, PUT, PartyDecision, item
from services.beteiligte.settle import MISMATCH, stored_of

if TYPE_CHECKING:
    from services.sync.runner import Applied


def next_snapshot(decision: PartyDecision, applied: Applied) -> dict[str, Any] | None:
    old = decision.old_snapshot
    old_party = Party.from_json(old.get("party") or {}) if old else None
    items: dict[str, Any] = {**{item(f): v for f, v in decision.agreed.items()}, **applied.advanced}
    values: dict[str, Value] = {}
    for f in FIELDS:
        if item(f) in items:
            values[f] = items[item(f)]
        elif old_party is not None:
            values[f] = old_party.get(f)
        else:
            return None  # an initial sync that left work undone: it runs again as one
    party = Party().replace(values)
    answer = applied.answers.get(PUT, applied.answers.get(POST))
    stored = stored_of(answer) if answer is not None else None
    advo_after = advo_to_party(stored, decision.kind) if stored is not None else decision.advo
    if stored is not None:
        row_id = stored.get("rowId") or (answer or {}).get("rowId")
    else:
        row_id = decision.row_id if answer is None else None
    complete = party == advo_after and (stored is not None or answer is None)
    kept = {k: v for k, v in (old or {}).items() if k not in (INFLIGHT, KOMM_IN_FLIGHT)}
    children = decision.children
    return {
        **kept,
        "party": party.to_json(),
        "kind": decision.kind,
        # Keeping the old rowId makes the next run compare Advoware field by field again.
        "rowId": row_id if complete else (old or {}).get("rowId"),
        "assignedUserId": decision.record.get("assignedUserId"),
        MISMATCH: items.get(MISMATCH, (old or {}).get(MISMATCH)),
        **(children.state(applied.advanced, [n.key for n in applied.notices]) if children else {}),
    }


def address_ids(snapshot: Mapping[str, Any]) -> list[str]:
    """The EspoCRM ids of the party's addresses (tombstones too): the database answers "which
    party holds address X" from them."""
    return [str(a["espoId"]) for a in snapshot.get("addresses") or [] if a.get("espoId")]


def unchanged(new: Mapping[str, Any], old: Mapping[str, Any] | None) -> bool:
    return old is not None and all(new.get(k) == old.get(k) for k in set(new) | set(old))


def mismatch_fields(snapshot: Mapping[str, Any]) -> list[str]:
    return list((snapshot.get(MISMATCH) or {}).get("fields") or [])
