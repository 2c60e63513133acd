"""`BeteiligteSyncService`: one sync of one party, end to end (SYNC_RULES §1, §7).

`handle()` in order: per-entity lock `beteiligte:{id}` (held → status `locked` with `retry_in`:
the caller re-queues, the event is never dropped) → `delete` routed first without loading the
record → load the EspoCRM record (404 → `not_found`) → backoff of a `failed` record whose
`syncNextRetry` lies ahead → round-trip block → no betnr: create (`create.py`), else update/check
(`apply.py`) → audit entry → lock released in `finally`.

A client error during the sync is booked on the record (`failures.py`); only when even that
write fails does `handle()` raise (the engine retries the job). `dry_run` reads and plans, and
writes nothing anywhere (no lock, no audit). See docs/beteiligte-sync.md.
"""

from __future__ import annotations

from services.beteiligte import bookkeeping, cron, summary
from services.beteiligte.apply import check_linked
from services.beteiligte.audit import call_counts
from services.beteiligte.audit import record as record_audit
from services.beteiligte.context import ENTITY, Run, SyncDeps, log
from services.beteiligte.create import create_party
from services.beteiligte.delete import handle_delete
from services.beteiligte.failures import safe_message
from services.beteiligte.ports import Action, Clock, Direction, Lock, Status, SyncOutcome, SyncSettings
from services.clients.advoware import AdvowareClient
from services.clients.calls import count_calls
from services.clients.errors import NotFound
from services.clients.espocrm import EspoCrmClient
from services.db import AuditRecord, Database, utc_now


class BeteiligteSyncService:
    def __init__(
        self,
        espo: EspoCrmClient,
        advo: AdvowareClient,
        db: Database,
        lock: Lock,
        settings: SyncSettings = SyncSettings(),
        clock: Clock = utc_now,
    ) -> None:
        self.espo, self.advo, self.db, self.lock = espo, advo, db, lock
        self.settings, self.clock = settings, clock
        self.deps = SyncDeps(espo, advo, db, settings, clock)

    @staticmethod
    def lock_key(entity_id: str) -> str:
        return f"beteiligte:{entity_id}"

    async def handle(
        self,
        entity_id: str,
        action: Action,
        *,
        trigger: str,
        trace_id: str,
        direction: Direction = "both",
        dry_run: bool = False,
    ) -> SyncOutcome:
        run = Run(entity_id, action, trigger, trace_id, direction, dry_run, now=self.clock())
        if dry_run:
            with count_calls() as calls:
                outcome = await self._route(run)
            outcome.calls = call_counts(calls)
            return outcome
        key = self.lock_key(entity_id)
        token = await self.lock.acquire(key, self.settings.lock_ttl_s)
        if token is None:
            delay = self.settings.locked_retry_delay_s
            log.info("party %s locked by another sync; retry in %ss", entity_id, delay)
            return SyncOutcome(entity_id, "locked", retry_in=delay)
        try:
            return await self._audited(run)
        finally:
            await self.release_lock(key, token)

    async def _audited(self, run: Run) -> SyncOutcome:
        with count_calls() as calls:
            try:
                outcome = await self._route(run)
            except Exception as exc:  # even the failure booking failed: audit, then let the engine retry
                run.error = run.error or safe_message(exc)
                await record_audit(self.deps, run, "error", calls)
                raise
        outcome.calls = call_counts(calls)
        await record_audit(self.deps, run, outcome.status, calls)
        return outcome

    async def release_lock(self, key: str, token: str) -> None:
        try:
            await self.lock.release(key, token)
        except Exception as exc:  # the TTL frees it; never hide the outcome behind this
            log.warning("lock %s not released: %s", key, type(exc).__name__)

    async def _route(self, run: Run) -> SyncOutcome:
        if run.action == "delete":
            return await handle_delete(self.deps, run)
        run.audit_action = run.action
        try:
            record = await self.espo.get(ENTITY, run.entity_id)
        except NotFound:
            log.info("party %s not found in EspoCRM", run.entity_id)
            return SyncOutcome(run.entity_id, "dry_run" if run.dry_run else "not_found")
        wait = bookkeeping.retry_due(record, run.now)
        if wait is not None and not run.manual and not run.dry_run:
            run.decision["backoff_s"] = round(wait, 3)
            return SyncOutcome(run.entity_id, "backoff", retry_in=wait)
        snapshot = await self.db.get_snapshot(run.entity_id)  # not needed for a backoff
        if bookkeeping.roundtrip_blocked(record, snapshot):
            run.decision["skipped"] = "roundtrip_blocked"
            run.error = "round trip blocked until the record changes in EspoCRM"
            status: Status = "dry_run" if run.dry_run else "permanently_failed"
            return SyncOutcome(run.entity_id, status, error=run.error)
        if not record.get("betnr"):
            return await create_party(self.deps, run, record, snapshot)
        if not run.dry_run and await self.db.get_intent(run.entity_id) is not None:
            await self.db.clear_intent(run.entity_id)  # linked meanwhile: the intent is done
        return await check_linked(self.deps, run, record, snapshot)

    async def cron_candidates(self) -> list[str]:
        """Ids (ordered by id) of every CBeteiligte the cron must sync; due permanently_failed
        records are reset to failed first (one EspoCRM write each). See `cron.py`."""
        return await cron.cron_candidates(self.deps)

    async def send_initial_conflict_summary(self) -> int:
        """ONE admin notification for all initial-sync conflicts not yet summed up (DECISIONS 10);
        returns the number of parties (0: nothing pending, nothing sent). Each pending item is
        summed up exactly once, also with concurrent callers. See `summary.py`."""
        return await summary.send_summary(self.deps)

    async def unlink(self, entity_id: str) -> bool:
        """Clear betnr/advowareRowId + snapshot + intent (operator command after
        deleted_in_advoware); the record goes back to `pending_sync`, so the next sync creates
        the party anew. False when there was no link to clear."""
        from services.beteiligte.unlink import unlink

        return await unlink(self, entity_id)

    async def audit(self, entity_id: str, limit: int = 50) -> list[AuditRecord]:
        return await self.db.list_audit(ENTITY, entity_id, limit=limit)
