"""Who changed which entry since the last sync, for one set (e-mail or phone): matching both sides
with the per-entry state (SYNC_RULES of the project docs, "Per-entry state and matching").

- Advoware side, by entry id: same id and value → unchanged; another value → changed; the id gone
  from the party GET, or its `tlf` emptied → deleted; an id not in the state with a value → new
  (a filled slot too). Two entries with the same value: the one the state knows with that value,
  else the lowest id, is synced; the others are left alone (`ignored`).
- EspoCRM side, by value: a state row whose value is still in the set is matched (another type →
  a type change). Then, before anything is created, new items and new Advoware entries are
  paired by value — the entry's `tlf`, else the value in its marker (EspoCRM wins, a conflict).
  Then a row whose value is gone and a remaining new item of the same type are one change of
  that entry (in EspoCRM array order). Rows still unmatched were deleted in EspoCRM; items
  still unmatched are new.
Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from services.beteiligte.kommunikation.kinds import SetName, espo_would_reject, normalise
from services.beteiligte.kommunikation.read import Entry, Item, Row


@dataclass(frozen=True)
class Track:
    """A state row and what each side now holds for it."""

    row: Row
    advo: Entry | None  # None: deleted in Advoware
    espo: Item | None  # None: deleted in EspoCRM
    espo_changed: bool = False  # `espo` is a new item paired with the row's gone value
    type_changed: bool = False  # `espo` holds the row's value with another type

    @property
    def advo_changed(self) -> bool:
        return self.advo is not None and self.advo.norm() != self.row.norm()


@dataclass(frozen=True)
class Pair:
    """A new EspoCRM item and a new Advoware entry holding the same value (initial sync, a lost
    database, a lost POST answer): recorded, nothing created twice."""

    item: Item
    entry: Entry
    by_marker: bool  # paired by the marker's value; the entry's `tlf` differs (EspoCRM wins)


@dataclass
class SetMatch:
    name: SetName
    tracks: list[Track] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)
    new_items: list[Item] = field(default_factory=list)
    new_entries: list[Entry] = field(default_factory=list)
    rejected: list[Entry] = field(default_factory=list)  # values EspoCRM would refuse
    ignored: list[Entry] = field(default_factory=list)  # duplicates in Advoware, left alone


def _dedupe(entries: Sequence[Entry], rows: dict[int, Row]) -> tuple[list[Entry], list[Entry]]:
    """(synced, ignored): of entries with the same value, the one whose state row holds that
    value, else the lowest id."""
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.norm(), []).append(entry)
    kept, ignored = [], []
    for norm, group in groups.items():
        known = [e for e in group if e.id in rows and rows[e.id].norm() == norm]
        keep = (known or group)[0]
        kept.append(keep)
        ignored += [e for e in group if e is not keep]
    return sorted(kept, key=lambda e: e.id), ignored


def _by_value(name: SetName, item: Item, fresh: Sequence[Entry]) -> tuple[Entry | None, bool]:
    """The new entry holding the item's value — its `tlf`, else its marker's value."""
    for entry in fresh:
        if entry.norm() == item.norm():
            return entry, False
    for entry in fresh:
        if entry.note.value is not None and normalise(name, entry.note.value) == item.norm():
            return entry, True
    return None, False


def match_set(
    name: SetName, rows: Sequence[Row], entries: Sequence[Entry], items: Sequence[Item]
) -> SetMatch:
    out = SetMatch(name)
    by_row = {r.id: r for r in rows}
    live, out.ignored = _dedupe([e for e in entries if not e.slot and e.set_name == name], by_row)
    by_id = {e.id: e for e in live}
    fresh = [e for e in live if e.id not in by_row]
    out.rejected = [e for e in fresh if espo_would_reject(name, e.value)]
    fresh = [e for e in fresh if e not in out.rejected]
    # EspoCRM: a state row is matched by its value (a value EspoCRM holds twice counts once).
    first: dict[str, Item] = {}
    for item in items:
        first.setdefault(item.norm(), item)
    matched: dict[int, Item] = {}
    for row in rows:
        held = first.get(row.norm())
        if held is not None and all(i is not held for i in matched.values()):
            matched[row.id] = held
    typed = {rid for rid, i in matched.items() if name == "phone" and i.type != by_row[rid].type}
    # A type change keeps its item out of pairing: it is handled with its own entry.
    taken = {id(i) for i in matched.values()}
    new_items = [i for i in first.values() if id(i) not in taken]
    for item in list(new_items):
        entry, by_marker = _by_value(name, item, fresh)
        if entry is not None:
            out.pairs.append(Pair(item, entry, by_marker))
            fresh.remove(entry)
            new_items.remove(item)
    # A gone row and a new item of the same type: one change of that entry.
    gone = [r for r in rows if r.id not in matched]
    changed: dict[int, Item] = {}
    for item in list(new_items):
        same_kind = (r for r in gone if r.id not in changed and (name == "email" or r.type == item.type))
        gone_row = next(same_kind, None)
        if gone_row is not None:
            changed[gone_row.id] = item
            new_items.remove(item)
    for row in rows:
        advo = by_id.get(row.id)
        if row.id in changed:
            out.tracks.append(Track(row, advo, changed[row.id], espo_changed=True))
        else:
            out.tracks.append(Track(row, advo, matched.get(row.id), type_changed=row.id in typed))
    out.new_items = new_items
    out.new_entries = fresh
    return out
