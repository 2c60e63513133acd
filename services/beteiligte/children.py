"""A party's Kommunikation entries and addresses, decided in the same run as the party.

`plan_children` reads the e-mail and phone sets of the EspoCRM record, its linked `CAdressen`,
the Advoware party GET (which embeds its entries and addresses) and the snapshot, and returns
both plans. The party decision places their actions in the order of a run: the party PUT, the
entry writes, the address writes, the party's ONE EspoCRM write (which carries the whole e-mail
and phone sets), the `CAdressen` writes, then the notices. Addresses are synced by two-way runs
only: a one-way operator run leaves them for the next normal run. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from services.bankverbindungen.from_advoware import BankInputs, BankPlan, plan_bank
from services.bankverbindungen.rules import Facts as BankFacts
from services.beteiligte.adressen.rules import AddressPlan, plan_adressen
from services.beteiligte.adressen.state import next_rows as next_address_rows
from services.beteiligte.kommunikation.notices import Who
from services.beteiligte.kommunikation.plan import KommPlan, plan_kommunikation
from services.beteiligte.kommunikation.state import next_rows as next_komm_rows
from services.sync.actions import Action, Call, Notify, Patch
from services.sync.policy import RetryPolicy

Direction = Literal["both", "to_advoware", "to_espocrm"]


@dataclass(frozen=True)
class Children:
    komm: KommPlan = field(default_factory=KommPlan)
    adressen: AddressPlan = field(default_factory=AddressPlan)
    addresses_pending: bool = False  # a one-way run left address work for a two-way run
    bank: BankPlan = field(default_factory=BankPlan)  # the party's accounts from Advoware (§4)

    @property
    def advoware(self) -> tuple[Call, ...]:
        return self.komm.calls + self.adressen.advoware

    @property
    def espo_fields(self) -> Mapping[str, Any]:
        return self.komm.espo_fields

    @property
    def espo_advances(self) -> Mapping[str, Any]:
        return self.komm.espo_advances

    @property
    def after(self) -> tuple[Action, ...]:
        return self.adressen.espocrm + self.adressen.notes + self.bank.actions

    @property
    def notices(self) -> tuple[Notify, ...]:
        return self.komm.notices + self.adressen.notices + self.bank.notices

    @property
    def pending(self) -> bool:
        return self.komm.pending or self.addresses_pending

    @property
    def writes(self) -> bool:
        return bool(self.advoware or self.espo_fields or self.adressen.espocrm or self.bank.writes)

    def state(self, advanced: Mapping[str, Any], notices_sent: Sequence[str]) -> dict[str, Any]:
        """The `komm` and `addresses` parts of the new snapshot."""
        return {
            "komm": next_komm_rows(self.komm.rows, self.komm.agreed, advanced),
            "addresses": next_address_rows(
                self.adressen.rows, self.adressen.agreed, advanced, self.adressen.noticed, notices_sent
            ),
        }

    def lines(self) -> list[str]:
        return self.komm.lines() + self.adressen.lines()

    def totals(self) -> dict[str, int]:
        """For the go-live dry run: what would be written, by kind."""
        out = {
            "entry writes to Advoware": len(self.komm.calls),
            "entry sets to EspoCRM": len(self.komm.espo_fields),
            "address writes to Advoware": len(self.adressen.advoware),
            "address writes to EspoCRM": len(self.adressen.espocrm),
            "bank account writes to EspoCRM": len(self.bank.actions),
        }
        return {k: v for k, v in out.items() if v}

    def audit(self) -> dict[str, Any]:
        """Entry variants and address cases (ids and kinds), and what each write sends under
        `changes` — values the audit masks unless the operator asked to see them."""
        out: dict[str, Any] = {}
        if variants := self.komm.variants():
            changes = {
                **_sent(self.komm.calls),
                **{f"espocrm.{k}": v for k, v in self.komm.espo_fields.items()},
            }
            out["kommunikation"] = {"variants": variants, "actions": self.komm.lines(), "changes": changes}
        if cases := [c for c in self.adressen.cases if c[0] != "unchanged"]:
            out["adressen"] = {
                "cases": [f"{case}:{ident}" for case, ident in cases],
                "actions": self.adressen.lines(),
                "changes": _sent(self.adressen.advoware + self.adressen.espocrm),
            }
        out.update(self.bank.audit())
        return out


def _sent(actions: Sequence[Action]) -> dict[str, Any]:
    """Each write's values by write (an Advoware call by its key, a CAdressen patch by id)."""
    out: dict[str, Any] = {}
    for a in actions:
        if isinstance(a, Call):
            out[a.key] = dict(a.body or {})
        elif isinstance(a, Patch):
            out[f"{a.entity}.{a.record_id}"] = dict(a.fields)
    return out


def plan_children(
    record: Mapping[str, Any],
    advo_record: Mapping[str, Any],
    addresses: Sequence[Mapping[str, Any]],
    snapshot: Mapping[str, Any] | None,
    *,
    direction: Direction,
    now: datetime,
    recipient: str | None,
    bank: BankInputs | None = None,
    retry: RetryPolicy | None = None,
) -> Children:
    """`bank`: the party's account state and (when needed) its EspoCRM accounts; None (a create,
    a link) leaves the accounts for the next check."""
    betnr = record.get("betnr") or advo_record.get("betNr")
    who = Who(str(record["id"]), int(betnr) if betnr else None, recipient)
    komm = plan_kommunikation(record, advo_record, snapshot, direction, who)
    adressen = plan_adressen(list(addresses), advo_record, snapshot, who, now)
    accounts = BankPlan()
    if bank is not None and betnr and direction != "to_advoware":
        facts = BankFacts(now, retry or RetryPolicy(), recipient)
        accounts = plan_bank(
            who.record_id, int(betnr), advo_record.get("bankverbindungen") or [], bank, facts
        )
    if direction != "both" and (adressen.advoware or adressen.espocrm or adressen.noticed):
        return Children(komm, AddressPlan(rows=adressen.rows), addresses_pending=True, bank=accounts)
    return Children(komm, adressen, bank=accounts)
