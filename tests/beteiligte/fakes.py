"""In-memory EspoCRM and Advoware for the party state machines, following the simulators' rules.

- `FakeEspo`: records by id; `get` 404s for a deleted record; an update of a clean record's
  synced field by a *user* sets `dirty` (E5), the service's own writes do not; `modifiedAt`
  moves on every write; `list` understands the `in` filter the adoption check uses; in-app
  notifications are kept with the step number they arrived at. The e-mail and phone sets are
  normalised like EspoCRM does (an invalid e-mail refuses the whole write, duplicates dropped,
  exactly one primary); `CAdressen` records are created, updated, deleted and listed per party.
- `FakeAdvoware`: the 8 persisted party fields, a new rowId on every PUT (A1), PUT merges the
  body (like the simulator), the exact search by name/vorname (DECISIONS 6), a POST answered with
  betNr and rowId; every created party remembers which EspoCRM record's sync created it. Its
  Kommunikation entries (POST/PUT, `kommKz` frozen, GET reports 0 for entries the API created)
  and addresses (11 fields on POST, 4 on PUT, `reihenfolgeIndex` = main first, then creation
  order) are embedded in the party GET, as the simulator does.

Faults are armed one at a time: the next write of a kind fails `before` it is applied (a 503:
the service cannot know it was not applied), is `rejected` (a 400: surely not applied), fails
`after` (applied, the answer lost) or `crash`es (applied, then the process dies: `Crash` is a
BaseException, so nothing in the service catches it). Kinds: `PUT`/`POST`
(the party), `KPUT`/`KPOST` (entries), `APUT`/`APOST` (addresses), `espo` (an EspoCRM update),
`espo_create`/`espo_delete` (CAdressen).
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.beteiligte.mapping import ADVOWARE_ACCEPTED_FIELDS
from services.clients.errors import ApiError, BadRequest, NotFound, OutcomeUnknown
from simulators.advoware.config import DEFAULT_ADDRESS_FIELDS, DEFAULT_ADDRESS_WRITABLE

SYNC_FIELDS = (
    "lastName",
    "firstName",
    "anrede",
    "titel",
    "rechtsform",
    "dateOfBirth",
    "firmenname",
    "emailAddressData",
    "phoneNumberData",
)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ADDRESS_FIELDS, ADDRESS_WRITABLE = DEFAULT_ADDRESS_FIELDS, DEFAULT_ADDRESS_WRITABLE  # as the simulator


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


def _with_primary(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    flagged = next((i for i, item in enumerate(items) if item.get("primary")), 0)
    return [{**item, "primary": i == flagged} for i, item in enumerate(items)]


def normalise_sets(data: dict[str, Any]) -> None:
    """EspoCRM's handling of written sets: refuse an invalid e-mail, drop duplicates, one primary."""
    for key, value_key in (("emailAddressData", "emailAddress"), ("phoneNumberData", "phoneNumber")):
        if key not in data:
            continue
        items, seen = [], set()
        for raw in data[key] or []:
            value = str(raw.get(value_key) or "").strip()
            if key == "emailAddressData" and not EMAIL_RE.match(value):
                raise BadRequest("espocrm", "PUT", "fake", 400, "invalid e-mail")
            marker = value.lower() if key == "emailAddressData" else value
            if not value or marker in seen:
                continue
            seen.add(marker)
            item = {value_key: value, "primary": bool(raw.get("primary")), "optOut": bool(raw.get("optOut")),
                    "invalid": bool(raw.get("invalid"))}  # fmt: skip
            if key == "phoneNumberData":
                item["type"] = raw.get("type") or "Mobile"
            items.append(item)
        data[key] = _with_primary(items)


@dataclass
class FakeEspo:
    faults: Faults
    step: Any  # callable → current step number
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    addresses: dict[str, dict[str, Any]] = field(default_factory=dict)  # CAdressen by id
    notices: list[dict[str, Any]] = field(default_factory=list)
    writes: int = 0
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _clock: Any = field(default_factory=lambda: itertools.count(1))

    def _stamp(self) -> str:
        return f"2026-01-01 00:{next(self._clock):05d}"

    def _table(self, entity: str) -> dict[str, dict[str, Any]]:
        return self.addresses if entity == "CAdressen" else self.records

    # -- the user -------------------------------------------------------------------------------
    def user_create(self, data: Mapping[str, Any]) -> str:
        rid = f"r{next(self._ids)}"
        record = {"id": rid, "syncStatus": "pending_sync", "assignedUserId": "u1", **data}
        normalise_sets(record)
        self.records[rid] = record
        record["modifiedAt"] = self._stamp()
        return rid

    def user_update(self, rid: str, data: Mapping[str, Any]) -> None:
        record = self.records[rid]
        changes = dict(data)
        normalise_sets(changes)
        synced = [f for f in changes if f in SYNC_FIELDS and record.get(f) != changes[f]]
        record.update(changes)
        if record.get("syncStatus") == "clean" and synced:
            record["syncStatus"] = "dirty"
        record["modifiedAt"] = self._stamp()

    def user_delete(self, rid: str) -> None:
        self.records.pop(rid, None)

    def user_address(self, party: str, data: Mapping[str, Any]) -> str:
        aid = f"a{next(self._ids)}"
        self.addresses[aid] = {"id": aid, "beteiligteId": party, "istStandard": False, **data}
        return aid

    def user_address_update(self, aid: str, data: Mapping[str, Any]) -> None:
        self.addresses[aid].update(data)

    # -- the client -----------------------------------------------------------------------------
    async def get(self, entity: str, record_id: str, select: Sequence[str] | None = None) -> dict[str, Any]:
        table = self._table(entity)
        if record_id not in table:
            raise NotFound("espocrm", "GET", "/{entity}/{id}", 404)
        return copy.deepcopy(table[record_id])

    async def update(self, entity: str, record_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
        fault = self.faults.take("espo")
        if fault in ("before", "rejected"):
            raise _refused("espocrm", "PUT", fault)
        table = self._table(entity)
        if record_id not in table:
            raise NotFound("espocrm", "PUT", "/{entity}/{id}", 404)
        changes = copy.deepcopy(dict(data))
        normalise_sets(changes)
        self.writes += 1
        record = table[record_id]
        before = copy.deepcopy(record)
        record.update(changes)
        record["modifiedAt"] = self._stamp()
        if fault in ("after", "crash") and entity != "CAdressen":
            self.faults.landed.append(("espo", record_id, before, dict(record)))
        if fault == "after":
            raise _refused("espocrm", "PUT")
        if fault == "crash":
            raise Crash("after the EspoCRM write")
        return copy.deepcopy(record)

    async def create(self, entity: str, data: Mapping[str, Any]) -> dict[str, Any]:
        assert entity == "CAdressen", entity
        fault = self.faults.take("espo_create")
        if fault == "before":
            raise _refused("espocrm", "POST")
        aid = f"a{next(self._ids)}"
        self.writes += 1
        self.addresses[aid] = {"id": aid, **copy.deepcopy(dict(data))}
        if fault == "after":
            raise OutcomeUnknown("espocrm", "POST", "fake", 504)
        if fault == "crash":
            raise Crash("after the CAdressen create")
        return copy.deepcopy(self.addresses[aid])

    async def delete(self, entity: str, record_id: str) -> None:
        fault = self.faults.take("espo_delete")
        if fault == "before":
            raise _refused("espocrm", "DELETE")
        if record_id not in self._table(entity):
            raise NotFound("espocrm", "DELETE", "/{entity}/{id}", 404)
        self.writes += 1
        self._table(entity).pop(record_id)
        if fault == "after":
            raise _refused("espocrm", "DELETE")
        if fault == "crash":
            raise Crash("after the CAdressen delete")

    async def list_linked(self, entity: str, record_id: str, link: str) -> list[dict[str, Any]]:
        assert (entity, link) == ("CBeteiligte", "adressen")
        return [copy.deepcopy(a) for a in self.addresses.values() if a.get("beteiligteId") == record_id]

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
    written: list[tuple[str, int, Any]] = field(default_factory=list)  # (kind, betNr, entry/address id)
    _betnrs: Any = field(default_factory=lambda: itertools.count(1001))
    _rows: Any = field(default_factory=lambda: itertools.count(1))
    _ids: Any = field(default_factory=lambda: itertools.count(5001))

    def _row(self) -> str:
        return f"row{next(self._rows)}"

    def desktop_edit(self, betnr: int, values: Mapping[str, Any]) -> None:
        self.parties[betnr].update(values)
        self.parties[betnr]["rowId"] = self._row()

    # -- desktop users of entries and addresses (the party rowId stays: A2) ---------------------
    def desktop_entry(self, betnr: int, tlf: str, kind: int, online: bool = False, note: str = "") -> int:
        entry = {"id": next(self._ids), "rowId": self._row(), "tlf": tlf, "bemerkung": note, "kommKz": kind,
                 "online": online}  # fmt: skip
        self.parties[betnr].setdefault("kommunikation", []).append(entry)
        return int(entry["id"])

    def desktop_entry_edit(self, betnr: int, entry_id: int, values: Mapping[str, Any]) -> None:
        entry = next(e for e in self.parties[betnr]["kommunikation"] if e["id"] == entry_id)
        entry.update(values)
        entry["rowId"] = self._row()

    def desktop_address(self, betnr: int, values: Mapping[str, Any]) -> int:
        return self._add_address(betnr, values)

    def desktop_address_edit(self, betnr: int, address_id: int, values: Mapping[str, Any]) -> None:
        address = next(a for a in self.parties[betnr]["adressen"] if a["id"] == address_id)
        address.update(values)
        address["rowId"] = self._row()

    def desktop_address_delete(self, betnr: int, address_id: int) -> None:
        self.parties[betnr]["adressen"] = [
            a for a in self.parties[betnr]["adressen"] if a["id"] != address_id
        ]

    # -- the client -----------------------------------------------------------------------------
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
            raise (OutcomeUnknown if kind.endswith("POST") else ApiError)("advoware", kind, "fake", 504)
        if fault == "crash":
            raise Crash(f"after the Advoware {kind}")
        return result

    def _party(self, betnr: int) -> dict[str, Any]:
        if betnr not in self.parties:
            raise NotFound("advoware", "GET", "/Beteiligte/{betnr}", 404)
        return self.parties[betnr]

    async def get_party(self, betnr: int) -> dict[str, Any]:
        party = copy.deepcopy(self._party(betnr))
        party["kommunikation"] = [
            {**e, "kommKz": 0 if e.get("api") else e["kommKz"]} for e in party.get("kommunikation", [])
        ]
        party["adressen"] = self._indexed(betnr)
        return party

    async def update_party(self, betnr: int, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        def write() -> list[dict[str, Any]]:
            party = self._party(betnr)
            party.update({k: v for k, v in body.items() if k in ADVOWARE_ACCEPTED_FIELDS})
            party["rowId"] = self._row()
            return [{k: v for k, v in party.items() if k not in ("kommunikation", "adressen")}]

        return self._apply("PUT", write, betnr)

    async def create_party(self, body: Mapping[str, Any]) -> dict[str, Any]:
        def write() -> dict[str, Any]:
            betnr = next(self._betnrs)
            self.parties[betnr] = {
                "betNr": betnr,
                "rowId": self._row(),
                **{k: v for k, v in body.items() if k in ADVOWARE_ACCEPTED_FIELDS},
                "kommunikation": [],
                "adressen": [],
            }
            self.creator[betnr] = self.syncing or "?"
            self.created.append((self.syncing or "?", betnr))
            return {k: v for k, v in self.parties[betnr].items() if k not in ("kommunikation", "adressen")}

        return self._apply("POST", write)

    async def search_parties(self, name: str, vorname: str | None = None) -> list[dict[str, Any]]:
        wanted = {"name": name, **({"vorname": vorname} if vorname else {})}
        return [
            {k: v for k, v in p.items() if k not in ("kommunikation", "adressen")}
            for p in self.parties.values()
            if all((p.get(k) or "") == v for k, v in wanted.items())
        ]

    async def create_kommunikation(self, betnr: int, body: Mapping[str, Any]) -> dict[str, Any]:
        def write() -> dict[str, Any]:
            entry = {"id": next(self._ids), "rowId": self._row(), "tlf": str(body.get("tlf") or ""),
                     "bemerkung": str(body.get("bemerkung") or ""), "kommKz": int(body["kommKz"]),
                     "online": bool(body.get("online")), "api": True}  # fmt: skip
            self._party(betnr).setdefault("kommunikation", []).append(entry)
            self.written.append(("KPOST", betnr, entry["id"]))
            return {k: v for k, v in entry.items() if k != "api"}

        return self._apply("KPOST", write)

    async def update_kommunikation(self, betnr: int, komm_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        def write() -> dict[str, Any]:
            entries = self._party(betnr).get("kommunikation", [])
            entry = next((e for e in entries if e["id"] == komm_id), None)
            if entry is None:
                raise NotFound("advoware", "PUT", "/Kommunikationen/{id}", 404)
            for key in ("tlf", "bemerkung", "online"):
                if key in body:
                    entry[key] = bool(body[key]) if key == "online" else str(body[key] or "")
            entry["rowId"] = self._row()
            self.written.append(("KPUT", betnr, komm_id))
            return {k: v for k, v in entry.items() if k != "api"}

        return self._apply("KPUT", write)

    def _indexed(self, betnr: int) -> list[dict[str, Any]]:
        ordered = sorted(
            self._party(betnr).get("adressen", []), key=lambda a: (not a.get("standardAnschrift"), a["seq"])
        )
        return [
            {**{k: v for k, v in a.items() if k != "seq"}, "reihenfolgeIndex": i}
            for i, a in enumerate(ordered, 1)
        ]

    def _add_address(self, betnr: int, values: Mapping[str, Any]) -> int:
        party = self._party(betnr)
        if values.get("standardAnschrift"):
            for other in party.get("adressen", []):
                other["standardAnschrift"] = False
        address = {"id": next(self._ids), "rowId": self._row(), "seq": next(self._ids),
                   **{f: values.get(f) for f in ADDRESS_FIELDS}}  # fmt: skip
        address["standardAnschrift"] = bool(values.get("standardAnschrift"))
        party.setdefault("adressen", []).append(address)
        return int(address["id"])

    async def list_adressen(self, betnr: int) -> list[dict[str, Any]]:
        return self._indexed(betnr)

    async def create_adresse(self, betnr: int, body: Mapping[str, Any]) -> dict[str, Any]:
        def write() -> dict[str, Any]:
            address_id = self._add_address(betnr, body)
            self.written.append(("APOST", betnr, address_id))
            return next(a for a in self._indexed(betnr) if a["id"] == address_id)

        return self._apply("APOST", write)

    async def update_adresse(
        self, betnr: int, reihenfolge_index: int, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        def write() -> dict[str, Any]:
            indexed = self._indexed(betnr)
            if not 1 <= reihenfolge_index <= len(indexed):
                raise NotFound("advoware", "PUT", "/Adressen/{index}", 404)
            address_id = indexed[reihenfolge_index - 1]["id"]
            address = next(a for a in self._party(betnr)["adressen"] if a["id"] == address_id)
            for name in ADDRESS_WRITABLE:
                if name in body:
                    address[name] = body[name]
            address["rowId"] = self._row()
            self.written.append(("APUT", betnr, address_id))
            return next(a for a in self._indexed(betnr) if a["id"] == address_id)

        return self._apply("APUT", write)
