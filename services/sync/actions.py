"""Actions: what a sync decision asks the world to do, as small frozen values.

A decision is a pure function `(EspoCRM side, other side, stored state) -> tuple[Action, ...]`
(vdirsyncer's Upload/Update/Delete, here for any entity). The one runner (`runner.py`) executes
them; nothing else performs a sync write. Each write names the **state items** it makes true
(`advances`: keys of the entity's stored sync state, e.g. `party.name`), so the new state is
computed from what was applied and can never advance for a write that failed.

- `Call`: one request to a remote system, performed by the entity's executor (`op`). Its answer
  may settle the plan (`settle`): the state items it really made true (a round trip that did not
  stick), fields for a record's EspoCRM patch (a new rowId), a non-fatal problem to book. A call
  whose body needs an earlier call's answer (the id a create returned) is `bind`-ed: the runner
  builds it from the answers so far just before it runs.
- `Patch`: fields for one EspoCRM record. Every `Patch` of one record in a plan, plus what
  answers contributed, is merged into ONE write, made where the record's last `Patch` stands.
- `Notify`: a notification with its once-key, sent only when the state items it `requires` were
  advanced in this run (a conflict is notified by the run that resolves it, DECISIONS 22).
- `Note`: a line for the audit trail (what was decided without a write, e.g. "left alone").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

RecordRef = tuple[str, str]  # (EspoCRM entity, record id)


@dataclass(frozen=True)
class Patch:
    entity: str
    record_id: str
    fields: Mapping[str, Any]
    advances: Mapping[str, Any] = field(default_factory=dict)
    # Written with the failure booking when the run stops before this record's write: a link
    # once made (a new betnr) is never lost.
    keep: bool = False

    @property
    def ref(self) -> RecordRef:
        return (self.entity, self.record_id)


@dataclass(frozen=True)
class Notify:
    key: str  # once-key: never two notifications with the same key
    kind: str  # snake_case kind (SYNC_RULES §7), also in the notification's data
    entity: str
    record_id: str
    recipient: str | None
    message: str
    requires: tuple[str, ...] = ()  # state items that must have advanced in this run


@dataclass(frozen=True)
class Settlement:
    """What an answer made true. `advances` None: the call's planned advances."""

    advances: Mapping[str, Any] | None = None
    patches: tuple[Patch, ...] = ()
    problem: str | None = None  # booked as a failure, but the run goes on (e.g. a round trip)
    notices: tuple[Notify, ...] = ()


Settle = Callable[[Any], Settlement]


@dataclass(frozen=True)
class Call:
    system: str  # "advoware" | "espocrm" | "google": for the audit and the dry-run listing
    op: str  # the executor's operation, e.g. "update_party"
    key: str  # unique in a plan; the answer is found under it in `Applied.answers`
    target: Any = None  # what is written (an id), passed to the executor
    body: Mapping[str, Any] | None = None
    advances: Mapping[str, Any] = field(default_factory=dict)
    settle: Settle | None = field(default=None, compare=False, repr=False)
    # The call as it runs, from the answers so far (Call key → answer); it keeps op, key and
    # advances, so a plan that stops before it blocks the same state items.
    bind: Callable[[Mapping[str, Any]], Call] | None = field(default=None, compare=False, repr=False)
    # The version of the target the write was built on (Advoware's rowId, a Google etag): after
    # a write without a clear answer the executor may read it back, and a target still at this
    # version was not written (`NotApplied`).
    version: Any = None


@dataclass(frozen=True)
class Note:
    text: str


Action = Call | Patch | Notify | Note


def describe(action: Action) -> dict[str, Any]:
    """A log- and audit-safe description: kinds, operations, targets and field names only."""
    if isinstance(action, Call):
        return {"call": f"{action.system}.{action.op}", "target": action.target, "key": action.key}
    if isinstance(action, Patch):
        return {"patch": action.entity, "target": action.record_id, "fields": sorted(action.fields)}
    if isinstance(action, Notify):
        return {"notify": action.kind, "target": action.record_id}
    return {"note": action.text}
