"""Blocked records and re-checks, for every synced entity (DECISIONS 26, 28).

A blocked record (`invalid`, `manual_action`, `duplicate_suspected`, `permanently_failed`) waits
for its EspoCRM content to change: the block keeps the content fingerprint taken when it was
blocked and the `modifiedAt` EspoCRM returned for the blocking write. The cron selects a blocked
record only when its `modifiedAt` differs; the sync then compares fingerprints. A re-check
time is kept for parked records (a party deleted in Advoware is looked up again once a day).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .clock import require_utc
from .models import Block
from .store import StoreBase

_BLOCK_COLUMNS = "entity_type, entity_id, reason, fingerprint, modified_at, created_at"


class BlockStore(StoreBase):
    async def set_block(
        self, entity_type: str, entity_id: str, *, reason: str, fingerprint: str, modified_at: str | None
    ) -> None:
        await self._driver.execute(
            f"INSERT INTO sync_blocks ({_BLOCK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) "
            "ON CONFLICT (entity_type, entity_id) DO UPDATE SET reason = excluded.reason, "
            "fingerprint = excluded.fingerprint, modified_at = excluded.modified_at, "
            "created_at = excluded.created_at",
            entity_type,
            entity_id,
            reason,
            fingerprint,
            modified_at,
            self._driver.dump_ts(self._now()),
        )

    async def get_block(self, entity_type: str, entity_id: str) -> Block | None:
        row = await self._driver.fetchrow(
            f"SELECT {_BLOCK_COLUMNS} FROM sync_blocks WHERE entity_type = $1 AND entity_id = $2",
            entity_type,
            entity_id,
        )
        return self._block(row) if row is not None else None

    async def touch_block(self, entity_type: str, entity_id: str, modified_at: str | None) -> None:
        """The record was written meanwhile but its content is the same: remember the new
        `modifiedAt`, so the cron stops selecting it."""
        await self._driver.execute(
            "UPDATE sync_blocks SET modified_at = $3 WHERE entity_type = $1 AND entity_id = $2",
            entity_type,
            entity_id,
            modified_at,
        )

    async def clear_block(self, entity_type: str, entity_id: str) -> bool:
        count = await self._driver.execute(
            "DELETE FROM sync_blocks WHERE entity_type = $1 AND entity_id = $2", entity_type, entity_id
        )
        return count > 0

    async def list_blocks(self, entity_type: str) -> dict[str, Block]:
        rows = await self._driver.fetch(
            f"SELECT {_BLOCK_COLUMNS} FROM sync_blocks WHERE entity_type = $1", entity_type
        )
        return {r["entity_id"]: self._block(r) for r in rows}

    async def set_recheck(self, entity_type: str, entity_id: str, checked_at: datetime) -> None:
        await self._driver.execute(
            "INSERT INTO sync_rechecks (entity_type, entity_id, checked_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (entity_type, entity_id) DO UPDATE SET checked_at = excluded.checked_at",
            entity_type,
            entity_id,
            self._driver.dump_ts(require_utc(checked_at, "checked_at")),
        )

    async def list_rechecks(self, entity_type: str) -> dict[str, datetime]:
        rows = await self._driver.fetch(
            "SELECT entity_id, checked_at FROM sync_rechecks WHERE entity_type = $1", entity_type
        )
        return {r["entity_id"]: self._driver.load_ts(r["checked_at"]) for r in rows}

    async def clear_recheck(self, entity_type: str, entity_id: str) -> bool:
        count = await self._driver.execute(
            "DELETE FROM sync_rechecks WHERE entity_type = $1 AND entity_id = $2", entity_type, entity_id
        )
        return count > 0

    def _block(self, row: Mapping[str, Any]) -> Block:
        return Block(
            entity_type=row["entity_type"],
            entity_id=row["entity_id"],
            reason=row["reason"],
            fingerprint=row["fingerprint"],
            modified_at=row["modified_at"],
            created_at=self._driver.load_ts(row["created_at"]),
        )
