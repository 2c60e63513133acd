"""The pure decision of one party sync: `plan_sync(...) -> Plan` (vdirsyncer style: diff → plan → apply).

`plan_sync` looks at the EspoCRM record, the Advoware record and the stored snapshot and says
what to write; it does no I/O. The apply side (in `steps/` or an `apply.py` with the clients)
runs the plan in this order:

1. `plan.advoware_create` → POST; then `plan = plan.settle_advoware(row_id=…, betnr=…, stored=…)`.
   `plan.advoware_update` → PUT; then `plan = plan.settle_advoware(row_id=…, stored=put_response[0])`
   (round-trip validation happens there and may turn the EspoCRM write into a failure write).
2. `plan.espo_update` → one EspoCRM PUT (data and bookkeeping together).
3. Send `plan.notifications`; store `plan.new_snapshot` (None: keep the stored one).

If a write fails, store `plan.snapshot_for(advoware_ok=…, espo_ok=…)` (None: keep the stored one)
and write `bookkeeping.on_failure(...)`. The snapshot only ever advances for what was applied.

Variants, one function each: `_plan_create` (no betnr), `_plan_not_found` (Advoware 404),
`_plan_linked` (initial sync without snapshot, or update against the snapshot).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from services.beteiligte import bookkeeping
from services.beteiligte.diff import Conflict, Merge, Policy, fit_kind, merge_initial, merge_update
from services.beteiligte.mapping import (
    FIELDS,
    Kind,
    Party,
    Value,
    advo_to_party,
    advoware_create_payload,
    advoware_put_payload,
    espo_kind,
    espo_to_party,
    format_espo_datetime,
    to_espo_fields,
)


class _NotFound:
    """Sentinel: Advoware answered 404 for the linked betNr."""

    def __repr__(self) -> str:
        return "NOT_FOUND"


NOT_FOUND: Final = _NotFound()

Direction = Literal["both", "to_advoware", "to_espocrm"]
Trigger = Literal["webhook", "cron", "manual"]
Variant = Literal["create", "initial", "update", "not_found", "skip"]
NotificationKind = Literal["conflict", "deleted_in_advoware", "permanently_failed", "manual_action"]

BOOKKEEPING_ATTRS: frozenset[str] = frozenset(
    {
        "syncStatus",
        "advowareLastSync",
        "syncRetryCount",
        "syncErrorMessage",
        "syncNextRetry",
        "syncAutoResetAt",
        "advowareDeletedAt",
    }
)


@dataclass(frozen=True)
class Notification:
    """An EspoCRM in-app notification to send (recipient None: no user and no admin configured)."""

    kind: NotificationKind
    recipient: str | None
    message: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Basis:
    """What `settle_advoware` and `snapshot_for` need to recompute after the Advoware write."""

    espo_record: Mapping[str, Any]
    old_snapshot: Mapping[str, Any] | None
    espo: Party
    advo: Party
    target: Party
    kind: Kind
    advo_row_id: str | None
    push: tuple[str, ...]
    pull: tuple[str, ...]
    deferred: tuple[str, ...]  # conflict fields whose winner's write this run does not apply
    recipient: str | None
    now: datetime

    def espo_after(self) -> Party:
        return self.espo.replace({f: self.target.get(f) for f in self.pull})

    def advo_after(self) -> Party:
        return self.advo.replace({f: self.target.get(f) for f in self.push})


@dataclass(frozen=True)
class Plan:
    """What one sync of one party writes. Immutable; `None`/empty means "nothing of this kind"."""

    variant: Variant
    advoware_create: Mapping[str, Any] | None = None  # POST body
    advoware_update: Mapping[str, Any] | None = None  # full read-modify-write PUT body
    espo_update: Mapping[str, Any] | None = None  # the one EspoCRM write: data + bookkeeping
    bookkeeping_only: bool = False
    conflicts: tuple[Conflict, ...] = ()
    notifications: tuple[Notification, ...] = ()
    new_snapshot: Mapping[str, Any] | None = None  # store after success; None: keep the stored one
    to_advoware: tuple[str, ...] = ()  # canonical fields written to Advoware
    to_espocrm: tuple[str, ...] = ()  # canonical fields written to EspoCRM
    espo_changed: tuple[str, ...] = ()  # audit: fields EspoCRM changed since the snapshot
    advo_changed: tuple[str, ...] = ()  # audit: fields Advoware changed since the snapshot
    roundtrip_failed: tuple[str, ...] = ()  # Advoware attributes that did not stick (after settle)
    basis: _Basis | None = field(default=None, repr=False, compare=False)

    @property
    def writes_advoware(self) -> bool:
        return self.advoware_create is not None or self.advoware_update is not None

    @property
    def writes_data(self) -> bool:
        return self.writes_advoware or bool(self.to_espocrm)

    @property
    def is_noop(self) -> bool:
        return not self.writes_advoware and self.espo_update is None and not self.notifications

    def settle_advoware(
        self, *, row_id: str | None, stored: Mapping[str, Any] | None = None, betnr: int | None = None
    ) -> Plan:
        """The plan after a successful POST/PUT: rowId (and betNr) known, round trip checked.

        `stored` is the record Advoware answered with (PUT response element, or the GET after a
        POST); without it no round-trip check is possible and the write is assumed to have stuck.
        """
        return _settle(self, row_id=row_id, stored=stored, betnr=betnr)

    def snapshot_for(
        self, *, advoware_ok: bool, espo_ok: bool, row_id: str | None = None
    ) -> Mapping[str, Any] | None:
        """The snapshot to store when only some writes succeeded (None: keep the stored one)."""
        basis = self.basis
        if basis is None:
            return None
        espo_after = basis.espo_after() if espo_ok else basis.espo
        advo_after = basis.advo_after() if advoware_ok else basis.advo
        new_row = row_id if advoware_ok and self.writes_advoware else basis.advo_row_id
        return _advance(basis, espo_after, advo_after, new_row)


# --- entry point ---------------------------------------------------------------------------


def plan_sync(
    espo_record: Mapping[str, Any],
    advo_record: Mapping[str, Any] | _NotFound | None,
    snapshot: Mapping[str, Any] | None,
    *,
    now: datetime,
    policy: Policy = "espocrm_wins",
    direction: Direction = "both",
    trigger: Trigger = "cron",
    admin_user_id: str | None = None,
) -> Plan:
    """Decide one sync of one party (SYNC_RULES §1). Pure; see the module docstring for apply.

    `advo_record` is None when the EspoCRM record has no `betnr` (→ create), `NOT_FOUND` after a
    404, else the party as Advoware returned it (a one-element list is unwrapped). `trigger`
    "webhook" never writes the 24-h stamp alone; the caller checks `bookkeeping.retry_due` and
    `bookkeeping.roundtrip_blocked` before calling.
    """
    recipient = recipient_of(espo_record, snapshot, admin_user_id)
    if not espo_record.get("betnr"):
        if direction == "to_espocrm":
            return Plan(variant="skip")  # a create is EspoCRM → Advoware only
        return _plan_create(espo_record, snapshot, now, recipient)
    if advo_record is NOT_FOUND:
        return _plan_not_found(espo_record, now, recipient)
    advo_record = unwrap_advoware(advo_record)
    if advo_record is None:
        raise ValueError("advo_record is required for a linked party (betnr set)")
    assert isinstance(advo_record, Mapping)
    return _plan_linked(
        espo_record, advo_record, snapshot, now, policy, direction, trigger == "webhook", recipient
    )


def recipient_of(
    espo_record: Mapping[str, Any], snapshot: Mapping[str, Any] | None, admin_user_id: str | None
) -> str | None:
    """The assigned user, else the one in the snapshot (deleted records), else the admin."""
    return espo_record.get("assignedUserId") or (snapshot or {}).get("assignedUserId") or admin_user_id


def unwrap_advoware(record: Any) -> Any:
    """Advoware answers GET/PUT with an object or a one-element list (A3, A4)."""
    if isinstance(record, list):
        return record[0] if record else None
    return record


# --- variants ------------------------------------------------------------------------------


def _plan_create(
    espo_record: Mapping[str, Any], snapshot: Mapping[str, Any] | None, now: datetime, recipient: str | None
) -> Plan:
    espo, kind = espo_to_party(espo_record), espo_kind(espo_record)
    payload = advoware_create_payload(espo, kind)
    # An old snapshot (the party was unlinked after a 404) describes a deleted party: start afresh.
    basis = _Basis(
        espo_record=espo_record,
        old_snapshot=None,
        espo=espo,
        advo=Party(),
        target=espo,
        kind=kind,
        advo_row_id=None,
        push=tuple(f for f in FIELDS if espo.get(f) is not None),
        pull=(),
        deferred=(),
        recipient=recipient,
        now=now,
    )
    return Plan(
        variant="create",
        advoware_create=payload,
        espo_update=bookkeeping.on_success(espo_record, now),
        new_snapshot=_advance(basis, espo, espo, None),
        to_advoware=basis.push,
        basis=basis,
    )


def _plan_not_found(espo_record: Mapping[str, Any], now: datetime, recipient: str | None) -> Plan:
    if espo_record.get("syncStatus") == "deleted_in_advoware":
        return Plan(variant="not_found")  # already recorded and notified; no repeat
    betnr = espo_record.get("betnr")
    message = f"Beteiligter {betnr} existiert in Advoware nicht mehr (404)."
    fields = {
        "syncStatus": "deleted_in_advoware",
        "advowareDeletedAt": format_espo_datetime(now),
        "syncErrorMessage": message,
    }
    notice = Notification(
        kind="deleted_in_advoware",
        recipient=recipient,
        message=f"{message} Keine automatische Neuanlage; Verknüpfung lösen mit "
        f"`bitbylaw beteiligte unlink {espo_record.get('id')}`.",
    )
    return Plan(variant="not_found", espo_update=fields, notifications=(notice,))


def _merge_for(
    espo: Party, advo: Party, snapshot: Mapping[str, Any] | None, advo_row_id: str | None, policy: Policy
) -> Merge:
    if snapshot is None:
        return merge_initial(espo, advo)
    return merge_update(
        espo,
        advo,
        Party.from_json(snapshot.get("party") or {}),
        advo_row_id=advo_row_id,
        snapshot_row_id=snapshot.get("rowId"),
        policy=policy,
    )


def _plan_linked(
    espo_record: Mapping[str, Any],
    advo_record: Mapping[str, Any],
    snapshot: Mapping[str, Any] | None,
    now: datetime,
    policy: Policy,
    direction: Direction,
    webhook: bool,
    recipient: str | None,
) -> Plan:
    """Initial sync (no snapshot) or update against the snapshot; the writes are the same."""
    kind = espo_kind(espo_record)
    espo = espo_to_party(espo_record)
    # DECISIONS 8: a linked party's kind never follows Advoware's vorname; it is the kind the
    # EspoCRM record has (and the snapshot records). Advoware's vorname is read unfiltered, so a
    # vorname typed into a company in Advoware is seen, and `fit_kind` clears it (conflict).
    advo = advo_to_party(advo_record)
    row_id = advo_record.get("rowId")
    merge = fit_kind(_merge_for(espo, advo, snapshot, row_id, policy), espo, advo, kind)
    basis = _basis_for(espo_record, snapshot, espo, advo, merge, kind, row_id, direction, recipient, now)
    applied = tuple(c for c in merge.conflicts if c.field not in basis.deferred)
    plan = Plan(
        variant="initial" if snapshot is None else "update",
        advoware_update=_put_body(advo_record, basis),
        espo_update=_espo_write(basis, espo_record, webhook, pending=_pending(basis, direction)),
        conflicts=applied,
        notifications=_conflict_notice(applied, espo_record, recipient),
        to_advoware=basis.push,
        to_espocrm=basis.pull,
        espo_changed=merge.espo_changed,
        advo_changed=merge.advo_changed,
        basis=basis,
    )
    new = _advance(basis, basis.espo_after(), basis.advo_after(), None if basis.push else row_id)
    same = new is not None and snapshot is not None and _same_snapshot(new, snapshot)
    return dataclasses.replace(
        plan,
        new_snapshot=None if same else new,
        bookkeeping_only=plan.espo_update is not None and not plan.writes_data,
    )


def _basis_for(
    espo_record: Mapping[str, Any],
    snapshot: Mapping[str, Any] | None,
    espo: Party,
    advo: Party,
    merge: Merge,
    kind: Kind,
    row_id: str | None,
    direction: Direction,
    recipient: str | None,
    now: datetime,
) -> _Basis:
    """Which fields move where, given the direction (a one-way run applies one side only)."""
    to_advo, to_espo = direction in ("both", "to_advoware"), direction in ("both", "to_espocrm")
    target = merge.target
    push = tuple(f for f in FIELDS if target.get(f) != advo.get(f)) if to_advo else ()
    pull = tuple(f for f in FIELDS if target.get(f) != espo.get(f)) if to_espo else ()
    deferred = tuple(
        c.field
        for c in merge.conflicts
        if (c.winner == "espocrm" and not to_advo) or (c.winner == "advoware" and not to_espo)
    )
    return _Basis(
        espo_record, snapshot, espo, advo, target, kind, row_id, push, pull, deferred, recipient, now
    )


def _pending(basis: _Basis, direction: Direction) -> bool:
    """Does a one-way run leave differences for a later two-way run?"""
    if direction == "both":
        return False
    return basis.espo_after() != basis.target or basis.advo_after() != basis.target


def _put_body(advo_record: Mapping[str, Any], basis: _Basis) -> dict[str, Any] | None:
    if not basis.push:
        return None
    return advoware_put_payload(advo_record, {f: basis.target.get(f) for f in basis.push}, basis.kind)


def _espo_write(
    basis: _Basis, espo_record: Mapping[str, Any], webhook: bool, *, pending: bool
) -> dict[str, Any] | None:
    """The one EspoCRM write, or None when nothing must change (a clean no-op writes nothing)."""
    data = to_espo_fields({f: basis.target.get(f) for f in basis.pull}, basis.kind)
    if not data and not basis.push:
        if pending or not bookkeeping.bookkeeping_due(espo_record, basis.now, webhook=webhook):
            return None
    # A one-way run with work left keeps the status, so the cron still picks the record up.
    fields = data if pending else {**data, **bookkeeping.on_success(espo_record, basis.now)}
    row_id = basis.advo_row_id
    if not basis.push and row_id and row_id != espo_record.get("advowareRowId"):
        fields["advowareRowId"] = row_id  # informational copy; the snapshot's rowId decides
    return fields or None


def _conflict_notice(
    conflicts: tuple[Conflict, ...], espo_record: Mapping[str, Any], recipient: str | None
) -> tuple[Notification, ...]:
    """One notification per run with conflicts (field names only, no personal data)."""
    if not conflicts:
        return ()
    names = tuple(c.field for c in conflicts)
    winners = sorted({"EspoCRM" if c.winner == "espocrm" else "Advoware" for c in conflicts})
    message = (
        f"Konflikt bei Beteiligtem {espo_record.get('betnr')}: {', '.join(names)} in beiden Systemen "
        f"unterschiedlich geändert; übernommen wurde der Wert aus {' / '.join(winners)}."
    )
    return (Notification(kind="conflict", recipient=recipient, message=message, fields=names),)


# --- snapshot ------------------------------------------------------------------------------


def _snapshot_value(
    f: str, espo_after: Party, advo_after: Party, basis: _Basis, old: Party | None
) -> tuple[Value, bool] | None:
    """(value to store, keeps an Advoware change pending) for one field; None: no safe value.

    Both sides agree → that value. Otherwise store the value that makes the side still to be
    applied look changed next time: EspoCRM holds the target → store Advoware's value (EspoCRM
    looks changed); Advoware holds it → store EspoCRM's (Advoware looks changed, which needs the
    old rowId). A deferred conflict keeps the old value, so the next run sees it again.
    """
    e, a, m = espo_after.get(f), advo_after.get(f), basis.target.get(f)
    if e == a:
        return e, False
    if f in basis.deferred or (e != m and a != m):
        return (old.get(f), True) if old is not None else None
    if e == m:
        return a, False
    return e, True


def _advance(
    basis: _Basis, espo_after: Party, advo_after: Party, row_id: str | None
) -> dict[str, Any] | None:
    """The snapshot after the writes that were applied (None: an initial sync left work undone)."""
    old_snapshot = basis.old_snapshot
    old = Party.from_json(old_snapshot.get("party") or {}) if old_snapshot else None
    values: dict[str, Value] = {}
    pending_pull = False
    for f in FIELDS:
        outcome = _snapshot_value(f, espo_after, advo_after, basis, old)
        if outcome is None:
            return None
        values[f], keep = outcome
        pending_pull = pending_pull or keep
    return {
        **(old_snapshot or {}),
        "party": Party().replace(values).to_json(),
        "kind": basis.kind,
        # Keeping the old rowId makes the next run compare Advoware field by field again.
        "rowId": (old_snapshot or {}).get("rowId") if pending_pull else row_id,
        "assignedUserId": basis.espo_record.get("assignedUserId"),
    }


def _same_snapshot(new: Mapping[str, Any], old: Mapping[str, Any]) -> bool:
    keys = ("party", "kind", "rowId", "assignedUserId")
    return all(new.get(k) == old.get(k) for k in keys)


# --- after the Advoware write --------------------------------------------------------------


def _settle(plan: Plan, *, row_id: str | None, stored: Mapping[str, Any] | None, betnr: int | None) -> Plan:
    basis = plan.basis
    stored = unwrap_advoware(stored)
    sent = plan.advoware_create if plan.advoware_create is not None else plan.advoware_update
    if basis is None or sent is None:
        raise ValueError("settle_advoware needs a plan that writes to Advoware")
    advo_after = advo_to_party(stored, basis.kind) if stored is not None else basis.advo_after()
    snapshot = _advance(basis, basis.espo_after(), advo_after, row_id)
    espo_update = dict(plan.espo_update or {})
    if betnr is not None:
        espo_update["betnr"] = betnr
    if row_id is not None:
        espo_update["advowareRowId"] = row_id
    if snapshot is not None:
        snapshot["roundtripMismatch"] = None
    settled = dataclasses.replace(plan, espo_update=espo_update, new_snapshot=snapshot)
    mismatched = bookkeeping.validate_roundtrip(sent, stored) if stored is not None else []
    if mismatched and stored is not None:
        return _with_roundtrip_failure(settled, basis, mismatched, sent, stored)
    return settled


def _with_roundtrip_failure(
    plan: Plan, basis: _Basis, mismatched: list[str], sent: Mapping[str, Any], stored: Mapping[str, Any]
) -> Plan:
    """A write that did not stick is a failure naming the fields, never `clean`."""
    previous = (basis.old_snapshot or {}).get("roundtripMismatch")
    fingerprint = bookkeeping.mismatch_fingerprint(mismatched, sent, stored)
    espo_print = bookkeeping.espo_fingerprint(basis.espo_after().to_json())
    verdict, record = bookkeeping.judge_roundtrip(mismatched, fingerprint, espo_print, previous)
    message = f"Advoware hat die Felder {', '.join(mismatched)} nicht übernommen (Round-Trip-Prüfung)."
    failure = bookkeeping.on_failure(basis.espo_record, message, basis.now, permanent=verdict == "permanent")
    data = {k: v for k, v in (plan.espo_update or {}).items() if k not in BOOKKEEPING_ATTRS}
    snapshot = {**plan.new_snapshot, "roundtripMismatch": record} if plan.new_snapshot is not None else None
    notices = plan.notifications
    if failure.notify:
        notices += (Notification("permanently_failed", basis.recipient, message, tuple(mismatched)),)
    return dataclasses.replace(
        plan,
        espo_update={**data, **failure.fields},
        new_snapshot=snapshot,
        notifications=notices,
        roundtrip_failed=tuple(mismatched),
    )
