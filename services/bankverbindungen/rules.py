"""The account sync's decisions (SYNC_RULES §4), one function per case, yielding core actions.

- `decide_linked`: the account has an Advoware account. EspoCRM's values equal the synced ones →
  nothing, or the bookkeeping (a manual mark cleared because the user reverted). They differ →
  Advoware cannot update an account: EspoCRM's value is kept, the account becomes
  `manual_action` with the exact instruction, one notice per value change; nothing is POSTed.
- `decide_unlinked`: no Advoware account yet. The party's Advoware accounts are searched first
  (the marker, then the normalised IBAN, DECISIONS 40; this also recovers a lost POST answer,
  DECISIONS 5) → link; else POST with the marker, then ONE EspoCRM write (`advowareKontoId`,
  `clean`, stamp).
Every write names the account's state item (`state.item`); the status item is `status`. A BIC
that does not belong to the IBAN's bank is an audit note only. Pure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from services.bankverbindungen.fields import (
    ENTITY,
    Values,
    advo_values,
    changed,
    espo_values,
    marker_of,
    post_body,
)
from services.bankverbindungen.notices import changed_notice, instruction
from services.bankverbindungen.state import Row, item
from services.bankverbindungen.validate import bic_mismatch
from services.sync.actions import Action, Call, Note, Patch, Settlement
from services.sync.policy import RetryPolicy

POST = "create_account"
STATUS = "status"
BIC_WARNING = "bic_mismatch: the BIC does not belong to the IBAN's bank"
Variant = Literal["check", "manual", "link", "create"]


@dataclass(frozen=True)
class Facts:
    now: datetime
    retry: RetryPolicy
    admin_user_id: str | None
    webhook: bool = False  # webhook runs never write the stale stamp alone


@dataclass(frozen=True)
class AccountDecision:
    variant: Variant
    record: Mapping[str, Any]
    actions: tuple[Action, ...]
    row: Row | None = None  # the row as planned (a create learns its Advoware id from the answer)
    warnings: tuple[str, ...] = ()

    @property
    def writes(self) -> bool:
        return any(isinstance(a, Call | Patch) for a in self.actions)


def recipient_of(record: Mapping[str, Any], facts: Facts) -> str | None:
    return record.get("assignedUserId") or facts.admin_user_id


def _warnings(values: Values) -> tuple[str, ...]:
    return (BIC_WARNING,) if bic_mismatch(values) else ()


def settle_row(
    record: Mapping[str, Any], row: Row, values: Values, facts: Facts, *, link: Mapping[str, Any] = {}
) -> tuple[Action, ...]:
    """The record's one write for a linked account: EspoCRM agrees with Advoware's values →
    `clean`; it differs → `manual_action` with the instruction and one notice (the row keeps
    Advoware's values and EspoCRM's wish). `link` (the Advoware id) goes into the same write."""
    account_id = str(record["id"])
    differs = changed(row.fields, values)
    if not differs:
        done = dataclasses.replace(row, manual=False, wanted=None)
        fields = {**link, **facts.retry.on_success(record, facts.now)}
        return (Patch(ENTITY, account_id, fields, {item(account_id): done, STATUS: "clean"}),)
    marked = dataclasses.replace(row, manual=True, wanted=dict(values))
    text = instruction(row.betnr, row.konto_id, row.fields, values)
    fields = {**link, **facts.retry.on_block(record, "manual_action", text)}
    notice = changed_notice(
        account_id, row.betnr, row.konto_id, differs, values, recipient_of(record, facts),
        requires=(item(account_id),),
    )  # fmt: skip
    return (Patch(ENTITY, account_id, fields, {item(account_id): marked}), notice)


def decide_linked(record: Mapping[str, Any], row: Row, facts: Facts) -> AccountDecision:
    values = espo_values(record)
    warnings = _warnings(values)
    link = {"advowareKontoId": row.konto_id} if record.get("advowareKontoId") != row.konto_id else {}
    if changed(row.fields, values):
        noticed = row.manual and row.wanted == values and record.get("syncStatus") == "manual_action"
        if noticed and not link:
            return AccountDecision("manual", record, (Note("manual action pending, already notified"),), row)
        return AccountDecision(
            "manual", record, settle_row(record, row, values, facts, link=link), row, warnings
        )
    due = facts.retry.bookkeeping_due(record, facts.now, webhook=facts.webhook)
    if not (due or row.manual or link):
        return AccountDecision("check", record, (), row, warnings)
    return AccountDecision("check", record, settle_row(record, row, values, facts, link=link), row, warnings)


def _theirs(account: Mapping[str, Any], account_id: str) -> bool:
    """POSTed by this service for another EspoCRM account (its marker says so)."""
    return marker_of(account) not in (None, account_id)


def find_in_advoware(
    account_id: str, values: Values, accounts: Sequence[Mapping[str, Any]], rows: Sequence[Row]
) -> Mapping[str, Any] | None:
    """The party's Advoware account that is this one: its marker first, then the same IBAN; an
    account another EspoCRM account holds (or held: a tombstone), or one POSTed for another
    (its marker; the state may have lost that row to a crash), is never taken."""
    taken = {r.konto_id for r in rows if r.account_id != account_id and r.konto_id is not None}
    free = [a for a in accounts if a.get("id") is not None and int(a["id"]) not in taken]
    by_marker = [a for a in free if marker_of(a) == account_id]
    by_iban = [
        a
        for a in free
        if values.get("iban") and advo_values(a)["iban"] == values["iban"] and not _theirs(a, account_id)
    ]
    found = by_marker or by_iban
    return found[0] if found else None


def ibans_held_elsewhere(
    account_id: str, accounts: Sequence[Mapping[str, Any]], rows: Sequence[Row]
) -> list[str | None]:
    """IBANs of the party's Advoware accounts POSTed for another, not deleted EspoCRM account: the
    same IBAN on this one is "the same IBAN twice on one party" even when the state lost that
    other account's row (a crash right after its EspoCRM write)."""
    gone = {r.account_id for r in rows if r.tombstone}
    return [advo_values(a)["iban"] for a in accounts if _theirs(a, account_id) and marker_of(a) not in gone]


def decide_unlinked(
    record: Mapping[str, Any],
    betnr: int,
    accounts: Sequence[Mapping[str, Any]],
    rows: Sequence[Row],
    facts: Facts,
) -> AccountDecision:
    account_id, party_id = str(record["id"]), str(record["beteiligteId"])
    values = espo_values(record)
    warnings = _warnings(values)
    found = find_in_advoware(account_id, values, accounts, rows)
    if found is not None:
        konto = int(found["id"])
        row = Row(account_id, party_id, betnr, konto, advo_values(found))
        actions = settle_row(record, row, values, facts, link={"advowareKontoId": konto})
        return AccountDecision(
            "link", record, (Note(f"linked to Advoware account {konto}"), *actions), row, warnings
        )
    planned = Row(account_id, party_id, betnr, None, values)

    def settle(answer: Any) -> Settlement:
        konto = int(answer["id"])
        stored = advo_values(answer) if answer.get("iban") else values
        link = Patch(ENTITY, account_id, {"advowareKontoId": konto}, keep=True)
        return Settlement(
            advances={item(account_id): dataclasses.replace(planned, konto_id=konto, fields=stored)},
            patches=(link,),
        )

    post = Call("advoware", POST, POST, betnr, post_body(account_id, values), {}, settle)
    bookkeeping = Patch(ENTITY, account_id, facts.retry.on_success(record, facts.now), {STATUS: "clean"})
    return AccountDecision("create", record, (post, bookkeeping), planned, warnings)
