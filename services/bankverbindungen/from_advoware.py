"""The party's Advoware accounts in the party sync (SYNC_RULES §4 "From Advoware", DECISIONS 9),
one small function per case, yielding core actions placed after the party's EspoCRM write:

- an Advoware account the state knows: tombstoned → left alone (never re-created); marked
  `manual` → left alone until Advoware shows EspoCRM's wish, then the mark clears (`clean`);
  changed in Advoware → the EspoCRM account is updated (unless EspoCRM changed it too: the
  account sync makes that a manual action, EspoCRM's value is kept);
- an unknown Advoware account → matched by `advowareKontoId`, then the marker, then the
  normalised IBAN against the party's EspoCRM accounts, and linked; else created in EspoCRM,
  linked, `clean`, in the same request;
- an account gone from Advoware → its EspoCRM account is deleted (audit); one EspoCRM changed
  meanwhile (or marked manual) is kept and sent again (`pending_sync`, link cleared); a
  tombstone is dropped.
The EspoCRM accounts are read only when there is something to do (`needs_espo`). Pure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.bankverbindungen.fields import (
    ENTITY,
    PARTY_ENTITY,
    advo_values,
    espo_fields,
    espo_name,
    espo_values,
    marker_of,
)
from services.bankverbindungen.rules import Facts, settle_row
from services.bankverbindungen.state import Row, item
from services.sync.actions import Action, Call, Note, Notify, Patch, Settlement
from services.sync.espotime import format_espo_datetime
from services.sync.policy import RetryPolicy

CREATE, DELETE = "create_espo_account", "delete_espo_account"
RESEND = "Das Advoware-Konto wurde gelöscht; die Bankverbindung wird neu übertragen."


@dataclass(frozen=True)
class BankInputs:
    rows: tuple[Row, ...] = ()
    espo: tuple[Mapping[str, Any], ...] | None = None  # the party's CBankverbindungen, when read


@dataclass(frozen=True)
class BankPlan:
    actions: tuple[Action, ...] = ()
    notices: tuple[Notify, ...] = ()
    agreed: Mapping[str, Any] = field(default_factory=dict)  # rows that change without a write
    cases: tuple[tuple[str, str], ...] = ()
    unblock: tuple[str, ...] = ()  # accounts whose manual block ends when their write applies

    @property
    def writes(self) -> bool:
        return any(isinstance(a, Call | Patch) for a in self.actions)

    def audit(self) -> dict[str, Any]:
        return {"bankverbindungen": [f"{case}:{ident}" for case, ident in self.cases]} if self.cases else {}


def _konto(account: Mapping[str, Any]) -> int:
    return int(account["id"])


def needs_espo(accounts: Sequence[Mapping[str, Any]], rows: Sequence[Row]) -> bool:
    """Is there an account to link, create, update, clear or delete (then read EspoCRM's)?"""
    known = {r.konto_id: r for r in rows if r.konto_id is not None}
    for account in accounts:
        row = known.get(_konto(account))
        if row is None:
            return True
        values = advo_values(account)
        if row.tombstone:
            continue
        if (row.manual and values == row.wanted) or (not row.manual and values != row.fields):
            return True
    present = {_konto(a) for a in accounts}
    return any(k not in present for k in known)


def plan_bank(
    party_id: str,
    betnr: int,
    accounts: Sequence[Mapping[str, Any]],
    inputs: BankInputs,
    facts: Facts,
) -> BankPlan:
    if inputs.espo is None and needs_espo(accounts, inputs.rows):
        raise ValueError("the party's EspoCRM accounts are needed for this plan")
    espo = {str(e["id"]): e for e in inputs.espo or ()}
    known = {r.konto_id: r for r in inputs.rows if r.konto_id is not None}
    held = {r.account_id for r in inputs.rows}
    plan = _Plan(party_id, betnr, facts)
    for account in accounts:
        row = known.get(_konto(account))
        if row is None:
            plan.unknown(account, espo, held)
        else:
            plan.known(account, row, espo.get(row.account_id))
    present = {_konto(a) for a in accounts}
    for konto, row in known.items():
        if konto not in present:
            plan.gone(row, espo.get(row.account_id))
    return plan.result()


@dataclass
class _Plan:
    party_id: str
    betnr: int
    facts: Facts
    actions: list[Action] = field(default_factory=list)
    notices: list[Notify] = field(default_factory=list)
    agreed: dict[str, Any] = field(default_factory=dict)
    cases: list[tuple[str, str]] = field(default_factory=list)
    unblock: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=set)

    def result(self) -> BankPlan:
        return BankPlan(
            tuple(self.actions), tuple(self.notices), self.agreed, tuple(self.cases), tuple(self.unblock)
        )

    def _add(self, actions: Sequence[Action]) -> None:
        """A notice of the party sync is the party's (delivered with the party's run)."""
        for a in actions:
            if isinstance(a, Notify):
                self.notices.append(dataclasses.replace(a, entity=PARTY_ENTITY, record_id=self.party_id))
            else:
                self.actions.append(a)

    def known(self, account: Mapping[str, Any], row: Row, record: Mapping[str, Any] | None) -> None:
        values, rid = advo_values(account), row.account_id
        if row.tombstone or record is None:
            return  # deleted in EspoCRM: never re-created from Advoware
        if row.manual:
            if values == row.wanted:  # done by hand in Advoware: the mark clears
                self._add(settle_row(record, dataclasses.replace(row, fields=values), values, self.facts))
                self.cases.append(("manual_done", rid))
                self.unblock.append(rid)
            return
        if values == row.fields:
            return
        if espo_values(record) != row.fields:  # changed on both sides: EspoCRM's value is kept
            self.cases.append(("changed_both_sides", rid))
            return
        fields = {**espo_fields(values), **self.facts.retry.on_success(record, self.facts.now)}
        self.actions.append(Patch(ENTITY, rid, fields, {item(rid): dataclasses.replace(row, fields=values)}))
        self.cases.append(("changed_in_advoware", rid))

    def unknown(
        self, account: Mapping[str, Any], espo: Mapping[str, Mapping[str, Any]], held: set[str]
    ) -> None:
        konto, values = _konto(account), advo_values(account)
        free = [e for rid, e in espo.items() if rid not in self.used]
        by_id = [
            e for e in free if e.get("advowareKontoId") is not None and int(e["advowareKontoId"]) == konto
        ]
        by_marker = [e for e in free if str(e["id"]) == marker_of(account)]
        unlinked = [e for e in free if not e.get("advowareKontoId") and str(e["id"]) not in held]
        by_iban = [e for e in unlinked if values["iban"] and espo_values(e)["iban"] == values["iban"]]
        matches = by_id or by_marker or by_iban
        if matches:
            found = matches[0]
            rid = str(found["id"])
            self.used.add(rid)
            row = Row(rid, self.party_id, self.betnr, konto, values)
            self._add(settle_row(found, row, espo_values(found), self.facts, link={"advowareKontoId": konto}))
            self.cases.append(("linked", rid))
            return
        self.actions.append(self._create(account, konto, values))
        self.cases.append(("new_in_advoware", str(konto)))

    def _create(self, account: Mapping[str, Any], konto: int, values: Any) -> Call:
        body = {
            **espo_fields(values),
            "name": espo_name(values),
            "beteiligteId": self.party_id,
            "advowareKontoId": konto,
            "syncStatus": "clean",
            "advowareLastSync": format_espo_datetime(self.facts.now),
        }

        def settle(answer: Any) -> Settlement:
            rid = str(answer["id"])
            return Settlement(advances={item(rid): Row(rid, self.party_id, self.betnr, konto, values)})

        return Call("espocrm", CREATE, f"bank+{konto}", konto, body, {}, settle)

    def gone(self, row: Row, record: Mapping[str, Any] | None) -> None:
        rid = row.account_id
        if row.tombstone or record is None:
            self.agreed[item(rid)] = None  # nothing left on either side
            self.cases.append(("gone_on_both_sides", rid))
            return
        if row.manual or espo_values(record) != row.fields:  # EspoCRM's values are not lost
            fields = {"advowareKontoId": None, "syncStatus": "pending_sync", "syncErrorMessage": RESEND}
            self.actions.append(Patch(ENTITY, rid, fields, {item(rid): None}))
            self.cases.append(("resend", rid))
            self.unblock.append(rid)
            return
        self.actions.append(Call("espocrm", DELETE, f"bank-{rid}", rid, None, {item(rid): None}))
        self.actions.append(Note(f"account {rid} deleted: Advoware account {row.konto_id} is gone"))
        self.cases.append(("deleted_in_advoware", rid))


def facts_for(now: datetime, retry: RetryPolicy, admin_user_id: str | None) -> Facts:
    return Facts(now=now, retry=retry, admin_user_id=admin_user_id)
