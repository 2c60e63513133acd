"""Writes in flight: what a run is about to write, stored with the snapshot before it writes.

A process killed right after the Advoware PUT (or the EspoCRM write), or a write whose answer was
lost, leaves the other system holding values the snapshot does not know; the next run would take
the service's own write for a user's edit — and a user's later undo on the first side would be
lost. So before its first data write a run stores the values it is about to push and pull
(`planned`) with the stamp its EspoCRM write carries; the next run `absorb`s the writes that
landed into the snapshot: they are the service's own writes, not edits.

- The pull (the one EspoCRM write) landed exactly when the record holds its stamp: the stamp
  travels in the same write as the data and differs from the one it replaces
  (`RetryPolicy.on_success`). So a value a user types after a write that did not land is an
  edit even when it equals the write's, and a landed write's values are synced even where a
  user has changed them since.
- The push (the Advoware PUT) carries no such mark (Advoware has no field the service owns):
  its values count where Advoware holds them.
- A pull without a stamp (a one-way run on a `clean` record, whose stamp's age makes the cron
  pick it up, carries none) counts where EspoCRM holds its values, and only once the PUT
  before it is known to have landed (`done`).

A run that ends without a failure drops them. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.beteiligte.mapping import Party
from services.sync.espotime import parse_espo_datetime

INFLIGHT = "inflight"


def planned(push: tuple[str, ...], pull: tuple[str, ...], target: Party, stamp: str | None) -> dict[str, Any]:
    values = target.to_json()
    ahead: dict[str, Any] = {"push": {f: values[f] for f in push}, "pull": {f: values[f] for f in pull}}
    if pull and stamp is not None:
        ahead["stamp"] = stamp
    return ahead


def absorb(
    snapshot: Mapping[str, Any] | None, espo: Party, advo: Party, stamp: Any
) -> Mapping[str, Any] | None:
    """The snapshot with the in-flight writes that did land counted as synced; `stamp`: the one
    the EspoCRM record holds now."""
    if not snapshot or not snapshot.get(INFLIGHT):
        return snapshot
    party = dict(snapshot.get("party") or {})
    inflight = snapshot[INFLIGHT]
    pull = inflight.get("pull") or {}
    party.update(_held(inflight.get("push"), advo))
    if inflight.get("stamp") is not None:
        if parse_espo_datetime(stamp) == parse_espo_datetime(inflight["stamp"]):
            party.update(pull)
    elif not inflight.get("push") or "push" in inflight.get("done", ()):
        party.update(_held(pull, espo))  # the PUT comes first: without it landing, no pull ran
    return {k: v for k, v in {**snapshot, "party": party}.items() if k != INFLIGHT}


def _held(values: Mapping[str, Any] | None, side: Party) -> dict[str, Any]:
    """The written values `side` still holds."""
    now = side.to_json()
    return {f: v for f, v in (values or {}).items() if now.get(f) == v}
