"""Notifications, each sent exactly once, never lost between a sync's writes and their sending.

A `Notify` action that a run reached (and whose required state items advanced) is recorded in
the outbox (`notifications_sent`) in the same transaction as the sync state it belongs to; then
the outbox of the record is delivered. A send that fails leaves the notice queued: the next run
of the record (or the cron's `deliver`) sends it. The once-key makes a rerun, a retry or a
second worker harmless. Keys and messages hold ids, field names and hashes — never values.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from services.db import OutboxNotification
from services.sync.actions import Notify
from services.sync.fingerprint import value_hash  # noqa: F401  (once-keys of notices)

log = logging.getLogger("bitbylaw.sync.notify")


class Notifier(Protocol):
    async def notify(
        self,
        user_id: str,
        message: str,
        related_type: str | None = None,
        related_id: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Any: ...


class Outbox(Protocol):
    async def pending_notifications(
        self, entity_type: str, entity_id: str | None = None, limit: int = 100
    ) -> list[OutboxNotification]: ...

    async def mark_notification_sent(self, key: str) -> bool: ...


def to_outbox(
    notices: Iterable[Notify], admin_user_id: str | None, extra: Mapping[str, Any] | None = None
) -> list[OutboxNotification]:
    """Outbox rows for the notices (recipient None → the admin; neither → logged and dropped).
    `data` names the kind, the entity, its id and `extra` (e.g. the Advoware id)."""
    rows: list[OutboxNotification] = []
    for n in dict((n.key, n) for n in notices).values():  # one per key
        recipient = n.recipient or admin_user_id
        if not recipient:
            log.warning("notification %s for %s has no recipient", n.kind, n.record_id)
            continue
        data = {"kind": n.kind, "entity": n.entity, "id": n.record_id, **(extra or {})}
        rows.append(OutboxNotification(n.key, n.entity, n.record_id, n.kind, recipient, n.message, data))
    return rows


async def deliver(outbox: Outbox, notifier: Notifier, entity_type: str, entity_id: str | None = None) -> int:
    """Send what is queued (of one record, or of the entity type); the number sent. Stops at the
    first failed send: EspoCRM is probably down, the rest waits for the next run."""
    sent = 0
    for n in await outbox.pending_notifications(entity_type, entity_id):
        try:
            await notifier.notify(n.recipient, n.message, n.entity_type, n.entity_id, n.data)
        except Exception as exc:
            log.warning("notification %s for %s not sent yet: %s", n.kind, n.entity_id, type(exc).__name__)
            break
        await outbox.mark_notification_sent(n.dedupe_key)
        sent += 1
    return sent
