"""A party's bank accounts come over when it is first linked to an Advoware party — adopted at
create, or its own interrupted create recovered — in that same party run (SYNC_RULES §4 "From
Advoware", DECISIONS 9, 24): an Advoware account whose IBAN an EspoCRM account of the party holds
is linked to it (no second account anywhere); an unknown one is created in EspoCRM, `clean`,
linked. The account jobs then have nothing to send, and a second party sync writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from simulators.advoware.records import BankAccount
from tests.bankverbindungen.conftest import IBAN, IBAN2, Bank

pytestmark = pytest.mark.timeout(60)

PARTY = {"name": "Mustermann", "vorname": "Max", "geburtsdatum": "1980-05-17T00:00:00", "anrede": "Herr"}
GET, PARTIES, PARTY_PATH = "GET", "/api/v1/advonet/Beteiligte", "/api/v1/advonet/Beteiligte/{betNr}"
ONE, LINKED, LIST = "/api/v1/{entity}/{id}", "/api/v1/{entity}/{id}/{link}", "/api/v1/{entity}"
LOST_POST = {
    "rules": [{"method": "POST", "route": "*/Beteiligte", "status": 504, "after_write": True, "count": 1}]
}


def desktop_account(bank: Bank, betnr: int, iban: str, name: str) -> int:
    """An account typed into Advoware by hand (no marker)."""
    state = bank.env.advo_sim.state
    values = {"iban": iban, "bic": None, "bank": name, "kontoinhaber": "Max Mustermann", "bemerkung": None}
    konto = state.next_id("bank_id")
    state.parties[betnr].bankverbindungen.append(BankAccount(konto, f"r{konto}", values))
    return konto


async def brought_over(bank: Bank, pid: str, betnr: int, known: str, konten: dict[str, int]) -> None:
    """The party's EspoCRM accounts after the link run: the one it had, linked; the new one, made."""
    records = {r["iban"].replace(" ", "").upper(): r for r in await bank.espo_accounts(pid)}
    assert set(records) == {IBAN, IBAN2}, records
    assert records[IBAN]["id"] == known and records[IBAN]["advowareKontoId"] == konten[IBAN]
    assert records[IBAN2]["advowareKontoId"] == konten[IBAN2] and records[IBAN2]["bankname"] == "DKB"
    assert {r["syncStatus"] for r in records.values()} == {"clean"}
    assert len(bank.advo_accounts(betnr)) == 2
    for record in records.values():  # the account jobs: nothing to send, no Advoware call
        outcome = await bank.handle(record["id"], "create")
        assert outcome.status == "noop", outcome
        assert bank.env.data_calls()["advoware_read"] == bank.env.data_calls()["advoware_write"] == 0
    await bank.party_sync(pid)
    assert bank.env.data_calls()["espocrm_write"] == 0 and len(await bank.espo_accounts(pid)) == 2


async def test_an_adopted_party_brings_its_accounts_over_in_the_link_run(bank: Bank) -> None:
    betnr = await bank.env.advo_post(PARTY)
    konten = {
        IBAN: desktop_account(bank, betnr, IBAN, "Commerzbank"),
        IBAN2: desktop_account(bank, betnr, IBAN2, "DKB"),
    }
    pid = await bank.env.new_person()
    known = await bank.new_account(pid, iban="de89 3704 0044 0532 0130 00", bic=None)  # waits for its party
    waiting = await bank.handle(known, "create")
    assert waiting.status == "waiting_for_party"

    bank.env.reset_counters()
    outcome: Any = await bank.env.handle(pid, "create")
    advo, espo = bank.env.advo_calls(), bank.env.espo_calls()
    assert outcome.status == "created" and outcome.plan.variant == "link"
    # the link's 7 (EspoCRM GET, addresses, search, list, Advoware GET, PUT, EspoCRM PUT) + the
    # account list and a second party GET (it stays last before the PUT) + 1 write per account
    # (the PUT linking the one EspoCRM had; the POST creating the other is not counted here)
    assert advo == {(GET, PARTIES): 1, (GET, PARTY_PATH): 2, ("PUT", PARTY_PATH): 1}, advo
    assert espo == {(GET, ONE): 1, (GET, LINKED): 2, (GET, LIST): 1, ("PUT", ONE): 2}, espo
    assert (await bank.env.record(pid))["betnr"] == betnr
    assert set(outcome.plan.children.bank.cases) == {
        ("linked", known),
        ("new_in_advoware", str(konten[IBAN2])),
    }
    await brought_over(bank, pid, betnr, known, konten)


async def test_its_own_interrupted_create_recovered_brings_accounts_typed_in_meanwhile(bank: Bank) -> None:
    pid = await bank.env.new_person()
    known = await bank.new_account(pid, bic=None)
    await bank.env.faults("advoware", LOST_POST)
    assert (await bank.env.handle(pid, "create")).status == "failed"  # POSTed; the answer lost
    await bank.env.faults("advoware", {})
    (betnr,) = bank.env.advo_parties()
    konten = {
        IBAN: desktop_account(bank, betnr, IBAN, "Commerzbank"),
        IBAN2: desktop_account(bank, betnr, IBAN2, "DKB"),
    }
    bank.env.clock.advance(minutes=2)
    outcome: Any = await bank.env.handle(pid)
    assert outcome.status == "created" and outcome.plan.variant == "link"
    assert list(bank.env.advo_parties()) == [betnr]
    await brought_over(bank, pid, betnr, known, konten)
