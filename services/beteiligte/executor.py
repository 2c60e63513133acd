"""Runs the party's `Call`s and `Patch`es against the clients (the runner's `Executor`).

The create is idempotent across crashes and lost answers (SYNC_RULES §1 "Create", DECISIONS 5,
23): the intent with the payload as POSTed is recorded before the POST, the betNr right after
it. A POST whose outcome is unknown (timeout, 5xx after sending) keeps the intent, so the next
run searches instead of POSTing again; one that surely failed (4xx, refused) clears it. The
GET that fetches a missing rowId after the POST (A5) is best effort: the party exists anyway.

A PUT without a clear answer (a 5xx, none) is read back: a party still at the rowId the PUT was
built on was not written (every PUT gives a new rowId, A1), so the failure is `NotApplied` and
nothing of it stays in flight — a user who then types the PUT's value in Advoware has made an
edit. Any other read-back (another rowId, a failed GET) leaves the outcome unknown.

Entries and addresses are written under the party's betNr — the record's, or the one the POST
of this run returned. An address PUT addresses Advoware's unstable `reihenfolgeIndex`: it is
looked up (one GET of the party's addresses, reused until an address POST renumbers them) right
before the PUT, and the answer must be the address meant (`AddressMismatch` otherwise). An
entry or address POST that failed without a clear answer is found again by its marker.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any

from services.bankverbindungen.executor import BankExecutor
from services.bankverbindungen.from_advoware import CREATE as CREATE_ACCOUNT
from services.bankverbindungen.from_advoware import DELETE as DELETE_ACCOUNT
from services.beteiligte.adressen.fields import marker_of
from services.clients.errors import ApiError, NotApplied, NotFound, OutcomeUnknown, maybe_applied
from services.sync.actions import Call

log = logging.getLogger("bitbylaw.beteiligte")
BANK_OPS = (CREATE_ACCOUNT, DELETE_ACCOUNT)


def fingerprint(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(dict(payload), sort_keys=True, default=str).encode()).hexdigest()[:32]


class AddressMismatch(Exception):
    """An address PUT answered with another address than the one meant (its index moved)."""

    def __init__(self, espo_id: str, advo_id: int, answer: Mapping[str, Any]) -> None:
        found_id, found_marker = answer.get("id"), marker_of(answer)
        super().__init__(
            f"address PUT for EspoCRM address {espo_id} (Advoware {advo_id}) changed Advoware address "
            f"{found_id}" + (f" (EspoCRM address {found_marker})" if found_marker else "")
        )
        self.espo_id, self.advo_id, self.answer = espo_id, advo_id, dict(answer)


class PartyExecutor:
    def __init__(self, espo: Any, advo: Any, db: Any, betnr: int | None = None) -> None:
        self.espo, self.advo, self.db = espo, advo, db
        self.betnr = betnr  # the party's, or the one this run's POST created
        self._addresses: list[dict[str, Any]] | None = None  # the GET before address PUTs

    async def call(self, call: Call) -> Any:
        body = dict(call.body or {})
        op = call.op
        if op == "update_party":
            return await self._update(int(call.target), body, call.version)
        if op == "create_party":
            return await self._create(str(call.target), body)
        if op == "update_entry":
            return await self.advo.update_kommunikation(self._betnr(), int(call.target), body)
        if op == "create_entry":
            return await self.advo.create_kommunikation(self._betnr(), body)
        if op == "update_address":
            return await self._update_address(call.target, body)
        if op == "create_address":
            self._addresses = None  # a create renumbers every reihenfolgeIndex
            return await self.advo.create_adresse(self._betnr(), body)
        if op == "create_espo_address":
            return await self.espo.create("CAdressen", body)
        if op == "delete_espo_address":
            return await self._delete_espo_address(str(call.target))
        if op in BANK_OPS:  # the party's accounts from Advoware (services/bankverbindungen)
            return await BankExecutor(self.espo, self.advo).call(call)
        raise ValueError(f"unknown party operation {op!r}")

    def _betnr(self) -> int:
        if self.betnr is None:
            raise ValueError("no betNr for an entry or address write")
        return int(self.betnr)

    async def _update_address(self, target: Any, body: dict[str, Any]) -> Any:
        advo_id, espo_id = int(target["advo_id"]), str(target["espo_id"])
        if self._addresses is None:
            self._addresses = await self.advo.list_adressen(self._betnr())
        current = next((a for a in self._addresses if int(a.get("id", -1)) == advo_id), None)
        if current is None:
            raise NotFound(
                "advoware", "PUT", "api/v1/advonet/Beteiligte/{betnr}/Adressen/{reihenfolge_index}", 404
            )
        answer = await self.advo.update_adresse(self._betnr(), int(current["reihenfolgeIndex"]), body)
        marker = marker_of(answer)
        if (answer.get("id") is not None and int(answer["id"]) != advo_id) or marker not in (None, espo_id):
            raise AddressMismatch(espo_id, advo_id, answer)
        return answer

    async def _delete_espo_address(self, record_id: str) -> Any:
        try:
            await self.espo.delete("CAdressen", record_id)
        except NotFound:
            pass  # gone already (a run that died after the delete): what was asked for
        return {"id": record_id, "deleted": True}

    async def patch(self, entity: str, record_id: str, fields: Mapping[str, Any]) -> Any:
        return await self.espo.update(entity, record_id, dict(fields))

    async def _update(self, betnr: int, body: dict[str, Any], row_id: Any) -> Any:
        try:
            return await self.advo.update_party(betnr, body)
        except ApiError as exc:
            if row_id is not None and maybe_applied(exc) and await self._still_at(betnr, row_id):
                raise NotApplied.of(exc) from exc
            raise

    async def _still_at(self, betnr: int, row_id: Any) -> bool:
        try:
            stored = await self.advo.get_party(betnr)
        except Exception as exc:  # the outcome stays unknown: the next run compares values
            log.warning("party %s not read back after a failed PUT: %s", betnr, type(exc).__name__)
            return False
        stored = stored[0] if isinstance(stored, list) and stored else stored
        return isinstance(stored, Mapping) and stored.get("rowId") == row_id

    async def _create(self, espo_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        await self.db.record_intent(espo_id, fingerprint(payload), payload)
        try:
            created = await self.advo.create_party(payload)
        except OutcomeUnknown:
            raise  # the party may exist now: the intent stays, the next run searches
        except Exception:
            await self.db.clear_intent(espo_id)  # surely not created
            raise
        betnr = int(created["betNr"])
        self.betnr = betnr
        await self.db.set_intent_betnr(espo_id, betnr)
        log.info("party %s created in Advoware as %s", espo_id, betnr)
        stored: Any = created if "name" in created else None
        row_id = created.get("rowId")
        if row_id is None:
            try:
                stored = await self.advo.get_party(betnr)
                row_id = (stored[0] if isinstance(stored, list) else stored).get("rowId")
            except Exception as exc:  # the next run compares field by field instead
                log.warning("rowId of new party %s not read: %s", betnr, type(exc).__name__)
                stored = None
        return {"betNr": betnr, "rowId": row_id, "stored": stored}
