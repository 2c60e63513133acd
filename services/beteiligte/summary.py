"""Initial-sync conflicts summed up in one admin notification (DECISIONS 10).

An initial sync (a linked party without snapshot: go-live, a lost service database, an adopted
party) that finds both sides holding different values keeps EspoCRM's and records a conflict.
In a bulk run that happens for thousands of parties, so such a run does not notify the assigned
user per record: it records the party once as a pending item in `notifications_sent`
(key `initial-conflict:{id}:{fields}:{hash}`, kind `initial_conflict_pending`). The cron sends
ONE message to `admin_user_id` for all pending items (`send_summary`): the items are claimed in
one statement (kind → `initial_conflict_summarized`), so of two concurrent callers each item goes
to exactly one and is never summed up twice; a failed send hands the items back. The audit trail
records every conflict as before. Conflicts of later syncs (with a snapshot) are notified per
record (`notify.py`, other keys). Messages and logs hold ids and counts only.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.beteiligte.context import ENTITY, SyncDeps, log
from services.beteiligte.diff import Conflict
from services.beteiligte.failures import safe_message
from services.beteiligte.notify import conflict_key
from services.beteiligte.plan import Notification, Plan

PENDING = "initial_conflict_pending"
SUMMARIZED = "initial_conflict_summarized"
MAX_IDS = 20  # ids named in the message; the count covers all


def pending_key(entity_id: str, conflicts: Sequence[Conflict]) -> str:
    """One key per party and conflict (fields + value hash): a rerun of the same initial sync
    is not counted twice; other values at a later initial sync are a new item."""
    return "initial-" + conflict_key(entity_id, conflicts)


async def hold_initial_conflicts(deps: SyncDeps, entity_id: str, plan: Plan) -> tuple[Notification, ...]:
    """The plan's notifications to send now: an initial sync's conflict notice becomes a pending
    summary item instead (recorded once); all other notices are sent as usual."""
    if plan.variant != "initial" or not plan.conflicts:
        return plan.notifications
    key = pending_key(entity_id, plan.conflicts)
    if await deps.db.record_notification(key, entity_type=ENTITY, entity_id=entity_id, kind=PENDING):
        log.info(
            "party %s: initial-sync conflict on %s kept for the admin summary",
            entity_id,
            ",".join(c.field for c in plan.conflicts),
        )
    return tuple(n for n in plan.notifications if n.kind != "conflict")


def summary_message(ids: Sequence[str]) -> str:
    n = len(ids)
    subject = "1 party had" if n == 1 else f"{n} parties had"
    named = ", ".join(ids[:MAX_IDS])
    more = f" … and {n - MAX_IDS} more" if n > MAX_IDS else ""
    return (
        f"{subject} different values in EspoCRM and Advoware at their first sync; EspoCRM's values "
        f"were kept. See `bitbylaw audit beteiligte ID` for: {named}{more}"
    )


async def send_summary(deps: SyncDeps) -> int:
    """Claim every pending item, send one admin notification; the number of parties (0: none
    pending, no admin configured, or the send failed — then the items stay pending)."""
    claimed = await deps.db.claim_notifications(ENTITY, PENDING, SUMMARIZED)
    if not claimed:
        return 0
    ids = list(dict.fromkeys(n.entity_id for n in claimed))  # oldest first, each party once
    keys = [n.dedupe_key for n in claimed]
    target = deps.settings.admin_user_id
    try:
        if not target:
            raise LookupError("no admin_user_id configured")
        await deps.espo.notify(target, summary_message(ids))
    except Exception as exc:  # hand the items back: the next call tries again
        await deps.db.relabel_notifications(keys, kind=SUMMARIZED, new_kind=PENDING)
        reason = str(exc) if isinstance(exc, LookupError) else safe_message(exc)
        log.warning("initial-sync conflict summary (%d parties) not sent: %s", len(ids), reason)
        return 0
    log.info("initial-sync conflict summary sent to the admin: %d parties", len(ids))
    return len(ids)
