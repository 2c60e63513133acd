"""The one runner: executes a decision's actions in order and reports exactly what was applied.

`run(actions, executor)`:
- runs `Call`s through the executor, in order; a `Call`'s answer may settle the plan
  (`Settlement`): its real advances, fields for a record's patch, a non-fatal problem;
- merges every `Patch` of one record, plus the fields answers contributed (which win over what
  was planned before the answer), into ONE write, made at the record's last `Patch` (or at the
  end when only answers contributed);
- stops at the first failure — this is the one place a failed write is caught — and reports it
  in `Applied.failure` with the patches left unwritten, so the caller books the failure;
- collects the `Notify`s it reached (in the plan, or from a settlement) whose required state
  items advanced by the end of the run, and the `Note`s it reached. A write that failed without
  an answer or with a 5xx may have been applied: the notices it would have earned are reported
  apart (`maybe_notices`), for the caller to hold until a later run knows.

`guard` runs before each write (the party lock's "still mine?" check): what it raises stops
the run and propagates, because a run that lost its lock must not book or save anything.
State items advance only when every action naming them was applied.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.clients.errors import ApiError, OutcomeUnknown
from services.sync.actions import Action, Call, Note, Notify, Patch, RecordRef, Settlement, describe
from services.sync.locking import LockLost


class Executor(Protocol):
    async def call(self, call: Call) -> Any: ...

    async def patch(self, entity: str, record_id: str, fields: Mapping[str, Any]) -> Any: ...


Guard = Callable[[], Awaitable[None]]
OnApplied = Callable[[Action], Awaitable[None]]
log = logging.getLogger("bitbylaw.sync.runner")
_MISSING = object()


@dataclass(frozen=True)
class Failure:
    action: Call | Patch
    error: BaseException

    @property
    def outcome_unknown(self) -> bool:
        """A POST that may have happened (timeout, 5xx after sending): recover by lookup."""
        return isinstance(self.error, OutcomeUnknown)

    @property
    def maybe_applied(self) -> bool:
        """No answer or a 5xx: the remote may have applied the write before failing to say so."""
        if isinstance(self.error, OutcomeUnknown):
            return True
        return isinstance(self.error, ApiError) and (self.error.status is None or self.error.status >= 500)


@dataclass
class Applied:
    answers: dict[str, Any] = field(default_factory=dict)  # Call key → answer, in order
    written: dict[RecordRef, dict[str, Any]] = field(default_factory=dict)  # merged patches written
    patch_answers: dict[RecordRef, Any] = field(default_factory=dict)  # e.g. the record with modifiedAt
    advanced: dict[str, Any] = field(default_factory=dict)  # state items made true
    notices: list[Notify] = field(default_factory=list)
    maybe_notices: list[Notify] = field(default_factory=list)  # earned if the failed write applied
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    failure: Failure | None = None
    unwritten: dict[RecordRef, dict[str, Any]] = field(default_factory=dict)
    kept: dict[RecordRef, dict[str, Any]] = field(default_factory=dict)  # `keep` fields unwritten

    @property
    def ok(self) -> bool:
        return self.failure is None

    def did(self, key: str) -> bool:
        return key in self.answers


@dataclass
class _Pending:
    """One record's patch while the plan runs: planned fields, contributed fields, advances."""

    planned: dict[str, Any] = field(default_factory=dict)
    contributed: dict[str, Any] = field(default_factory=dict)
    planned_advances: dict[str, Any] = field(default_factory=dict)
    contributed_advances: dict[str, Any] = field(default_factory=dict)
    keep: dict[str, Any] = field(default_factory=dict)

    def add(self, patch: Patch, *, contributed: bool) -> None:
        (self.contributed if contributed else self.planned).update(patch.fields)
        (self.contributed_advances if contributed else self.planned_advances).update(patch.advances)
        if patch.keep:
            self.keep.update(patch.fields)

    def merged(self) -> dict[str, Any]:
        return {**self.planned, **self.contributed}

    @property
    def advances(self) -> dict[str, Any]:
        return {**self.planned_advances, **self.contributed_advances}


class _Run:
    def __init__(
        self, actions: Sequence[Action], executor: Executor, guard: Guard | None, on_applied: OnApplied | None
    ) -> None:
        self.actions, self.executor, self.guard, self.on_applied = actions, executor, guard, on_applied
        self.applied = Applied()
        self.pending: dict[RecordRef, _Pending] = {}
        self.last_patch = {a.ref: i for i, a in enumerate(actions) if isinstance(a, Patch)}
        self.blocked: set[str] = set()  # items an unapplied action names: they stay as they were
        self.reached: list[Notify] = []  # decided when the run ends: their items must have advanced
        self.after_failure: list[Notify] = []

    async def go(self) -> Applied:
        for index, action in enumerate(self.actions):
            try:
                await self._step(index, action)
            except LockLost:
                raise  # not a failed write: this run may not write anything any more
            except Exception as exc:  # the one place a failed write is caught
                assert isinstance(action, Call | Patch)
                self._fail(action, exc, index)
                return self._finish()
        for ref in [r for r, p in self.pending.items() if p.merged() != self.applied.written.get(r)]:
            try:  # answers contributed to a record after (or without) its planned write
                await self._write(ref)
            except LockLost:
                raise
            except Exception as exc:
                self._fail(Patch(ref[0], ref[1], self.pending[ref].merged()), exc, len(self.actions))
                return self._finish()
        return self._finish()

    async def _step(self, index: int, action: Action) -> None:
        if isinstance(action, Call):
            if self.guard is not None:
                await self.guard()
            answer = await self.executor.call(action)
            self.applied.answers[action.key] = answer
            self._settle(action, action.settle(answer) if action.settle else Settlement())
            await self._progress(action)
        elif isinstance(action, Patch):
            self.pending.setdefault(action.ref, _Pending()).add(action, contributed=False)
            if self.last_patch[action.ref] == index:
                await self._write(action.ref)
        elif isinstance(action, Notify):
            self.reached.append(action)
        elif isinstance(action, Note):
            self.applied.notes.append(action.text)

    def _settle(self, call: Call, settlement: Settlement) -> None:
        advances = call.advances if settlement.advances is None else settlement.advances
        self._advance(advances)
        for patch in settlement.patches:
            self.pending.setdefault(patch.ref, _Pending()).add(patch, contributed=True)
        if settlement.problem:
            self.applied.problems.append(settlement.problem)
        self.reached.extend(settlement.notices)

    async def _write(self, ref: RecordRef) -> None:
        pending = self.pending[ref]
        fields = pending.merged()
        done = self.applied.written.get(ref, {})
        if any(done.get(k, _MISSING) != v for k, v in fields.items()):
            if self.guard is not None:
                await self.guard()
            self.applied.patch_answers[ref] = await self.executor.patch(ref[0], ref[1], fields)
        self.applied.written[ref] = fields
        self._advance(pending.advances)

    async def _progress(self, action: Action) -> None:
        """Tell the caller a write landed (e.g. to record it before the next write). A failure
        here is no failure of the write, which did land: logged, never raised."""
        if self.on_applied is None:
            return
        try:
            await self.on_applied(action)
        except Exception as exc:
            log.warning("progress of %s not recorded: %s", describe(action), type(exc).__name__)

    def _advance(self, items: Mapping[str, Any]) -> None:
        for key, value in items.items():
            self.applied.advanced[key] = value

    def _fail(self, action: Call | Patch, error: BaseException, index: int) -> None:
        self.applied.failure = Failure(action, error)
        self.after_failure = [a for a in self.actions[index:] if isinstance(a, Notify)]
        for later in self.actions[index:]:
            if isinstance(later, Call | Patch):
                self.blocked.update(later.advances)
            if isinstance(later, Patch):
                self.pending.setdefault(later.ref, _Pending()).add(later, contributed=False)

    def _finish(self) -> Applied:
        applied = self.applied
        for item in self.blocked:
            applied.advanced.pop(item, None)
        applied.notices = [n for n in self.reached if all(i in applied.advanced for i in n.requires)]
        failure = applied.failure
        if failure is not None and failure.maybe_applied:
            # The write may have resolved a conflict after all: the caller holds these notices
            # until a later run tells whether it did (the conflict is gone) or not (it is back).
            maybe = set(applied.advanced) | set(failure.action.advances)
            applied.maybe_notices = [n for n in self.after_failure if n.requires and set(n.requires) <= maybe]
        for ref, pending in self.pending.items():
            if ref not in applied.written:
                applied.unwritten[ref] = pending.merged()
                if pending.keep:
                    applied.kept[ref] = dict(pending.keep)
        return applied


async def run(
    actions: Sequence[Action],
    executor: Executor,
    *,
    guard: Guard | None = None,
    on_applied: OnApplied | None = None,
) -> Applied:
    """Execute `actions` in order; see the module docstring. `on_applied(action)` runs after each
    remote write that landed (not after a patch: a record's write is its last action anyway)."""
    return await _Run(actions, executor, guard, on_applied).go()
