"""Writes in flight: what a run is about to write, stored with the snapshot before it writes.

A process killed right after the Advoware PUT (or the EspoCRM write), or a write whose answer was
lost, leaves the other system holding values the snapshot does not know; the next run would take
the service's own write for a user's edit — and a user's later undo on the first side would be
lost. So before its first data write a run stores the values it is about to push and pull
(`planned`), and marks the push done once the PUT landed (the EspoCRM write comes after it); the
next run `absorb`s those the other side now holds into the snapshot: they are the service's own
writes, not edits. A run that ends without a failure drops them. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.beteiligte.mapping import Party

INFLIGHT = "inflight"


def planned(push: tuple[str, ...], pull: tuple[str, ...], target: Party) -> dict[str, dict[str, Any]]:
    values = target.to_json()
    return {"push": {f: values[f] for f in push}, "pull": {f: values[f] for f in pull}}


def absorb(snapshot: Mapping[str, Any] | None, espo: Party, advo: Party) -> Mapping[str, Any] | None:
    """The snapshot with the in-flight writes that did land counted as synced."""
    if not snapshot or not snapshot.get(INFLIGHT):
        return snapshot
    party = dict(snapshot.get("party") or {})
    inflight = dict(snapshot[INFLIGHT])
    if inflight.get("push") and "push" not in inflight.get("done", ()):
        inflight.pop("pull", None)  # the PUT comes first: without it landing, the pull never ran
    held = {"push": advo.to_json(), "pull": espo.to_json()}  # where each kind of write lands
    for kind, values in held.items():
        for f, value in (inflight.get(kind) or {}).items():
            if values.get(f) == value:
                party[f] = value
    return {k: v for k, v in {**snapshot, "party": party}.items() if k != INFLIGHT}
