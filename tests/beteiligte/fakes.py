"""In-memory EspoCRM and Advoware for the party state machine, following the simulators' rules.

- `FakeEspo`: records by id; `get` 404s for a deleted record; an update of a clean record's
  synced field by a *user* sets `dirty` (E5), the service's own writes do not; `modifiedAt`
  moves on every write; `list` understands the `in` filter the adoption check uses; in-app
  notifications are kept with the step number they arrived at.
- `FakeAdvoware`: the 8 persisted party fields, a new rowId on every PUT (A1), PUT merges the
  body (like the simulator), the exact search by name/vorname (DECISIONS 6), a POST answered with
  betNr and rowId; every created party remembers which EspoCRM record's sync created it.

Faults are armed one at a time: the next write of a kind fails `before` it is applied (a 503:
the service cannot know it was not applied), is `rejected` (a 400: surely not applied), fails
`after` (applied, the answer lost) or `crash`es (applied, then the process dies: `Crash` is a
BaseException, so nothing in the service catches it).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.beteiligte.mapping import ADVOWARE_ACCEPTED_FIELDS
from services.clients.errors import ApiError, BadRequest, NotFound, OutcomeUnknown

SYNC_FIELDS = ("lastName", "firstName", "anrede", "titel", "rechtsform", "dateOfBirth", "firmenname")


class Crash(BaseException):
    """The process died right here."""


@dataclass
class Faults:
    armed: dict[str, str] = field(default_factory=dict)  # write kind → before|rejected|after|crash
    fired: list[str] = field(default_factory=list)
    # Writes that landed without an answer: (side, EspoCRM id, record before, record after).
    landed: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    answered: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)  # PUTs

    def take(self, kind: str) -> str | None:
        fault = self.armed.pop(kind, None)
        if fault is not None:
            self.fired.append(fault)
        return fault


def _refused(system: str, method: str, fault: str = "before") -> ApiError:
    if fault == "rejected":
        return BadRequest(system, method, "fake", 400)
    return ApiError(system, method, "fake", 503)


@dataclass
class FakeEspo:
    faults: Faults
    step: Any  # callable → current step number
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    notices: list[dict[str, Any]] = field(default_factory=list)
    writes: int = 0
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _clock: Any = field(default_factory=lambda: itertools.count(1))

    def _stamp(self) -> str:
        return f"2026-01-01 00:{next(self._clock):05d}"

    # -- the user -------------------------------------------------------------------------------
    def user_create(self, data: Mapping[str, Any]) -> str:
        rid = f"r{next(self._ids)}"
        self.records[rid] = {"id": rid, "syncStatus": "pending_sync", "assignedUserId": "u1", **data}
        self.records[rid]["modifiedAt"] = self._stamp()
        return rid

    def user_update(self, rid: str, data: Mapping[str, Any]) -> None:
        record = self.records[rid]
        record.update(data)
        if record.get("syncStatus") == "clean" and set(data) & set(SYNC_FIELDS):
            record["syncStatus"] = "dirty"
        record["modifiedAt"] = self._stamp()

    def user_delete(self, rid: str) -> None:
        self.records.pop(rid, None)

    # -- the client -----------------------------------------------------------------------------
    async def get(self, entity: str, record_id: str, select: Sequence[str] | None = None) -> dict[str, Any]:
        if record_id not in self.records:
            raise NotFound("espocrm", "GET", "/{entity}/{id}", 404)
        return dict(self.records[record_id])

    async def update(self, entity: str, record_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
        fault = self.faults.take("espo")
        if fault in ("before", "rejected"):
            raise _refused("espocrm", "PUT", fault)
        if record_id not in self.records:
            raise NotFound("espocrm", "PUT", "/{entity}/{id}", 404)
        self.writes += 1
        record = self.records[record_id]
        before = dict(record)
        record.update(data)
        record["modifiedAt"] = self._stamp()
        if fault in ("after", "crash"):
            self.faults.landed.append(("espo", record_id, before, dict(record)))
        if fault == "after":
            raise _refused("espocrm", "PUT")
        if fault == "crash":
            raise Crash("after the EspoCRM write")
        return dict(record)

    async def list(self, entity: str, where: Any = None, select: Any = None, **_: Any) -> dict[str, Any]:
        rows = list(self.records.values())
        for clause in where or []:
            if clause.get("type") == "in":
                rows = [r for r in rows if r.get(clause["attribute"]) in clause["value"]]
        return {"total": len(rows), "list": [dict(r) for r in rows]}

    async def notify(
        self, user_id: str, message: str, related_type: Any = None, related_id: Any = None, data: Any = None
    ) -> dict[str, Any]:
        self.notices.append(
            {"step": self.step(), "user": user_id, "id": related_id, "message": message, **(data or {})}
        )
        return {}


@dataclass
class FakeAdvoware:
    faults: Faults
    parties: dict[int, dict[str, Any]] = field(default_factory=dict)
    creator: dict[int, str] = field(default_factory=dict)  # betNr → EspoCRM id whose sync POSTed it
    created: list[tuple[str, int]] = field(default_factory=list)  # (EspoCRM id, betNr), in order
    syncing: str | None = None  # the EspoCRM id of the run in progress
    writes: int = 0
    _betnrs: Any = field(default_factory=lambda: itertools.count(1001))
    _rows: Any = field(default_factory=lambda: itertools.count(1))

    def _row(self) -> str:
        return f"row{next(self._rows)}"

    def desktop_edit(self, betnr: int, values: Mapping[str, Any]) -> None:
        self.parties[betnr].update(values)
        self.parties[betnr]["rowId"] = self._row()

    def _apply(self, kind: str, write: Any, betnr: int | None = None) -> Any:
        fault = self.faults.take(kind)
        if fault in ("before", "rejected"):
            raise _refused("advoware", kind, fault)
        self.writes += 1
        before = dict(self.parties.get(betnr, {})) if betnr is not None else {}
        result = write()
        if betnr is not None:
            landed = self.faults.landed if fault in ("after", "crash") else self.faults.answered
            landed.append(("advo", self.syncing or "?", before, dict(self.parties[betnr])))
        if fault == "after":
            raise (OutcomeUnknown if kind == "POST" else ApiError)("advoware", kind, "fake", 504)
        if fault == "crash":
            raise Crash(f"after the Advoware {kind}")
        return result

    async def get_party(self, betnr: int) -> dict[str, Any]:
        if betnr not in self.parties:
            raise NotFound("advoware", "GET", "/Beteiligte/{betnr}", 404)
        return dict(self.parties[betnr])

    async def update_party(self, betnr: int, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        def write() -> list[dict[str, Any]]:
            party = self.parties[betnr]
            party.update({k: v for k, v in body.items() if k in ADVOWARE_ACCEPTED_FIELDS})
            party["rowId"] = self._row()
            return [dict(party)]

        return self._apply("PUT", write, betnr)

    async def create_party(self, body: Mapping[str, Any]) -> dict[str, Any]:
        def write() -> dict[str, Any]:
            betnr = next(self._betnrs)
            self.parties[betnr] = {
                "betNr": betnr,
                "rowId": self._row(),
                **{k: v for k, v in body.items() if k in ADVOWARE_ACCEPTED_FIELDS},
            }
            self.creator[betnr] = self.syncing or "?"
            self.created.append((self.syncing or "?", betnr))
            return dict(self.parties[betnr])

        return self._apply("POST", write)

    async def search_parties(self, name: str, vorname: str | None = None) -> list[dict[str, Any]]:
        wanted = {"name": name, **({"vorname": vorname} if vorname else {})}
        return [
            dict(p) for p in self.parties.values() if all((p.get(k) or "") == v for k, v in wanted.items())
        ]
