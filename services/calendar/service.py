"""`CalendarSyncService`: one employee's calendar sync, end to end (Advoware Termine ↔ Google).

`sync_employee()` in order: the employee (from the all-run's job, else Advoware's list) and his
calendar account → the lock `calendar:{kuerzel}`, renewed while the run lasts (held → `locked`
with `retry_in`: the caller re-queues, never drops the request) → the calendar, found or created
and shared (`calendars.py`) → the reads (`reader.py`) → the pure decision (`decision.py`) → the
safety brake (nothing applied, the admin told once per episode) or the plans, one by one through
the core's runner (`apply.py`), each appointment's mapping saved from what was applied → notices
delivered → the new sync token and the success stamp, only when the run went through → one
audit entry. Errors of single appointments do not stop the run; an exhausted Google quota does.

`dry_run` reads and decides and writes nothing anywhere (no lock, no calendar, no audit).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from services.calendar import notices
from services.calendar.apply import PlanRunner
from services.calendar.calendars import ensure_calendar, find_calendar
from services.calendar.decision import Decision, decide
from services.calendar.employees import Employee, calendar_account, employees_to_sync
from services.calendar.mappings import CalendarEmployee
from services.calendar.ports import CalendarSettings, EmployeeOutcome
from services.calendar.reader import Limits, Reading, read_employee
from services.calendar.rules import Facts
from services.calendar.times import wall_time
from services.calendar.window import SyncWindow
from services.clients.calls import CallLog, count_calls
from services.clients.errors import QuotaExceeded
from services.db import AuditEntry, AuditRecord, utc_now
from services.sync import audit
from services.sync.locking import Busy, Held, LockLost, under_lock
from services.sync.notify import deliver, to_outbox

log = logging.getLogger("bitbylaw.calendar")
Clock = Callable[[], datetime]
Progress = Callable[[int, int], None]


class CalendarSyncService:
    def __init__(
        self,
        google: Any,
        advoware: Any,
        espo: Any,
        db: Any,
        lock: Any,
        settings: CalendarSettings = CalendarSettings(),
        clock: Clock = utc_now,
    ) -> None:
        self.google, self.advoware, self.espo, self.db, self.lock = google, advoware, espo, db, lock
        self.settings, self.clock = settings, clock

    @staticmethod
    def lock_key(kuerzel: str) -> str:
        return f"calendar:{kuerzel}"

    async def employees(self) -> list[Employee]:
        """The employees to sync: active in Advoware, limited to CALENDAR_SYNC_KUERZEL."""
        return employees_to_sync(await self.advoware.list_employees(), self.settings.only)

    async def sync_employee(
        self,
        kuerzel: str,
        *,
        trigger: str,
        trace_id: str,
        employee: Employee | None = None,
        dry_run: bool = False,
        allow_mass_changes: bool = False,
        adopting: bool | None = None,
        waits: int = 0,
        progress: Progress | None = None,
    ) -> EmployeeOutcome:
        """`adopting`: None as stored; False shows what adoption would match (with `dry_run`);
        True adopts the calendar (its unlinked events go to Advoware). Either lists in full.
        `progress(done, total)` is called after each appointment (the CLI's progress bar)."""
        kuerzel = kuerzel.upper()
        if employee is None:
            employee = next((e for e in await self.employees() if e.kuerzel == kuerzel), None)
            if employee is None:
                return EmployeeOutcome(kuerzel, "skipped", error="not an active employee to sync")
        run = _Run(self, employee, trigger, trace_id, dry_run, allow_mass_changes, adopting)
        run.progress = progress
        if dry_run:
            return await run.go()

        async def flow(held: Held) -> EmployeeOutcome:
            run.guard = held.check
            return await run.audited()

        outcome = await under_lock(self.lock, self.lock_key(kuerzel), self.settings, waits, flow)
        if isinstance(outcome, Busy):
            return EmployeeOutcome(kuerzel, "locked", retry_in=outcome.retry_in)
        return outcome

    async def deliver_notifications(self) -> int:
        """Send what earlier runs queued but could not send (EspoCRM was down)."""
        return await deliver(self.db, self.espo, notices.ENTITY)

    async def audit(self, kuerzel: str, limit: int = 50) -> list[AuditRecord]:
        return list(await self.db.list_audit(notices.ENTITY, kuerzel.upper(), limit=limit))


class _Run:
    """One `sync_employee` call."""

    def __init__(
        self,
        service: CalendarSyncService,
        employee: Employee,
        trigger: str,
        trace_id: str,
        dry_run: bool,
        allow_mass_changes: bool,
        adopting: bool | None,
    ) -> None:
        self.svc, self.employee, self.trigger, self.trace_id = service, employee, trigger, trace_id
        self.dry_run, self.allow, self.adopting = dry_run, allow_mass_changes, adopting
        self.kuerzel = employee.kuerzel
        self.now: datetime = service.clock()
        self.guard: Any = None
        self.progress: Progress | None = None
        self.audit: dict[str, Any] = {}

    async def audited(self) -> EmployeeOutcome:
        with count_calls() as calls:
            try:
                outcome = await self.go(calls)
            except QuotaExceeded as exc:  # while reading: the next tick goes on
                outcome = EmployeeOutcome(self.kuerzel, "quota_exceeded", error=audit.safe_message(exc))
            except LockLost:
                raise
            except Exception as exc:  # a read or the calendar failed: audit, then let the caller retry
                await self._audit("error", calls, audit.safe_message(exc))
                raise
        await self._audit(outcome.status, calls, outcome.error)
        return outcome

    async def go(self, calls: CallLog | None = None) -> EmployeeOutcome:
        svc, s, k = self.svc, self.svc.settings, self.kuerzel
        account = calendar_account(self.employee, s.delegation, s.owner)
        if account is None:
            if not self.dry_run:
                await svc.db.enqueue_notifications(to_outbox([notices.no_email(k, s.admin_user_id)], None))
                await deliver(svc.db, svc.espo, notices.ENTITY, k)
            return EmployeeOutcome(k, "no_email", error="no e-mail address in Advoware")
        google = svc.google.delegate(account.subject)
        state = await svc.db.get_calendar_employee(k) or CalendarEmployee(k)
        if self.dry_run:
            calendar_id = state.calendar_id or await find_calendar(google, k)
        else:
            state = await ensure_calendar(google, svc.db, state, account, s.time_zone, self.now)
            calendar_id = state.calendar_id
        adopted = state.adopted_at is not None if self.adopting is None else self.adopting
        window = SyncWindow.around(wall_time(self.now).date(), s.past_days, s.future_days)
        mappings = await svc.db.list_calendar_mappings(k)
        limits = Limits(s.max_events, s.max_percent, self.allow)
        reading = await read_employee(
            google, svc.advoware, k, calendar_id, state, mappings, window, self.now, limits,
            full=self.adopting is not None,
        )  # fmt: skip
        matching = state.adopted_at is None or self.adopting is not None  # adoption, or `calendar adopt`
        decision = decide(reading.observed, self._facts(calendar_id or "", window, adopted, matching))
        self.audit.update(_describe(decision, reading, window))
        outcome = EmployeeOutcome(k, "dry_run", decision, full=reading.observed.full)
        if self.dry_run:
            outcome.calls = audit.call_counts(calls)
            return outcome
        if decision.brake is not None:
            return await self._brake(decision, outcome)
        if state.braking:
            await svc.db.set_calendar_braking(k, False)  # an allowed run or one under the limit
        runner = PlanRunner(svc.db, google, svc.advoware, s, k, self.now, self.guard, self.progress)
        outcome.done, outcome.failed, quota = await runner.run_all(decision.plans)
        if decision.notices:
            await svc.db.enqueue_notifications(to_outbox(decision.notices, s.admin_user_id))
        await deliver(svc.db, svc.espo, notices.ENTITY, k)
        outcome.error = quota or runner.first_error
        outcome.calls = audit.call_counts(calls)
        self.audit.update(applied=dict(outcome.done), failed=outcome.failed, errors=runner.errors[:20])
        if quota:
            outcome.status = "quota_exceeded"
            return outcome
        await svc.db.record_calendar_success(k, reading.next_sync_token, full=reading.observed.full)
        if state.adopted_at is None and (self.adopting or (self.adopting is None and not decision.unmatched)):
            await svc.db.save_calendar_employee(replace(state, adopted_at=self.now))  # nothing held back
        outcome.status = "partial" if outcome.failed else ("synced" if sum(outcome.done.values()) else "noop")
        log.info("calendar %s: %s (%s; %d failed)", k, outcome.status, _kinds(outcome.done), outcome.failed)
        return outcome

    def _facts(self, calendar_id: str, window: SyncWindow, adopted: bool, matching: bool) -> Facts:
        s = self.svc.settings
        return Facts(
            kuerzel=self.kuerzel,
            calendar_id=calendar_id,
            now=self.now,
            window=window,
            retry=s.retry,
            google_deletes=s.google_deletes,
            recipient=s.notify_users.get(self.kuerzel),
            admin=s.admin_user_id,
            adopted=adopted,
            matching=matching,
            allow_mass_changes=self.allow,
            max_events=s.max_events,
            max_percent=s.max_percent,
        )

    async def _brake(self, decision: Decision, outcome: EmployeeOutcome) -> EmployeeOutcome:
        svc, k, brake = self.svc, self.kuerzel, decision.brake
        assert brake is not None
        if await svc.db.set_calendar_braking(k, True):  # a new episode: tell the admin once
            episode = self.now.isoformat()
            notice = notices.brake(
                k, brake.creates, brake.deletes, brake.limit, svc.settings.admin_user_id, episode
            )
            await svc.db.enqueue_notifications(to_outbox([notice], svc.settings.admin_user_id))
        await deliver(svc.db, svc.espo, notices.ENTITY, k)
        log.warning("calendar %s braked: %d creates, %d deletes (limit %d)", k, brake.creates, brake.deletes,
                    brake.limit)  # fmt: skip
        outcome.status = "braked"
        outcome.error = (
            f"safety brake: {brake.creates} creates, {brake.deletes} deletes (limit {brake.limit})"
        )
        return outcome

    async def _audit(self, result: str, calls: CallLog | None, error: str | None) -> None:
        entry = AuditEntry(
            entity_type=notices.ENTITY,
            entity_id=self.kuerzel,
            action="calendar_sync",
            result=result,
            trace_id=self.trace_id,
            trigger=self.trigger,
            decision=self.audit,
            api_calls=audit.api_calls(calls),
            error=error,
        )
        await audit.record(self.svc.db, entry)


def _kinds(done: Counter[str]) -> str:
    return ", ".join(f"{k} {n}" for k, n in sorted(done.items())) or "nothing to do"


def _describe(decision: Decision, reading: Reading, window: SyncWindow) -> dict[str, Any]:
    """The audit's view of a decision: kinds, refs and calls; appointment texts only under
    `changes` (masked unless AUDIT_SHOW_VALUES)."""
    from services.calendar.apply import describe_plans

    planned = Counter(p.kind for p in decision.plans)
    out: dict[str, Any] = {
        "window": [window.first.isoformat(), window.last.isoformat()],
        "listing": "full" if reading.observed.full else "incremental",
        "token_expired": reading.expired_token,
        "planned": dict(planned),
        **describe_plans(decision.plans),
    }
    if decision.brake is not None:
        b = decision.brake
        out["brake"] = {"creates": b.creates, "deletes": b.deletes, "limit": b.limit}
    if decision.unmatched:
        out["unmatched"] = list(decision.unmatched)
    return out
