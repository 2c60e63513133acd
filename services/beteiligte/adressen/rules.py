"""The address decisions of one party sync, one small function per case, yielding core actions.

- `new_in_espocrm` → POST with the marker (`standardAnschrift` from `istStandard`).
- `linked`: both sides hold it. A writable field changed in EspoCRM → PUT (the executor looks
  the `reihenfolgeIndex` up right before it: one GET of the party's addresses). A read-only
  field or the main-address flag changed in EspoCRM → no silent loss: the `CAdressen` record
  becomes `manual_action` with the exact instruction, one notice; Advoware's value never
  overwrites EspoCRM's wish; the mark clears once both sides agree. Changed in Advoware → the
  record is updated; one field changed on both sides → EspoCRM wins, one notice.
- `deleted_in_espocrm` → a tombstone (never re-created from Advoware) and one notice to delete
  it by hand; dropped once Advoware's address is gone too.
- `deleted_in_advoware` → the `CAdressen` record is deleted (EspoCRM changed it meanwhile: it is
  posted again, EspoCRM wins, one notice).
- `new_in_advoware` → a `CAdressen` record, linked, `clean`.
Every write names the address's state item `adr.<EspoCRM id>`. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.beteiligte.adressen.fields import (
    ENTITY,
    FIELDS,
    WRITABLE,
    Values,
    advo_values,
    espo_fields,
    espo_name,
    espo_values,
    marker_of,
    post_body,
    put_body,
)
from services.beteiligte.adressen.match import AddressRow, Link, match_addresses, rows_of
from services.beteiligte.adressen.notices import (
    conflict_notice,
    instruction,
    manual_notice,
    tombstone_notice,
    twins_instruction,
    twins_notice,
)
from services.beteiligte.kommunikation.notices import Who
from services.sync.actions import Action, Call, Note, Notify, Patch, Settle, Settlement
from services.sync.espotime import format_espo_datetime

PUT, POST = "update_address", "create_address"
CREATE, DELETE = "create_espo_address", "delete_espo_address"


def item_key(espo_id: str) -> str:
    return f"adr.{espo_id}"


@dataclass(frozen=True)
class Merge:
    target: Values  # the state's fields afterwards
    to_advoware: Values  # writable fields for the PUT
    to_espocrm: Values  # fields for the CAdressen write
    wishes: dict[str, tuple[Any, Any]]  # read-only field → (Advoware's value, EspoCRM's wish)
    overruled: dict[str, tuple[Any, Any]]  # changed on both sides, EspoCRM won: (EspoCRM, Advoware)


def merge(espo: Values, advo: Values, base: Mapping[str, Any] | None) -> Merge:
    """Field by field against the state; without state (a new pair) an empty EspoCRM value is
    filled from Advoware and EspoCRM wins the rest."""
    m = Merge({}, {}, {}, {}, {})
    for f in FIELDS:
        e, a = espo.get(f), advo.get(f)
        if e == a:
            m.target[f] = e
            continue
        initial = base is None
        b = None if base is None else base.get(f)
        if (not initial and e == b) or (initial and e in (None, "", False)):
            m.target[f] = m.to_espocrm[f] = a  # Advoware's change (or EspoCRM's gap) goes to EspoCRM
        elif f in WRITABLE:
            m.target[f] = m.to_advoware[f] = e
            if not initial and a != b:
                m.overruled[f] = (e, a)
        else:
            m.target[f] = a  # read-only in Advoware: kept there until a person changes it
            m.wishes[f] = (a, e)
    return m


@dataclass(frozen=True)
class AddressPlan:
    advoware: tuple[Call, ...] = ()
    espocrm: tuple[Action, ...] = ()  # CAdressen writes, after the party's EspoCRM write
    notices: tuple[Notify, ...] = ()
    notes: tuple[Note, ...] = ()
    agreed: Mapping[str, Any] = field(default_factory=dict)
    noticed: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # notice key → items
    rows: tuple[AddressRow, ...] = ()
    cases: tuple[tuple[str, str], ...] = ()  # (case, address id) for the audit and the dry run

    def lines(self) -> list[str]:
        out = []
        for c in self.advoware:
            method = "PUT" if c.op == PUT else "POST"
            out.append(f"Adressen: Advoware {method} for EspoCRM address {c.key.split('.', 2)[2]}")
        for a in self.espocrm:
            if isinstance(a, Call):
                what = f"create from Advoware address {a.target}" if a.op == CREATE else f"delete {a.target}"
                out.append(f"Adressen: EspoCRM {what}")
            elif isinstance(a, Patch):
                out.append(f"Adressen: EspoCRM update {a.record_id} ({', '.join(sorted(a.fields))})")
        return out


@dataclass
class _Plan:
    who: Who
    now: datetime
    puts: list[Call] = field(default_factory=list)
    posts: list[Call] = field(default_factory=list)
    espocrm: list[Action] = field(default_factory=list)
    notices: list[Notify] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    agreed: dict[str, Any] = field(default_factory=dict)
    noticed: dict[str, dict[str, Any]] = field(default_factory=dict)
    cases: list[tuple[str, str]] = field(default_factory=list)

    def bookkeeping(
        self, record: Mapping[str, Any], status: str, message: str | None, index: Any
    ) -> dict[str, Any]:
        """The CAdressen bookkeeping to write; {} when it is as it should be already."""
        fields: dict[str, Any] = {}
        if record.get("syncStatus") != status:
            fields["syncStatus"] = status
        if (record.get("syncErrorMessage") or None) != message:
            fields["syncErrorMessage"] = message
        if fields and index is not None and record.get("advowareReihenfolgeIndex") != index:
            fields["advowareReihenfolgeIndex"] = index
        if fields:
            fields["advowareLastSync"] = format_espo_datetime(self.now)
        return fields

    def tell(self, notice: Notify, items: Mapping[str, Any], written: bool) -> None:
        """A notice that carries a state change: required by its write, or (no write needed:
        the record shows it already) the change is stored only when the notice is."""
        if written:
            self.notices.append(notice)
            return
        self.notices.append(replace(notice, requires=()))
        self.noticed[notice.key] = dict(items)


def linked(p: _Plan, link: Link) -> None:
    assert link.espo is not None and link.advo is not None
    espo_id, advo_id = str(link.espo["id"]), int(link.advo["id"])
    key, index = item_key(espo_id), link.advo.get("reihenfolgeIndex")
    if link.twins:  # several Advoware addresses carry this one's marker: a person decides
        fields = p.bookkeeping(link.espo, "manual_action", twins_instruction(p.who, link.twins), index)
        if fields:
            p.espocrm.append(Patch(ENTITY, espo_id, fields))
        p.notices.append(twins_notice(p.who, espo_id, link.twins))
        p.cases.append(("twins", espo_id))
        return
    base = link.row.fields if link.row is not None and not link.row.tombstone else None
    m = merge(espo_values(link.espo), advo_values(link.advo), base)
    row = AddressRow(
        espo_id, advo_id, marker_of(link.advo) == espo_id, index, m.target, manual=tuple(sorted(m.wishes))
    )
    advances = {key: row.to_json()}
    written = False
    if m.to_advoware:
        target = {"advo_id": advo_id, "espo_id": espo_id}
        p.puts.append(Call("advoware", PUT, f"adr.put.{espo_id}", target, put_body(m.to_advoware), advances))
        written = True
    status, message = (
        ("manual_action", instruction(p.who, advo_id, index, m.wishes)) if m.wishes else ("clean", None)
    )
    fields = {**espo_fields(m.to_espocrm), **p.bookkeeping(link.espo, status, message, index)}
    if fields:
        p.espocrm.append(Patch(ENTITY, espo_id, fields, advances))
        written = True
    if m.overruled:
        p.notices.append(conflict_notice(p.who, espo_id, m.overruled, key))
    if m.wishes:
        p.tell(manual_notice(p.who, espo_id, list(m.wishes), key), advances, written)
    elif not written:
        p.agreed[key] = row.to_json()
    p.cases.append(("manual" if m.wishes else "changed" if written else "unchanged", espo_id))


def new_in_espocrm(p: _Plan, record: Mapping[str, Any], *, restored: Mapping[str, Any] | None = None) -> None:
    """POST with the marker; `restored`: Advoware's copy was deleted but EspoCRM changed it (the
    previous state's fields): EspoCRM wins, one notice."""
    espo_id = str(record["id"])
    key, values = item_key(espo_id), espo_values(record)
    row = AddressRow(espo_id, None, True, None, values)
    body = post_body(espo_id, values, record.get("bemerkung"))
    p.posts.append(
        Call("advoware", POST, f"adr.post.{espo_id}", espo_id, body, {key: row.to_json()}, _settle_post(row))
    )
    # The record's bookkeeping (and the index the answer tells) follows; the row is the POST's.
    p.espocrm.append(Patch(ENTITY, espo_id, p.bookkeeping(record, "clean", None, None)))
    if restored is not None:
        overruled = {f: (values.get(f), restored.get(f)) for f in FIELDS if values.get(f) != restored.get(f)}
        p.notices.append(conflict_notice(p.who, espo_id, overruled, key))
    p.cases.append(("restored" if restored is not None else "new_in_espocrm", espo_id))


def _settle_post(row: AddressRow) -> Settle:
    def settle(answer: Any) -> Settlement:
        answer = answer[0] if isinstance(answer, list) and answer else answer
        if not isinstance(answer, Mapping) or answer.get("id") is None:
            return Settlement()
        index = answer.get("reihenfolgeIndex")
        done = replace(row, advo_id=int(answer["id"]), index=index)
        patch = Patch(ENTITY, row.espo_id, {"advowareReihenfolgeIndex": index} if index is not None else {})
        return Settlement({item_key(row.espo_id): done.to_json()}, (patch,))

    return settle


def new_in_advoware(p: _Plan, address: Mapping[str, Any]) -> None:
    """A `CAdressen` record, linked and `clean` in the same request (the cron never sends it back)."""
    values, advo_id, index = advo_values(address), int(address["id"]), address.get("reihenfolgeIndex")
    placeholder = f"adr.+{advo_id}"
    body = {
        **espo_fields({f: v for f, v in values.items() if v not in (None, "")}),
        "istStandard": bool(values.get("istStandard")),
        "name": espo_name(values),
        "bemerkung": address.get("bemerkung") or None,
        "beteiligteId": p.who.record_id,
        "assignedUserId": p.who.recipient,
        "syncStatus": "clean",
        "advowareReihenfolgeIndex": index,
        "advowareLastSync": format_espo_datetime(p.now),
    }

    def settle(answer: Any) -> Settlement:
        if not isinstance(answer, Mapping) or not answer.get("id"):
            return Settlement({placeholder: True})
        row = AddressRow(str(answer["id"]), advo_id, False, index, values)
        return Settlement({placeholder: True, item_key(row.espo_id): row.to_json()})

    p.espocrm.append(
        Call("espocrm", CREATE, f"adr.create.{advo_id}", advo_id, body, {placeholder: True}, settle)
    )
    p.cases.append(("new_in_advoware", str(advo_id)))


def deleted_in_espocrm(p: _Plan, link: Link) -> None:
    """Advoware refuses deletes: a tombstone, and one notice to delete the address by hand."""
    assert link.advo is not None
    if link.row is not None and link.row.tombstone:
        return  # known: never re-created in EspoCRM
    espo_id = link.row.espo_id if link.row is not None else str(marker_of(link.advo))
    advo_id, index = int(link.advo["id"]), link.advo.get("reihenfolgeIndex")
    stone = AddressRow(espo_id, advo_id, True, index, advo_values(link.advo), tombstone=True)
    p.tell(tombstone_notice(p.who, espo_id, advo_id, index), {item_key(espo_id): stone.to_json()}, False)
    p.notes.append(Note(f"address {espo_id} deleted in EspoCRM: tombstone, Advoware address {advo_id} kept"))
    p.cases.append(("deleted_in_espocrm", espo_id))


def deleted_in_advoware(p: _Plan, link: Link) -> None:
    assert link.espo is not None and link.row is not None
    espo_id = str(link.espo["id"])
    if espo_values(link.espo) != dict(link.row.fields):
        new_in_espocrm(p, link.espo, restored=link.row.fields)
        return
    key = item_key(espo_id)
    p.espocrm.append(Call("espocrm", DELETE, f"adr.delete.{espo_id}", espo_id, None, {key: None}))
    p.notes.append(Note(f"address {espo_id} deleted in Advoware: CAdressen record deleted"))
    p.cases.append(("deleted_in_advoware", espo_id))


def decide(p: _Plan, link: Link) -> None:
    row, espo, advo = link.row, link.espo, link.advo
    if espo is not None and advo is not None:
        linked(p, link)
    elif espo is not None:
        if row is None or row.tombstone:
            new_in_espocrm(p, espo)
        else:
            deleted_in_advoware(p, link)
    elif advo is not None:
        if row is None and marker_of(advo) is None:
            new_in_advoware(p, advo)
        else:
            deleted_in_espocrm(p, link)
    elif row is not None:
        p.agreed[item_key(row.espo_id)] = None  # gone on both sides (a tombstone's end, too)


def plan_adressen(
    addresses: list[Mapping[str, Any]] | tuple[Mapping[str, Any], ...],
    advo_record: Mapping[str, Any],
    snapshot: Mapping[str, Any] | None,
    who: Who,
    now: datetime,
) -> AddressPlan:
    rows = rows_of(snapshot)
    p = _Plan(who, now)
    for link in match_addresses(rows, addresses, advo_record.get("adressen") or []):
        decide(p, link)
    return AddressPlan(
        tuple(p.puts + p.posts), tuple(p.espocrm), tuple(p.notices), tuple(p.notes), p.agreed, p.noticed,
        tuple(rows), tuple(p.cases),
    )  # fmt: skip
