"""The account state in the service database, for the account job and the party sync alike:
rows in and out of the rules' `Row`, and what a run applied (rows stored or forgotten, notices
recorded with them, manual blocks lifted). The party sync's reads: the state rows of the party
and, only when there is work, the party's EspoCRM accounts (one list) — in every run that reads
the Advoware party: an update/check, a first link, an adoption."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from services.bankverbindungen.fields import ENTITY, PARTY_ENTITY, PARTY_LINK
from services.bankverbindungen.from_advoware import BankInputs, BankPlan, needs_espo
from services.bankverbindungen.state import Row, changes, item
from services.db import BankAccountState, OutboxNotification


def to_row(state: BankAccountState) -> Row:
    return Row(**{f.name: getattr(state, f.name) for f in dataclasses.fields(Row)})


def to_state(row: Row) -> BankAccountState:
    return BankAccountState(**dataclasses.asdict(row))


async def rows_of(db: Any, party_id: str) -> list[Row]:
    return [to_row(s) for s in await db.bank_accounts_of_party(party_id)]


async def store(
    db: Any,
    *sources: Mapping[str, Any],
    notices: Sequence[OutboxNotification] = (),
) -> tuple[dict[str, Row], list[str]]:
    """Store the rows the state items name (None: forget it); the notices go with the first."""
    keep, drop = changes(*sources)
    pending = list(notices)
    for row in keep.values():
        await db.save_bank_account(to_state(row), notices=pending)
        pending = []
    for account_id in drop:
        await db.delete_bank_account(account_id)
    if pending:
        await db.enqueue_notifications(pending)
    return keep, drop


async def read_for_party(
    espo: Any,
    party_id: str,
    rows: Sequence[Row],
    advo: Mapping[str, Any],
    get_again: Callable[[], Awaitable[Mapping[str, Any]]],
) -> tuple[Mapping[str, Any], BankInputs]:
    """The party sync's account inputs beside the Advoware party `advo` just read (`rows`: the
    state, read before it). The party's EspoCRM accounts (one list) only when there is something
    to do — and then the Advoware party is read again, so its GET stays the last read before a
    PUT (DECISIONS 32)."""
    rows = tuple(rows)
    accounts = advo.get("bankverbindungen") or []
    if not needs_espo(accounts, rows):
        return advo, BankInputs(rows, None if accounts or rows else ())
    listed = tuple(await espo.list_linked(PARTY_ENTITY, party_id, PARTY_LINK))
    return await get_again(), BankInputs(rows, listed)


async def settle_party_plan(db: Any, plan: BankPlan, advanced: Mapping[str, Any]) -> None:
    """After the party's run: the account rows it applied; manual blocks it lifted."""
    if not plan.actions and not plan.agreed:
        return
    await store(db, plan.agreed, advanced)
    for account_id in _lifted(plan.unblock, advanced):
        await db.clear_block(ENTITY, account_id)


def _lifted(unblock: Iterable[str], advanced: Mapping[str, Any]) -> list[str]:
    return [a for a in unblock if item(a) in advanced]
