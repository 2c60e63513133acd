"""`BankSyncService`: one sync of one bank account, EspoCRM → Advoware (SYNC_RULES §4).

`handle()` in order: load the account (404 → the EspoCRM delete: a tombstone and one notice,
under the party's lock from the state; a `delete` event for an account that still exists is
checked instead) → no party → `invalid` → the party's lock `beteiligte:{id}` (held → `locked`
with `retry_in`) → a blocked account whose content is unchanged ends here → backoff → validation
(`invalid`, one notice, no retry counter, no Advoware call) → linked: `decide_linked` (0
Advoware calls) → else the party (no betnr → `waiting_for_party`: the caller enqueues the
party's check and runs this job again after `BANK_PARTY_WAIT_SECONDS`, at most
`BANK_PARTY_WAIT_MAX_TRIES` times, then `failed`) → the party's Advoware accounts →
`decide_unlinked` (link or POST) → one audit entry. The job never syncs the party inline
(DECISIONS 9, 39). Runs, state and bookkeeping go through the sync core. `dry_run` (the
operator's `bitbylaw sync bankverbindungen ID --dry-run`) reads and decides and writes nothing
anywhere (no lock, no audit): the outcome is `dry_run` with the plan or the reason.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from services.bankverbindungen.executor import BankExecutor
from services.bankverbindungen.fields import ENTITY, PARTY_ENTITY, espo_values, marker_of
from services.bankverbindungen.notices import deleted_notice, failed_notice, invalid_notice
from services.bankverbindungen.party_io import rows_of, store, to_row, to_state
from services.bankverbindungen.ports import BankOutcome, BankSettings, Run
from services.bankverbindungen.rules import (
    AccountDecision,
    Facts,
    decide_linked,
    decide_unlinked,
    ibans_held_elsewhere,
)
from services.bankverbindungen.validate import SAME_IBAN, problem
from services.clients.calls import count_calls
from services.clients.errors import NotFound
from services.db import AuditEntry, utc_now
from services.sync import audit
from services.sync.actions import describe
from services.sync.fingerprint import fingerprint
from services.sync.locking import Busy, Held, party_lock_key, under_lock
from services.sync.notify import deliver, to_outbox
from services.sync.records import Records
from services.sync.runner import Applied, run

log = logging.getLogger("bitbylaw.bankverbindungen")
NOT_READY = {
    "deleted_in_advoware": "Der Beteiligte ist in Advoware gelöscht; die Bankverbindung wird nicht "
    "übertragen.",
    "permanently_failed": "Die Synchronisation des Beteiligten ist endgültig fehlgeschlagen; bitte "
    "erst ihn klären.",
}
NO_BETNR = "party not yet in Advoware: der Beteiligte hat nach {n} Versuchen noch keine Advoware-Nummer."
NO_PARTY = "Der Beteiligte dieser Bankverbindung existiert in EspoCRM nicht (mehr)."


def content_fingerprint(record: Mapping[str, Any]) -> str:
    """What a blocked account is compared by: its sent fields and its party."""
    return fingerprint(espo_values(record), record.get("beteiligteId"))


class BankSyncService:
    def __init__(
        self,
        espo: Any,
        advo: Any,
        db: Any,
        lock: Any,
        settings: BankSettings = BankSettings(),
        clock: Any = utc_now,
    ) -> None:
        self.espo, self.advo, self.db, self.lock = espo, advo, db, lock
        self.settings, self.clock = settings, clock
        self.records = Records(ENTITY, espo, db, settings.retry, settings.admin_user_id, clock)

    async def handle(
        self,
        account_id: str,
        action: str,
        *,
        trigger: str,
        trace_id: str,
        waits: int = 0,
        party_waits: int = 0,
        dry_run: bool = False,
    ) -> BankOutcome:
        run_ = Run(account_id, action, trigger, trace_id, self.clock(), waits, party_waits, dry_run)
        if dry_run:
            with count_calls() as calls:
                outcome = await self._route(run_)
            outcome.calls = audit.call_counts(calls)
            return outcome
        with count_calls() as calls:
            try:
                outcome = await self._route(run_)
            except Exception as exc:  # even the failure booking failed: audit, let the engine retry
                run_.error = run_.error or audit.safe_message(exc)
                await self._audit(run_, "error", calls)
                raise
        outcome.calls = audit.call_counts(calls)
        if outcome.status != "locked":
            await self._audit(run_, outcome.status, calls)
        log.info("bank account %s: %s", account_id, outcome.status)
        return outcome

    async def cron_candidates(self) -> list[str]:
        """Ids of the accounts the cron must sync (pending, dirty, failed and due, auto-reset,
        blocked ones whose content changed, stale clean ones)."""
        return (await self.records.candidates()).ids

    async def deliver_notifications(self) -> int:
        return await self.records.deliver()

    # -- routing ------------------------------------------------------------------------------

    async def _route(self, run_: Run) -> BankOutcome:
        try:
            record = await self.espo.get(ENTITY, run_.account_id)
        except NotFound:
            return await self._deleted(run_)
        if run_.action == "delete":  # EspoCRM signs only the body: a replayed delete does no harm
            run_.decision["delete_ignored"] = "record exists"
            run_.action = "sync_check"
        party_id = record.get("beteiligteId")
        if not party_id:
            return await self._invalid(run_, record, str(problem(espo_values(record), None, ())))
        return await self._locked(run_, str(party_id), lambda: self._sync(run_, record, str(party_id)))

    async def _locked(
        self, run_: Run, party_id: str, flow: Callable[[], Awaitable[BankOutcome]]
    ) -> BankOutcome:
        if run_.dry_run:  # writes nothing, so it needs no lock (as the party's preview)
            return await flow()

        async def guarded(held: Held) -> BankOutcome:
            run_.guard = held.check
            return await flow()

        key = party_lock_key(party_id)
        result = await under_lock(self.lock, key, self.settings, run_.waits, guarded)
        if isinstance(result, Busy):
            run_.decision["lock"] = key
            return run_.out("locked", retry_in=result.retry_in)
        return result

    async def _sync(self, run_: Run, record: Mapping[str, Any], party_id: str) -> BankOutcome:
        if await self._still_blocked(run_, record):
            return run_.out("blocked", error=str(record.get("syncErrorMessage") or ""))
        wait = self.settings.retry.retry_due(record, run_.now)
        if wait is not None and not run_.manual:
            return run_.out("backoff", retry_in=wait)
        rows = await rows_of(self.db, party_id)
        row = next((r for r in rows if r.account_id == run_.account_id), None)
        linked = row is not None and row.live and row.konto_id is not None and row.party_id == party_id
        # Only an account about to be sent must not repeat an IBAN; a linked one is Advoware's fact.
        others = [r.fields.get("iban") for r in rows if r.account_id != run_.account_id and r.live]
        message = problem(espo_values(record), party_id, [] if linked else others)
        if message is not None:
            return await self._invalid(run_, record, message)
        facts = Facts(
            run_.now,
            self.settings.retry,
            self.settings.admin_user_id,
            webhook=run_.action in ("create", "update"),
        )
        if linked and row is not None:
            return await self._execute(run_, decide_linked(record, row, facts))
        try:
            party = await self.espo.get(PARTY_ENTITY, party_id)
        except NotFound:
            return await self._invalid(run_, record, NO_PARTY)
        except Exception as exc:
            return await self._fail(run_, record, audit.safe_message(exc))
        status = party.get("syncStatus")
        if status in NOT_READY:
            return await self._fail(run_, record, NOT_READY[status])
        if not party.get("betnr"):
            return await self._party_not_ready(run_, record, party_id)
        try:
            accounts = await self.advo.list_bankverbindungen(int(party["betnr"]))
        except Exception as exc:
            return await self._fail(run_, record, audit.safe_message(exc))
        twice = problem(espo_values(record), party_id, ibans_held_elsewhere(run_.account_id, accounts, rows))
        if twice is not None:  # another account's IBAN, known from Advoware only
            return await self._invalid(run_, record, twice)
        decision = decide_unlinked(record, int(party["betnr"]), accounts, rows, facts)
        konto = decision.row.konto_id if decision.variant == "link" and decision.row else None
        if konto is not None and not _marked_for(run_.account_id, konto, accounts):
            try:
                taken = await self._linked_elsewhere(run_.account_id, konto)
            except Exception as exc:
                return await self._fail(run_, record, audit.safe_message(exc))
            if taken:
                return await self._invalid(run_, record, SAME_IBAN)
        return await self._execute(run_, decision)

    async def _linked_elsewhere(self, account_id: str, konto_id: int) -> bool:
        """Before linking an Advoware account found by IBAN (not by this account's marker): does
        another EspoCRM account hold it already? EspoCRM is the truth here, as the state may have
        lost that link (a lost answer, a crash) — one list call, on this path only."""
        where = [{"type": "equals", "attribute": "advowareKontoId", "value": konto_id}]
        page = await self.espo.list(ENTITY, where=where, select=["id"], max_size=10)
        return any(str(r.get("id")) != account_id for r in page["list"])

    async def _party_not_ready(self, run_: Run, record: Mapping[str, Any], party_id: str) -> BankOutcome:
        if run_.party_waits >= self.settings.party_wait_max_tries:
            return await self._fail(run_, record, NO_BETNR.format(n=run_.party_waits))
        run_.decision["waiting_for_party"] = {"party": party_id, "tries": run_.party_waits + 1}
        return run_.out("waiting_for_party", retry_in=self.settings.party_wait_s, party_to_check=party_id)

    # -- the run ------------------------------------------------------------------------------

    async def _execute(self, run_: Run, decision: AccountDecision) -> BankOutcome:
        if run_.dry_run:
            run_.decision.update(_audit_of(decision, Applied()))
            return run_.out("dry_run", plan=decision)
        applied = await run(decision.actions, BankExecutor(self.espo, self.advo), guard=run_.guard)
        run_.decision.update(_audit_of(decision, applied))
        rows = to_outbox(applied.notices, self.settings.admin_user_id)
        await store(self.db, applied.advanced, notices=rows)
        if applied.failure is not None:
            message = audit.safe_message(applied.failure.error)
            if applied.failure.outcome_unknown:
                message += (
                    " (outcome unknown; the next run looks the account up by IBAN before writing again)"
                )
            kept = applied.kept.get((ENTITY, run_.account_id), {})
            return await self._fail(run_, decision.record, message, extra=kept)
        await self.records.deliver(run_.account_id)
        written = applied.written.get((ENTITY, run_.account_id), {})
        if written.get("syncStatus") == "manual_action":
            answer = applied.patch_answers.get((ENTITY, run_.account_id))
            await self.records.remember_block(
                decision.record, "manual_action", content_fingerprint(decision.record), answer
            )
            return run_.out("manual_action")
        if decision.variant == "create":
            return run_.out("created")
        if decision.variant == "link":
            return run_.out("linked")
        return run_.out("bookkeeping" if written else "noop")

    async def _still_blocked(self, run_: Run, record: Mapping[str, Any]) -> bool:
        block = await self.db.get_block(ENTITY, run_.account_id)
        if block is None:
            return False
        if block.fingerprint == content_fingerprint(record):
            run_.decision["skipped"] = f"blocked ({block.reason}), content unchanged"
            if not run_.dry_run and block.modified_at != record.get("modifiedAt"):
                await self.db.touch_block(ENTITY, run_.account_id, record.get("modifiedAt"))
            return True
        run_.decision["unblocked"] = block.reason
        if not run_.dry_run:
            await self.db.clear_block(ENTITY, run_.account_id)
        return False

    async def _invalid(self, run_: Run, record: Mapping[str, Any], message: str) -> BankOutcome:
        run_.decision["invalid"] = message
        if run_.dry_run:
            return run_.out("dry_run", error=f"would be invalid: {message}")
        fp = content_fingerprint(record)
        recipient = record.get("assignedUserId") or self.settings.admin_user_id
        notice = invalid_notice(run_.account_id, message, fp, recipient)
        await self.records.block(record, "invalid", message, fingerprint=fp, notice=notice)
        run_.error = message
        return run_.out("invalid", error=message)

    async def _fail(
        self, run_: Run, record: Mapping[str, Any], message: str, *, extra: Mapping[str, Any] | None = None
    ) -> BankOutcome:
        if run_.dry_run:
            run_.decision["failure"] = message
            return run_.out("dry_run", error=f"would fail: {message}")
        recipient = record.get("assignedUserId") or self.settings.admin_user_id

        def notice(failure: Any) -> Any:
            episode = failure.fields.get("syncAutoResetAt") or run_.now.isoformat()
            return failed_notice(run_.account_id, message, str(episode), recipient)

        booked = await self.records.book_failure(
            record, message, fingerprint=content_fingerprint(record), extra=extra, notice=notice
        )
        run_.error = message
        status = "permanently_failed" if booked.permanent else "failed"
        run_.decision["failure"] = {"status": status, "retry_count": booked.fields.get("syncRetryCount")}
        log.warning("bank account %s %s: %s", run_.account_id, status, message)
        return run_.out(status, error=message)

    # -- delete -------------------------------------------------------------------------------

    async def _deleted(self, run_: Run) -> BankOutcome:
        """EspoCRM answers 404: nothing is deleted in Advoware (it cannot be); a tombstone keyed
        by the Advoware account, an audit entry and one notice to delete it by hand."""
        run_.action = "delete"
        row = await self.db.get_bank_account(run_.account_id)
        if row is None:
            return run_.out("not_found")
        if row.tombstone:
            return run_.out("noop")

        async def tombstone() -> BankOutcome:
            current = await self.db.get_bank_account(run_.account_id)
            if current is None or current.tombstone:
                return run_.out("noop")
            if run_.dry_run:
                run_.decision["tombstone" if current.konto_id is not None else "forget"] = run_.account_id
                return run_.out("dry_run")
            if current.konto_id is None:
                await self.db.delete_bank_account(run_.account_id)
                return run_.out("deleted")
            snapshot = await self.db.get_snapshot(current.party_id)  # the party's assigned user
            recipient = (snapshot or {}).get("assignedUserId") or self.settings.admin_user_id
            notice = deleted_notice(
                run_.account_id, current.party_id, current.betnr, current.konto_id, recipient
            )
            rows = to_outbox([notice], self.settings.admin_user_id, {"kontoId": current.konto_id})
            await self.db.save_bank_account(to_state(_tombstoned(current)), notices=rows)
            await self.db.clear_block(ENTITY, run_.account_id)
            await deliver(self.db, self.espo, PARTY_ENTITY, current.party_id)
            run_.decision["tombstone"] = {"konto_id": current.konto_id}
            return run_.out("deleted")

        return await self._locked(run_, row.party_id, tombstone)

    async def _audit(self, run_: Run, result: str, calls: Any) -> None:
        entry = AuditEntry(
            entity_type=ENTITY,
            entity_id=run_.account_id,
            action=run_.action,
            result=result,
            trace_id=run_.trace_id,
            trigger=run_.trigger,
            decision=run_.decision,
            api_calls=audit.api_calls(calls),
            error=run_.error,
        )
        await audit.record(self.db, entry)


def _marked_for(account_id: str, konto_id: int, accounts: Any) -> bool:
    """The Advoware account carries this EspoCRM account's marker (this service POSTed it)."""
    return any(int(a["id"]) == konto_id and marker_of(a) == account_id for a in accounts)


def _tombstoned(state: Any) -> Any:

    return dataclasses.replace(to_row(state), tombstone=True, manual=False, wanted=None)


def _audit_of(decision: AccountDecision, applied: Applied) -> dict[str, Any]:
    out: dict[str, Any] = {
        "variant": decision.variant,
        "actions": [describe(a) for a in decision.actions],
        "applied": list(applied.answers) + [f"patch:{e}" for e, _ in applied.written],
    }
    if decision.warnings:
        out["warnings"] = list(decision.warnings)
    if applied.failure is not None:
        out["stopped_at"] = describe(applied.failure.action)
    return out
