"""What a plan's run leaves in the database (pure): the mapping computed from `Applied` only.

- Everything applied: the mapping gets the answers' fields (event id, etag, frNr, rowId), the
  plan's `on_success` (the contents both sides now agree on) and `synced`; a removing plan
  deletes it.
- A write failed: the mapping keeps what did apply (a Termin POSTed before its link PATCH failed
  keeps its frNr) and is `failed` with the reason, one more failure and the retry time of the
  retry policy; after SYNC_MAX_FAILURES it waits for a change of either side or the auto-reset
  (SYNC_AUTO_RESET_HOURS, then the count starts over), one notice. A
  refused Advoware write (a 4xx) is notified to the employee's user. A write whose outcome is
  unknown earns its notices anyway: their once-keys name the contents, so the run that sees the
  conflict resolved sends nothing more, and one that resolves it again sends the same key.
- The quota ran out: nothing is booked against the appointment; the employee's run stops.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from services.calendar import notices
from services.calendar.mappings import CalendarMapping
from services.calendar.plans import ADVOWARE, GOOGLE, Plan
from services.calendar.view import retry_at
from services.clients.errors import ApiError, QuotaExceeded
from services.sync.actions import Notify
from services.sync.audit import safe_message
from services.sync.policy import RetryPolicy
from services.sync.runner import Applied


@dataclass(frozen=True)
class Outcome:
    save: CalendarMapping | None = None
    delete: int | None = None
    notices: tuple[Notify, ...] = ()
    error: str | None = None
    quota: bool = False  # the employee's run stops here

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass(frozen=True)
class Booking:
    policy: RetryPolicy
    now: datetime
    kuerzel: str
    recipient: str | None


def applied_fields(applied: Applied) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for item in (ADVOWARE, GOOGLE):
        fields.update({k: v for k, v in (applied.advanced.get(item) or {}).items() if v is not None})
    return fields


def settle(plan: Plan, applied: Applied | None, booking: Booking) -> Outcome:
    """The outcome of `plan`; `applied` None for a plan without writes."""
    if plan.failure is not None:
        return fail(plan, plan.base, plan.failure, booking, plan.notices)
    assert applied is not None
    base = replace(plan.base, **applied_fields(applied))
    if applied.ok:
        if plan.remove:
            return Outcome(delete=plan.base.id, notices=tuple(applied.notices))
        done = replace(base, **plan.on_success, status=plan.then, failure_count=0, next_retry_at=None,
                       failure_reason=None, failed_fingerprint=None)  # fmt: skip
        return Outcome(save=done, notices=tuple(applied.notices))
    failure = applied.failure
    assert failure is not None
    earned = (*applied.notices, *(applied.maybe_notices if failure.maybe_applied else ()))
    if isinstance(failure.error, QuotaExceeded):
        keep = base if (plan.base.id is not None or applied.answers) else None
        return Outcome(save=keep, notices=earned, error=safe_message(failure.error), quota=True)
    message = safe_message(failure.error)
    if failure.outcome_unknown:
        message += " (outcome unknown; the next run looks it up before writing again)"
    extra = list(earned)
    if _refused_by_advoware(failure.error):
        extra.append(notices.manual(booking.kuerzel, plan.ref, message, plan.observed, booking.recipient))
    return fail(plan, base, message, booking, tuple(extra))


def fail(
    plan: Plan, base: CalendarMapping, reason: str, booking: Booking, earned: tuple[Notify, ...]
) -> Outcome:
    # A mapping retried after it used up its tries (auto-reset, or a change) starts over.
    count = (0 if base.failure_count >= booking.policy.max_failures else base.failure_count) + 1
    observed = plan.observed
    if observed.startswith("none|") and base.advoware_frnr is not None:
        # The Termin POST applied (its link PATCH did not): the next run sees the Termin.
        observed = f"{base.advoware_fingerprint}|{observed.split('|', 1)[1]}"
    failed = replace(
        base,
        status="failed",
        failure_count=count,
        next_retry_at=retry_at(booking.policy, count, booking.now),
        failure_reason=reason[:1000],
        failed_fingerprint=observed or base.failed_fingerprint,
    )
    out = list(earned)
    if count == booking.policy.max_failures:
        out.append(notices.permanent(booking.kuerzel, plan.ref, reason, observed, booking.recipient))
    return Outcome(save=failed, notices=tuple(out), error=reason)


def _refused_by_advoware(error: BaseException) -> bool:
    """Advoware said no (a 4xx other than a rate limit): a person must look at it."""
    return (
        isinstance(error, ApiError)
        and error.system == "advoware"
        and error.status is not None
        and 400 <= error.status < 500
        and error.status != 429
    )
