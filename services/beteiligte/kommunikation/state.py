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
