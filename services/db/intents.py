"""Create intents: make the Advoware party POST idempotent across crashes and lost responses.

Before the POST the sync records (EspoCRM id, the payload as POSTed, its fingerprint); right
after it the returned betNr. A retry that finds a betnr only links the party; one that finds an
intent without betnr searches Advoware with the recorded payload instead of POSTing blindly
(SYNC_RULES §1 "Create", DECISIONS 23).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .models import Intent
from .store import StoreBase

_COLUMNS = "espo_id, fingerprint, betnr, created_at, updated_at, payload"

# On conflict the fingerprint follows the newest payload, but a recorded betnr is kept (the
# party already exists in Advoware and must not be created again) and so is the recorded payload
# when none is given (a link by search records no payload of its own).
_UPSERT = f"""
INSERT INTO party_create_intents (espo_id, fingerprint, betnr, created_at, updated_at, payload)
VALUES ($1, $2, NULL, $3, $3, $4)
ON CONFLICT (espo_id) DO UPDATE SET
    fingerprint = excluded.fingerprint, updated_at = excluded.updated_at,
    payload = COALESCE(excluded.payload, party_create_intents.payload)
RETURNING {_COLUMNS}
"""


class IntentStore(StoreBase):
    async def record_intent(
        self, espo_id: str, fingerprint: str, payload: Mapping[str, Any] | None = None
    ) -> Intent:
        """Record (or refresh) the intent to create the party; keeps an existing betnr."""
        body = self._driver.dump_json(dict(payload)) if payload is not None else None
        row = await self._driver.fetchrow(
            _UPSERT, espo_id, fingerprint, self._driver.dump_ts(self._now()), body
        )
        if row is None:  # RETURNING always yields the row; guard for the type checker
            raise RuntimeError("upsert returned no row")
        return self._intent_from_row(row)

    async def set_intent_betnr(self, espo_id: str, betnr: int) -> None:
        """Record the betNr the Advoware POST returned. Raises LookupError without an intent."""
        count = await self._driver.execute(
            "UPDATE party_create_intents SET betnr = $2, updated_at = $3 WHERE espo_id = $1",
            espo_id,
            int(betnr),
            self._driver.dump_ts(self._now()),
        )
        if count == 0:
            raise LookupError(f"no create intent recorded for EspoCRM id {espo_id!r}")

    async def get_intent(self, espo_id: str) -> Intent | None:
        row = await self._driver.fetchrow(
            f"SELECT {_COLUMNS} FROM party_create_intents WHERE espo_id = $1", espo_id
        )
        return self._intent_from_row(row) if row is not None else None

    async def clear_intent(self, espo_id: str) -> bool:
        """Drop the intent once EspoCRM holds the betnr; True if there was one."""
        count = await self._driver.execute("DELETE FROM party_create_intents WHERE espo_id = $1", espo_id)
        return count > 0

    def _intent_from_row(self, row: Mapping[str, Any]) -> Intent:
        betnr = row["betnr"]
        return Intent(
            espo_id=row["espo_id"],
            fingerprint=row["fingerprint"],
            betnr=int(betnr) if betnr is not None else None,
            created_at=self._driver.load_ts(row["created_at"]),
            updated_at=self._driver.load_ts(row["updated_at"]),
            payload=self._driver.load_json(row["payload"]) if row["payload"] is not None else None,
        )
