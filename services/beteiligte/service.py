"""`BeteiligteSyncService`: one sync of one party, end to end (SYNC_RULES §1, §7).

`handle()` in order (SYNC_RULES §1 "Per event"): the party lock, renewed while the run lasts
(held → `locked` with `retry_in`: the caller re-queues, the event is never dropped) → load the
EspoCRM record (404 → the EspoCRM delete, whatever the topic; a `delete` event for a record that
still exists is checked instead) → its linked addresses → a blocked record whose content
(addresses included) is unchanged ends here →
backoff of a `failed` record whose `syncNextRetry` lies ahead → validation (a person without
lastName is `invalid`) → no betnr: create, else update/check → one audit entry → lock released.

A failed write is booked on the record (the core's runner and records); only when even that
write fails does `handle()` raise (the engine retries the job). `dry_run` reads and decides and
writes nothing anywhere (no lock, no audit). See docs/beteiligte-sync.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.beteiligte import summary
from services.beteiligte.blocks import INVALID_NO_LASTNAME, hold, missing_last_name
from services.beteiligte.context import PartyDeps, Run, content_fingerprint, read_addresses
from services.beteiligte.execute import failed
from services.beteiligte.flows.create import create
from services.beteiligte.flows.delete import deleted_in_espocrm
from services.beteiligte.flows.unlink import unlink
from services.beteiligte.flows.update import check
from services.beteiligte.ports import Action, Clock, Direction, SyncOutcome, SyncSettings
from services.beteiligte.rules import ENTITY, snapshot_of_post
from services.clients.calls import count_calls
from services.clients.errors import NotFound
from services.db import AuditEntry, AuditRecord, Block, utc_now
from services.sync import audit
from services.sync.locking import Busy, Held, LockLost, party_lock_key, under_lock


class BeteiligteSyncService:
    def __init__(
        self,
        espo: Any,
        advo: Any,
        db: Any,
        lock: Any,
        settings: SyncSettings = SyncSettings(),
        clock: Clock = utc_now,
    ) -> None:
        self.deps = PartyDeps(espo, advo, db, lock, settings, clock)
        self.espo, self.advo, self.db, self.settings = espo, advo, db, settings

    @staticmethod
    def lock_key(entity_id: str) -> str:
        return party_lock_key(entity_id)

    async def handle(
        self,
        entity_id: str,
        action: Action,
        *,
        trigger: str,
        trace_id: str,
        direction: Direction = "both",
        dry_run: bool = False,
        bulk: bool = False,
        waits: int = 0,
    ) -> SyncOutcome:
        run = Run(entity_id, action, trigger, trace_id, direction, dry_run, bulk, now=self.deps.clock())
        if dry_run:
            with count_calls() as calls:
                outcome = await self._route(run)
            outcome.calls = audit.call_counts(calls)
            return outcome
        return await self._locked(run, self._route, waits)

    async def _locked(self, run: Run, flow: Any, waits: int) -> Any:
        async def audited(held: Held) -> Any:
            run.guard = held.check
            return await self._audited(run, flow)

        result = await under_lock(self.deps.lock, self.lock_key(run.entity_id), self.settings, waits, audited)
        if isinstance(result, Busy):
            return SyncOutcome(run.entity_id, "locked", retry_in=result.retry_in)
        return result

    async def _audited(self, run: Run, flow: Any) -> Any:
        with count_calls() as calls:
            try:
                outcome = await flow(run)
            except LockLost:
                raise
            except Exception as exc:  # even the failure booking failed: audit, then let the engine retry
                run.error = run.error or audit.safe_message(exc)
                await self._audit(run, "error", calls)
                raise
        result = outcome.status if isinstance(outcome, SyncOutcome) else ("ok" if outcome else "noop")
        if isinstance(outcome, SyncOutcome):
            outcome.calls = audit.call_counts(calls)
        await self._audit(run, result, calls)
        return outcome

    async def _audit(self, run: Run, result: str, calls: Any) -> None:
        entry = AuditEntry(
            entity_type=ENTITY,
            entity_id=run.entity_id,
            action=run.audit_action or run.action,
            result=result,
            trace_id=run.trace_id,
            trigger=run.trigger,
            decision={"direction": run.direction, **run.decision},
            api_calls=audit.api_calls(calls),
            error=run.error,
        )
        await audit.record(self.db, entry)

    async def _route(self, run: Run) -> SyncOutcome:
        run.audit_action = run.action
        try:
            record = await self.espo.get(ENTITY, run.entity_id)
        except NotFound:
            return await deleted_in_espocrm(self.deps, run)
        if run.action == "delete":  # EspoCRM signs only the body: a replayed delete does no harm
            run.decision["delete_ignored"] = "record exists"
            run.action = "sync_check"
        # The party's addresses: part of its content, synced in this run. The daily re-check of a
        # party deleted in Advoware reads them only if the party is found again.
        if record.get("syncStatus") != "deleted_in_advoware":
            try:
                await read_addresses(self.deps, run)
            except Exception as exc:
                return await failed(self.deps, run, record, exc)
        # Block, snapshot, intent and waiting notices in one read; the lock keeps them current.
        stored = await self.db.get_party_run_state(ENTITY, run.entity_id)
        run.notices_waiting = stored.waiting_notices > 0
        if await self._still_blocked(run, record, stored.block):
            return SyncOutcome(run.entity_id, "blocked", error=str(record.get("syncErrorMessage") or ""))
        wait = self.settings.retry.retry_due(record, run.now)
        if wait is not None and not run.manual and not run.dry_run:
            run.decision["backoff_s"] = round(wait, 3)
            return SyncOutcome(run.entity_id, "backoff", retry_in=wait)
        if missing_last_name(record):
            text = (
                f"Beteiligter {run.entity_id}: Person ohne Nachname; bitte Nachname oder Firmenname "
                "eintragen."
            )
            return await hold(
                self.deps,
                run,
                record,
                "invalid",
                INVALID_NO_LASTNAME,
                notice_kind="invalid",
                notice_text=text,
            )
        intent = stored.intent
        if not record.get("betnr"):
            return await create(self.deps, run, record, intent)
        snapshot = stored.snapshot
        # Linked by this service's own create (the EspoCRM write got through, the rest did not).
        ours = intent is not None and intent.betnr == int(record["betnr"])
        if ours and snapshot is None:  # our own create, its snapshot lost to a crash
            snapshot = snapshot_of_post(record, intent.payload if intent else None)
        outcome = await check(self.deps, run, record, snapshot, ours=ours)
        if intent is not None and not run.dry_run and await self.db.get_snapshot(run.entity_id):
            await self.db.clear_intent(run.entity_id)  # linked and synced meanwhile: done
        return outcome

    async def _still_blocked(self, run: Run, record: Mapping[str, Any], block: Block | None) -> bool:
        """A blocked record whose content did not change ends here (no Advoware call, no write)."""
        if block is None:
            return False
        if block.fingerprint == content_fingerprint(record, run.addresses):
            run.decision["skipped"] = f"blocked ({block.reason}), content unchanged"
            if not run.dry_run and block.modified_at != record.get("modifiedAt"):
                await self.db.touch_block(ENTITY, run.entity_id, record.get("modifiedAt"))
            return True
        run.decision["unblocked"] = block.reason
        if not run.dry_run:
            await self.db.clear_block(ENTITY, run.entity_id)
        return False

    async def cron_candidates(self) -> list[str]:
        """Ids (ordered by id) of every CBeteiligte the cron must sync; a due `permanently_failed`
        record is reset to `failed` first (one EspoCRM write each)."""
        return (await self.deps.records.candidates()).ids

    async def deliver_notifications(self) -> int:
        """Send what earlier runs queued but could not send (EspoCRM was down)."""
        return await self.deps.records.deliver()

    async def send_initial_conflict_summary(self) -> int:
        """ONE admin notification for all initial-sync conflicts and links of bulk runs not yet
        summed up (DECISIONS 10); the number of parties (0: nothing pending, nothing sent)."""
        return await summary.send_summary(self.deps)

    async def unlink(self, entity_id: str, *, trace_id: str = "cli") -> bool:
        """Clear betnr/advowareRowId + snapshot + intent under the party's lock (operator command
        after deleted_in_advoware); raises LockedError while a sync holds the lock."""
        run = Run(entity_id, "sync_check", "cli", trace_id, now=self.deps.clock())
        outcome = await self._locked(run, lambda r: unlink(self.deps, r), 0)
        if isinstance(outcome, SyncOutcome) and outcome.status == "locked":
            raise LockedError(f"{self.lock_key(entity_id)} is locked by a running sync; try again")
        return bool(outcome)

    async def audit(self, entity_id: str, limit: int = 50) -> list[AuditRecord]:
        return await self.db.list_audit(ENTITY, entity_id, limit=limit)


class LockedError(RuntimeError):
    """Another sync holds the party's lock; try again in a moment."""
