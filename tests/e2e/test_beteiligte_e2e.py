"""Beteiligte sync end to end (issue 6 acceptance), through EspoCRM's own webhooks."""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.timeout(60)

PERSON = {
    "firstName": "Erika",
    "lastName": "Mustermann",
    "anrede": "Frau",
    "rechtsform": "Privatperson",
    "dateOfBirth": "1980-03-30",
    "assignedUserId": "user-anna",
}
COMPANY = {
    "firmenname": "Beispiel Gärten GmbH",
    "rechtsform": "GmbH",
    "handelsregisterNummer": "HRB 4711",
    "registergericht": "AG Köln",
    "assignedUserId": "user-bernd",
}


async def create_and_sync(world, data) -> dict:
    record = await world.user_create(data)
    await world.wait(lambda: world.record(record["id"]).get("syncStatus") == "clean")
    await world.drained()
    return world.record(record["id"])


async def test_created_party_reaches_advoware_through_the_webhook(world):
    before = world.data_calls()
    rec = await create_and_sync(world, PERSON)
    (party,) = world.advo_parties()
    assert rec["betnr"] == party["betNr"] and rec["advowareRowId"] == party["rowId"]
    assert (party["name"], party["vorname"], party["geburtsdatum"]) == (
        "Mustermann",
        "Erika",
        "1980-03-30T00:00:00",
    )
    assert rec["advowareLastSync"] and not rec.get("syncErrorMessage")
    after = world.data_calls()
    # create budget: EspoCRM GET, its addresses, Advoware search, Advoware POST, EspoCRM PUT
    assert (after["advoware"] - before["advoware"]) + (after["espocrm"] - before["espocrm"]) <= 5
    # the service's own write fired no webhook (skipOwn): exactly one sync happened
    await asyncio.sleep(0.2)
    await world.drained()
    assert world.data_calls() == after


async def test_company_is_created_with_empty_vorname(world):
    rec = await create_and_sync(world, COMPANY)
    (party,) = world.advo_parties()
    assert party["betNr"] == rec["betnr"] and party["name"] == "Beispiel Gärten GmbH" and not party["vorname"]


async def test_espocrm_edit_reaches_advoware(world):
    rec = await create_and_sync(world, PERSON)
    before = world.data_calls()
    await world.user_update(rec["id"], {"lastName": "Musterfrau"})
    await world.wait(lambda: world.advo_parties()[0]["name"] == "Musterfrau")
    await world.wait(lambda: world.record(rec["id"]).get("syncStatus") == "clean")
    await world.drained()
    after = world.data_calls()
    assert sum(after.values()) - sum(before.values()) <= 5
    assert world.record(rec["id"])["advowareRowId"] == world.advo_parties()[0]["rowId"]


async def test_advoware_change_reaches_espocrm(world):
    rec = await create_and_sync(world, PERSON)
    await world.advo_put(rec["betnr"], {"vorname": "Erica"})
    before = world.data_calls()
    await world.sync_check(rec["id"])
    await world.wait(lambda: world.record(rec["id"]).get("firstName") == "Erica")
    await world.drained()
    after = world.data_calls()
    assert sum(after.values()) - sum(before.values()) <= 4
    assert world.record(rec["id"])["syncStatus"] == "clean"


async def test_no_change_is_three_reads_and_no_write(world):
    rec = await create_and_sync(world, PERSON)
    before, modified = world.data_calls(), world.record(rec["id"])["modifiedAt"]
    await world.sync_check(rec["id"])
    await world.drained()
    await asyncio.sleep(0.1)
    after = world.data_calls()
    assert (after["advoware"] - before["advoware"], after["espocrm"] - before["espocrm"]) == (1, 2)
    assert world.record(rec["id"])["modifiedAt"] == modified


async def test_both_changed_merge_fields_and_notify_conflict(world):
    rec = await create_and_sync(world, PERSON)
    await world.advo_put(rec["betnr"], {"vorname": "Erica", "anrede": "Dr."})  # anrede: both sides
    await world.user_update(rec["id"], {"lastName": "Musterfrau", "anrede": "Prof."})
    await world.wait(lambda: world.record(rec["id"]).get("firstName") == "Erica")
    await world.drained()
    party = world.advo_parties()[0]
    final = world.record(rec["id"])
    assert (party["name"], final["lastName"]) == ("Musterfrau", "Musterfrau")  # merged both ways
    assert party["anrede"] == final["anrede"] == "Prof."  # conflict: EspoCRM wins
    notes = [n for n in world.notifications() if n.get("relatedId") == rec["id"]]
    assert len(notes) == 1 and notes[0]["userId"] == "user-anna"
    assert "Erika" not in notes[0]["message"] and "Erica" not in notes[0]["message"]  # no personal data


async def test_party_deleted_in_advoware(world):
    rec = await create_and_sync(world, PERSON)
    async with world.session.delete(f"{world.advo.url}_admin/parties/{rec['betnr']}") as r:
        assert r.status < 300
    await world.sync_check(rec["id"])
    await world.wait(lambda: world.record(rec["id"]).get("syncStatus") == "deleted_in_advoware")
    await world.drained()
    final = world.record(rec["id"])
    assert final["advowareDeletedAt"] and world.advo_parties() == []  # no automatic re-create
    assert [n["userId"] for n in world.notifications() if n.get("relatedId") == rec["id"]] == ["user-anna"]


async def test_espocrm_delete_is_audited_and_notified_never_deleted_in_advoware(world):
    rec = await create_and_sync(world, PERSON)
    await world.user_delete(rec["id"])
    await world.wait(lambda: any(n.get("relatedId") == rec["id"] for n in world.notifications()))
    await world.drained()
    assert len(world.advo_parties()) == 1
    service = world.engine.options.resources["beteiligte_service"]
    actions = [a.action for a in await service.audit(rec["id"])]
    assert "delete" in " ".join(actions)


async def test_fifty_concurrent_webhooks_no_lost_update(world):
    """Edits arrive while the lock is held: none is dropped, one sync at a time, last edit wins."""
    rec = await create_and_sync(world, PERSON)
    backend = world.engine.backend
    assert await backend.acquire_lock(f"beteiligte:{rec['id']}", "test-holder", ttl=30)
    holders, peak = 0, 0
    lock = world.engine.options.resources["beteiligte_service"].deps.lock
    acquire, release = lock.acquire, lock.release

    async def counting_acquire(key, ttl, owner=None):
        nonlocal holders, peak
        token = await acquire(key, ttl, owner)
        if token:
            holders += 1
            peak = max(peak, holders)
        return token

    async def counting_release(key, token):
        nonlocal holders
        holders -= 1
        return await release(key, token)

    lock.acquire, lock.release = counting_acquire, counting_release

    async def edit(i: int) -> None:
        await world.user_update(rec["id"], {"lastName": f"Name{i:02d}"})

    for i in range(50):  # sequential saves (as a user would), webhooks batched by EspoCRM
        await edit(i)
        if i % 10 == 9:
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    assert world.advo_parties()[0]["name"] == "Mustermann"  # nothing synced while the lock is held
    assert await backend.release_lock(f"beteiligte:{rec['id']}", "test-holder")
    await world.wait(lambda: world.advo_parties()[0]["name"] == "Name49", timeout=30)
    await world.drained(timeout=30)
    assert (
        world.record(rec["id"])["lastName"] == "Name49" and world.record(rec["id"])["syncStatus"] == "clean"
    )
    assert peak == 1


async def test_address_webhooks_sync_the_party(world):
    """CAdressen create/update/delete webhooks (an update and a delete item carry no party id:
    the service database knows it) trigger the party's sync_check; the address follows."""
    rec = await create_and_sync(world, PERSON)
    betnr = rec["betnr"]

    def advo_addresses() -> list[dict]:
        return [a.values for a in world.advo.state.parties[betnr].adressen]

    world.own_espo_calls += 1
    address = await world.espo.create_as_user(
        "CAdressen", {"beteiligteId": rec["id"], "strasse": "Ring 5", "plz": "50672", "ort": "Köln"}
    )
    await world.wait(lambda: [a["strasse"] for a in advo_addresses()] == ["Ring 5"])
    await world.drained()
    world.own_espo_calls += 1
    await world.espo.update_as_user("CAdressen", address["id"], {"strasse": "Ring 7"})
    await world.wait(lambda: [a["strasse"] for a in advo_addresses()] == ["Ring 7"])
    await world.drained()
    world.own_espo_calls += 1
    await world.espo.delete_as_user("CAdressen", address["id"])
    await world.wait(lambda: any("von Hand löschen" in n.get("message", "") for n in world.notifications()))
    await world.drained()
    assert [a["strasse"] for a in advo_addresses()] == ["Ring 7"]  # Advoware refuses deletes
