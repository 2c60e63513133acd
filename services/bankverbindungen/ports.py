"""What the account sync takes from its surroundings and gives back: its settings (the party's
lock and retry policy, the party wait), the outcome a step or the CLI acts on, and the facts of
one run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.bankverbindungen.rules import AccountDecision
from services.sync.policy import RetryPolicy


@dataclass(frozen=True)
class BankSettings:
    admin_user_id: str | None = "1"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    lock_ttl_s: float = 60
    lock_retry_initial_s: float = 2
    lock_retry_max_s: float = 30
    party_wait_s: float = 60
    party_wait_max_tries: int = 10


@dataclass
class BankOutcome:
    account_id: str
    status: str  # created, linked, manual_action, bookkeeping, noop, invalid, blocked, backoff,
    # locked, waiting_for_party, failed, permanently_failed, deleted, not_found
    retry_in: float | None = None  # locked / backoff / waiting_for_party: run again after this
    party_to_check: str | None = None  # waiting_for_party: enqueue this party's sync_check
    error: str | None = None
    calls: dict[str, int] = field(default_factory=dict)
    decision: dict[str, Any] = field(default_factory=dict)
    plan: AccountDecision | None = None  # the decision, when one was computed


@dataclass
class Run:
    """One `handle()` call; `decision`/`error` are filled in by the flow that ran."""

    account_id: str
    action: str
    trigger: str
    trace_id: str
    now: datetime
    waits: int = 0
    party_waits: int = 0
    dry_run: bool = False
    guard: Callable[[], Awaitable[None]] | None = None
    decision: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def manual(self) -> bool:
        return self.trigger.startswith("cli") or self.trigger == "manual"

    def out(self, status: str, **kw: Any) -> BankOutcome:
        return BankOutcome(self.account_id, status, decision=self.decision, **kw)
