"""The address rows of the party's new snapshot, from what the runner applied: a row advances
when every write naming it was applied, when it needed none, or — for a change only a notice
carries (a tombstone, an instruction EspoCRM already shows) — when that notice was recorded.
Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from services.beteiligte.adressen.match import AddressRow

PREFIX = "adr."


def next_rows(
    old: Sequence[AddressRow],
    agreed: Mapping[str, Any],
    advanced: Mapping[str, Any],
    noticed: Mapping[str, Mapping[str, Any]],
    notices_sent: Iterable[str],
) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {r.espo_id: r.to_json() for r in old}
    sent = set(notices_sent)
    carried = [items for key, items in noticed.items() if key in sent]
    for items in (agreed, *carried, advanced):
        for key, value in items.items():
            if not key.startswith(PREFIX) or key.startswith(PREFIX + "+"):
                continue
            espo_id = key[len(PREFIX) :]
            if value is None:
                rows.pop(espo_id, None)
            else:
                rows[espo_id] = dict(value)
    return [rows[k] for k in sorted(rows)]
