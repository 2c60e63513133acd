"""The sync state of bank accounts (SYNC_RULES §4): one row per EspoCRM `CBankverbindungen` id.

Written by the account sync (after an Advoware POST, a link, a tombstone, a manual mark) and by
the party sync (accounts that came from Advoware, Advoware-side changes, deletes). A row may be
written together with notices (`notices`), in one transaction, so a notice is never lost
between the state and its sending (SYNC_RULES §7).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .models import BankAccountState, OutboxNotification
from .store import StoreBase

_COLUMNS = "account_id, espo_id, betnr, konto_id, fields, wanted, tombstone, manual, updated_at"
_UPSERT = f"""
INSERT INTO bank_accounts ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (account_id) DO UPDATE SET
    espo_id = excluded.espo_id, betnr = excluded.betnr, konto_id = excluded.konto_id,
    fields = excluded.fields, wanted = excluded.wanted, tombstone = excluded.tombstone,
    manual = excluded.manual, updated_at = excluded.updated_at
"""


class BankAccountStore(StoreBase):
    async def save_bank_account(
        self, state: BankAccountState, *, notices: Sequence[OutboxNotification] = ()
    ) -> None:
        """Insert or replace the account's row (and record `notices` in the same transaction)."""
        args = (
            state.account_id,
            state.party_id,
            state.betnr,
            state.konto_id,
            self._driver.dump_json(dict(state.fields)),
            self._driver.dump_json(dict(state.wanted)) if state.wanted is not None else None,
            bool(state.tombstone),
            bool(state.manual),
            self._driver.dump_ts(self._now()),
        )
        if not notices:
            await self._driver.execute(_UPSERT, *args)
            return
        async with self._driver.transaction() as tx:
            await tx.execute(_UPSERT, *args)
            await self.enqueue_notifications(notices, tx)  # type: ignore[attr-defined]

    async def get_bank_account(self, account_id: str) -> BankAccountState | None:
        row = await self._driver.fetchrow(
            f"SELECT {_COLUMNS} FROM bank_accounts WHERE account_id = $1", account_id
        )
        return self._bank_row(row) if row is not None else None

    async def bank_accounts_of_party(self, espo_id: str) -> list[BankAccountState]:
        """The party's rows (tombstones too), ordered by account id."""
        rows = await self._driver.fetch(
            f"SELECT {_COLUMNS} FROM bank_accounts WHERE espo_id = $1 ORDER BY account_id", espo_id
        )
        return [self._bank_row(r) for r in rows]

    async def delete_bank_account(self, account_id: str) -> bool:
        count = await self._driver.execute("DELETE FROM bank_accounts WHERE account_id = $1", account_id)
        return count > 0

    def _bank_row(self, row: Mapping[str, Any]) -> BankAccountState:
        wanted = row["wanted"]
        return BankAccountState(
            account_id=row["account_id"],
            party_id=row["espo_id"],
            betnr=int(row["betnr"]) if row["betnr"] is not None else None,
            konto_id=int(row["konto_id"]) if row["konto_id"] is not None else None,
            fields=self._driver.load_json(row["fields"]),
            wanted=self._driver.load_json(wanted) if wanted is not None else None,
            tombstone=bool(row["tombstone"]),
            manual=bool(row["manual"]),
            updated_at=self._driver.load_ts(row["updated_at"]),
        )
