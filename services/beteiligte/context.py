"""What one run of the party sync carries: the collaborators (`PartyDeps`, the same for every
flow) and the facts of this run (`Run`: ids, trigger, direction, now, the lock guard, and what
the audit should say). Flows take these two arguments and nothing else."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from services.beteiligte.adressen.fields import espo_values
from services.beteiligte.mapping import espo_to_party
from services.beteiligte.ports import Action, Clock, Direction, SyncSettings
from services.beteiligte.rules import ENTITY, Facts, Trigger
from services.sync.fingerprint import fingerprint
from services.sync.records import Records

# Logs carry ids, field names, statuses and counts only (DECISIONS 17).
log = logging.getLogger("bitbylaw.beteiligte")
ADDRESS_LINK = "adressen"  # CBeteiligte → CAdressen (by beteiligteId)


@dataclass(frozen=True)
class PartyDeps:
    espo: Any  # EspoCrmClient
    advo: Any  # AdvowareClient
    db: Any  # services.db.Database
    lock: Any  # services.sync.locking.Lock
    settings: SyncSettings
    clock: Clock

    @cached_property
    def records(self) -> Records:
        return Records(
            ENTITY,
            self.espo,
            self.db,
            self.settings.retry,
            self.settings.admin_user_id,
            self.clock,
            recheck_after=timedelta(hours=self.settings.deleted_recheck_hours),
        )


@dataclass
class Run:
    """One `handle()` call; `audit_action`/`decision`/`error` are filled in by the flow that ran."""

    entity_id: str
    action: Action
    trigger: str
    trace_id: str
    direction: Direction = "both"
    dry_run: bool = False
    bulk: bool = False  # a cron pass or `--all`: initial-sync notices are summed up (DECISIONS 29)
    now: datetime = field(default_factory=lambda: datetime.min)
    guard: Callable[[], Awaitable[None]] | None = None
    addresses: list[dict[str, Any]] | None = None  # the party's CAdressen, once read
    bank: Any = None  # the party's bank account state (services.bankverbindungen), once read
    audit_action: str = ""
    decision: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    # Notices of this record wait in the outbox (from an earlier run): deliver them at the end
    # even when this run adds none. True until the stored state was read.
    notices_waiting: bool = True

    @property
    def kind_of_trigger(self) -> Trigger:
        """Webhook events never write the 24-h stamp alone; operator runs are `manual`."""
        if self.trigger in ("cli", "manual") or self.trigger.startswith("cli"):
            return "manual"
        if self.action in ("create", "update"):
            return "webhook"
        return "cron"

    @property
    def manual(self) -> bool:
        return self.kind_of_trigger == "manual"

    def facts(self, settings: SyncSettings) -> Facts:
        return Facts(
            now=self.now,
            retry=settings.retry,
            conflict_policy=settings.policy,
            direction=self.direction,
            trigger=self.kind_of_trigger,
            admin_user_id=settings.admin_user_id,
        )


async def read_addresses(deps: PartyDeps, run: Run) -> list[dict[str, Any]]:
    """The party's linked CAdressen (one EspoCRM read), kept on the run."""
    if run.addresses is None:
        run.addresses = list(await deps.espo.list_linked(ENTITY, run.entity_id, ADDRESS_LINK))
    return run.addresses


def content_fingerprint(record: Mapping[str, Any], addresses: Sequence[Mapping[str, Any]] | None = ()) -> str:
    """What a blocked party's content is compared by (SYNC_RULES §1 "Blocked"): the mapped
    fields, `firmenname`, `betnr`, the e-mail and phone sets and the mapped fields of the linked
    addresses."""
    keys = ("emailAddress", "phoneNumber", "type", "primary")
    sets = [
        sorted([str(i.get(k) or "") for k in keys] for i in items)
        for items in (record.get("emailAddressData") or [], record.get("phoneNumberData") or [])
    ]
    linked = sorted((str(a.get("id")), sorted(espo_values(a).items())) for a in addresses or ())
    party = espo_to_party(record).to_json()
    return fingerprint(
        party, record.get("firmenname"), record.get("betnr"), sets, *([linked] if linked else [])
    )
