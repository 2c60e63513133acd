"""Party sync state: per EspoCRM party, the snapshot of what the service last synced.

The snapshot is an opaque JSON object for this layer (mapped party fields, Kommunikation
entries, addresses, last Advoware rowId, assigned user, kind); the sync logic owns its shape.
Next to it: the field names of the last round-trip mismatch, for "the same mismatch twice in a
row → permanently_failed" (SYNC_RULES §1 "Round-trip validation"), and which addresses the
party holds (`party_addresses`: a CAdressen webhook names only the address), written with the
snapshot in one transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from .models import JsonDict, OutboxNotification, PartySyncState, normalize_fields
from .store import StoreBase

_COLUMNS = "espo_id, betnr, snapshot, mismatch_fields, updated_at"

_UPSERT_KEEP_MISMATCH = """
INSERT INTO party_sync_state (espo_id, betnr, snapshot, mismatch_fields, updated_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (espo_id) DO UPDATE SET
    betnr = excluded.betnr, snapshot = excluded.snapshot, updated_at = excluded.updated_at
"""

_ADDRESS_UPSERT = """
INSERT INTO party_addresses (address_id, espo_id, updated_at) VALUES ($1, $2, $3)
ON CONFLICT (address_id) DO UPDATE SET espo_id = excluded.espo_id, updated_at = excluded.updated_at
"""

_UPSERT_SET_MISMATCH = """
INSERT INTO party_sync_state (espo_id, betnr, snapshot, mismatch_fields, updated_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (espo_id) DO UPDATE SET
    betnr = excluded.betnr, snapshot = excluded.snapshot,
    mismatch_fields = excluded.mismatch_fields, updated_at = excluded.updated_at
"""


class PartySnapshotStore(StoreBase):
    async def get_snapshot(self, espo_id: str) -> JsonDict | None:
        """The stored snapshot of the party, or None if the service never synced it."""
        state = await self.get_sync_state(espo_id)
        return state.snapshot if state is not None else None

    async def get_sync_state(self, espo_id: str) -> PartySyncState | None:
        """Snapshot plus betnr, last mismatch fields and time of the last save."""
        row = await self._driver.fetchrow(
            f"SELECT {_COLUMNS} FROM party_sync_state WHERE espo_id = $1", espo_id
        )
        return self._state_from_row(row) if row is not None else None

    async def save_snapshot(
        self,
        espo_id: str,
        betnr: int,
        snapshot: Mapping[str, Any],
        *,
        mismatch_fields: Sequence[str] | None = None,
        notices: Sequence[OutboxNotification] = (),
        addresses: Sequence[str] | None = None,
    ) -> None:
        """Store (insert or replace) the party's snapshot, and record `notices` in the same
        transaction (SYNC_RULES §7: a notice is never lost between the state and its sending).

        `mismatch_fields`: None keeps the stored mismatch; a sequence replaces it (empty clears
        it, as after a write that stuck). `addresses`: None keeps the party's address ids; a
        sequence replaces them.
        """
        fields = normalize_fields(mismatch_fields or ())
        sql = _UPSERT_KEEP_MISMATCH if mismatch_fields is None else _UPSERT_SET_MISMATCH
        args = (
            espo_id,
            int(betnr),
            self._driver.dump_json(dict(snapshot)),
            self._driver.dump_json(list(fields)),
            self._driver.dump_ts(self._now()),
        )
        if not notices and addresses is None:
            await self._driver.execute(sql, *args)
            return
        async with self._driver.transaction() as tx:
            await tx.execute(sql, *args)
            if addresses is not None:
                await self._replace_addresses(tx, espo_id, addresses)
            if notices:
                await self.enqueue_notifications(notices, tx)  # type: ignore[attr-defined]

    async def _replace_addresses(self, tx: Any, espo_id: str, addresses: Sequence[str]) -> None:
        wanted = set(addresses)
        rows = await tx.fetch("SELECT address_id FROM party_addresses WHERE espo_id = $1", espo_id)
        for row in rows:
            if row["address_id"] not in wanted:
                await tx.execute("DELETE FROM party_addresses WHERE address_id = $1", row["address_id"])
        now = self._driver.dump_ts(self._now())
        for address_id in sorted(wanted):
            await tx.execute(_ADDRESS_UPSERT, address_id, espo_id, now)

    async def party_of_address(self, address_id: str) -> str | None:
        """The party whose last synced snapshot holds EspoCRM address `address_id`."""
        row = await self._driver.fetchrow(
            "SELECT espo_id FROM party_addresses WHERE address_id = $1", address_id
        )
        return str(row["espo_id"]) if row is not None else None

    async def delete_snapshot(self, espo_id: str) -> bool:
        """Forget the party's sync state (e.g. `beteiligte unlink`); True if there was one."""
        async with self._driver.transaction() as tx:
            count = await tx.execute("DELETE FROM party_sync_state WHERE espo_id = $1", espo_id)
            await tx.execute("DELETE FROM party_addresses WHERE espo_id = $1", espo_id)
        return count > 0

    async def count_snapshots(self) -> int:
        row = await self._driver.fetchrow("SELECT COUNT(*) AS n FROM party_sync_state")
        return int(row["n"]) if row is not None else 0

    async def iter_sync_states(self, batch_size: int = 500) -> AsyncIterator[PartySyncState]:
        """All sync states ordered by EspoCRM id, read page by page (keyset, not offset)."""
        after = ""
        while True:
            rows = await self._driver.fetch(
                f"SELECT {_COLUMNS} FROM party_sync_state WHERE espo_id > $1 ORDER BY espo_id LIMIT $2",
                after,
                batch_size,
            )
            for row in rows:
                yield self._state_from_row(row)
            if len(rows) < batch_size:
                return
            after = rows[-1]["espo_id"]

    def _state_from_row(self, row: Mapping[str, Any]) -> PartySyncState:
        return PartySyncState(
            espo_id=row["espo_id"],
            betnr=int(row["betnr"]),
            snapshot=self._driver.load_json(row["snapshot"]),
            mismatch_fields=tuple(self._driver.load_json(row["mismatch_fields"])),
            updated_at=self._driver.load_ts(row["updated_at"]),
        )
