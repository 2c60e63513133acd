"""The primary entry of one set (EspoCRM `primary` ↔ Advoware `online`).

Each EspoCRM set has exactly one primary. EspoCRM → Advoware: when EspoCRM's primary is not the
entry the state recorded as primary (or there is no state yet), that entry gets `online = true`
and the other synced entries of the set `online = false`, each written only where different
(`follow`). Advoware → EspoCRM: only when the set has exactly one `online` entry and it is not
the state's primary; with several or none `online`, EspoCRM's primary stays and nothing is
written. Both moved to different entries: EspoCRM wins, one notice. A `to_advoware` run
reverts Advoware's move; a `to_espocrm` run cannot make Advoware follow (the state keeps the old
primary, so the next two-way run still sees EspoCRM's move). Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.beteiligte.kommunikation.read import Item, Row
from services.beteiligte.kommunikation.variants import Direction, Want


@dataclass(frozen=True)
class Primary:
    target: Want | None  # the entry that is primary afterwards (None: the set is empty)
    follow: bool  # Advoware's online flags are written to match, where different
    keep_state: bool  # a `to_espocrm` run: the state keeps its old primary flags
    overruled: Want | None = None  # Advoware's choice EspoCRM overruled (one notice)


def origin(want: Want) -> Row | None:
    return want.row or want.replaces


def choose(
    wants: Sequence[Want],
    items: Sequence[Item],
    rows: Sequence[Row],
    direction: Direction,
    merged: dict[int, Want],
    left: set[int],
) -> Primary:
    """`merged`: id(EspoCRM item) → the Want that absorbed it (a duplicate folded into another);
    `left`: ids of items a one-way run leaves as they are. `target` None: EspoCRM's flags stay."""
    state_primary = next((r.id for r in rows if r.primary), None)
    espo_primary = next((i for i in items if i.primary), None)
    holder = None
    if espo_primary is not None:
        if id(espo_primary) in left:  # EspoCRM's primary is an item this run leaves alone
            return Primary(None, False, True)
        holder = next((w for w in wants if w.item is espo_primary), merged.get(id(espo_primary)))
    online = [w for w in wants if w.entry is not None and w.entry.online]
    advo_choice = online[0] if len(online) == 1 else None
    advo_moved = (
        state_primary is not None
        and advo_choice is not None
        and (origin(advo_choice) is None or origin(advo_choice).id != state_primary)  # type: ignore[union-attr]
    )
    if holder is not None:
        from_row = origin(holder)
        espo_moved = state_primary is None or from_row is None or from_row.id != state_primary
        if espo_moved:
            overruled = advo_choice if advo_moved and advo_choice is not holder else None
            one_way = direction == "to_espocrm"
            return Primary(holder, not one_way, one_way, None if one_way else overruled)
    if advo_moved and direction != "to_advoware":
        return Primary(advo_choice, False, False)
    if holder is not None:
        return Primary(holder, advo_moved, False)
    # EspoCRM's primary item is gone (removed in this run) or there was none: Advoware's one
    # online entry, else the first item that stays, as EspoCRM would pick it. Advoware is not
    # written for it (with none or several online, nothing is).
    staying = sorted(wants, key=lambda w: (w.item is None, w.item.index if w.item else 0))
    target = advo_choice if advo_choice is not None else (staying[0] if staying else None)
    return Primary(target, False, direction == "to_espocrm")
