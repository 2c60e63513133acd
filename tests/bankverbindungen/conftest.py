"""The account sync and the party sync against both simulators over real HTTP, sharing one
SQLite service database, one in-memory lock and a clock the tests move by hand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from services.bankverbindungen.ports import BankSettings
from services.bankverbindungen.service import BankSyncService
from tests.beteiligte_service.conftest import (  # noqa: F401
    ADMIN,
    Env,
    advoware_client,
    advoware_sim,
    clock,
    db,
    env,
    espocrm_client,
    espocrm_sim,
    holder,
    sync_settings,
)

BANK = "CBankverbindungen"
IBAN = "DE89370400440532013000"  # Commerzbank, BIC COBADEFFXXX
IBAN2 = "DE02120300000000202051"  # DKB, BIC BYLADEM1001


@dataclass
class Bank:
    env: Env
    service: BankSyncService

    async def party(self, **fields: Any) -> tuple[str, int]:
        """A person created in Advoware by the party sync: (EspoCRM id, betnr)."""
        pid = await self.env.new_person(**fields)
        assert (await self.env.handle(pid, "create")).status == "created"
        return pid, int((await self.env.record(pid))["betnr"])

    async def new_account(self, pid: str | None, **fields: Any) -> str:
        data = {"iban": IBAN, "bic": "COBADEFFXXX", "bankname": "Commerzbank", "kontoinhaber": "Max Mustermann",
                "assignedUserId": "user-anna", **({"beteiligteId": pid} if pid else {}), **fields}  # fmt: skip
        return str((await self.env.espo_sim.create_as_user(BANK, data))["id"])

    async def handle(self, account_id: str, action: str = "sync_check", **kw: Any) -> Any:
        self.env.reset_counters()
        trigger = kw.pop("trigger", f"vmh.bankverbindungen.{action}")
        return await self.service.handle(
            account_id, action, trigger=trigger, trace_id="t-" + account_id, **kw
        )

    async def account(self, account_id: str) -> dict[str, Any]:
        return await self.env.espo_sim.get(BANK, account_id)

    def advo_accounts(self, betnr: int) -> list[Any]:
        return list(self.env.advo_sim.state.parties[betnr].bankverbindungen)

    async def espo_accounts(self, pid: str) -> list[dict[str, Any]]:
        return list((await self.env.espo_sim.list(f"CBeteiligte/{pid}/bankverbindungen"))["list"])

    async def notices(self, kind: str | None = None) -> list[dict[str, Any]]:
        found = await self.env.notifications()
        return [n for n in found if kind is None or (n.get("data") or {}).get("kind") == kind]

    async def party_sync(self, pid: str) -> Any:
        self.env.reset_counters()
        return await self.env.handle(pid, "sync_check", trigger="cli")


def bank_settings(**overrides: Any) -> BankSettings:
    return BankSettings(
        **{"admin_user_id": ADMIN, "party_wait_s": 0.5, "party_wait_max_tries": 3, **overrides}
    )


@pytest.fixture
def bank_config() -> BankSettings:
    return bank_settings()


@pytest.fixture
def bank(env: Env, holder: Any, bank_config: BankSettings) -> Bank:  # noqa: F811
    service = BankSyncService(
        espocrm_client(env.espo_sim, holder),
        advoware_client(env.advo_sim, holder),
        env.db,
        env.lock,
        bank_config,
        env.clock,
    )
    return Bank(env, service)
