"""Runs a decision's plans, one appointment at a time, and saves what each applied (I/O).

Per plan: the intent first (a Termin POST's mapping with the content's fingerprint, so a lost
answer or a crash after the POST is found by the next run instead of POSTed again) → the
core's runner with the lock's guard → the mapping computed from `Applied` (`outcome.py`) and the
notices it earned, stored in one transaction. A failed plan is booked on its mapping and the
next plan runs; an exhausted Google quota stops them all (the rest waits for the next tick).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from services.calendar.executor import CalendarExecutor
from services.calendar.outcome import Booking, Outcome, settle
from services.calendar.plans import Plan
from services.calendar.ports import CalendarSettings
from services.db import CalendarMappingExists
from services.sync.actions import describe
from services.sync.notify import to_outbox
from services.sync.runner import run

log = logging.getLogger("bitbylaw.calendar")
AUDITED_PLANS = 200  # an audit entry lists this many plans (the counts cover all)


class PlanRunner:
    def __init__(
        self,
        db: Any,
        google: Any,
        advoware: Any,
        settings: CalendarSettings,
        kuerzel: str,
        now: datetime,
        guard: Any = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.db, self.settings, self.kuerzel, self.guard = db, settings, kuerzel, guard
        self.progress = progress
        self.executor = CalendarExecutor(google, advoware)
        self.booking = Booking(settings.retry, now, kuerzel, settings.recipient(kuerzel))
        self.errors: list[str] = []

    @property
    def first_error(self) -> str | None:
        return self.errors[0] if self.errors else None

    async def run_all(self, plans: Sequence[Plan]) -> tuple[Counter[str], int, str | None]:
        """(kinds applied, plans failed, the quota error that stopped the run or None)."""
        done: Counter[str] = Counter()
        failed = 0
        for number, plan in enumerate(plans, 1):
            outcome = await self.run_one(plan)
            if self.progress is not None:
                self.progress(number, len(plans))
            if outcome.quota:
                return done, failed, outcome.error
            if outcome.failed:
                failed += 1
                self.errors.append(f"{plan.ref}: {outcome.error}")
            else:
                done[plan.kind] += 1
        return done, failed, None

    async def run_one(self, plan: Plan) -> Outcome:
        if plan.failure is not None:
            outcome = settle(plan, None, self.booking)
        else:
            if plan.intent:
                plan = replace(plan, base=await self.db.save_calendar_mapping(plan.base))
            applied = await run(plan.actions, self.executor, guard=self.guard)
            outcome = settle(plan, applied, self.booking)
        await self._store(plan, outcome)
        return outcome

    async def _store(self, plan: Plan, outcome: Outcome) -> None:
        extra = {
            k: v for k, v in (("frnr", plan.base.advoware_frnr), ("event", plan.base.google_event_id)) if v
        }
        rows = to_outbox(outcome.notices, self.settings.admin_user_id, extra)
        saves = [outcome.save] if outcome.save is not None else []
        deletes = [outcome.delete] if outcome.delete is not None else []
        try:
            await self.db.store_calendar_changes(saves, deletes, rows)
        except CalendarMappingExists:
            # Another mapping holds this frNr or event (two events linked to one Termin): keep
            # the stored one; the notices still go out.
            log.warning("calendar %s: %s already mapped; not saved", self.kuerzel, plan.ref)
            await self.db.enqueue_notifications(rows)


def describe_plans(plans: Sequence[Plan]) -> dict[str, Any]:
    """Plans for the audit: kinds, refs and the calls' operations; what each writes under
    `changes` (field names kept, values masked by the database unless shown)."""
    listed = [
        {"kind": p.kind, "ref": p.ref, "calls": [describe(c)["call"] for c in p.calls], **dict(p.detail)}
        | ({"failure": p.failure} if p.failure else {})
        for p in plans[:AUDITED_PLANS]
    ]
    changes = {
        p.ref: {k: c.body.get(k) for k in ("summary", "description", "location", "text", "notiz", "ort")
                if c.body and k in c.body}
        for p in plans[:AUDITED_PLANS]
        for c in p.calls[:1]
        if c.body
    }  # fmt: skip
    return {"plans": listed, "changes": {k: v for k, v in changes.items() if v}}
