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
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any

from services.clients.errors import ApiError, NotApplied, OutcomeUnknown, maybe_applied
from services.sync.actions import Call

log = logging.getLogger("bitbylaw.beteiligte")


def fingerprint(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(dict(payload), sort_keys=True, default=str).encode()).hexdigest()[:32]


class PartyExecutor:
    def __init__(self, espo: Any, advo: Any, db: Any) -> None:
        self.espo, self.advo, self.db = espo, advo, db

    async def call(self, call: Call) -> Any:
        body = dict(call.body or {})
        if call.op == "update_party":
            return await self._update(int(call.target), body, call.version)
        if call.op == "create_party":
            return await self._create(str(call.target), body)
        raise ValueError(f"unknown party operation {call.op!r}")

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
