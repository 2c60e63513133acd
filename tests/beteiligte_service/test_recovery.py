"""Create idempotency: lost POST responses, crashes between POST and EspoCRM write, duplicates."""

from __future__ import annotations

import pytest

from services.beteiligte.executor import fingerprint
from services.beteiligte.mapping import advoware_create_payload, espo_kind, espo_to_party
from tests.beteiligte_service.conftest import ENTITY, Env

LOST_POST = {
    "rules": [{"method": "POST", "route": "*/Beteiligte", "status": 504, "after_write": True, "count": 1}]
}


async def payload_of(env: Env, pid: str) -> dict[str, str]:
    rec = await env.record(pid)
    return advoware_create_payload(espo_to_party(rec), espo_kind(rec))


async def test_lost_post_response_is_recovered_by_search_without_second_post(env: Env) -> None:
    pid = await env.new_person()
    await env.faults("advoware", LOST_POST)
    first = await env.handle(pid, "create")
    assert first.status == "failed" and "outcome unknown" in (first.error or "")
    assert len(env.advo_parties()) == 1  # the write happened, its answer was lost
    intent = await env.db.get_intent(pid)
    assert intent is not None and intent.betnr is None
    rec = await env.record(pid)
    assert rec["syncStatus"] == "failed" and not rec.get("betnr")
    env.clock.advance(minutes=1)
    second = await env.handle(pid)
    assert second.status == "created"
    (betnr,) = env.advo_parties()
    rec = await env.record(pid)
    assert (rec["betnr"], rec["syncStatus"], rec["syncRetryCount"]) == (betnr, "clean", 0)
    assert await env.db.get_intent(pid) is None
    assert sum(n for (m, r), n in env.advo_calls().items() if m == "POST") == 1
    # and the link is a normal one afterwards
    assert (await env.handle(pid, "update")).status == "noop"


async def test_crash_after_post_finishes_with_the_recorded_betnr(env: Env) -> None:
    pid = await env.new_person()
    # EspoCRM refuses every write: the link write and the failure write both fail → handle raises
    await env.faults(
        "espocrm", {"rules": [{"method": "PUT", "route": "*CBeteiligte*", "status": 503, "count": 8}]}
    )
    with pytest.raises(Exception, match="espocrm PUT"):
        await env.handle(pid, "create")
    intent = await env.db.get_intent(pid)
    (betnr,) = env.advo_parties()
    assert intent is not None and intent.betnr == betnr
    env.reset_counters()
    outcome = await env.handle(pid, "create")
    assert outcome.status == "created"
    assert not any(m == "POST" for (m, _r) in env.advo_calls())
    rec = await env.record(pid)
    assert rec["betnr"] == betnr and rec["advowareRowId"] and rec["syncStatus"] == "clean"
    assert len(env.advo_parties()) == 1 and await env.db.get_intent(pid) is None


async def test_intent_without_match_posts(env: Env) -> None:
    pid = await env.new_person()
    await env.db.record_intent(pid, fingerprint(await payload_of(env, pid)))
    # same name, other birth date: another person, not ours
    await env.advo_post({"name": "Mustermann", "vorname": "Max", "geburtsdatum": "1955-01-01T00:00:00"})
    outcome = await env.handle(pid)
    assert outcome.status == "created"
    assert len(env.advo_parties()) == 2


async def test_two_candidates_are_a_suspected_duplicate(env: Env) -> None:
    pid = await env.new_person()
    payload = await payload_of(env, pid)
    await env.db.record_intent(pid, fingerprint(payload))
    first, second = await env.advo_post(payload), await env.advo_post(payload)
    outcome = await env.handle(pid)
    assert outcome.status == "duplicate_suspected"
    rec = await env.record(pid)
    assert rec["syncStatus"] == "duplicate_suspected" and not rec.get("betnr")
    assert rec["syncErrorMessage"].startswith("possible duplicate") and str(first) in rec["syncErrorMessage"]
    notes = await env.notifications("user-anna")
    assert len(notes) == 1 and str(first) in notes[0]["message"] and str(second) in notes[0]["message"]
    assert len(env.advo_parties()) == 2
    env.clock.advance(minutes=2)
    assert (await env.handle(pid)).status == "blocked"  # content unchanged: nothing is tried
    assert len(await env.notifications("user-anna")) == 1  # told once


async def test_candidate_linked_to_another_record_is_not_adopted(env: Env) -> None:
    other = await env.new_person()
    assert (await env.handle(other, "create")).status == "created"
    twin = await env.new_person()  # same data, a different EspoCRM record
    await env.db.record_intent(twin, fingerprint(await payload_of(env, twin)))
    outcome = await env.handle(twin)
    assert outcome.status == "created"
    assert (await env.record(twin))["betnr"] != (await env.record(other))["betnr"]
    assert len(env.advo_parties()) == 2


async def test_adopted_party_with_other_values_is_synced_initially(env: Env) -> None:
    pid = await env.new_person(titel="Dr.")
    payload = await payload_of(env, pid)
    await env.db.record_intent(pid, fingerprint(payload))
    betnr = await env.advo_post({**payload, "titel": ""})  # POST went through; titel then cleared
    await env.espo_sim.update(ENTITY, pid, {"titel": "Prof."})  # and EspoCRM changed since
    outcome = await env.handle(pid)
    assert outcome.status == "created"
    assert env.advo_parties()[betnr].values["titel"] == "Prof."
    assert (await env.record(pid))["betnr"] == betnr
