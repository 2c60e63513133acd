"""From the variants to the core's actions: the Advoware entry writes, the party's EspoCRM sets,
the state items each write advances, and the notices.

- Advoware writes, in this order: entries emptied into slots, PUTs of existing entries (value,
  marker, `online`), slots reused (the one of that kind with the lowest id; a slot emptied in
  this run counts, so a delete and a create of one kind are one PUT), POSTs. Every write names
  the state row it makes true (`komm.<id>`); a POST's answer names the new id.
- EspoCRM: the e-mail and phone sets are written whole inside the party's one EspoCRM write —
  every item with its `optOut`/`invalid` as read — when they differ from what EspoCRM holds;
  that write advances the rows whose EspoCRM item changed.
- A row that needs no write on either side is `agreed` (advanced whatever else fails).
- Markers are written only with an entry that is written anyway; the user's text is kept.
Pure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.beteiligte.kommunikation.kinds import SETS, SYNCED_KINDS, SetName, kind_by_pattern, normalise
from services.beteiligte.kommunikation.marker import entry_note, slot_note
from services.beteiligte.kommunikation.match import SetMatch, match_set
from services.beteiligte.kommunikation.notices import Who, conflict_notice, primary_notice, rejected_notice
from services.beteiligte.kommunikation.primary import Primary, choose, origin
from services.beteiligte.kommunikation.read import (
    ESPO_KEYS,
    Entry,
    Item,
    Row,
    read_entries,
    read_items,
    rows_of,
)
from services.beteiligte.kommunikation.state import IN_FLIGHT, POST_OP, PUT_OP, landed
from services.beteiligte.kommunikation.variants import (
    Decision,
    Direction,
    Drop,
    Skip,
    Want,
    decide_new_entry,
    decide_new_item,
    decide_track,
    one_way,
    paired,
)
from services.sync.actions import Call, Notify, Settle, Settlement

PUT, POST = PUT_OP, POST_OP


def item_key(entry_id: int | str) -> str:
    """The state item of one entry (`komm.+…`: a POST whose id the answer tells)."""
    return f"komm.{entry_id}"


@dataclass(frozen=True)
class KommPlan:
    calls: tuple[Call, ...] = ()
    espo_fields: Mapping[str, Any] = field(default_factory=dict)
    espo_advances: Mapping[str, Any] = field(default_factory=dict)
    agreed: Mapping[str, Any] = field(default_factory=dict)
    notices: tuple[Notify, ...] = ()
    pending: bool = False  # a one-way run left edits for a later two-way run
    decisions: tuple[Decision, ...] = ()
    rows: tuple[Row, ...] = ()  # the state rows before the run
    notes: Mapping[int, str] = field(default_factory=dict)  # entry id → its note as read

    def lines(self) -> list[str]:
        """What the plan does, for the dry run (kinds, ids and variants, never values)."""
        out = []
        for c in self.calls:
            body = dict(c.body or {})
            if c.op == POST:
                out.append(f"Kommunikation: POST new entry (kind {body.get('kommKz')})")
            else:
                out.append(
                    f"Kommunikation: PUT entry {c.target}" + (" (slot)" if not body.get("tlf") else "")
                )
        out += [f"Kommunikation: EspoCRM {name} written whole" for name in self.espo_fields]
        return out

    def variants(self) -> dict[str, int]:
        """How many entries each variant touched (unchanged entries left out)."""
        counts: dict[str, int] = {}
        for d in self.decisions:
            if d.variant not in ("unchanged",):
                counts[d.variant] = counts.get(d.variant, 0) + 1
        return counts


@dataclass
class _Write:
    phase: int  # 0 slot, 1 PUT of an entry, 2 slot reused, 3 POST
    entry_id: int | None  # None: POST
    kind: int
    body: dict[str, Any]
    advances: dict[str, Any]
    row: Row | None  # the row it makes true (rowId from the answer)
    placeholder: str | None = None


@dataclass
class _Builder:
    rows: Sequence[Row]
    who: Who
    direction: Direction
    free: dict[int, list[Entry]]  # reusable slots per kind, lowest id first
    writes: list[_Write] = field(default_factory=list)
    slot_writes: dict[int, _Write] = field(default_factory=dict)  # entry id → its slot write
    espo_fields: dict[str, Any] = field(default_factory=dict)
    espo_advances: dict[str, Any] = field(default_factory=dict)
    agreed: dict[str, Any] = field(default_factory=dict)
    notices: list[Notify] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    pending: bool = False
    posts: int = 0

    def add_set(self, name: SetName, record: Mapping[str, Any], entries: Sequence[Entry]) -> None:
        rows = [r for r in self.rows if r.set_name == name]
        items = read_items(record, name)
        decided = hold_behind_left(_decide(match_set(name, rows, entries, items), self.direction))
        decisions, merged = fold_duplicates(decided)
        self.decisions += decisions
        wants = [d for d in decisions if isinstance(d, Want)]
        left = {id(d.item) for d in decisions if isinstance(d, Skip) and d.item is not None}
        primary = choose(wants, items, rows, self.direction, merged, left)
        for d in decisions:
            if isinstance(d, Drop):
                self._drop(d)
            elif isinstance(d, Skip):
                self.pending |= d.pending
                if d.rejected is not None:
                    self.notices.append(rejected_notice(self.who, d.rejected))
        espo_rows: dict[int, tuple[str, Row]] = {}
        for w in sorted(wants, key=lambda w: (w.item is None, w.item.index if w.item else 0)):
            key, row, espo_change = self._want(w, primary)
            if espo_change:
                espo_rows[id(w)] = (key, row)
        if primary.overruled is not None and primary.target is not None:
            self.notices.append(primary_notice(self.who, name, primary.target, primary.overruled))
        self._espo_set(name, record, items, decisions, primary, espo_rows)

    # -- Advoware side --------------------------------------------------------------------------

    def _drop(self, d: Drop) -> None:
        keys = {item_key(d.row.id): None} if d.row is not None else {}
        if d.slot is not None:
            kind = d.slot.kind or (d.row.kind if d.row else kind_by_pattern(d.slot.value))
            body = {"tlf": "", "bemerkung": slot_note(kind, d.slot.note.user_text), "online": False}
            write = _Write(0, d.slot.id, kind, body, dict(keys), None)
            self.writes.append(write)
            self.slot_writes[d.slot.id] = write
            self.free.setdefault(kind, []).append(d.slot)
            self.free[kind].sort(key=lambda e: e.id)
        if d.remove is not None:
            self.espo_advances.update(keys)
        if d.slot is None and d.remove is None:
            self.agreed.update(keys)
        if d.conflict is not None and d.row is not None:
            self.notices.append(conflict_notice(self.who, d.row.id, d.conflict, item_key(d.row.id)))

    def _want(self, w: Want, primary: Primary) -> tuple[str, Row, bool]:
        on = _primary_of(w, primary)
        stored_primary = on
        if primary.keep_state:
            stored_primary = origin(w).primary if origin(w) is not None else False  # type: ignore[union-attr]
        espo_type = w.type if w.set_name == "phone" else None
        value_write = w.entry is None or w.entry.norm() != normalise(w.set_name, w.value)
        online_write = w.entry is not None and primary.follow and w.entry.online != on
        replaced = {item_key(w.replaces.id): None} if w.replaces is not None else {}
        key, write = "", None
        if w.entry is not None:
            key = item_key(w.entry.id)
            if value_write or online_write:
                tlf = w.value if value_write else w.entry.value
                body = {
                    "tlf": tlf,
                    "bemerkung": entry_note(tlf, w.kind, w.entry.note.user_text),
                    "online": on,
                }
                write = _Write(1, w.entry.id, w.kind, body, {}, None)
        else:
            slot = self._take_slot(w.kind)
            body = {"tlf": w.value, "online": on}
            if slot is not None:
                key = item_key(slot.id)
                body["bemerkung"] = entry_note(w.value, w.kind, slot.note.user_text)
                write = _Write(2, slot.id, w.kind, body, {}, None)
            else:
                self.posts += 1
                key = f"komm.+{w.set_name}.{self.posts}"
                body.update(bemerkung=entry_note(w.value, w.kind), kommKz=w.kind)
                write = _Write(3, None, w.kind, body, {}, None, placeholder=key)
        row_id = w.entry.row_id if w.entry is not None and write is None else None
        entry_id = w.entry.id if w.entry is not None else (write.entry_id if write else None)
        value = w.entry.value if w.entry is not None and not value_write else w.value
        row = Row(entry_id or 0, w.kind, value, espo_type, stored_primary, row_id)
        espo_change = _espo_changes(w, on)
        posted = write is not None and write.entry_id is None
        if write is not None:
            write.row = row
            write.advances = {key: True if posted else row.to_json(), **replaced}
            self.writes.append(write)
        if espo_change and not posted:  # a POST's row comes from its answer
            self.espo_advances[key] = row.to_json()
        if write is None and not espo_change:
            self.agreed[key] = row.to_json()
        if w.conflict is not None:
            known = origin(w)
            ident: int | str = known.id if known else (w.entry.id if w.entry else "new")
            self.notices.append(conflict_notice(self.who, ident, w.conflict, key))
        return key, row, espo_change

    def _take_slot(self, kind: int) -> Entry | None:
        pool = self.free.get(kind) or []
        if not pool:
            return None
        slot = pool.pop(0)
        emptied = self.slot_writes.pop(slot.id, None)
        if emptied is not None:  # a slot made in this run: one PUT instead of two
            self.writes.remove(emptied)
        return slot

    # -- EspoCRM side ---------------------------------------------------------------------------

    def _espo_set(
        self,
        name: SetName,
        record: Mapping[str, Any],
        items: Sequence[Item],
        decisions: Sequence[Decision],
        primary: Primary,
        espo_rows: Mapping[int, tuple[str, Row]],
    ) -> None:
        removed = {id(d.remove) for d in decisions if isinstance(d, Drop) and d.remove is not None}
        bound = {id(d.item): d for d in decisions if isinstance(d, Want) and d.item is not None}
        final: list[dict[str, Any]] = []
        for item in items:
            if id(item) in removed:
                continue
            w = bound.get(id(item))
            if w is not None:
                final.append(item.to_espo(w.value, w.type, _primary_of(w, primary)))
            else:
                final.append(item.to_espo(primary=item.primary if primary.target is None else False))
        for w in (d for d in decisions if isinstance(d, Want) and d.item is None):
            blank = Item(name, len(final), w.value, w.type, False)
            final.append(blank.to_espo(primary=_primary_of(w, primary)))
        if final != [item.to_espo() for item in items]:
            self.espo_fields[ESPO_KEYS[name][0]] = final

    # -- the result -----------------------------------------------------------------------------

    def calls(self) -> tuple[Call, ...]:
        ordered = sorted(self.writes, key=lambda w: (w.phase, w.entry_id or 0))
        return tuple(_call(w) for w in ordered)


def _primary_of(w: Want, primary: Primary) -> bool:
    if primary.target is None:
        return bool(w.item.primary) if w.item is not None else False
    return w is primary.target


def _espo_changes(w: Want, on: bool) -> bool:
    item = w.item
    if item is None:
        return True
    if item.norm() != normalise(w.set_name, w.value) or item.primary != on:
        return True
    return w.set_name == "phone" and item.type != w.type


def _decide(m: SetMatch, direction: Direction) -> list[Decision]:
    out: list[Decision] = []
    for t in m.tracks:
        out += decide_track(t, direction)
    out += [paired(p) for p in m.pairs]
    out += [decide_new_item(i) for i in m.new_items]
    out += [decide_new_entry(e, direction) for e in m.new_entries]
    out += [decide_new_entry(e, direction, rejected=True) for e in m.rejected]
    return [one_way(d, direction) for d in out]


def hold_behind_left(decisions: list[Decision]) -> list[Decision]:
    """A one-way run that leaves an EspoCRM item as it is (its change waits for a two-way run)
    does not add a new Advoware entry of the same value beside it: that waits too, else EspoCRM
    would hold the value twice."""
    left = {i.norm() for d in decisions if isinstance(d, Skip) and d.pending and (i := d.item) is not None}
    return [
        Skip("pending", d.set_name, d.row, None)
        if isinstance(d, Want) and d.item is None and normalise(d.set_name, d.value) in left
        else d
        for d in decisions
    ]


def fold_duplicates(decisions: list[Decision]) -> tuple[list[Decision], dict[int, Want]]:
    """Two entries that would end with the same value (an Advoware edit meeting an EspoCRM edit
    to that value): one keeps it — the one the state knows, else one Advoware holds — the other
    leaves the sync (its Advoware entry a slot, its EspoCRM item folded into the kept one)."""
    groups: dict[str, list[Want]] = {}
    for d in decisions:
        if isinstance(d, Want):
            groups.setdefault(normalise(d.set_name, d.value), []).append(d)
    merged: dict[int, Want] = {}
    replaced: dict[int, Decision] = {}
    for group in groups.values():
        if len(group) < 2:
            continue
        keep = min(group, key=lambda w: (w.row is None, w.entry is None, w.entry.id if w.entry else 0))
        for loser in group:
            if loser is keep:
                continue
            slot = loser.entry if loser.entry is not None and not loser.entry.slot else None
            replaced[id(loser)] = Drop(
                "duplicate", loser.set_name, loser.row or loser.replaces, slot, loser.item
            )
            if loser.item is not None:
                merged[id(loser.item)] = keep
    return [replaced.get(id(d), d) for d in decisions], merged


def _call(w: _Write) -> Call:
    if w.entry_id is None:
        return Call("advoware", POST, f"komm.post.{w.placeholder}", None, w.body, w.advances, _settle(w))
    return Call("advoware", PUT, f"komm.put.{w.entry_id}", w.entry_id, w.body, w.advances, _settle(w))


def _settle(w: _Write) -> Settle:
    planned = dict(w.advances)

    def settle(answer: Any) -> Settlement:
        answer = answer[0] if isinstance(answer, list) and answer else answer
        if w.row is None or not isinstance(answer, Mapping) or answer.get("id") is None:
            return Settlement(planned)
        row = dataclasses.replace(w.row, id=int(answer["id"]), row_id=answer.get("rowId"))
        return Settlement({**planned, item_key(row.id): row.to_json()})

    return settle


def plan_kommunikation(
    record: Mapping[str, Any],
    advo_record: Mapping[str, Any],
    snapshot: Mapping[str, Any] | None,
    direction: Direction,
    who: Who,
) -> KommPlan:
    raw = advo_record.get("kommunikation") or []
    rows = landed(rows_of(snapshot), raw, record, (snapshot or {}).get(IN_FLIGHT))
    entries = read_entries(raw, rows)
    known = {r.id for r in rows}
    free: dict[int, list[Entry]] = {}
    for e in entries:
        if e.slot and e.kind in SYNCED_KINDS and e.id not in known:
            free.setdefault(e.kind, []).append(e)  # type: ignore[arg-type]
    b = _Builder(rows, who, direction, free)
    for name in SETS:
        b.add_set(name, record, entries)
    return KommPlan(
        b.calls(),
        b.espo_fields,
        b.espo_advances,
        b.agreed,
        tuple(b.notices),
        b.pending,
        tuple(b.decisions),
        tuple(rows),
        {int(e["id"]): str(e.get("bemerkung") or "") for e in raw},
    )
