"""Update/check of linked parties: both directions, merge, conflict, Advoware 404, EspoCRM delete."""

from __future__ import annotations

import aiohttp
import pytest

from tests.beteiligte_service.conftest import ADMIN, ENTITY, Env


async def linked_person(env: Env, **fields: object) -> tuple[str, int]:
    pid = await env.new_person(**fields)
    assert (await env.handle(pid, "create")).status == "created"
    rec = await env.record(pid)
    env.reset_counters()
    return pid, int(rec["betnr"])


async def test_espocrm_change_goes_to_advoware_within_5_calls(env: Env) -> None:
    pid, betnr = await linked_person(env)
    await env.espo_sim.update_as_user(ENTITY, pid, {"lastName": "Musterfrau", "titel": "Dr."})
    env.reset_counters()
    outcome = await env.handle(pid, "update")
    used = env.data_calls()
    assert outcome.status == "synced" and outcome.plan.to_advoware == ("name", "titel")
    assert used == {"advoware_read": 1, "advoware_write": 1, "espocrm_read": 2, "espocrm_write": 1}
    party = env.advo_parties()[betnr]
    assert party.values["name"] == "Musterfrau" and party.values["titel"] == "Dr."
    rec = await env.record(pid)
    assert rec["syncStatus"] == "clean" and rec["advowareRowId"] == party.rowId
    # the service's own write is not seen as an Advoware change next time
    env.reset_counters()
    assert (await env.handle(pid, "update")).status == "noop"
    assert env.data_calls()["advoware_write"] + env.data_calls()["espocrm_write"] == 0


async def test_advoware_change_goes_to_espocrm_within_4_calls(env: Env) -> None:
    pid, betnr = await linked_person(env)
    await env.advo_put(betnr, {"titel": "Prof.", "anrede": "Frau"})
    env.reset_counters()
    outcome = await env.handle(pid)
    used = env.data_calls()
    assert outcome.status == "synced" and set(outcome.plan.to_espocrm) == {"titel", "anrede"}
    assert used == {"advoware_read": 1, "advoware_write": 0, "espocrm_read": 2, "espocrm_write": 1}
    rec = await env.record(pid)
    assert (rec["titel"], rec["anrede"], rec["syncStatus"]) == ("Prof.", "Frau", "clean")


async def test_no_change_is_three_reads_and_no_write(env: Env) -> None:
    pid, _ = await linked_person(env)
    for action in ("update", "sync_check"):
        env.reset_counters()
        outcome = await env.handle(pid, action)
        assert outcome.status == "noop"
        assert env.data_calls() == {
            "advoware_read": 1,
            "advoware_write": 0,
            "espocrm_read": 2,
            "espocrm_write": 0,
        }


async def test_stale_stamp_on_cron_is_one_bookkeeping_write_but_not_on_webhook(env: Env) -> None:
    pid, _ = await linked_person(env)
    env.clock.advance(hours=25)
    assert (await env.handle(pid, "update")).status == "noop"  # webhook: never the stamp alone
    env.reset_counters()
    outcome = await env.handle(pid, "sync_check")
    assert outcome.status == "bookkeeping"
    assert env.data_calls() == {
        "advoware_read": 1,
        "advoware_write": 0,
        "espocrm_read": 2,
        "espocrm_write": 1,
    }


async def test_both_changed_different_fields_are_merged_both_ways(env: Env) -> None:
    pid, betnr = await linked_person(env)
    await env.espo_sim.update_as_user(ENTITY, pid, {"titel": "Dr."})
    await env.advo_put(betnr, {"anrede": "Divers"})
    outcome = await env.handle(pid, "update")
    assert outcome.status == "synced" and not outcome.plan.conflicts
    rec, party = await env.record(pid), env.advo_parties()[betnr]
    assert (rec["titel"], rec["anrede"]) == ("Dr.", "Divers")
    assert (party.values["titel"], party.values["anrede"]) == ("Dr.", "Divers")
    assert await env.notifications() == []


async def test_same_field_conflict_espocrm_wins_and_one_notification(env: Env) -> None:
    pid, betnr = await linked_person(env)
    await env.espo_sim.update_as_user(ENTITY, pid, {"anrede": "Frau"})
    await env.advo_put(betnr, {"anrede": "Divers"})
    outcome = await env.handle(pid, "update")
    assert outcome.status == "synced"
    assert [(c.field, c.winner) for c in outcome.plan.conflicts] == [("anrede", "espocrm")]
    assert env.advo_parties()[betnr].values["anrede"] == "Frau"
    for _ in range(2):
        await env.handle(pid, "update")
    notes = await env.notifications("user-anna")
    assert len(notes) == 1 and "anrede" in notes[0]["message"] and "Frau" not in notes[0]["message"]
    audit = await env.service.audit(pid)
    conflict_entry = next(e for e in audit if e.decision.get("conflicts"))
    assert conflict_entry.decision["winners"] == {"anrede": "espocrm"}
    assert conflict_entry.decision["conflicts"]["anrede"]["espocrm"] == "***"


async def test_a_notice_that_could_not_be_sent_goes_out_with_the_next_run_even_a_noop(env: Env) -> None:
    pid, betnr = await linked_person(env)
    await env.espo_sim.update_as_user(ENTITY, pid, {"anrede": "Frau"})
    await env.advo_put(betnr, {"anrede": "Divers"})
    await env.faults("espocrm", {"rules": [{"method": "POST", "route": "*Notification*", "status": 400}]})
    assert (await env.handle(pid, "update")).status == "synced"
    assert await env.notifications("user-anna") == []  # waiting in the outbox
    await env.faults("espocrm", {"rules": []})
    assert (await env.handle(pid, "sync_check")).status == "noop"
    notes = await env.notifications("user-anna")
    assert len(notes) == 1 and "anrede" in notes[0]["message"]
    assert (await env.handle(pid, "sync_check")).status == "noop"
    assert len(await env.notifications("user-anna")) == 1


async def test_advoware_404_marks_deleted_and_never_recreates(env: Env) -> None:
    pid, betnr = await linked_person(env)
    async with aiohttp.ClientSession() as s, s.delete(f"{env.advo_sim.url}_admin/parties/{betnr}") as r:
        assert r.status < 300
    outcome = await env.handle(pid)
    assert outcome.status == "deleted_in_advoware"
    rec = await env.record(pid)
    assert rec["syncStatus"] == "deleted_in_advoware" and rec["advowareDeletedAt"] and rec["betnr"] == betnr
    env.clock.advance(hours=30)
    assert (await env.handle(pid, "update")).status == "deleted_in_advoware"
    assert await env.service.cron_candidates() == []
    assert not any(m == "POST" for (m, _r) in env.advo_calls())
    assert len(await env.notifications("user-anna")) == 1
    # operator unlinks → next sync creates a new party
    assert await env.service.unlink(pid) is True
    assert await env.service.cron_candidates() == [pid]
    assert (await env.handle(pid)).status == "created"
    assert (await env.record(pid))["betnr"] != betnr


async def test_espocrm_delete_is_audited_and_notified_without_advoware_call(env: Env) -> None:
    pid, betnr = await linked_person(env)
    await env.espo_sim.delete_as_user(ENTITY, pid)
    env.reset_counters()
    outcome = await env.handle(pid, "delete")
    assert outcome.status == "deleted"
    # acted on only after EspoCRM confirmed the delete (one GET, 404), nothing else
    assert env.advo_calls() == {} and env.espo_calls() == {("GET", "/api/v1/{entity}/{id}"): 1}
    assert betnr in env.advo_parties()
    notes = await env.notifications("user-anna")
    assert len(notes) == 1 and str(betnr) in notes[0]["message"]
    await env.handle(pid, "delete")  # a repeated webhook does not notify twice
    assert len(await env.notifications("user-anna")) == 1
    assert (await env.service.audit(pid))[0].action == "delete"


async def test_delete_of_never_synced_party_is_only_audited(env: Env) -> None:
    outcome = await env.handle("never-synced-1", "delete")
    assert outcome.status == "deleted"
    assert await env.notifications() == []
    entries = await env.service.audit("never-synced-1")
    assert entries[0].decision["synced"] is False


async def test_missing_espocrm_record_is_not_found(env: Env) -> None:
    outcome = await env.handle("does-not-exist", "update")
    assert outcome.status == "not_found"
    assert (await env.service.audit("does-not-exist"))[0].result == "not_found"


async def test_dry_run_writes_nothing(env: Env) -> None:
    pid = await env.new_person()
    env.reset_counters()
    outcome = await env.handle(pid, dry_run=True)
    assert outcome.status == "dry_run" and outcome.plan.variant == "create"
    assert env.data_calls()["advoware_write"] + env.data_calls()["espocrm_write"] == 0
    assert env.lock.acquired == 0 and await env.service.audit(pid) == []
    assert await env.db.get_intent(pid) is None


async def test_one_way_run_to_espocrm_does_not_write_advoware(env: Env) -> None:
    pid, betnr = await linked_person(env)
    await env.espo_sim.update_as_user(ENTITY, pid, {"titel": "Dr."})
    await env.advo_put(betnr, {"anrede": "Divers"})
    outcome = await env.handle(pid, trigger="cli", direction="to_espocrm")
    assert outcome.plan.to_advoware == () and outcome.plan.to_espocrm == ("anrede",)
    assert env.advo_parties()[betnr].values.get("titel") in (None, "")
    # the next two-way run still pushes the EspoCRM edit
    outcome = await env.handle(pid, "update")
    assert outcome.plan.to_advoware == ("titel",)
    assert env.advo_parties()[betnr].values["titel"] == "Dr."


async def test_admin_is_the_fallback_recipient(env: Env) -> None:
    pid, betnr = await linked_person(env, assignedUserId=None)
    await env.espo_sim.update_as_user(ENTITY, pid, {"anrede": "Frau"})
    await env.advo_put(betnr, {"anrede": "Divers"})
    await env.handle(pid, "update")
    assert len(await env.notifications(ADMIN)) == 1


async def test_unlink_without_link_is_false_and_refuses_while_locked(env: Env) -> None:
    from services.beteiligte.service import LockedError

    pid = await env.new_person()
    assert await env.service.unlink(pid) is False
    pid2, _ = await linked_person(env)
    await env.lock.acquire(env.service.lock_key(pid2), 60)
    with pytest.raises(LockedError):
        await env.service.unlink(pid2)
