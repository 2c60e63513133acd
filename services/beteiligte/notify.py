"""EspoCRM in-app notifications of the party sync, each sent exactly once (SYNC_RULES §7).

A notification is keyed (`notifications_sent` table): the key names one occurrence, so a rerun
after a crash, a retry or a second worker never notifies twice. A send that fails releases the
key again (`forget_notification`) and is logged; it never fails the sync, whose writes are done.
Keys and messages hold ids, field names and hashes, never values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from services.beteiligte.context import ENTITY, SyncDeps, log
from services.beteiligte.diff import Conflict
from services.beteiligte.plan import Notification
from services.clients.errors import ApiError


def value_hash(*values: Any) -> str:
    """Short hash of values (dedupe keys must not hold personal data in clear)."""
    return hashlib.sha256(json.dumps(values, default=str).encode()).hexdigest()[:16]


def conflict_key(entity_id: str, conflicts: Sequence[Conflict]) -> str:
    fields = "+".join(c.field for c in conflicts)
    values = value_hash(*[(c.field, c.espo_value, c.advo_value) for c in conflicts])
    return f"conflict:{entity_id}:{fields}:{values}"


def key_for(entity_id: str, notice: Notification, conflicts: Sequence[Conflict], occurrence: str) -> str:
    """The dedupe key of one of a plan's notifications; `occurrence` tells episodes apart."""
    if notice.kind == "conflict":
        return conflict_key(entity_id, conflicts)
    return f"{notice.kind}:{entity_id}:{occurrence}:{value_hash(notice.fields)}"


async def send_once(
    deps: SyncDeps, entity_id: str, key: str, kind: str, recipient: str | None, message: str
) -> bool:
    """Send one notification unless its key was sent before; True when it was sent now."""
    target = recipient or deps.settings.admin_user_id
    if not target:
        log.warning("notification %s for %s has no recipient", kind, entity_id)
        return False
    if not await deps.db.record_notification(key, entity_type=ENTITY, entity_id=entity_id, kind=kind):
        return False
    try:
        await deps.espo.notify(target, message, ENTITY, entity_id)
    except ApiError as exc:
        await deps.db.forget_notification(key)
        log.warning("notification %s for %s not sent: %s", kind, entity_id, exc)
        return False
    return True


async def send_plan_notices(
    deps: SyncDeps,
    entity_id: str,
    notices: Iterable[Notification],
    conflicts: Sequence[Conflict],
    occurrence: str,
) -> int:
    """Send a plan's notifications; returns how many went out now."""
    sent = 0
    for notice in notices:
        key = key_for(entity_id, notice, conflicts, occurrence)
        sent += await send_once(deps, entity_id, key, notice.kind, notice.recipient, notice.message)
    return sent
