"""The pure decisions of one party sync (SYNC_RULES §1): records in, actions out.

Each variant is one function returning a `PartyDecision` — the actions for the core's runner
plus what the audit and the snapshot computation need:

- `decide_linked`: a party with a betnr — initial sync (no snapshot) or update against it.
- `decide_link`: first link of an existing Advoware party (adoption, a lost POST answer): the
  initial sync plus the link itself (betnr, rowId) and one notice.
- `decide_create`: no betnr and nothing to adopt — the POST and the one EspoCRM write.
- `decide_not_found`: Advoware answered 404 for the betnr.

Order of the actions is the order of SYNC_RULES §1: the Advoware write, then ONE EspoCRM write
(data and bookkeeping), then the notices — each requiring the state items whose write resolves
it, so a conflict is notified by the run that resolves it and never by one whose write failed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from services.bankverbindungen.from_advoware import BankInputs
from services.beteiligte.children import Children, plan_children
from services.beteiligte.diff import Conflict, Merge, Policy, fit_kind, merge_initial, merge_update
from services.beteiligte.inflight import absorb
from services.beteiligte.mapping import (
    FIELDS,
    Kind,
    Party,
    Value,
    advo_kind,
    advo_to_party,
    advoware_create_payload,
    advoware_put_payload,
    clean_text,
    espo_kind,
    espo_to_party,
    format_espo_datetime,
    to_espo_fields,
)
from services.beteiligte.settle import settle_write
from services.sync.actions import Action, Call, Note, Notify, Patch
from services.sync.fingerprint import value_hash
from services.sync.policy import STAMP, RetryPolicy

ENTITY = "CBeteiligte"
PUT, POST = "advoware.put_party", "advoware.post_party"
STATUS = "status"  # state item: the record's bookkeeping was written

Direction = Literal["both", "to_advoware", "to_espocrm"]
Trigger = Literal["webhook", "cron", "manual"]
Variant = Literal["create", "initial", "update", "link", "not_found", "gone", "skip"]


def item(field_name: str) -> str:
    """The state item of one party field."""
    return f"party.{field_name}"


@dataclass(frozen=True)
class Facts:
    """Everything a decision needs besides the records: the clock's now and the settings."""

    now: datetime
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    conflict_policy: Policy = "espocrm_wins"
    direction: Direction = "both"
    trigger: Trigger = "cron"
    admin_user_id: str | None = None


@dataclass(frozen=True)
class PartyDecision:
    variant: Variant
    record: Mapping[str, Any]
    actions: tuple[Action, ...] = ()
    kind: Kind = "person"
    espo: Party = field(default_factory=Party)
    advo: Party = field(default_factory=Party)
    target: Party = field(default_factory=Party)
    agreed: Mapping[str, Value] = field(default_factory=dict)  # equal on both sides: no write
    old_snapshot: Mapping[str, Any] | None = None
    row_id: str | None = None  # Advoware's rowId as read
    to_advoware: tuple[str, ...] = ()
    to_espocrm: tuple[str, ...] = ()
    espo_changed: tuple[str, ...] = ()
    advo_changed: tuple[str, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    pending: bool = False  # a one-way run leaves differences for a later two-way run
    children: Children | None = None  # the party's Kommunikation entries and addresses

    @property
    def writes_advoware(self) -> bool:
        return any(isinstance(a, Call) and a.system == "advoware" for a in self.actions)

    @property
    def writes_data(self) -> bool:
        return self.writes_advoware or bool(self.to_espocrm) or bool(self.children and self.children.writes)

    @property
    def is_noop(self) -> bool:
        return not any(isinstance(a, Call | Patch | Notify) for a in self.actions)


def recipient_of(
    record: Mapping[str, Any], snapshot: Mapping[str, Any] | None, admin: str | None
) -> str | None:
    """The assigned user, else the one in the snapshot (deleted records), else the admin."""
    return record.get("assignedUserId") or (snapshot or {}).get("assignedUserId") or admin


def kind_mismatch(record: Mapping[str, Any], advo_record: Mapping[str, Any]) -> bool:
    """At first link: surely a person on one side and a company on the other (DECISIONS 25).

    Advoware's kind is its `vorname` rule; a person whose EspoCRM record has no first name
    cannot be told from a company there, so only a definite difference counts."""
    if espo_kind(record) == "company":
        return advo_kind(advo_record) == "person"
    return advo_kind(advo_record) == "company" and bool(clean_text(record.get("firstName")))


# --- linked --------------------------------------------------------------------------------


def decide_linked(
    record: Mapping[str, Any],
    advo_record: Mapping[str, Any],
    snapshot: Mapping[str, Any] | None,
    facts: Facts,
    addresses: Sequence[Mapping[str, Any]] = (),
    bank: BankInputs | None = None,
) -> PartyDecision:
    """Initial sync (no snapshot) or update against the snapshot; the writes are the same. The
    party's entries, `addresses` (its linked CAdressen) and bank accounts from Advoware (`bank`:
    their state) are decided in the same run."""
    kind = espo_kind(record)
    espo = espo_to_party(record)
    # DECISIONS 8: a linked party's kind is the EspoCRM record's; Advoware's vorname is read
    # unfiltered, so a vorname typed into a company is seen and `fit_kind` clears it.
    advo = advo_to_party(advo_record)
    row_id = advo_record.get("rowId")
    snapshot = absorb(snapshot, espo, advo, record.get(STAMP))  # own writes of a run that died
    merge = fit_kind(_merge_for(espo, advo, snapshot, row_id, facts.conflict_policy), espo, advo, kind)
    to_advo, to_espo = facts.direction in ("both", "to_advoware"), facts.direction in ("both", "to_espocrm")
    target = merge.target
    push = tuple(f for f in FIELDS if target.get(f) != advo.get(f)) if to_advo else ()
    pull = tuple(f for f in FIELDS if target.get(f) != espo.get(f)) if to_espo else ()
    deferred = {
        c.field
        for c in merge.conflicts
        if (c.winner == "espocrm" and not to_advo) or (c.winner == "advoware" and not to_espo)
    }
    recipient = recipient_of(record, snapshot, facts.admin_user_id)
    children = plan_children(
        record,
        advo_record,
        addresses,
        snapshot,
        direction=facts.direction,
        now=facts.now,
        recipient=recipient,
        bank=bank,
        retry=facts.retry,
    )
    pending = facts.direction != "both" and (
        espo.replace({f: target.get(f) for f in pull}) != target
        or advo.replace({f: target.get(f) for f in push}) != target
        or children.pending
    )
    actions: list[Action] = []
    if push:
        body = advoware_put_payload(advo_record, {f: target.get(f) for f in push}, kind)
        settle = settle_write(record, body, push, target, kind, snapshot, facts, recipient)
        betnr, advances = int(record["betnr"]), _advances(push, target)
        actions.append(Call("advoware", "update_party", PUT, betnr, body, advances, settle, version=row_id))
    actions += children.advoware
    espo_fields = _espo_write(record, target, kind, push, pull, row_id, facts, children, pending=pending)
    if espo_fields is not None:
        status_item = {} if pending else {STATUS: "clean"}
        advances = {**_advances(pull, target), **children.espo_advances, **status_item}
        actions.append(Patch(ENTITY, str(record["id"]), espo_fields, advances))
    actions += children.after
    applied = tuple(c for c in merge.conflicts if c.field not in deferred)
    since = (snapshot or {}).get("rowId")
    actions += [_conflict_notice(record, c, recipient, since) for c in applied]
    actions += children.notices
    return PartyDecision(
        variant="initial" if snapshot is None else "update",
        record=record,
        actions=tuple(actions),
        kind=kind,
        espo=espo,
        advo=advo,
        target=target,
        agreed={f: espo.get(f) for f in FIELDS if espo.get(f) == advo.get(f)},
        old_snapshot=snapshot,
        row_id=row_id,
        to_advoware=push,
        to_espocrm=pull,
        espo_changed=merge.espo_changed,
        advo_changed=merge.advo_changed,
        conflicts=applied,
        pending=pending,
        children=children,
    )


def snapshot_of_post(record: Mapping[str, Any], payload: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What both sides held right after this service's own POST: the payload as POSTed (the
    create intent keeps it). A run that lost the POST's answer, or crashed before storing the
    snapshot, compares with it instead of falling back to the initial-sync rules — where a field
    cleared since would look empty and be filled back from Advoware. No rowId: Advoware is then
    compared field by field."""
    if not payload:
        return None
    kind = espo_kind(record)
    return {
        "party": advo_to_party(payload, kind).to_json(),
        "kind": kind,
        "rowId": None,
        "assignedUserId": record.get("assignedUserId"),
    }


def decide_link(
    record: Mapping[str, Any],
    betnr: int,
    advo_record: Mapping[str, Any],
    facts: Facts,
    *,
    how: str,
    base: Mapping[str, Any] | None = None,
    addresses: Sequence[Mapping[str, Any]] = (),
    bank: BankInputs | None = None,
) -> PartyDecision:
    """First link of an existing Advoware party: the initial sync (or, for the party our own
    interrupted POST created, an update against `base`) — its bank accounts brought over as in
    every party sync (`bank`) — the link fields kept even when a later write fails, and one
    notice ("linked to existing Advoware party N")."""
    linked = {**record, "betnr": betnr}
    decision = decide_linked(linked, advo_record, base, facts, addresses, bank)
    link = Patch(
        ENTITY, str(record["id"]), {"betnr": betnr, "advowareRowId": advo_record.get("rowId")}, keep=True
    )
    recipient = recipient_of(record, None, facts.admin_user_id)
    message = (
        f"Beteiligter {record['id']} wurde mit dem bestehenden Advoware-Beteiligten {betnr} verknüpft "
        f"({how}); bitte prüfen, ob es derselbe ist."
    )
    notice = Notify(
        f"linked_existing:{record['id']}:{betnr}", "linked_existing", ENTITY, str(record["id"]), recipient,
        message, requires=(STATUS,),
    )  # fmt: skip
    return dataclasses.replace(decision, variant="link", actions=(link, *decision.actions, notice))


def _merge_for(
    espo: Party, advo: Party, snapshot: Mapping[str, Any] | None, row_id: str | None, policy: Policy
) -> Merge:
    if snapshot is None:
        return merge_initial(espo, advo)
    return merge_update(
        espo,
        advo,
        Party.from_json(snapshot.get("party") or {}),
        advo_row_id=row_id,
        snapshot_row_id=snapshot.get("rowId"),
        policy=policy,
    )


def _advances(fields: tuple[str, ...], target: Party) -> dict[str, Value]:
    return {item(f): target.get(f) for f in fields}


def _espo_write(
    record: Mapping[str, Any],
    target: Party,
    kind: Kind,
    push: tuple[str, ...],
    pull: tuple[str, ...],
    row_id: str | None,
    facts: Facts,
    children: Children,
    *,
    pending: bool,
) -> dict[str, Any] | None:
    """The one EspoCRM write, or None when nothing must change (a clean no-op writes nothing).
    Entry and address writes alone do not need it (they leave the party's rowId alone)."""
    data = {**to_espo_fields({f: target.get(f) for f in pull}, kind), **children.espo_fields}
    if not data and not push:
        due = facts.retry.bookkeeping_due(record, facts.now, webhook=facts.trigger == "webhook")
        if pending or not due:
            return None
    # A one-way run with work left keeps the status, so the cron still picks the record up; it
    # carries the stamp (when the status, not the stamp's age, makes the cron pick it up), so a
    # next run can tell whether this write landed also after a user edited the record since.
    if pending:
        fields = dict(data)
        if record.get("syncStatus") != "clean":
            fields[STAMP] = facts.retry.on_success(record, facts.now)[STAMP]
    else:
        fields = {**data, **facts.retry.on_success(record, facts.now)}
    if not push and row_id and row_id != record.get("advowareRowId"):
        fields["advowareRowId"] = row_id  # informational copy; the snapshot's rowId decides
    return fields or None


def _conflict_notice(
    record: Mapping[str, Any], conflict: Conflict, recipient: str | None, since: str | None
) -> Notify:
    """One notice per conflict, sent by the run whose write resolved it (field names only). The
    once-key holds the values and `since`, the snapshot's rowId (when both sides last agreed):
    a retry meets the same key, the same values clashing again after a later sync a new one."""
    winner = "EspoCRM" if conflict.winner == "espocrm" else "Advoware"
    message = (
        f"Konflikt bei Beteiligtem {record.get('betnr')}: {conflict.field} in beiden Systemen "
        f"unterschiedlich geändert; übernommen wurde der Wert aus {winner}."
    )
    values = value_hash(conflict.espo_value, conflict.advo_value, since)
    key = f"conflict:{record['id']}:{conflict.field}:{values}"
    return Notify(
        key, "conflict", ENTITY, str(record["id"]), recipient, message, requires=(item(conflict.field),)
    )


# --- create --------------------------------------------------------------------------------


def decide_create(
    record: Mapping[str, Any], facts: Facts, addresses: Sequence[Mapping[str, Any]] = ()
) -> PartyDecision:
    """POST the party, then its entries and addresses (the executor knows the new betNr), then
    ONE EspoCRM write (betnr, rowId, clean, stamp), then the CAdressen bookkeeping."""
    espo, kind = espo_to_party(record), espo_kind(record)
    if facts.direction == "to_espocrm":
        return PartyDecision("skip", record, kind=kind, espo=espo)  # a create is EspoCRM → Advoware only
    recipient = recipient_of(record, None, facts.admin_user_id)
    payload = advoware_create_payload(espo, kind)
    settle = settle_write(record, payload, FIELDS, espo, kind, None, facts, recipient)
    post = Call("advoware", "create_party", POST, str(record["id"]), payload, _advances(FIELDS, espo), settle)
    children = plan_children(
        record, {}, addresses, None, direction="both", now=facts.now, recipient=recipient
    )
    fields = {**children.espo_fields, **facts.retry.on_success(record, facts.now)}
    bookkeeping = Patch(ENTITY, str(record["id"]), fields, {**children.espo_advances, STATUS: "clean"})
    actions = (post, *children.advoware, bookkeeping, *children.after, *children.notices)
    pushed = tuple(f for f in FIELDS if espo.get(f) is not None)
    return PartyDecision(
        "create", record, actions, kind, espo, Party(), espo, to_advoware=pushed, children=children
    )


# --- Advoware 404 --------------------------------------------------------------------------


def decide_not_found(
    record: Mapping[str, Any], snapshot: Mapping[str, Any] | None, facts: Facts
) -> PartyDecision:
    """Deleted in Advoware: `deleted_in_advoware` and one notice; a record already marked is
    neither written nor notified again (`gone`: the cron's daily re-check found it still gone)."""
    if record.get("syncStatus") == "deleted_in_advoware":
        return PartyDecision("gone", record, (Note("still deleted in Advoware"),), old_snapshot=snapshot)
    betnr = record.get("betnr")
    message = f"Beteiligter {betnr} existiert in Advoware nicht mehr (404)."
    fields = {
        "syncStatus": "deleted_in_advoware",
        "advowareDeletedAt": format_espo_datetime(facts.now),
        "syncErrorMessage": message,
    }
    notice = Notify(
        f"deleted_in_advoware:{record['id']}:{betnr}:{format_espo_datetime(facts.now)}",
        "deleted_in_advoware",
        ENTITY,
        str(record["id"]),
        recipient_of(record, snapshot, facts.admin_user_id),
        f"{message} Keine automatische Neuanlage; Verknüpfung lösen mit "
        f"`bitbylaw beteiligte unlink {record.get('id')}`.",
        requires=(STATUS,),
    )
    patch = Patch(ENTITY, str(record["id"]), fields, {STATUS: "deleted_in_advoware"})
    return PartyDecision("not_found", record, (patch, notice), old_snapshot=snapshot)
