"""One test per defect of the landed party sync (issue "One sync core…", §2), against both
simulators over real HTTP. Each failed on the code before the sync core."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from services.beteiligte.ports import SyncSettings
from services.sync.policy import RetryPolicy
from simulators.advoware import AdvowareSimConfig
from simulators.advoware.config import DEFAULT_PARTY_FIELDS
from tests.beteiligte_service.conftest import ADMIN, ENTITY, Env, make_settings

NO_TITEL = AdvowareSimConfig(party_fields=tuple(f for f in DEFAULT_PARTY_FIELDS if f != "titel"))

PUT_FAILS = {"rules": [{"method": "PUT", "route": "*/advonet/Beteiligte/*", "status": 503, "count": 8}]}
LOST_POST = {
    "rules": [{"method": "POST", "route": "*/Beteiligte", "status": 504, "after_write": True, "count": 1}]
}


async def linked(env: Env, **fields: object) -> tuple[str, int]:
    pid = await env.new_person(**fields)
    assert (await env.handle(pid, "create")).status == "created"
    rec = await env.record(pid)
    env.reset_counters()
    return pid, int(rec["betnr"])


async def admin_delete_party(env: Env, betnr: int) -> None:
    async with aiohttp.ClientSession() as s, s.delete(f"{env.advo_sim.url}_admin/parties/{betnr}") as r:
        assert r.status < 300


def posts(env: Env) -> int:
    return sum(n for (m, r), n in env.advo_calls().items() if m == "POST" and r.endswith("Beteiligte"))


# 1 ---------------------------------------------------------------------------------------------


async def test_1_replayed_delete_of_an_existing_record_does_no_harm(env: Env) -> None:
    pid = await env.new_person()
    await env.faults("advoware", LOST_POST)
    assert (await env.handle(pid, "create")).status == "failed"  # the POST's answer was lost
    env.clock.advance(minutes=2)
    replay = await env.handle(pid, "delete")  # a signed update body replayed to /delete
    assert replay.status == "created"  # handled as a check: recovered by search, not POSTed again
    assert len(env.advo_parties()) == 1
    entries = await env.service.audit(pid)
    assert entries[0].decision["delete_ignored"] == "record exists"
    assert await env.notifications() == []  # no "deleted" notice for a record that exists
    await env.espo_sim.delete_as_user(ENTITY, pid)  # the real delete later is still notified
    assert (await env.handle(pid, "delete")).status == "deleted"
    assert len(await env.notifications("user-anna")) == 1


# 2 ---------------------------------------------------------------------------------------------


async def test_2_a_failed_put_keeps_the_conflict_and_notifies_it_once_when_resolved(env: Env) -> None:
    pid, betnr = await linked(env)
    await env.espo_sim.update_as_user(ENTITY, pid, {"lastName": "Espo"})
    await env.advo_put(betnr, {"name": "Advo"})
    await env.faults("advoware", PUT_FAILS)
    assert (await env.handle(pid, "update")).status == "failed"
    assert await env.notifications() == []  # not resolved: not notified
    state = await env.db.get_snapshot(pid)
    assert state["party"]["name"] == "Mustermann"  # nothing advanced for the failed write
    await env.faults("advoware", {})
    env.clock.advance(minutes=2)
    outcome = await env.handle(pid)
    assert [c.field for c in outcome.plan.conflicts] == ["name"]
    assert env.advo_parties()[betnr].values["name"] == "Espo"  # EspoCRM wins, Advoware's edit overruled
    assert len(await env.notifications("user-anna")) == 1
    assert (await env.handle(pid, "update")).status == "noop"
    assert len(await env.notifications("user-anna")) == 1


async def test_2b_espocrm_write_failing_after_the_put_keeps_the_advoware_change(env: Env) -> None:
    pid, betnr = await linked(env)
    await env.espo_sim.update_as_user(ENTITY, pid, {"titel": "Prof."})
    await env.advo_put(betnr, {"anrede": "Frau"})
    await env.faults(
        "espocrm", {"rules": [{"method": "PUT", "route": "*CBeteiligte*", "status": 503, "count": 4}]}
    )
    assert (await env.handle(pid, "update")).status == "failed"
    await env.faults("espocrm", {})
    env.clock.advance(minutes=2)
    assert (await env.handle(pid)).status == "synced"
    rec = await env.record(pid)
    assert (rec["titel"], rec["anrede"]) == ("Prof.", "Frau")  # the Advoware edit reached EspoCRM
    assert env.advo_parties()[betnr].values["titel"] == "Prof."


# 3 ---------------------------------------------------------------------------------------------


async def test_3_lost_post_then_first_name_edit_is_still_one_party(env: Env) -> None:
    pid = await env.new_person()
    await env.faults("advoware", LOST_POST)
    assert (await env.handle(pid, "create")).status == "failed"
    await env.espo_sim.update_as_user(ENTITY, pid, {"firstName": "Moritz"})
    env.clock.advance(minutes=2)
    assert (await env.handle(pid)).status == "created"
    (party,) = env.advo_parties().values()
    assert party.values["vorname"] == "Moritz"  # found by what was POSTed, then synced
    assert posts(env) == 1


# 4 ---------------------------------------------------------------------------------------------


async def test_4_a_party_that_exists_in_advoware_is_adopted_not_duplicated(env: Env) -> None:
    betnr = await env.advo_post(
        {"name": "Mustermann", "vorname": "Max", "geburtsdatum": "1980-05-17T00:00:00", "anrede": "Herr"}
    )
    pid = await env.new_person()
    env.reset_counters()
    outcome = await env.handle(pid, "create")
    used = sum(env.data_calls().values())  # EspoCRM GET, addresses, search, list, GET, PUT, PUT
    assert outcome.status == "created" and outcome.plan.variant == "link"
    assert (await env.record(pid))["betnr"] == betnr and list(env.advo_parties()) == [betnr]
    assert posts(env) == 0 and used <= 7
    notes = await env.notifications("user-anna")
    assert len(notes) == 1 and str(betnr) in notes[0]["message"]
    assert notes[0]["data"]["kind"] == "linked_existing"


async def test_4b_record_deleted_and_made_again_in_espocrm_gets_the_old_party(env: Env) -> None:
    old, betnr = await linked(env)
    await env.espo_sim.delete_as_user(ENTITY, old)
    await env.handle(old, "delete")
    again = await env.new_person()
    assert (await env.handle(again, "create")).status == "created"
    assert (await env.record(again))["betnr"] == betnr and len(env.advo_parties()) == 1


async def test_4c_partial_match_creates_and_tells_of_a_possible_duplicate(env: Env) -> None:
    other = await env.advo_post({"name": "Mustermann", "vorname": "Max"})  # no birth date
    pid = await env.new_person()
    assert (await env.handle(pid, "create")).status == "created"
    assert len(env.advo_parties()) == 2
    notes = await env.notifications("user-anna")
    assert (
        len(notes) == 1
        and notes[0]["data"]["kind"] == "possible_duplicate"
        and str(other) in notes[0]["message"]
    )


async def test_4d_two_matches_are_a_suspected_duplicate_without_post(env: Env) -> None:
    body = {"name": "Mustermann", "vorname": "Max", "geburtsdatum": "1980-05-17T00:00:00"}
    first, second = await env.advo_post(body), await env.advo_post(body)
    pid = await env.new_person()
    outcome = await env.handle(pid, "create")
    assert outcome.status == "duplicate_suspected" and posts(env) == 2  # only the test's own POSTs
    rec = await env.record(pid)
    assert rec["syncStatus"] == "duplicate_suspected" and f"{first}, {second}" in rec["syncErrorMessage"]


# 5 ---------------------------------------------------------------------------------------------


@pytest.fixture
def sync_settings() -> SyncSettings:
    return make_settings()


@pytest.mark.parametrize("advoware_sim", [NO_TITEL], indirect=True)
async def test_5_round_trip_blocked_record_is_picked_up_by_the_cron_after_a_fix(env: Env) -> None:
    pid, _betnr = await linked(env)
    await env.espo_sim.update_as_user(ENTITY, pid, {"titel": "Dr."})  # a field Advoware ignores
    assert (await env.handle(pid, "update")).status == "failed"
    env.clock.advance(minutes=2)
    assert (await env.handle(pid)).status == "permanently_failed"
    assert pid not in await env.service.cron_candidates()  # blocked, unchanged: left alone
    await asyncio.sleep(1.05)  # EspoCRM's modifiedAt has whole seconds
    await env.espo_sim.update_as_user(ENTITY, pid, {"titel": ""})  # the user fixes it
    assert pid in await env.service.cron_candidates()  # no webhook needed
    assert (await env.handle(pid)).status in ("synced", "bookkeeping")
    assert (await env.record(pid))["syncStatus"] == "clean"


# 6 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sync_settings", [make_settings(retry=RetryPolicy(schedule_minutes=(1,), max_failures=2))], indirect=False
)
async def test_6_permanently_failed_notifies_once_and_keeps_its_reset_time(env: Env) -> None:
    pid, _ = await linked(env)
    await env.faults("advoware", {"rules": [{"method": "GET", "route": "*/Beteiligte/*", "status": 503}]})
    assert (await env.handle(pid)).status == "failed"
    env.clock.advance(minutes=2)
    assert (await env.handle(pid)).status == "permanently_failed"
    reset_at = (await env.record(pid))["syncAutoResetAt"]
    for n in range(4):  # four edits, each failing again
        await env.espo_sim.update_as_user(ENTITY, pid, {"titel": f"T{n}"})
        env.clock.advance(minutes=30)
        assert (await env.handle(pid, "update")).status == "permanently_failed"
    rec = await env.record(pid)
    assert rec["syncAutoResetAt"] == reset_at
    notes = [n for n in await env.notifications("user-anna") if n["data"]["kind"] == "permanently_failed"]
    assert len(notes) == 1


# 7 ---------------------------------------------------------------------------------------------


async def test_7_kind_mismatch_at_first_link_is_a_manual_action(env: Env) -> None:
    betnr = await env.advo_post({"name": "Mustermann", "vorname": "", "rechtsform": "GmbH"})  # a company
    pid = await env.new_person(betnr=betnr)  # linked to a person in EspoCRM, never synced
    outcome = await env.handle(pid)
    assert outcome.status == "manual_action"
    assert env.advo_parties()[betnr].values["vorname"] in ("", None)  # nothing renamed
    rec = await env.record(pid)
    assert rec["syncStatus"] == "manual_action" and str(betnr) in rec["syncErrorMessage"]
    notes = await env.notifications("user-anna")
    assert len(notes) == 1 and pid in notes[0]["message"] and str(betnr) in notes[0]["message"]
    assert (await env.handle(pid)).status == "blocked"
    assert len(await env.notifications("user-anna")) == 1


# 8 ---------------------------------------------------------------------------------------------


async def test_8_deleted_in_advoware_is_rechecked_daily_and_resumes(env: Env) -> None:
    pid, betnr = await linked(env)
    saved = env.advo_parties()[betnr]
    await admin_delete_party(env, betnr)
    assert (await env.handle(pid)).status == "deleted_in_advoware"
    env.clock.advance(hours=25)
    assert pid in await env.service.cron_candidates()
    env.reset_counters()
    assert (await env.handle(pid)).status == "deleted_in_advoware"  # still gone: one GET, no write
    assert env.data_calls() == {
        "advoware_read": 1,
        "advoware_write": 0,
        "espocrm_read": 1,
        "espocrm_write": 0,
    }
    assert pid not in await env.service.cron_candidates()  # checked now: not again today
    env.advo_sim.state.parties[betnr] = saved  # the party is back (restored in Advoware)
    env.clock.advance(hours=25)
    assert pid in await env.service.cron_candidates()
    assert (await env.handle(pid)).status in ("bookkeeping", "synced")
    rec = await env.record(pid)
    assert rec["syncStatus"] == "clean" and not rec.get("advowareDeletedAt")


# 9 ---------------------------------------------------------------------------------------------


async def test_9_single_record_initial_conflict_tells_the_assigned_user(env: Env) -> None:
    betnr = await env.advo_post({"name": "Mustermann", "vorname": "Max", "titel": "Prof."})
    pid = await env.new_person(titel="Dr.", betnr=betnr)
    outcome = await env.handle(pid, "update")  # a webhook, not the cron's bulk pass
    assert [c.field for c in outcome.plan.conflicts] == ["titel"]
    notes = await env.notifications("user-anna")
    assert len(notes) == 1 and notes[0]["data"]["kind"] == "conflict"
    assert await env.service.send_initial_conflict_summary() == 0
    assert await env.notifications(ADMIN) == []


# 10 --------------------------------------------------------------------------------------------


async def test_10_person_without_last_name_is_invalid_and_not_retried(env: Env) -> None:
    pid = await env.new_person(lastName="")
    env.reset_counters()
    outcome = await env.handle(pid, "create")
    assert outcome.status == "invalid"
    assert env.data_calls()["advoware_read"] + env.data_calls()["advoware_write"] == 0
    rec = await env.record(pid)
    assert rec["syncStatus"] == "invalid" and "lastName" in rec["syncErrorMessage"]
    assert not rec.get("syncRetryCount")
    env.clock.advance(hours=3)
    assert pid not in await env.service.cron_candidates()
    assert (await env.handle(pid)).status == "blocked"
    assert len(await env.notifications("user-anna")) == 1
    await asyncio.sleep(1.05)  # EspoCRM's modifiedAt has whole seconds
    await env.espo_sim.update_as_user(ENTITY, pid, {"lastName": "Mustermann"})
    assert pid in await env.service.cron_candidates()
    assert (await env.handle(pid)).status == "created"


# 11 --------------------------------------------------------------------------------------------


async def test_11_a_lock_held_by_a_dead_holder_waits_with_growing_delays(env: Env) -> None:
    pid, _ = await linked(env)
    await env.lock.acquire(env.service.lock_key(pid), 60)  # a crashed holder
    delays = [(await env.handle(pid, "update", waits=n)).retry_in or 0 for n in range(5)]
    assert 1.6 <= delays[0] <= 2.4 and delays[3] > 4 * delays[0] and delays[-1] <= 30 * 1.2
    env.clock.advance(seconds=61)  # the TTL frees it
    assert (await env.handle(pid, "update")).status == "noop"
