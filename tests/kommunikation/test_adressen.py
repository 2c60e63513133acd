"""Addresses (CAdressen ↔ Advoware) inside the party sync, against both simulators over HTTP:
create with the marker, writable-field PUTs with the index looked up right before, read-only
fields and the main address as manual actions, deletes on either side, tombstones, changes from
Advoware, lost answers. Each case ends with a second run that writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from services.beteiligte.adressen.fields import READ_ONLY
from simulators.advoware.records import Address
from tests.beteiligte_service.conftest import Env
from tests.kommunikation.helpers import Party

pytestmark = pytest.mark.timeout(60)
CAD = "CAdressen"
HOME = {"strasse": "Hauptstr. 1", "plz": "50667", "ort": "Köln", "land": "DE", "istStandard": True}


async def with_address(env: Env, **extra: Any) -> tuple[Party, str]:
    """A person with one address, both created in Advoware by the service; counters reset."""
    pid = await env.new_person()
    aid = await new_address(env, pid, **{**HOME, **extra})
    assert (await env.handle(pid, "create")).status == "created"
    party = Party(env, pid, int((await env.record(pid))["betnr"]))
    env.reset_counters()
    return party, aid


async def new_address(env: Env, pid: str, **fields: Any) -> str:
    return str((await env.espo_sim.create_as_user(CAD, {"beteiligteId": pid, **fields}))["id"])


async def espo_address(env: Env, aid: str) -> dict[str, Any]:
    return await env.espo_sim.get(CAD, aid)


async def espo_addresses(env: Env, pid: str) -> list[dict[str, Any]]:
    body = await env.espo_sim.list(CAD, params={"where[0][type]": "equals", "where[0][attribute]": "beteiligteId",
                                                "where[0][value]": pid})  # fmt: skip
    return list(body["list"])


def advo_of(p: Party, aid: str) -> Address:
    return next(a for a in p.addresses() if f"EspoCRM-ID: {aid}" in (a.values.get("bemerkung") or ""))


def desktop_address(p: Party, **values: Any) -> Address:
    state = p.env.advo_sim.state
    fields = {name: values.get(name) for name in state.config.address_fields}
    address = Address(state.next_id("address_id"), state.short_row_id(), state.next_id("address_seq"), fields)
    p._advo.adressen.append(address)
    return address


async def test_create_posts_the_address_with_marker_and_books_it(env: Env) -> None:
    p, aid = await with_address(env, bemerkung="Hintereingang")
    advo = advo_of(p, aid)
    assert advo.values["strasse"] == "Hauptstr. 1" and advo.values["standardAnschrift"] is True
    assert advo.values["bemerkung"] == f"EspoCRM-ID: {aid}\nHintereingang"
    record = await espo_address(env, aid)
    assert record["syncStatus"] == "clean" and record["advowareReihenfolgeIndex"] == 1
    assert await env.db.party_of_address(aid) == p.pid
    await p.settled()


async def test_writable_field_is_put_within_six_calls(env: Env) -> None:
    p, aid = await with_address(env)
    await env.espo_sim.update_as_user(CAD, aid, {"strasse": "Domplatz 2"})
    env.reset_counters()
    await env.handle(p.pid, "sync_check")
    used = env.data_calls()
    assert advo_of(p, aid).values["strasse"] == "Domplatz 2"
    # 3 reads, the address GET, the PUT; the CAdressen record stays clean (no write)
    assert used == {"advoware_read": 2, "advoware_write": 1, "espocrm_read": 2, "espocrm_write": 0}
    assert sum(used.values()) <= 6
    await p.settled()


async def test_stale_index_is_looked_up_before_the_put(env: Env) -> None:
    p, aid = await with_address(env, istStandard=False)
    # Advoware's desktop adds a main address: ours moves from position 1 to 2
    desktop_address(p, strasse="Neuer Weg 9", plz="10115", ort="Berlin", standardAnschrift=True)
    assert (await espo_address(env, aid))["advowareReihenfolgeIndex"] == 1  # what EspoCRM last saw
    await env.espo_sim.update_as_user(CAD, aid, {"plz": "50668"})
    await p.sync()
    assert advo_of(p, aid).values["plz"] == "50668"
    other = next(a for a in p.addresses() if a.values["strasse"] == "Neuer Weg 9")
    assert other.values["plz"] == "10115"  # the address now at index 1 was not touched
    await p.settled()


@pytest.mark.parametrize("field,value", [("land", "AT"), ("postfach", "12 34"), ("postfachPlz", "50401"),
                                         ("gueltigVon", "2026-01-01 00:00:00"), ("gueltigBis", "2030-12-31 00:00:00")])  # fmt: skip
async def test_read_only_field_becomes_a_manual_action(env: Env, field: str, value: str) -> None:
    assert field in READ_ONLY
    p, aid = await with_address(env)
    before = dict(advo_of(p, aid).values)
    await env.espo_sim.update_as_user(CAD, aid, {field: value})
    await p.sync()
    record = await espo_address(env, aid)
    assert record["syncStatus"] == "manual_action"
    assert field in record["syncErrorMessage"] and str(advo_of(p, aid).id) in record["syncErrorMessage"]
    assert advo_of(p, aid).values == before  # nothing written in Advoware
    assert (await espo_address(env, aid))[field] == value  # and EspoCRM's value is kept
    notices = await p.notices("manual_action")
    assert len(notices) == 1 and aid in notices[0]["message"] and value not in notices[0]["message"]
    await p.settled()
    assert len(await p.notices("manual_action")) == 1
    # a person makes the change in Advoware: the mark clears
    advo_of(p, aid).values[field] = value.replace(" 00:00:00", "T00:00:00")
    await p.sync()
    assert (await espo_address(env, aid))["syncStatus"] == "clean"
    await p.settled()


async def test_main_address_change_is_a_manual_action(env: Env) -> None:
    p, aid = await with_address(env)
    await env.espo_sim.update_as_user(CAD, aid, {"istStandard": False})
    await p.sync()
    record = await espo_address(env, aid)
    assert record["syncStatus"] == "manual_action" and "istStandard" in record["syncErrorMessage"]
    assert advo_of(p, aid).values["standardAnschrift"] is True
    assert record["istStandard"] is False  # Advoware's value does not overwrite EspoCRM's
    await p.settled()


async def test_delete_in_espocrm_leaves_a_tombstone_that_survives(env: Env) -> None:
    p, aid = await with_address(env)
    await env.espo_sim.delete_as_user(CAD, aid)
    await p.sync()
    assert advo_of(p, aid)  # Advoware refuses deletes: it stays
    notices = await p.notices("manual_action")
    assert len(notices) == 1 and "von Hand löschen" in notices[0]["message"]
    for _ in range(2):  # two more party syncs: never re-created in EspoCRM, never notified again
        await p.sync()
        assert await espo_addresses(env, p.pid) == [] and p.writes() == 0
    assert len(await p.notices("manual_action")) == 1
    snapshot = await env.db.get_snapshot(p.pid)
    assert [a["tombstone"] for a in snapshot["addresses"]] == [True]
    # the address is deleted by hand in Advoware: the tombstone is dropped
    p._advo.adressen.clear()
    await p.sync()
    assert (await env.db.get_snapshot(p.pid))["addresses"] == []
    await p.settled()


async def test_delete_in_advoware_deletes_the_record(env: Env) -> None:
    p, aid = await with_address(env)
    p._advo.adressen.clear()
    await p.sync()
    assert await espo_addresses(env, p.pid) == []
    assert (await env.db.get_snapshot(p.pid))["addresses"] == []
    audit = (await env.service.audit(p.pid))[0]
    assert f"deleted_in_advoware:{aid}" in audit.decision["adressen"]["cases"]
    await p.settled()


async def test_new_and_changed_in_advoware_flow_to_espocrm(env: Env) -> None:
    p, aid = await with_address(env)
    desktop_address(p, strasse="Lager 3", plz="50999", ort="Köln", bemerkung="Lieferungen")
    advo_of(p, aid).values["ort"] = "Köln-Mitte"
    await p.sync()
    records = {r["strasse"]: r for r in await espo_addresses(env, p.pid)}
    assert records["Hauptstr. 1"]["ort"] == "Köln-Mitte"
    new = records["Lager 3"]
    assert (new["syncStatus"], new["bemerkung"], new["beteiligteId"]) == ("clean", "Lieferungen", p.pid)
    assert p.advo_writes() == {}
    await p.settled()


async def test_same_field_changed_on_both_sides_espocrm_wins(env: Env) -> None:
    p, aid = await with_address(env)
    await env.espo_sim.update_as_user(CAD, aid, {"ort": "Bonn"})
    advo_of(p, aid).values["ort"] = "Bergheim"
    await p.sync()
    assert advo_of(p, aid).values["ort"] == "Bonn" and (await espo_address(env, aid))["ort"] == "Bonn"
    assert len(await p.notices("conflict")) == 1
    await p.settled()


async def test_lost_post_answer_is_adopted_by_marker(env: Env) -> None:
    p, _ = await with_address(env)
    aid = await new_address(env, p.pid, strasse="Ring 5", plz="50672", ort="Köln")
    await env.faults("advoware", {"rules": [{"method": "POST", "route": "*/Adressen", "status": 502,
                                             "after_write": True, "count": 1}]})  # fmt: skip
    assert (await p.sync()).status == "failed"
    assert (await espo_address(env, aid))["syncStatus"] == "failed"
    await env.faults("advoware", {})
    env.clock.advance(minutes=5)
    await p.sync()
    assert len(p.addresses()) == 2 and advo_of(p, aid)
    assert (await espo_address(env, aid))["syncStatus"] == "clean"
    await p.settled()


async def test_cleared_writable_field_is_sent_as_empty_text(env: Env) -> None:
    p, aid = await with_address(env, anschrift="c/o Muster")
    await env.espo_sim.update_as_user(CAD, aid, {"anschrift": None})
    await p.sync()
    assert advo_of(p, aid).values["anschrift"] == ""
    await p.settled()


async def test_two_advoware_addresses_with_one_marker_wait_for_a_person(env: Env) -> None:
    p, aid = await with_address(env)
    desktop_address(p, strasse="Kopie 1", plz="1", ort="X", bemerkung=f"EspoCRM-ID: {aid}")
    await env.espo_sim.update_as_user(CAD, aid, {"strasse": "Neu 2"})
    await p.sync()
    assert (await espo_address(env, aid))["syncStatus"] == "manual_action"
    assert all(a.values["strasse"] != "Neu 2" for a in p.addresses())  # no write
    await p.settled()


async def test_initial_sync_pairs_an_unmarked_address_by_street(env: Env) -> None:
    p = await Party.unsynced(env)
    desktop_address(p, strasse="Hauptstr.  1", plz="50667", ort="KÖLN", land="DE", standardAnschrift=True)
    aid = await new_address(env, p.pid, **HOME)
    await p.sync()
    assert len(p.addresses()) == 1 and len(await espo_addresses(env, p.pid)) == 1
    assert (await espo_address(env, aid))["syncStatus"] == "clean"
    await p.settled()
