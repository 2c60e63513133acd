"""Status bookkeeping of one EspoCRM entity type, written once for every synced entity.

`Records(entity, ...)` books a failure (retry policy, permanently-failed episode, its one
notice), blocks a record that waits for a person (invalid, manual action, duplicate suspected)
or for its content to change, and selects the cron's candidates. Parties (`CBeteiligte`) and bank
accounts (`CBankverbindungen`) share the attribute names and this code; only the entity name,
the fingerprint and the message texts differ.

Cron selection (SYNC_RULES §1 "Triggers"): the ids are collected first by keyset paging (`id >
last`, ordered by id, no cap), because paging by offset while statuses change skips records;
the server-side filter is a superset and `RetryPolicy.cron_wants` plus the service database's
blocks and re-checks decide exactly. A due `permanently_failed` record is reset (one write)
before its id is returned.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.sync.actions import Notify
from services.sync.espotime import format_espo_datetime, parse_espo_datetime
from services.sync.notify import Notifier, deliver, to_outbox
from services.sync.policy import BLOCKED_STATUSES, WANTS_SYNC_STATUSES, FailureUpdate, RetryPolicy

log = logging.getLogger("bitbylaw.sync.records")
PAGE = 200
SELECT = (
    "id",
    "syncStatus",
    "syncNextRetry",
    "syncAutoResetAt",
    "advowareLastSync",
    "syncRetryCount",
    "modifiedAt",
    "advowareDeletedAt",
)


@dataclass(frozen=True)
class Candidates:
    ids: list[str]
    resets: int = 0
    matching: int = 0
    rechecks: list[str] = field(default_factory=list)  # parked records due for a re-check


@dataclass
class Records:
    entity: str
    crm: Any  # EspoCRM client: get, update, list, notify
    db: Any  # service database: blocks, re-checks, outbox
    policy: RetryPolicy
    admin_user_id: str | None
    clock: Callable[[], datetime]
    recheck_after: timedelta | None = None  # deleted_in_advoware re-check period (parties)

    # -- writes -------------------------------------------------------------------------------

    async def book_failure(
        self,
        record: Mapping[str, Any],
        message: str,
        *,
        fingerprint: str,
        extra: Mapping[str, Any] | None = None,
        notice: Callable[[FailureUpdate], Notify] | None = None,
        permanent: bool = False,
    ) -> FailureUpdate:
        """ONE write: the failure (plus `extra`, e.g. a betnr already created). A failure that
        makes the record permanently failed blocks it; the episode's first one notifies once.
        If even this write fails, it raises: the engine retries the job."""
        failure = self.policy.on_failure(record, message, self.clock(), permanent=permanent)
        answer = await self.crm.update(self.entity, str(record["id"]), {**(extra or {}), **failure.fields})
        if failure.permanent:
            await self._remember_block(record, "permanently_failed", fingerprint, answer)
        if failure.notify and notice is not None:
            await self.send([notice(failure)])
        return failure

    async def block(
        self,
        record: Mapping[str, Any],
        status: str,
        message: str,
        *,
        fingerprint: str,
        notice: Notify | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Set a status that waits for a person (no retry counter) and remember the block."""
        fields = {**(extra or {}), **self.policy.on_block(record, status, message)}
        answer = await self.crm.update(self.entity, str(record["id"]), fields)
        await self._remember_block(record, status, fingerprint, answer)
        if notice is not None:
            await self.send([notice])

    async def remember_block(
        self, record: Mapping[str, Any], status: str, fingerprint: str, answer: Any
    ) -> None:
        """A block whose status a sync's own patch already wrote (e.g. a round-trip block)."""
        await self._remember_block(record, status, fingerprint, answer)

    async def _remember_block(
        self, record: Mapping[str, Any], status: str, fingerprint: str, answer: Any
    ) -> None:
        modified = answer.get("modifiedAt") if isinstance(answer, Mapping) else None
        await self.db.set_block(
            self.entity, str(record["id"]), reason=status, fingerprint=fingerprint, modified_at=modified
        )

    async def send(self, notices: list[Notify], extra: Mapping[str, Any] | None = None) -> int:
        """Record notices in the outbox, then deliver the record's queue."""
        rows = to_outbox(notices, self.admin_user_id, extra)
        if not rows:
            return 0
        await self.db.enqueue_notifications(rows)
        return await self.deliver(rows[0].entity_id)

    async def deliver(self, record_id: str | None = None) -> int:
        notifier: Notifier = self.crm
        return await deliver(self.db, notifier, self.entity, record_id)

    # -- cron -----------------------------------------------------------------------------------

    def candidate_filter(self, now: datetime) -> list[dict[str, Any]]:
        """A superset of what the cron selects, as an EspoCRM `where`."""
        soon = format_espo_datetime(now + timedelta(seconds=1))  # `before` is strict: include `now`
        stale = format_espo_datetime(now - self.policy.stale_after + timedelta(seconds=1))
        parked = sorted(BLOCKED_STATUSES | ({"deleted_in_advoware"} if self.recheck_after else set()))
        options: list[dict[str, Any]] = [
            {"type": "isNull", "attribute": "syncStatus"},
            {"type": "in", "attribute": "syncStatus", "value": [*WANTS_SYNC_STATUSES, *parked]},
            _and(_status("failed"), _or(_null("syncNextRetry"), _before("syncNextRetry", soon))),
            _and(_status("clean"), _or(_null("advowareLastSync"), _before("advowareLastSync", stale))),
        ]
        return [_or(*options)]

    async def collect(self, now: datetime) -> list[dict[str, Any]]:
        base = self.candidate_filter(now)
        records: list[dict[str, Any]] = []
        last: str | None = None
        while True:
            where = base + ([{"type": "greaterThan", "attribute": "id", "value": last}] if last else [])
            page = await self.crm.list(self.entity, where=where, select=SELECT, order_by="id", max_size=PAGE)
            records += page["list"]
            if len(page["list"]) < PAGE:
                return records
            last = str(page["list"][-1]["id"])

    async def candidates(self) -> Candidates:
        now = self.clock()
        records = await self.collect(now)
        blocks = await self.db.list_blocks(self.entity)
        rechecks = await self.db.list_rechecks(self.entity) if self.recheck_after else {}
        ids: list[str] = []
        due_rechecks: list[str] = []
        resets = 0
        for record in records:
            rid = str(record["id"])
            wants = self.policy.cron_wants(record, now)
            if wants == "reset_then_sync":
                await self.reset(record)
                resets += 1
            elif wants is None and not self._changed_while_blocked(record, blocks.get(rid)):
                if not self._recheck_due(record, rechecks.get(rid), now):
                    continue
                due_rechecks.append(rid)
            ids.append(rid)
        log.info(
            "%s cron: %d candidate(s) of %d matching, %d reset, %d re-check(s)",
            self.entity, len(ids), len(records), resets, len(due_rechecks),
        )  # fmt: skip
        return Candidates(sorted(ids), resets, len(records), due_rechecks)

    def _changed_while_blocked(self, record: Mapping[str, Any], block: Any) -> bool:
        status = record.get("syncStatus")
        if status not in BLOCKED_STATUSES:
            return False
        if block is None:  # no block stored (a lost database): re-validate, except a waiting reset
            return status != "permanently_failed"
        return bool(block.modified_at != record.get("modifiedAt"))

    def _recheck_due(self, record: Mapping[str, Any], checked: datetime | None, now: datetime) -> bool:
        if self.recheck_after is None or record.get("syncStatus") != "deleted_in_advoware":
            return False
        last = checked or parse_espo_datetime(record.get("advowareDeletedAt"))
        return last is None or last <= now - self.recheck_after

    async def reset(self, record: Mapping[str, Any]) -> None:
        """permanently_failed → failed, counter 0 (the auto-reset); the episode's block ends."""
        await self.crm.update(self.entity, str(record["id"]), self.policy.reset_fields(record))
        await self.db.clear_block(self.entity, str(record["id"]))


def _null(attribute: str) -> dict[str, Any]:
    return {"type": "isNull", "attribute": attribute}


def _before(attribute: str, moment: str) -> dict[str, Any]:
    return {"type": "before", "attribute": attribute, "value": moment}


def _or(*items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "or", "value": list(items)}


def _and(*items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "and", "value": list(items)}


def _status(status: str) -> dict[str, Any]:
    return {"type": "equals", "attribute": "syncStatus", "value": status}
