"""The variants of the Kommunikation sync, one small function each (the project docs' table):

- Var1 new in EspoCRM → an Advoware entry (a slot of that kind reused, else a POST);
- Var2 deleted in EspoCRM → the Advoware entry becomes an empty slot;
- Var3 deleted in Advoware → removed from EspoCRM;
- Var4 new in Advoware → added to EspoCRM (type from the kind table);
- Var5 changed in EspoCRM → PUT of the same Advoware entry;
- Var6 changed in Advoware → the EspoCRM item's value replaced (type kept), no Advoware write;
plus what both sides did to one entry (same edit, conflicts: EspoCRM wins), a type change, a
pair of new values, and the one-way runs (`to_espocrm` leaves EspoCRM's edits for the next
two-way run; `to_advoware` reverts Advoware's like a conflict does).

Each returns what the entry should become: a `Want` (an entry both sides hold afterwards), a
`Drop` (an entry that leaves the sync: a slot in Advoware and/or removed from EspoCRM), or a
`Skip` (left as it is: a one-way run, or an Advoware value EspoCRM would refuse). Which writes
that takes is worked out by `plan.py`. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from services.beteiligte.kommunikation.kinds import (
    SetName,
    espo_would_reject,
    kind_by_pattern,
    kind_for_item,
    normalise,
    type_for_kind,
)
from services.beteiligte.kommunikation.match import Pair, Track
from services.beteiligte.kommunikation.read import Entry, Item, Row

Direction = Literal["both", "to_advoware", "to_espocrm"]
Overruled = tuple[str, str | None]  # (EspoCRM's value, Advoware's value) of a conflict


@dataclass(frozen=True)
class Want:
    variant: str
    set_name: SetName
    kind: int
    value: str  # what both sides hold afterwards (as the winning side holds it)
    type: str | None
    entry: Entry | None = None  # the Advoware entry; None: a slot is reused, else a POST
    item: Item | None = None  # the EspoCRM item; None: appended to the set
    row: Row | None = None  # its state row before the run
    replaces: Row | None = None  # a row whose Advoware entry is gone: this one takes its place
    conflict: Overruled | None = None


@dataclass(frozen=True)
class Drop:
    variant: str
    set_name: SetName
    row: Row | None
    slot: Entry | None = None  # Advoware entry to empty into a slot
    remove: Item | None = None  # EspoCRM item to remove
    conflict: Overruled | None = None


@dataclass(frozen=True)
class Skip:
    variant: str
    set_name: SetName
    row: Row | None
    item: Item | None = None
    rejected: Entry | None = None  # an Advoware value EspoCRM would refuse (a notice, no write)

    @property
    def pending(self) -> bool:
        """Left for a later two-way run (not a refused value, which waits for a person)."""
        return self.rejected is None


Decision = Want | Drop | Skip


# --- the six variants ------------------------------------------------------------------------


def var1_new_in_espocrm(item: Item) -> Want:
    kind = kind_for_item(item.set_name, item.type)
    return Want("var1", item.set_name, kind, item.value, item.type, item=item)


def var2_deleted_in_espocrm(t: Track) -> Drop:
    return Drop("var2", t.row.set_name, t.row, slot=t.advo)


def var3_deleted_in_advoware(t: Track) -> Drop:
    return Drop("var3", t.row.set_name, t.row, remove=t.espo)


def var4_new_in_advoware(entry: Entry) -> Want:
    kind = entry.kind or kind_by_pattern(entry.value)
    return Want("var4", entry.set_name, kind, entry.value, type_for_kind(kind), entry=entry)


def var5_changed_in_espocrm(t: Track) -> Want:
    assert t.espo is not None
    return _on_row("var5", t, t.espo.value)


def var6_changed_in_advoware(t: Track) -> Want:
    assert t.advo is not None
    return _on_row("var6", t, t.advo.value)


# --- both sides, conflicts, type change ------------------------------------------------------


def _on_row(variant: str, t: Track, value: str, conflict: Overruled | None = None) -> Want:
    item = t.espo
    espo_type = item.type if item is not None else t.row.type
    return Want(variant, t.row.set_name, t.row.kind, value, espo_type, t.advo, item, t.row, conflict=conflict)


def unchanged(t: Track) -> Want:
    assert t.espo is not None
    return _on_row("unchanged", t, t.espo.value)


def same_edit(t: Track) -> Want:
    """The same entry changed to the same value on both sides: nothing to write."""
    assert t.espo is not None
    return _on_row("same_edit", t, t.espo.value)


def conflict_changed(t: Track) -> Want:
    """Changed differently on both sides: EspoCRM's value is written over Advoware's."""
    assert t.espo is not None and t.advo is not None
    return _on_row("conflict", t, t.espo.value, (t.espo.value, t.advo.value))


def conflict_deleted_in_espocrm(t: Track) -> Drop:
    """Deleted in EspoCRM, changed in Advoware: EspoCRM wins, the entry becomes a slot."""
    assert t.advo is not None
    return Drop("conflict_slot", t.row.set_name, t.row, slot=t.advo, conflict=("", t.advo.value))


def restore(t: Track, variant: str, conflict: bool) -> Want:
    """Deleted in Advoware, kept (or changed) in EspoCRM: written again, to a slot or a POST."""
    assert t.espo is not None
    kind = t.row.kind if not t.type_changed else kind_for_item(t.espo.set_name, t.espo.type)
    overruled = (t.espo.value, None) if conflict else None
    return Want(
        variant, t.row.set_name, kind, t.espo.value, t.espo.type, None, t.espo, None, t.row, overruled
    )


def type_change(t: Track) -> list[Decision]:
    """The same value with another EspoCRM type: the old entry becomes a slot of its kind, the
    value goes to a slot or a POST of the new kind (a kind is fixed for life in Advoware)."""
    assert t.espo is not None
    if t.advo is None:
        return [restore(t, "type_change", conflict=True)]
    overruled = (t.espo.value, t.advo.value) if t.advo_changed else None
    kind = kind_for_item(t.espo.set_name, t.espo.type)
    return [
        Drop("type_change", t.row.set_name, t.row, slot=t.advo, conflict=overruled),
        Want("type_change", t.row.set_name, kind, t.espo.value, t.espo.type, item=t.espo),
    ]


def paired(p: Pair) -> Want:
    """A new item and a new entry with the same value: recorded; by the marker's value only
    (the entry's `tlf` differs), EspoCRM's value is written (an initial-sync conflict)."""
    kind = p.entry.kind or kind_for_item(p.item.set_name, p.item.type)
    conflict = (p.item.value, p.entry.value) if p.by_marker else None
    return Want(
        "paired", p.item.set_name, kind, p.item.value, p.item.type, p.entry, p.item, conflict=conflict
    )


# --- choosing a variant ----------------------------------------------------------------------


def decide_track(t: Track, direction: Direction) -> list[Decision]:
    if t.type_changed:
        return type_change(t)
    if t.espo is None:
        if t.advo is None:
            return [Drop("both_deleted", t.row.set_name, t.row)]
        return [conflict_deleted_in_espocrm(t) if t.advo_changed else var2_deleted_in_espocrm(t)]
    if t.advo is None:
        if t.espo_changed:
            return [restore(t, "conflict_restore", conflict=True)]
        if direction == "to_advoware":
            return [restore(t, "revert", conflict=False)]
        return [var3_deleted_in_advoware(t)]
    if t.espo_changed and t.advo_changed:
        return [same_edit(t) if t.advo.norm() == t.espo.norm() else conflict_changed(t)]
    if t.espo_changed:
        return [var5_changed_in_espocrm(t)]
    if t.advo_changed:
        if direction == "to_advoware":
            return [_on_row("revert", t, t.espo.value)]
        if espo_would_reject(t.row.set_name, t.advo.value):
            return [Skip("rejected", t.row.set_name, t.row, t.espo, rejected=t.advo)]
        return [var6_changed_in_advoware(t)]
    return [unchanged(t)]


def decide_new_item(item: Item) -> Decision:
    return var1_new_in_espocrm(item)


def decide_new_entry(entry: Entry, direction: Direction, rejected: bool = False) -> Decision:
    if direction == "to_advoware":  # reverted like a conflict: the entry becomes a slot again
        return Drop("revert", entry.set_name, None, slot=entry)
    if rejected:
        return Skip("rejected", entry.set_name, None, rejected=entry)
    return var4_new_in_advoware(entry)


def writes_advoware(d: Decision) -> bool:
    """Does this decision need an Advoware write of its value (online flags aside)?"""
    if isinstance(d, Drop):
        return d.slot is not None
    if isinstance(d, Want):
        return d.entry is None or d.entry.norm() != normalise(d.set_name, d.value)
    return False


def one_way(d: Decision, direction: Direction) -> Decision:
    """A `to_espocrm` run writes nothing to Advoware: such a decision waits, its state row
    unchanged, so the next two-way run still sees EspoCRM's edit (the seed's BUG-4)."""
    if direction != "to_espocrm" or not writes_advoware(d):
        return d
    if isinstance(d, Want):
        return Skip("pending", d.set_name, d.row or d.replaces, d.item)
    assert isinstance(d, Drop)
    return Skip("pending", d.set_name, d.row)
