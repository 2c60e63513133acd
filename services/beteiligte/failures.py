"""Booking a failed sync on the EspoCRM record: ONE write (SYNC_RULES §1 "Failures and retries").

`failed`, `syncRetryCount + 1`, `syncErrorMessage` (status codes, routes, field names — never a
value), `syncNextRetry` on the schedule; the last allowed failure → `permanently_failed`,
`syncAutoResetAt`, a notification. If even this write fails, the error is raised: the engine
retries the job, and nothing has been recorded that could mislead the next run.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from services.beteiligte import bookkeeping
from services.beteiligte.context import ENTITY, Run, SyncDeps, log
from services.beteiligte.notify import send_once
from services.beteiligte.plan import recipient_of
from services.beteiligte.ports import Status, SyncOutcome
from services.clients.errors import ApiError


def safe_message(error: BaseException) -> str:
    """An error text without personal data: client errors name system, method, route template
    and status; anything else only its type (a ValueError may quote a value)."""
    if isinstance(error, ApiError):
        return str(error)
    return f"internal error ({type(error).__name__}); see the service logs"


def failure_update(
    deps: SyncDeps, record: Mapping[str, Any], message: str, run: Run
) -> bookkeeping.FailureUpdate:
    s = deps.settings
    return bookkeeping.on_failure(
        record,
        message,
        run.now,
        schedule=s.retry_schedule_min,
        max_failures=s.max_failures,
        auto_reset_after=timedelta(seconds=s.auto_reset_after_s),
    )


async def book_failure(
    deps: SyncDeps,
    run: Run,
    record: Mapping[str, Any],
    error: BaseException | str,
    *,
    extra: Mapping[str, Any] | None = None,
    plan: Any = None,
) -> SyncOutcome:
    """Write the failure (plus `extra`, e.g. a betnr already created) and return the outcome."""
    message = error if isinstance(error, str) else safe_message(error)
    failure = failure_update(deps, record, message, run)
    await deps.espo.update(ENTITY, run.entity_id, {**(extra or {}), **failure.fields})
    status: Status = "permanently_failed" if failure.permanent else "failed"
    log.warning("sync of %s %s: %s", run.entity_id, status, message)
    if failure.notify:
        recipient = recipient_of(record, None, deps.settings.admin_user_id)
        party = record.get("betnr") or run.entity_id
        text = f"Synchronisation von Beteiligtem {party} endgültig fehlgeschlagen: {message}"
        occurrence = str(failure.fields.get("syncAutoResetAt") or run.now.isoformat())
        key = f"permanently_failed:{run.entity_id}:{occurrence}"
        await send_once(deps, run.entity_id, key, "permanently_failed", recipient, text)
    run.error = message
    run.decision.setdefault("failure", {}).update(
        {"status": status, "retry_count": failure.fields.get("syncRetryCount")}
    )
    return SyncOutcome(run.entity_id, status, plan=plan, error=message)
