"""Notifications already sent, keyed by a dedupe key, so each event is notified exactly once.

Use: `if await db.record_notification(key, ...): send(...)`, and on a failed send
`forget_notification(key)` so a retry may send it again. The key names the occurrence (e.g.
"conflict:<espo id>:<field>:<rowId>"), so a new conflict on the same field is a new key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .clock import require_utc
from .models import SentNotification
from .store import StoreBase

_INSERT = """
INSERT INTO notifications_sent (dedupe_key, entity_type, entity_id, kind, created_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (dedupe_key) DO NOTHING
"""


class NotificationStore(StoreBase):
    async def record_notification(self, key: str, *, entity_type: str, entity_id: str, kind: str) -> bool:
        """Claim `key`; True if it is new (send now), False if it was already sent."""
        inserted = await self._driver.execute(
            _INSERT, key, entity_type, entity_id, kind, self._driver.dump_ts(self._now())
        )
        return inserted == 1

    async def forget_notification(self, key: str) -> bool:
        """Release a claimed key (the send failed); True if it was recorded."""
        count = await self._driver.execute("DELETE FROM notifications_sent WHERE dedupe_key = $1", key)
        return count > 0

    async def list_notifications(self, entity_type: str, entity_id: str) -> list[SentNotification]:
        """Notifications sent about one record, newest first."""
        rows = await self._driver.fetch(
            "SELECT dedupe_key, entity_type, entity_id, kind, created_at FROM notifications_sent "
            "WHERE entity_type = $1 AND entity_id = $2 ORDER BY created_at DESC, dedupe_key",
            entity_type,
            entity_id,
        )
        return [self._from_row(r) for r in rows]

    async def purge_notifications(self, older_than: datetime) -> int:
        """Delete records older than `older_than` (their keys may be notified again)."""
        cutoff = self._driver.dump_ts(require_utc(older_than, "older_than"))
        return await self._driver.execute("DELETE FROM notifications_sent WHERE created_at < $1", cutoff)

    def _from_row(self, row: Mapping[str, Any]) -> SentNotification:
        return SentNotification(
            dedupe_key=row["dedupe_key"],
            entity_type=row["entity_type"],
            entity_id=row["entity_id"],
            kind=row["kind"],
            created_at=self._driver.load_ts(row["created_at"]),
        )
