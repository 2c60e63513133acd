"""The party decision run through the core's real runner with an in-memory executor.

`plan(...)` decides (pure), runs the actions with `MemoryExecutor` (Advoware answers a PUT with
the body it stored; a POST with a new betNr), and returns a `View` of what the table tests
assert: the bodies sent, the ONE merged EspoCRM write, the notices earned and the new snapshot
computed from what was applied. `fail` makes chosen operations raise (before the write).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.beteiligte.rules import (
    ENTITY,
    Facts,
    PartyDecision,
    decide_create,
    decide_linked,
    decide_not_found,
)
from services.beteiligte.snapshot import next_snapshot
from services.sync.actions import Call, Notify, Patch
from services.sync.policy import RetryPolicy
from services.sync.runner import Applied, run
from tests.beteiligte.factories import NOW

NOT_FOUND = object()


class Refused(Exception):
    pass


@dataclass
class MemoryExecutor:
    """Answers like the Advoware simulator: a PUT returns the stored record with a new rowId."""

    current: Mapping[str, Any] | None = None
    stored: Callable[[dict[str, Any]], dict[str, Any]] | dict[str, Any] | None = None
    fail: frozenset[str] = frozenset()
    error: Exception | None = None  # what a failing operation raises (default: Refused)
    calls: list[tuple[str, Any]] = field(default_factory=list)

    async def call(self, call: Call) -> Any:
        self.calls.append((call.op, dict(call.body or {})))
        if call.op in self.fail:
            raise self.error or Refused(call.op)
        body = dict(call.body or {})
        if call.op == "update_party":
            if callable(self.stored):
                return [self.stored(body)]
            return [
                self.stored
                if self.stored is not None
                else {**(self.current or {}), **body, "rowId": "NEWROW"}
            ]
        if call.op == "create_party":
            return {"betNr": 555, "rowId": "NEWROW", "stored": {**body, "rowId": "NEWROW"}}
        raise AssertionError(call.op)

    async def patch(self, entity: str, record_id: str, fields: Mapping[str, Any]) -> Any:
        self.calls.append(("patch", dict(fields)))
        if "patch" in self.fail:
            raise Refused("patch")
        return {**fields, "modifiedAt": "2026-03-29 12:00:01"}


@dataclass
class View:
    decision: PartyDecision
    applied: Applied
    new_snapshot: dict[str, Any] | None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.decision, name)

    def _call(self, op: str) -> dict[str, Any] | None:
        return next(
            (dict(a.body or {}) for a in self.decision.actions if isinstance(a, Call) and a.op == op), None
        )

    @property
    def advoware_update(self) -> dict[str, Any] | None:
        return self._call("update_party")

    @property
    def advoware_create(self) -> dict[str, Any] | None:
        return self._call("create_party")

    @property
    def espo_update(self) -> dict[str, Any] | None:
        ref = (ENTITY, str(self.decision.record["id"]))
        fields = self.applied.written.get(ref) or self.applied.unwritten.get(ref)
        return fields or None

    @property
    def notifications(self) -> tuple[Notify, ...]:
        return tuple(self.applied.notices)

    @property
    def planned_notices(self) -> tuple[Notify, ...]:
        return tuple(a for a in self.decision.actions if isinstance(a, Notify))

    @property
    def bookkeeping_only(self) -> bool:
        return any(isinstance(a, Patch) for a in self.decision.actions) and not self.decision.writes_data

    @property
    def roundtrip_failed(self) -> tuple[str, ...]:
        return tuple(self.applied.problems)


def decide(
    espo_record: Mapping[str, Any],
    advo_record: Any,
    snapshot: Mapping[str, Any] | None,
    *,
    policy: str = "espocrm_wins",
    direction: str = "both",
    trigger: str = "cron",
    retry: RetryPolicy | None = None,
) -> PartyDecision:
    facts = Facts(
        now=NOW,
        retry=retry or RetryPolicy(),
        conflict_policy=policy,  # type: ignore[arg-type]
        direction=direction,  # type: ignore[arg-type]
        trigger=trigger,  # type: ignore[arg-type]
        admin_user_id="admin",
    )
    if advo_record is None:
        return decide_create(espo_record, facts)
    if advo_record is NOT_FOUND:
        return decide_not_found(espo_record, snapshot, facts)
    if isinstance(advo_record, list):
        advo_record = advo_record[0]
    return decide_linked(espo_record, advo_record, snapshot, facts)


def plan(
    espo_record: Mapping[str, Any],
    advo_record: Any,
    snapshot: Mapping[str, Any] | None,
    *,
    stored: Any = None,
    fail: tuple[str, ...] = (),
    error: Exception | None = None,
    **kw: Any,
) -> View:
    decision = decide(espo_record, advo_record, snapshot, **kw)
    current = advo_record if isinstance(advo_record, Mapping) else None
    executor = MemoryExecutor(current, stored, frozenset(fail), error)
    applied = asyncio.run(run(decision.actions, executor))
    return View(decision, applied, next_snapshot(decision, applied))
