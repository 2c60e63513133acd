"""The audit trail of sync decisions, for every entity (SYNC_RULES §7, DECISIONS 17).

One entry per run: action and result, the decision (field names; values only under the keys the
database masks: `changes`, `conflicts`, `values`), the API calls made (route templates, no ids or
names), and a safe error text. A failing audit write is logged, never raised past the sync.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from services.clients.calls import CallLog
from services.clients.errors import ApiError
from services.db import AuditEntry

log = logging.getLogger("bitbylaw.sync.audit")


def safe_message(error: BaseException) -> str:
    """An error text without personal data: client errors name system, method, route template
    and status; anything else only its type (a ValueError may quote a value)."""
    if isinstance(error, ApiError):
        return str(error)
    return f"internal error ({type(error).__name__}); see the service logs"


def api_calls(calls: CallLog | None) -> list[dict[str, Any]]:
    if calls is None:
        return []
    return [
        {"system": r.system, "method": r.method, "route": r.route, "status": r.status, "data": r.data}
        for r in calls.records
    ]


def call_counts(calls: CallLog | None) -> dict[str, int]:
    """`{"advoware_read": n, "advoware_write": n, "espocrm_read": n, "espocrm_write": n}` (data calls)."""
    counts: Counter[str] = Counter()
    for r in calls.records if calls is not None else ():
        if r.data:
            counts[f"{r.system}_{r.kind}"] += 1
    return dict(counts)


async def record(db: Any, entry: AuditEntry) -> None:
    try:
        await db.add_audit(entry)
    except Exception as exc:  # the sync's writes are done; losing one audit line must not undo them
        log.error("audit entry for %s not stored: %s", entry.entity_id, type(exc).__name__)
