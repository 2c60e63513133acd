"""The API-call budgets with entries and addresses, from the simulators' counters (data calls:
no token requests, no notifications): a party with two e-mails, two phones and two addresses."""

from __future__ import annotations

import pytest

from tests.beteiligte_service.conftest import ENTITY, Env
from tests.kommunikation.helpers import Party, email, phone
from tests.kommunikation.test_adressen import CAD, HOME, advo_of, new_address

pytestmark = pytest.mark.timeout(60)


def calls(advoware_read: int, advoware_write: int, espocrm_read: int, espocrm_write: int) -> dict[str, int]:
    return {
        "advoware_read": advoware_read,
        "advoware_write": advoware_write,
        "espocrm_read": espocrm_read,
        "espocrm_write": espocrm_write,
    }


async def full_party(env: Env) -> tuple[Party, str]:
    pid = await env.new_person(
        emailAddressData=[email("a@x.de", True), email("b@x.de")],
        phoneNumberData=[phone("+49 1", "Office", True), phone("0171 2", "Mobile")],
    )
    home = await new_address(env, pid, **HOME)
    await new_address(env, pid, strasse="Lager 3", plz="50999", ort="Köln")
    assert (await env.handle(pid, "create")).status == "created"
    party = Party(env, pid, int((await env.record(pid))["betnr"]))
    assert len(party.entries()) == 4 and len(party.addresses()) == 2
    env.reset_counters()
    return party, home


async def test_no_change_is_three_reads_and_no_write(env: Env) -> None:
    p, _ = await full_party(env)
    for action in ("update", "sync_check"):
        env.reset_counters()
        assert (await env.handle(p.pid, action)).status == "noop"
        assert env.data_calls() == calls(1, 0, 2, 0)


async def test_one_phone_changed_in_espocrm_is_five_calls(env: Env) -> None:
    p, _ = await full_party(env)
    await p.set_sets(phones=[phone("+49 1", "Office", True), phone("0171 3", "Mobile")])
    env.reset_counters()
    await env.handle(p.pid, "update")
    # 3 reads, the entry PUT, the EspoCRM PUT (the record is dirty: back to clean)
    assert env.data_calls() == calls(1, 1, 2, 1)
    assert "0171 3" in p.live()


async def test_one_phone_changed_in_advoware_is_four_calls(env: Env) -> None:
    p, _ = await full_party(env)
    p.edit_entry(p.entry_of("0171 2").id, tlf="0171 4")
    env.reset_counters()
    await env.handle(p.pid, "sync_check")
    assert env.data_calls() == calls(1, 0, 2, 1)
    assert "0171 4" in {i["phoneNumber"] for i in await p.phones()}


async def test_one_address_field_changed_in_espocrm_is_at_most_six_calls(env: Env) -> None:
    p, home = await full_party(env)
    await env.espo_sim.update_as_user(CAD, home, {"ort": "Köln-Deutz"})
    env.reset_counters()
    await env.handle(p.pid, "sync_check")
    used = env.data_calls()
    assert advo_of(p, home).values["ort"] == "Köln-Deutz"
    assert used["advoware_read"] == 2 and used["advoware_write"] == 1 and used["espocrm_read"] == 2
    assert sum(used.values()) <= 6


async def test_blocked_record_unchanged_is_two_espocrm_reads(env: Env) -> None:
    p, _ = await full_party(env)
    await env.espo_sim.update_as_user(ENTITY, p.pid, {"firmenname": None, "lastName": None})
    assert (await env.handle(p.pid, "update")).status == "invalid"
    env.reset_counters()
    assert (await env.handle(p.pid, "sync_check")).status == "blocked"
    assert env.data_calls() == calls(0, 0, 2, 0)
