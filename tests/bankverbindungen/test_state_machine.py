"""A hypothesis state machine over the real account sync and party sync against both simulators
(real HTTP), the service database (SQLite), with faults: a write refused, applied with its
answer lost, or the process dying right after it.

Rules: EspoCRM users add, change and delete accounts; Advoware desktop users add, change and
delete accounts (IBANs from a small pool, so the same IBAN turns up on both sides); the service
runs account jobs and party syncs; time passes.

Invariants after every step: never two Advoware accounts POSTed for one EspoCRM account (the
marker is unique), never two EspoCRM accounts linked to one Advoware account. At the end, with
the faults gone and two rounds of syncs: every EspoCRM account is `clean` and equal to its
Advoware account, or `manual_action` with the instruction (EspoCRM's values kept), or `invalid`
with its message; every Advoware account is linked from one EspoCRM account or tombstoned (its
EspoCRM account was deleted) — nothing silently lost, nothing duplicated.

Profiles: `ci` (bounded, derandomized) and `long` (HYPOTHESIS_PROFILE=long).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from services.bankverbindungen.service import BankSyncService
from services.beteiligte.service import BeteiligteSyncService
from services.clients import SessionHolder
from services.clients.errors import ApiError
from services.db import open_database
from services.sync.policy import RetryPolicy
from simulators.advoware.records import BankAccount
from tests.bankverbindungen.conftest import BANK, bank_settings
from tests.beteiligte_service.conftest import (
    FakeClock,
    MemoryLock,
    advoware_client,
    espocrm_client,
    make_settings,
)
from tests.fixtures.advoware_sim import start_advoware_sim
from tests.fixtures.espocrm_sim import start_espocrm_sim

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
STEPS = {"ci": (60, 30), "long": (400, 60)}.get(PROFILE, (60, 30))
pytestmark = pytest.mark.timeout(600 if PROFILE != "long" else 7200)
STEPS_RUN: Counter[str] = Counter()  # steps and examples, printed by the long profile
IBANS = [
    "DE89370400440532013000",
    "DE02120300000000202051",
    "DE75512108001245126199",
    "DE12500105170648489890",
]
BANKS = ["Commerzbank", "DKB", "Sparkasse", None]
# (simulator, method, route) of each write the sync makes
WRITES = {
    "advo_post": ("advoware", "POST", "*/Bankverbindungen"),
    "espo_put": ("espocrm", "PUT", "*/CBankverbindungen/*"),
    "espo_post": ("espocrm", "POST", "*/CBankverbindungen"),
    "espo_delete": ("espocrm", "DELETE", "*/CBankverbindungen/*"),
}
MODES = {"refused": {"status": 400, "count": 1}, "lost": {"status": 502, "after_write": True, "count": 4}}
CRASH_AT = {"advo_post": ("bank", "advo", "create_bankverbindung"), "espo_put": ("bank", "espo", "update"),
            "espo_post": ("party", "espo", "create"), "espo_delete": ("party", "espo", "delete")}  # fmt: skip


class Crash(BaseException):
    pass


class BankMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.stack = contextlib.AsyncExitStack()
        self.dir = tempfile.mkdtemp(prefix="bank-machine-")
        self.deleted: set[str] = set()  # EspoCRM accounts a user deleted

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    @initialize()
    def start(self) -> None:
        self.run(self._start())

    async def _start(self) -> None:
        self.advo_sim = await self.stack.enter_async_context(start_advoware_sim())
        self.espo_sim = await self.stack.enter_async_context(start_espocrm_sim())
        self.db = await self.stack.enter_async_context(open_database(f"sqlite:///{self.dir}/s.db"))
        await self.db.migrate()
        holder = SessionHolder()
        self.stack.push_async_callback(holder.close)
        self.clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
        self.lock = MemoryLock(self.clock)
        retry = RetryPolicy(schedule_minutes=(1,), max_failures=10_000)
        self.party_service = BeteiligteSyncService(
            espocrm_client(self.espo_sim, holder), advoware_client(self.advo_sim, holder), self.db, self.lock,
            make_settings(retry=retry), self.clock,
        )  # fmt: skip
        self.bank = BankSyncService(
            espocrm_client(self.espo_sim, holder), advoware_client(self.advo_sim, holder), self.db, self.lock,
            bank_settings(retry=retry), self.clock,
        )  # fmt: skip
        data = {
            "firstName": "Max",
            "lastName": "Muster",
            "rechtsform": "Privatperson",
            "assignedUserId": "user-anna",
        }
        self.pid = str((await self.espo_sim.create("CBeteiligte", data))["id"])
        outcome = await self.party_service.handle(self.pid, "create", trigger="cli", trace_id="t")
        assert outcome.status == "created", outcome
        self.betnr = int((await self.espo_sim.get("CBeteiligte", self.pid))["betnr"])

    def teardown(self) -> None:
        with contextlib.suppress(AttributeError):
            self.run(self.stack.aclose())
        self.loop.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- the two sides ---------------------------------------------------------------------------
    @property
    def advo_accounts(self) -> list[BankAccount]:
        return self.advo_sim.state.parties[self.betnr].bankverbindungen

    def espo_accounts(self) -> dict[str, dict[str, Any]]:
        return {r["id"]: r for r in self.espo_sim.state.tables[BANK].values()}

    @rule(iban=st.sampled_from(IBANS), bank=st.sampled_from(BANKS))
    def espo_add(self, iban: str, bank: str | None) -> None:
        data = {"iban": iban, "bankname": bank, "beteiligteId": self.pid, "assignedUserId": "user-anna"}
        self.run(self.espo_sim.create_as_user(BANK, data))

    @rule(n=st.integers(0, 9), bank=st.sampled_from(BANKS), iban=st.sampled_from([None, *IBANS]))
    def espo_change(self, n: int, bank: str | None, iban: str | None) -> None:
        ids = sorted(self.espo_accounts())
        if ids:
            data = {"bankname": bank, **({"iban": iban} if iban else {})}
            self.run(self.espo_sim.update_as_user(BANK, ids[n % len(ids)], data))

    @rule(n=st.integers(0, 9))
    def espo_delete(self, n: int) -> None:
        ids = sorted(self.espo_accounts())
        if ids:
            self.deleted.add(ids[n % len(ids)])
            self.run(self.espo_sim.delete_as_user(BANK, ids[n % len(ids)]))

    @rule(iban=st.sampled_from(IBANS), bank=st.sampled_from(BANKS))
    def advo_add(self, iban: str, bank: str | None) -> None:
        state = self.advo_sim.state
        values = {"iban": iban, "bic": None, "bank": bank, "kontoinhaber": None, "bemerkung": None}
        self.advo_accounts.append(BankAccount(state.next_id("bank_id"), state.short_row_id(), values))

    @rule(n=st.integers(0, 9), bank=st.sampled_from(BANKS))
    def advo_change(self, n: int, bank: str | None) -> None:
        if self.advo_accounts:
            self.advo_accounts[n % len(self.advo_accounts)].values["bank"] = bank

    @rule(n=st.integers(0, 9))
    def advo_delete(self, n: int) -> None:
        if self.advo_accounts:
            self.advo_accounts.pop(n % len(self.advo_accounts))

    # -- the service -----------------------------------------------------------------------------
    async def _faulted(self, write: str | None, mode: str | None, run_job: Any) -> None:
        async def job() -> None:
            with contextlib.suppress(ApiError):  # even the failure booking failed: the engine retries
                await run_job()

        if write is None or mode is None:
            await job()
            return
        if mode == "crash":
            owner, side, attr = CRASH_AT[write]
            client = getattr(self.bank if owner == "bank" else self.party_service, side)
            real = getattr(client, attr)

            async def dies(*args: Any, **kw: Any) -> Any:
                await real(*args, **kw)
                raise Crash

            setattr(client, attr, dies)
            try:
                await job()
            except Crash:
                self.lock.held.clear()  # the dead holder's lock expires
            finally:
                setattr(client, attr, real)
            return
        sim, method, route = WRITES[write]
        root = self.advo_sim.url.rstrip("/") if sim == "advoware" else self.espo_sim.root
        await self._admin(root, {"rules": [{"method": method, "route": route, **MODES[mode]}]})
        try:
            await job()
        finally:
            await self._admin(root, {})

    async def _admin(self, root: str, body: Any) -> None:
        import aiohttp

        async with aiohttp.ClientSession() as s, s.post(root + "/_admin/faults", json=body) as r:
            assert r.status < 300

    faults = st.one_of(
        st.none(), st.tuples(st.sampled_from(sorted(WRITES)), st.sampled_from([*MODES, "crash"]))
    )

    @rule(
        n=st.integers(0, 9),
        action=st.sampled_from(["create", "update", "delete", "sync_check"]),
        fault=faults,
    )
    def account_job(self, n: int, action: str, fault: Any) -> None:
        ids = sorted(set(self.espo_accounts()) | self.deleted)
        if not ids:
            return
        aid = ids[n % len(ids)]

        async def job() -> None:
            await self.bank.handle(aid, action, trigger=f"vmh.bankverbindungen.{action}", trace_id="t")

        self.run(self._faulted(*(fault or (None, None)), job))

    @rule(fault=faults)
    def party_sync(self, fault: Any) -> None:
        async def job() -> None:
            await self.party_service.handle(self.pid, "sync_check", trigger="cli", trace_id="t")

        self.run(self._faulted(*(fault or (None, None)), job))

    @rule(minutes=st.sampled_from([1, 30]))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)

    # -- invariants ------------------------------------------------------------------------------
    @invariant()
    def nothing_duplicated(self) -> None:
        if not hasattr(self, "pid"):
            return
        STEPS_RUN["steps"] += 1
        markers = Counter(a.values.get("bemerkung") for a in self.advo_accounts if a.values.get("bemerkung"))
        assert all(n == 1 for n in markers.values()), markers
        links = Counter(
            r.get("advowareKontoId") for r in self.espo_accounts().values() if r.get("advowareKontoId")
        )
        assert all(n == 1 for n in links.values()), links

    def settle(self) -> None:
        async def go() -> None:
            for _ in range(3):
                self.clock.advance(minutes=10)
                await self.party_service.handle(self.pid, "sync_check", trigger="cli", trace_id="s")
                for aid in sorted(set(self.espo_accounts()) | self.deleted):
                    await self.bank.handle(aid, "sync_check", trigger="cli", trace_id="s")

        self.run(go())

    def check_final(self) -> None:
        self.settle()
        advo = {a.id: a for a in self.advo_accounts}
        rows = {r.account_id: r for r in self.run(self.db.bank_accounts_of_party(self.pid))}
        from services.bankverbindungen.fields import advo_values, espo_values

        for aid, record in self.espo_accounts().items():
            status = record.get("syncStatus")
            assert status in ("clean", "manual_action", "invalid"), (
                aid,
                status,
                record.get("syncErrorMessage"),
            )
            if status == "invalid":
                assert record.get("syncErrorMessage")
                continue
            theirs = advo.get(int(record["advowareKontoId"]))
            assert theirs is not None, (aid, "linked to a gone Advoware account")
            same = espo_values(record) == advo_values(theirs.values)
            assert same == (status == "clean"), (aid, status, espo_values(record), advo_values(theirs.values))
            if status == "manual_action":
                assert "von Hand" in record["syncErrorMessage"]  # EspoCRM's values kept, a person told
        linked = {
            int(r["advowareKontoId"]) for r in self.espo_accounts().values() if r.get("advowareKontoId")
        }
        tombs = {r.konto_id for r in rows.values() if r.tombstone}
        for konto in advo:
            assert konto in linked or konto in tombs, (konto, "Advoware account never reached EspoCRM")
        for row in rows.values():
            if row.tombstone:
                assert row.account_id in self.deleted and row.account_id not in self.espo_accounts()


class _Checked(BankMachine):
    def teardown(self) -> None:
        try:
            if hasattr(self, "pid"):
                self.check_final()
        finally:
            super().teardown()
            STEPS_RUN["examples"] += 1
            if PROFILE == "long":
                print(f"bank machine: {STEPS_RUN['examples']} examples, {STEPS_RUN['steps']} steps")


_Checked.TestCase.settings = settings(
    max_examples=STEPS[0], stateful_step_count=STEPS[1], deadline=None, derandomize=PROFILE != "long",
    report_multiple_bugs=False,
)  # fmt: skip
TestBankMachine = _Checked.TestCase
