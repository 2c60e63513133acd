"""What one run of the party sync carries around: the collaborators (`SyncDeps`) and the facts
of this run (`Run`: ids, trigger, direction, the clock's `now`, and what the audit should say).

Kept apart from `service.py` so the flow modules (`create`, `apply`, `failures`, `delete`) take
two small arguments instead of the whole service.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.beteiligte.plan import Trigger
from services.beteiligte.ports import Action, Clock, Direction, SyncSettings
from services.clients.advoware import AdvowareClient
from services.clients.espocrm import EspoCrmClient
from services.db import Database

ENTITY = "CBeteiligte"
# Logs carry ids, field names, statuses and counts only (DECISIONS 17).
log = logging.getLogger("bitbylaw.beteiligte")


@dataclass(frozen=True)
class SyncDeps:
    espo: EspoCrmClient
    advo: AdvowareClient
    db: Database
    settings: SyncSettings
    clock: Clock


@dataclass
class Run:
    """One handle() call. `audit_action`/`decision`/`error` are filled in by the flow that ran."""

    entity_id: str
    action: Action
    trigger: str
    trace_id: str
    direction: Direction = "both"
    dry_run: bool = False
    now: datetime = field(default_factory=lambda: datetime.min)
    audit_action: str = ""
    decision: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def plan_trigger(self) -> Trigger:
        """plan_sync's trigger: webhook events never write the 24-h stamp alone."""
        if self.trigger in ("cli", "manual") or self.trigger.startswith("cli"):
            return "manual"
        if self.action in ("create", "update"):
            return "webhook"
        return "cron"

    @property
    def manual(self) -> bool:
        return self.plan_trigger == "manual"
