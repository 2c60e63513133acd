"""Notifications already sent, keyed by a dedupe key, so each event is notified exactly once.

Use: `if await db.record_notification(key, ...): send(...)`, and on a failed send
`forget_notification(key)` so a retry may send it again. The key names the occurrence (e.g.
"conflict:<espo id>:<field>:<rowId>"), so a new conflict on the same field is a new key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .clock import require_utc
from .driver import Executor
from .models import OutboxNotification, SentNotification
from .store import StoreBase

_OUTBOX_INSERT = """
INSERT INTO notifications_sent
    (dedupe_key, entity_type, entity_id, kind, created_at, recipient, message, data, sent_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)
ON CONFLICT (dedupe_key) DO NOTHING
"""
_OUTBOX_COLUMNS = "dedupe_key, entity_type, entity_id, kind, recipient, message, data"

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

    async def claim_notifications(self, entity_type: str, kind: str, new_kind: str) -> list[SentNotification]:
        """Relabel every record of `kind` as `new_kind` in one statement and return them (oldest
        first). Of concurrent callers each record goes to exactly one: a claim of pending items,
        e.g. those summed up in one message. `relabel_notifications` hands them back."""
        rows = await self._driver.fetch(
            "UPDATE notifications_sent SET kind = $3 WHERE entity_type = $1 AND kind = $2 "
            "RETURNING dedupe_key, entity_type, entity_id, kind, created_at",
            entity_type,
            kind,
            new_kind,
        )
        claimed = [self._from_row(r) for r in rows]
        return sorted(claimed, key=lambda n: (n.created_at, n.dedupe_key))

    async def relabel_notifications(self, keys: Sequence[str], *, kind: str, new_kind: str) -> int:
        """Set `new_kind` on those of `keys` whose kind is still `kind` (one transaction); the count."""
        changed = 0
        async with self._driver.transaction() as tx:
            for key in keys:
                changed += await tx.execute(
                    "UPDATE notifications_sent SET kind = $3 WHERE dedupe_key = $1 AND kind = $2",
                    key,
                    kind,
                    new_kind,
                )
        return changed

    async def enqueue_notifications(
        self, items: Sequence[OutboxNotification], tx: Executor | None = None
    ) -> int:
        """Record notifications to send (an existing key is left alone: sent or queued once).
        Pass `tx` to record them in the transaction of the sync state they belong to."""
        run = tx or self._driver
        now = self._driver.dump_ts(self._now())
        added = 0
        for n in items:
            added += await run.execute(
                _OUTBOX_INSERT,
                n.dedupe_key,
                n.entity_type,
                n.entity_id,
                n.kind,
                now,
                n.recipient,
                n.message,
                self._driver.dump_json(dict(n.data)),
            )
        return added

    async def pending_notifications(
        self, entity_type: str, entity_id: str | None = None, limit: int = 100
    ) -> list[OutboxNotification]:
        """Recorded but not yet sent, oldest first (of one record, or of the entity type)."""
        where, args = "entity_type = $1", [entity_type]
        if entity_id is not None:
            where, args = where + " AND entity_id = $2", [*args, entity_id]
        rows = await self._driver.fetch(
            f"SELECT {_OUTBOX_COLUMNS} FROM notifications_sent WHERE {where} AND sent_at IS NULL "
            f"AND message IS NOT NULL ORDER BY created_at, dedupe_key LIMIT {int(limit)}",
            *args,
        )
        return [
            OutboxNotification(
                dedupe_key=r["dedupe_key"],
                entity_type=r["entity_type"],
                entity_id=r["entity_id"],
                kind=r["kind"],
                recipient=r["recipient"],
                message=r["message"],
                data=self._driver.load_json(r["data"]) if r["data"] is not None else {},
            )
            for r in rows
        ]

    async def mark_notification_sent(self, key: str) -> bool:
        count = await self._driver.execute(
            "UPDATE notifications_sent SET sent_at = $2 WHERE dedupe_key = $1 AND sent_at IS NULL",
            key,
            self._driver.dump_ts(self._now()),
        )
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
