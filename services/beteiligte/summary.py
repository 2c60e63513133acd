"""Initial-sync conflicts and links of a bulk run summed up in one admin notice (DECISIONS 10, 29).

An initial sync (a linked party without snapshot: go-live, a lost service database, an adopted
party) that finds both sides holding different values keeps EspoCRM's and records a conflict.
A bulk run (the cron's pass, `--all`) meets that for thousands of parties, so it does not notify
the assigned user per record: it records the party once as a pending item in
`notifications_sent` (key `initial-<notice key>`, kind `initial_conflict_pending`). The cron
sends ONE message to `admin_user_id` for all pending items (`send_summary`): the items are
claimed in one statement (kind → `initial_conflict_summarized`), so of two concurrent callers
each item goes to exactly one; a failed send hands the items back. A single-record run (webhook,
operator) notifies the assigned user instead. Messages and logs hold ids and counts only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from services.sync.audit import safe_message

ENTITY = "CBeteiligte"
log = logging.getLogger("bitbylaw.beteiligte")

PENDING = "initial_conflict_pending"
SUMMARIZED = "initial_conflict_summarized"
MAX_IDS = 20  # ids named in the message; the count covers all


async def hold(deps: Any, entity_id: str, key: str) -> bool:
    """Record one pending summary item (once per key: a rerun is not counted twice)."""
    return bool(
        await deps.db.record_notification(
            "initial-" + key, entity_type=ENTITY, entity_id=entity_id, kind=PENDING
        )
    )


def summary_message(ids: Sequence[str]) -> str:
    n = len(ids)
    subject = "1 party had" if n == 1 else f"{n} parties had"
    named = ", ".join(ids[:MAX_IDS])
    more = f" … and {n - MAX_IDS} more" if n > MAX_IDS else ""
    return (
        f"{subject} different values in EspoCRM and Advoware at their first sync, or were linked to "
        f"an existing Advoware party; EspoCRM's values were kept. See `bitbylaw audit beteiligte ID` "
        f"for: {named}{more}"
    )


async def send_summary(deps: Any) -> int:
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
