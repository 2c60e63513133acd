"""Who changed what since the last sync, and the merged target record (SYNC_RULES §1).

Input: both sides read into `Party` values and the snapshot of what was last synced. Output: a
`Merge` — the target value of every field, which fields each side changed, and the conflicts.
Each variant has its own small function:

- `merge_update`: a snapshot exists. Advoware changed ⇔ its rowId differs from the snapshot's,
  then per field; EspoCRM changed ⇔ a field differs from the snapshot (never `modifiedAt`).
  One-sided changes are merged both ways; the same field changed differently on both sides is a
  conflict decided by the policy.
- `merge_initial`: no snapshot. Per field, an empty side is filled from the other; two different
  values → EspoCRM wins, recorded as a conflict.
- `fit_kind`: the target must be expressible on the EspoCRM side: a company has no vorname and
  cannot lose its name (clearing `firmenname` would silently turn it into a person).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from services.beteiligte.mapping import FIELDS, Kind, Party, Value

Side = Literal["espocrm", "advoware"]
Policy = Literal["espocrm_wins", "advoware_wins"]


@dataclass(frozen=True)
class Conflict:
    """One field both sides disagree on, and the side whose value was kept."""

    field: str
    espo_value: Value
    advo_value: Value
    winner: Side


@dataclass(frozen=True)
class Merge:
    target: Party
    espo_changed: tuple[str, ...]
    advo_changed: tuple[str, ...]
    conflicts: tuple[Conflict, ...]


def changed_fields(current: Party, snapshot: Party) -> tuple[str, ...]:
    return tuple(f for f in FIELDS if current.get(f) != snapshot.get(f))


def advoware_changed_fields(
    advo: Party, snapshot: Party, advo_row_id: str | None, snapshot_row_id: str | None
) -> tuple[str, ...]:
    """Fields Advoware changed; none at all while its rowId equals the snapshot's.

    rowId changes on every party PUT, so an equal rowId proves Advoware was not edited since.
    """
    if advo_row_id is not None and advo_row_id == snapshot_row_id:
        return ()
    return changed_fields(advo, snapshot)


def _resolve_both(field: str, espo: Party, advo: Party, policy: Policy) -> tuple[Value, Conflict | None]:
    espo_value, advo_value = espo.get(field), advo.get(field)
    if espo_value == advo_value:
        return espo_value, None  # both made the same edit: nothing to decide
    winner: Side = "espocrm" if policy == "espocrm_wins" else "advoware"
    value = espo_value if winner == "espocrm" else advo_value
    return value, Conflict(field, espo_value, advo_value, winner)


def merge_update(
    espo: Party,
    advo: Party,
    snapshot: Party,
    *,
    advo_row_id: str | None,
    snapshot_row_id: str | None,
    policy: Policy = "espocrm_wins",
) -> Merge:
    """Field-level three-way merge against the snapshot."""
    espo_changed = changed_fields(espo, snapshot)
    advo_changed = advoware_changed_fields(advo, snapshot, advo_row_id, snapshot_row_id)
    target: dict[str, Value] = {}
    conflicts: list[Conflict] = []
    for field in FIELDS:
        if field in espo_changed and field in advo_changed:
            target[field], conflict = _resolve_both(field, espo, advo, policy)
            if conflict:
                conflicts.append(conflict)
        elif field in advo_changed:
            target[field] = advo.get(field)
        else:
            # EspoCRM changed, or nobody did: EspoCRM's value. In the second case it equals the
            # snapshot, and a stray Advoware difference (rowId unchanged) is healed, not kept.
            target[field] = espo.get(field)
    return Merge(Party().replace(target), espo_changed, advo_changed, tuple(conflicts))


def merge_initial(espo: Party, advo: Party) -> Merge:
    """No snapshot (first sync of a linked party, or a lost database)."""
    target: dict[str, Value] = {}
    conflicts: list[Conflict] = []
    for field in FIELDS:
        espo_value, advo_value = espo.get(field), advo.get(field)
        if espo_value is None:
            target[field] = advo_value
        else:
            target[field] = espo_value
            if advo_value is not None and advo_value != espo_value:
                conflicts.append(Conflict(field, espo_value, advo_value, "espocrm"))
    # Without a snapshot nobody "changed" anything; the plan's write lists tell what moves.
    return Merge(Party().replace(target), (), (), tuple(conflicts))


def fit_kind(merge: Merge, espo: Party, advo: Party, kind: Kind) -> Merge:
    """Make the target expressible for the EspoCRM record's kind (kind changes start in EspoCRM)."""
    if kind != "company":
        return merge
    target, conflicts = merge.target, list(merge.conflicts)
    if target.vorname is not None:
        # Advoware's vorname won, but a company cannot hold one: EspoCRM (none) wins instead.
        conflicts = [c for c in conflicts if c.field != "vorname"]
        conflicts.append(Conflict("vorname", None, advo.vorname, "espocrm"))
        target = target.replace({"vorname": None})
    if target.name is None and espo.name is not None:
        conflicts.append(Conflict("name", espo.name, None, "espocrm"))
        target = target.replace({"name": espo.name})
    return Merge(target, merge.espo_changed, merge.advo_changed, tuple(conflicts))
