"""In-memory stand-ins for both systems and an apply helper, for the Beteiligte plan tests.

`MemoryAdvoware` keeps only the 8 persisted fields of a POST/PUT body (others are dropped, A7),
sets a missing persisted field to None on PUT (so a body that is not a full read-modify-write
loses data and the tests notice), gives every write a new rowId (A1) and can be told to ignore
fields (the round-trip tests). `apply_plan` runs a `Plan` the way the real apply side will.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.beteiligte.mapping import ADVOWARE_ACCEPTED_FIELDS
from services.beteiligte.plan import Plan

_row_ids = itertools.count(1000)


def new_row_id() -> str:
    return f"row-{next(_row_ids)}"


@dataclass
class MemoryAdvoware:
    records: dict[int, dict[str, Any]] = field(default_factory=dict)
    ignored: frozenset[str] = frozenset()  # persisted in theory, silently ignored here
    calls: list[str] = field(default_factory=list)
    next_betnr: int = 500

    def _store(self, record: dict[str, Any], body: Mapping[str, Any], *, full: bool) -> None:
        for attr in sorted(ADVOWARE_ACCEPTED_FIELDS - self.ignored):
            if attr in body:
                record[attr] = body[attr]
            elif full:
                record[attr] = None
        record["rowId"] = new_row_id()

    def post(self, body: Mapping[str, Any]) -> dict[str, Any]:
        self.calls.append("POST")
        betnr, self.next_betnr = self.next_betnr, self.next_betnr + 1
        record: dict[str, Any] = {"betNr": betnr, "kommunikation": []}
        self._store(record, body, full=False)
        self.records[betnr] = record
        return {"betNr": betnr}  # no rowId: the client does one GET (A5)

    def put(self, betnr: int, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        self.calls.append("PUT")
        assert "kommunikation" not in body and "rowId" not in body
        self._store(self.records[betnr], body, full=True)
        return [dict(self.records[betnr])]

    def get(self, betnr: int) -> dict[str, Any]:
        self.calls.append("GET")
        return dict(self.records[betnr])


@dataclass
class Store:
    """The service database: snapshot per EspoCRM id, and the notifications sent."""

    snapshots: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    notifications: list[Any] = field(default_factory=list)
    espo_writes: int = 0


def apply_plan(plan: Plan, espo: dict[str, Any], advo: MemoryAdvoware, store: Store) -> Plan:
    """Run a plan: Advoware write + settle, one EspoCRM write, notifications, snapshot."""
    if plan.advoware_create is not None:
        betnr = advo.post(plan.advoware_create)["betNr"]
        stored = advo.get(betnr)
        plan = plan.settle_advoware(row_id=stored["rowId"], stored=stored, betnr=betnr)
    elif plan.advoware_update is not None:
        stored = advo.put(espo["betnr"], plan.advoware_update)[0]
        plan = plan.settle_advoware(row_id=stored["rowId"], stored=stored)
    if plan.espo_update is not None:
        store.espo_writes += 1
        espo.update(plan.espo_update)
    store.notifications.extend(plan.notifications)
    if plan.new_snapshot is not None:
        store.snapshots[espo["id"]] = plan.new_snapshot
    return plan


def fixed_now() -> datetime:
    from datetime import UTC

    return datetime(2026, 3, 29, 12, 0, 0, tzinfo=UTC)
