"""The Kommunikation rows of the party's new snapshot, from what the runner applied: a row
advances only when every write that names it was applied (or it needed none); a POST's row is
the one its answer named. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.beteiligte.kommunikation.read import Row

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


# -- entry PUTs in flight ---------------------------------------------------------------------
# A run stores the entry PUTs it is about to make before it makes them; a run that stopped after
# one landed (a crash, or a PUT whose answer was lost) leaves them in the snapshot. The next run
# learns each one whose value Advoware's entry now holds: the service's own write is never taken
# for a desktop user's edit (which would undo a later EspoCRM edit). POSTs need none: a lost one
# is found by its marker.
IN_FLIGHT = "kommInFlight"
PUT_OP = "update_entry"


def in_flight(calls: Sequence[Any]) -> dict[str, Any]:
    """Entry id → the value a PUT writes and the state rows it makes true."""
    return {
        str(c.target): {"tlf": str((c.body or {}).get("tlf") or ""), "advances": dict(c.advances)}
        for c in calls
        if c.op == PUT_OP
    }


def landed(rows: Sequence[Row], raw_entries: Sequence[Mapping[str, Any]], flight: Any) -> list[Row]:
    """`rows` with the PUTs in flight that Advoware shows landed (the entry holds the value
    written) applied; the others are left as stored (they never landed, or a user changed the
    entry since: an edit like any other)."""
    if not flight:
        return list(rows)
    holds = {int(e["id"]): str(e.get("tlf") or "").strip() for e in raw_entries}
    advanced: dict[str, Any] = {}
    for entry_id, put in flight.items():
        if holds.get(int(entry_id)) == put["tlf"].strip():
            advanced.update(put["advances"])
    return [Row.from_json(r) for r in next_rows(rows, {}, advanced)]
