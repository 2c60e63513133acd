"""The acceptance list of the bank account issue against both simulators (SYNC_RULES §4): every
budget is read from the simulators' counters."""

from __future__ import annotations

import pytest

from tests.bankverbindungen.conftest import BANK, IBAN, IBAN2, Bank

pytestmark = pytest.mark.timeout(60)


async def test_create_posts_once_with_marker_links_clean_within_budget(bank: Bank) -> None:
    pid, betnr = await bank.party()
    aid = await bank.new_account(pid, iban="de89 3704 0044 0532 0130 00")
    outcome = await bank.handle(aid, "create")
    assert outcome.status == "created", outcome
    used = bank.env.data_calls()
    (advo,) = bank.advo_accounts(betnr)
    assert advo.values["iban"] == IBAN and advo.values["bemerkung"] == f"EspoCRM-ID: {aid}"
    record = await bank.account(aid)
    assert (
        record["advowareKontoId"] == advo.id
        and record["syncStatus"] == "clean"
        and record["advowareLastSync"]
    )
    # EspoCRM GET account, GET party, Advoware GET accounts, POST, EspoCRM PUT (§4: ≤ 5)
    assert used == {"espocrm_read": 2, "advoware_read": 1, "advoware_write": 1, "espocrm_write": 1}, used
    # the same event again (or late): nothing written, 1 read
    again = await bank.handle(aid, "create")
    assert again.status == "noop" and bank.env.data_calls()["espocrm_read"] == 1
    assert sum(bank.env.data_calls().values()) == 1 and len(bank.advo_accounts(betnr)) == 1


async def test_lost_post_answer_gives_exactly_one_advoware_account(bank: Bank) -> None:
    pid, betnr = await bank.party()
    aid = await bank.new_account(pid)
    rule = {"method": "POST", "route": "*/Bankverbindungen", "status": 503, "after_write": True, "count": 5}
    await bank.env.faults("advoware", {"rules": [rule]})
    failed = await bank.handle(aid, "create")
    assert failed.status == "failed" and "outcome unknown" in (failed.error or "")
    assert len(bank.advo_accounts(betnr)) == 1  # it was created; its answer was lost
    await bank.env.faults("advoware", {})
    bank.env.clock.advance(minutes=2)
    linked = await bank.handle(aid, "sync_check")
    assert linked.status == "linked", linked
    (advo,) = bank.advo_accounts(betnr)
    assert (await bank.account(aid))["advowareKontoId"] == advo.id
    assert bank.env.data_calls()["advoware_write"] == 0


async def test_accounts_from_advoware_arrive_clean_and_linked(bank: Bank) -> None:
    pid, betnr = await bank.party()
    state = bank.env.advo_sim.state
    from simulators.advoware.records import BankAccount

    desktop = {
        "iban": IBAN2,
        "bic": "BYLADEM1001",
        "bank": "DKB",
        "kontoinhaber": "Max M.",
        "bemerkung": None,
    }
    state.parties[betnr].bankverbindungen.append(BankAccount(state.next_id("bank_id"), "r1", desktop))
    outcome = await bank.party_sync(pid)
    assert outcome.status == "synced", outcome
    (record,) = await bank.espo_accounts(pid)
    assert record["iban"] == IBAN2 and record["bankname"] == "DKB" and record["syncStatus"] == "clean"
    assert record["advowareKontoId"] == bank.advo_accounts(betnr)[0].id
    # the cron never sends it back: an account check writes nothing and calls Advoware 0 times
    assert (await bank.handle(record["id"])).status == "noop"
    assert bank.env.data_calls()["advoware_write"] == 0
    await bank.party_sync(pid)
    assert len(await bank.espo_accounts(pid)) == 1 and bank.env.data_calls()["espocrm_write"] == 0


async def test_invalid_iban_zero_advoware_calls_status_and_message(bank: Bank) -> None:
    pid, _ = await bank.party()
    # EspoCRM refuses a bad checksum itself: an instance without the check (or an import) stores one
    bank.env.espo_sim.state.config.validate_iban = False
    aid = await bank.new_account(pid, iban="DE89370400440532013001")
    outcome = await bank.handle(aid, "create")
    assert outcome.status == "invalid"
    used = bank.env.data_calls()
    record = await bank.account(aid)
    assert record["syncStatus"] == "invalid" and "IBAN ungültig" in record["syncErrorMessage"]
    assert not record.get("syncRetryCount")
    assert used == {"espocrm_read": 1, "espocrm_write": 1, "advoware_read": 0, "advoware_write": 0}, used
    assert len(await bank.notices("invalid")) == 1
    # unchanged: blocked, 1 read; the fix re-validates and creates it
    assert (await bank.handle(aid)).status == "blocked" and sum(bank.env.data_calls().values()) == 1
    await bank.env.espo_sim.update_as_user(BANK, aid, {"iban": IBAN})
    assert (await bank.handle(aid, "update")).status == "created"
    assert len(await bank.notices("invalid")) == 1


async def test_empty_iban_same_iban_twice_and_no_party_are_invalid(bank: Bank) -> None:
    pid, betnr = await bank.party()
    first = await bank.new_account(pid)
    assert (await bank.handle(first, "create")).status == "created"
    twin = await bank.new_account(pid, iban="DE89 3704 0044 0532 0130 00")
    assert (await bank.handle(twin, "create")).status == "invalid"
    assert "bereits" in (await bank.account(twin))["syncErrorMessage"]
    empty = await bank.new_account(pid, iban="")
    assert (await bank.handle(empty, "create")).status == "invalid"
    orphan = await bank.new_account(None)
    assert (await bank.handle(orphan, "create")).status == "invalid"
    assert bank.env.data_calls()["advoware_read"] == 0
    assert len(bank.advo_accounts(betnr)) == 1


async def test_bic_mismatch_is_an_audit_warning_only(bank: Bank) -> None:
    pid, _ = await bank.party()
    aid = await bank.new_account(pid, bic="BYLADEM1001")  # a valid BIC of another bank
    assert (await bank.handle(aid, "create")).status == "created"
    (entry,) = await bank.env.db.list_audit(BANK, aid)
    assert entry.decision["warnings"] == ["bic_mismatch: the BIC does not belong to the IBAN's bank"]
    assert (await bank.account(aid))["syncStatus"] == "clean"


async def test_change_in_espocrm_keeps_value_one_notice_not_overwritten_until_done(bank: Bank) -> None:
    pid, betnr = await bank.party()
    aid = await bank.new_account(pid)
    await bank.handle(aid, "create")
    await bank.env.espo_sim.update_as_user(BANK, aid, {"bankname": "Commerzbank AG"})
    outcome = await bank.handle(aid, "update")
    assert outcome.status == "manual_action"
    used = bank.env.data_calls()
    assert used == {"espocrm_read": 1, "espocrm_write": 1, "advoware_read": 0, "advoware_write": 0}, used
    record = await bank.account(aid)
    assert record["bankname"] == "Commerzbank AG" and record["syncStatus"] == "manual_action"
    assert "'Commerzbank' auf 'Commerzbank AG'" in record["syncErrorMessage"]
    assert len(await bank.notices("manual_action")) == 1
    for _ in range(2):  # the party sync does not overwrite it from Advoware while pending
        await bank.party_sync(pid)
        assert (await bank.account(aid))["bankname"] == "Commerzbank AG"
    assert (await bank.handle(aid, "update")).status == "blocked"
    assert len(bank.advo_accounts(betnr)) == 1 and len(await bank.notices("manual_action")) == 1
    # a person makes the change in Advoware: the next party sync clears the mark
    bank.advo_accounts(betnr)[0].values["bank"] = "Commerzbank AG"
    await bank.party_sync(pid)
    record = await bank.account(aid)
    assert record["syncStatus"] == "clean" and not record.get("syncErrorMessage")
    assert (await bank.handle(aid)).status == "noop"


async def test_delete_in_espocrm_tombstone_one_notice_never_recreated(bank: Bank) -> None:
    pid, betnr = await bank.party()
    aid = await bank.new_account(pid)
    await bank.handle(aid, "create")
    await bank.env.espo_sim.delete_as_user(BANK, aid)
    outcome = await bank.handle(aid, "delete")
    assert outcome.status == "deleted"
    assert bank.env.data_calls() == {
        "espocrm_read": 1,
        "espocrm_write": 0,
        "advoware_read": 0,
        "advoware_write": 0,
    }
    (notice,) = await bank.notices("manual_action")
    assert (
        "von Hand löschen" in notice["message"]
        and notice["data"]["kontoId"] == bank.advo_accounts(betnr)[0].id
    )
    assert (await bank.handle(aid, "delete")).status == "noop"  # the same event twice
    for _ in range(2):
        await bank.party_sync(pid)
    assert await bank.espo_accounts(pid) == [] and len(bank.advo_accounts(betnr)) == 1
    assert len(await bank.notices("manual_action")) == 1
    # deleted by hand in Advoware: the tombstone goes
    bank.env.advo_sim.state.parties[betnr].bankverbindungen.clear()
    await bank.party_sync(pid)
    assert await bank.env.db.get_bank_account(aid) is None


async def test_party_without_betnr_waits_then_fails(bank: Bank) -> None:
    pid = await bank.env.new_person()  # not yet synced: no betnr
    aid = await bank.new_account(pid)
    for tries in range(3):
        outcome = await bank.handle(aid, "create", party_waits=tries)
        assert outcome.status == "waiting_for_party" and outcome.party_to_check == pid
        assert outcome.retry_in == 0.5 and bank.env.data_calls()["advoware_read"] == 0
    failed = await bank.handle(aid, "create", party_waits=3)
    assert failed.status == "failed" and "party not yet in Advoware" in (failed.error or "")
    # the party arrives: the next run creates the account
    assert (await bank.env.handle(pid, "create")).status == "created"
    bank.env.clock.advance(minutes=2)
    assert (await bank.handle(aid)).status == "created"


async def test_party_gone_from_advoware_fails_with_the_reason(bank: Bank) -> None:
    pid, _ = await bank.party()
    await bank.env.espo_sim.update(
        BANK.replace("CBankverbindungen", "CBeteiligte"), pid, {"syncStatus": "deleted_in_advoware"}
    )
    aid = await bank.new_account(pid)
    outcome = await bank.handle(aid, "create")
    assert outcome.status == "failed" and "gelöscht" in (await bank.account(aid))["syncErrorMessage"]
