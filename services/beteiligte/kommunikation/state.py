"""The Kommunikation rows of the party's new snapshot, from what the runner applied: a row
advances only when every write that names it was applied (or it needed none); a POST's row is
the one its answer named. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.beteiligte.kommunikation.kinds import type_for_kind
from services.beteiligte.kommunikation.marker import parse
from services.beteiligte.kommunikation.read import Row, read_items
from services.sync.espotime import parse_espo_datetime
from services.sync.policy import STAMP

PREFIX = "komm."


def next_rows(
    old: Sequence[Row], agreed: Mapping[str, Any], advanced: Mapping[str, Any]
) -> list[dict[str, Any]]:
    rows: dict[int, dict[str, Any]] = {r.id: r.to_json() for r in old}
    for items in (agreed, advanced):
        for key, value in items.items():
            if not key.startswith(PREFIX) or not key[len(PREFIX) :].isdigit():
                continue  # party fields, and the placeholder of a POST
            entry_id = int(key[len(PREFIX) :])
            if value is None:
                rows.pop(entry_id, None)
            else:
                rows[entry_id] = dict(value)
    return [rows[k] for k in sorted(rows)]


# -- entry writes in flight --------------------------------------------------------------------
# A run stores, before it writes, the rows its entry PUTs and its EspoCRM set write will make
# true; a run that stopped after one of them landed (a crash, or a write whose answer was lost)
# leaves them in the snapshot. The next run learns each write the world shows landed — Advoware's
# entry holds the value PUT, or the note it wrote in place of another (a desktop user who types
# into the entry since leaves the note alone); the EspoCRM record holds the stamp its write
# carried (`inflight.py`: the stamp travels in the same write as the sets), else, for a write
# without one (a one-way run on a clean record), EspoCRM's set holds the item written — so the
# service's own write is never taken for a user's edit (which would undo a later edit, or
# re-create an entry a desktop user deleted), and a user's edit after a landed write is an edit
# even when it restores the old value. A row both writes name needs both to have landed. POSTs
# need none: a lost one is found by its marker.
IN_FLIGHT = "kommInFlight"
PUT_OP, POST_OP = "update_entry", "create_entry"


def in_flight(
    calls: Sequence[Any],
    espo_advances: Mapping[str, Any],
    stamp: str | None = None,
    notes: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """{"advoware": entry id → the value PUT (with the note it writes, where that differs from
    the entry's note as read: `notes`) and the rows it makes true, "espocrm": the rows the
    party's EspoCRM write makes true, "stamp": the stamp that write carries}; empty parts left
    out."""
    puts = {str(c.target): _put(c, (notes or {}).get(int(c.target))) for c in calls if c.op == PUT_OP}
    posts = [
        {"tlf": str(c.body["tlf"]), "kind": int(c.body["kommKz"]), "primary": bool(c.body.get("online"))}
        for c in calls
        if c.op == POST_OP
    ]
    espo = {k: v for k, v in espo_advances.items() if k[len(PREFIX) :].isdigit()}
    parts = (("advoware", puts), ("posts", posts), ("espocrm", espo), ("stamp", stamp if espo else None))
    return {k: v for k, v in parts if v}


def _put(call: Any, note_before: str | None) -> dict[str, Any]:
    body = call.body or {}
    put: dict[str, Any] = {"tlf": str(body.get("tlf") or ""), "advances": dict(call.advances)}
    note = body.get("bemerkung")
    if note is not None and note_before is not None and str(note) != note_before:
        put["note"] = str(note)  # a desktop user who changes the value later leaves the note
    return put


def landed(
    rows: Sequence[Row], raw_entries: Sequence[Mapping[str, Any]], record: Mapping[str, Any], flight: Any
) -> list[Row]:
    """`rows` with the writes in flight that landed applied; the others are left as stored (they
    never landed, or — for a PUT, or an EspoCRM write without a stamp — a user changed the entry
    since: an edit like any other). `record`: the EspoCRM record as read now."""
    if not flight:
        return list(rows)
    holds = {int(e["id"]): str(e.get("tlf") or "").strip() for e in raw_entries}
    notes = {int(e["id"]): str(e.get("bemerkung") or "") for e in raw_entries}
    confirmed: dict[str, Any] = {}
    refuted: set[str] = set()
    for entry_id, put in (flight.get("advoware") or {}).items():
        ok = holds.get(int(entry_id)) == put["tlf"].strip()
        ok = ok or (put.get("note") is not None and notes.get(int(entry_id)) == put["note"])
        for key, row in put["advances"].items():
            if ok:
                confirmed[key] = row
            else:
                refuted.add(key)
    old = {r.id: r for r in rows}
    stamp = flight.get("stamp")
    for key, row in (flight.get("espocrm") or {}).items():
        if stamp is not None:
            ok = parse_espo_datetime(record.get(STAMP)) == parse_espo_datetime(stamp)
        else:
            ok = _in_espocrm(record, row, old.get(int(key[len(PREFIX) :])))
        if ok:
            confirmed[key] = row
        else:
            refuted.add(key)
    advanced = {k: v for k, v in confirmed.items() if k not in refuted}
    advanced.update(_posted(rows, raw_entries, flight.get("posts") or []))
    return [Row.from_json(r) for r in next_rows(rows, {}, advanced)]


def _posted(
    rows: Sequence[Row], raw_entries: Sequence[Mapping[str, Any]], posts: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """POSTs in flight that landed: an entry the state does not know whose marker is the POST's
    (value and kind) is that POST's entry — holding the value (the lowest id of such twins), or
    emptied by a desktop user since (then it is deleted in Advoware) — even when the EspoCRM
    item it was for changed meanwhile (then that is a change of this entry)."""
    known = {r.id for r in rows}
    found: dict[str, Any] = {}
    for post in posts:
        kind, tlf = int(post["kind"]), str(post["tlf"]).strip()
        ours = [
            e
            for e in raw_entries
            if int(e["id"]) not in known
            and f"{PREFIX}{int(e['id'])}" not in found
            and (note := parse(e.get("bemerkung"))).kind == kind
            and note.value is not None
            and note.value.strip() == tlf
            and str(e.get("tlf") or "").strip() in (tlf, "")
        ]
        if ours:  # the one still holding the value first, then the lowest id
            e = min(ours, key=lambda e: (str(e.get("tlf") or "").strip() != tlf, int(e["id"])))
            row = Row(
                int(e["id"]),
                kind,
                str(post["tlf"]),
                type_for_kind(kind),
                bool(post["primary"]),
                e.get("rowId"),
            )
            found[f"{PREFIX}{int(e['id'])}"] = row.to_json()
    return found


def _in_espocrm(record: Mapping[str, Any], row: Any, before: Row | None) -> bool:
    """EspoCRM shows the write landed: the item as the row says (value, primary, type), or for a
    removal the old value gone."""
    if row is None:
        return before is not None and all(
            i.norm() != before.norm() for i in read_items(record, before.set_name)
        )
    r = Row.from_json(row)
    return any(
        i.norm() == r.norm() and i.primary == r.primary and (r.set_name == "email" or i.type == r.type)
        for i in read_items(record, r.set_name)
    )
