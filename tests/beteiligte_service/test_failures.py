"""Failures: retry schedule with the controllable clock, auto reset via the cron, round-trip
mismatch, lock held, backoff, a failing release, a failing failure write."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.beteiligte.mapping import parse_espo_datetime
from simulators.advoware import AdvowareSimConfig
from simulators.advoware.config import DEFAULT_PARTY_FIELDS
from tests.beteiligte_service.conftest import ENTITY, Env
from tests.beteiligte_service.test_update import linked_person

GET_PARTY_FAILS = {"rules": [{"method": "GET", "route": "*/Beteiligte/*", "status": 500}]}


def at(value: str) -> datetime:
    moment = parse_espo_datetime(value)
    assert moment is not None
    return moment


async def test_retry_schedule_then_permanent_then_auto_reset(env: Env) -> None:
    pid, _ = await linked_person(env)
    await env.espo_sim.update_as_user(ENTITY, pid, {"titel": "Dr."})
    await env.faults("advoware", GET_PARTY_FAILS)
    for count, minutes in enumerate((1, 5, 15, 60), start=1):
        outcome = await env.handle(pid)
        assert outcome.status == "failed"
        rec = await env.record(pid)
        assert (rec["syncStatus"], rec["syncRetryCount"]) == ("failed", count)
        assert at(rec["syncNextRetry"]) == env.clock() + timedelta(minutes=minutes)
        assert rec["syncErrorMessage"] == "advoware GET api/v1/advonet/Beteiligte/{betnr}: HTTP 500"
        early = await env.handle(pid, "update")
        assert early.status == "backoff" and early.retry_in == pytest.approx(minutes * 60)
        assert pid not in await env.service.cron_candidates()
        env.clock.advance(minutes=minutes)
        assert pid in await env.service.cron_candidates()
    outcome = await env.handle(pid)
    assert outcome.status == "permanently_failed"
    rec = await env.record(pid)
    assert rec["syncRetryCount"] == 5 and not rec.get("syncNextRetry")
    assert at(rec["syncAutoResetAt"]) == env.clock() + timedelta(hours=24)
    assert len(await env.notifications("user-anna")) == 1
    assert pid not in await env.service.cron_candidates()
    env.clock.advance(hours=24)
    await env.faults("advoware", {"rules": []})
    assert await env.service.cron_candidates() == [pid]
    rec = await env.record(pid)
    assert (rec["syncStatus"], rec["syncRetryCount"]) == ("failed", 0)
    assert not rec.get("syncNextRetry") and not rec.get("syncAutoResetAt")
    assert (await env.handle(pid)).status == "synced"
    rec = await env.record(pid)
    assert (rec["syncStatus"], rec["syncRetryCount"]) == ("clean", 0) and not rec.get("syncErrorMessage")


NO_TITEL = AdvowareSimConfig(party_fields=tuple(f for f in DEFAULT_PARTY_FIELDS if f != "titel"))


@pytest.mark.parametrize("advoware_sim", [NO_TITEL], indirect=True)
async def test_roundtrip_mismatch_fails_then_permanently_fails(env: Env) -> None:
    pid, betnr = await linked_person(env)
    await env.espo_sim.update_as_user(ENTITY, pid, {"titel": "Dr."})
    outcome = await env.handle(pid, "update")
    assert outcome.status == "failed" and "titel" in (outcome.error or "")
    rec = await env.record(pid)
    assert rec["syncStatus"] == "failed" and "titel" in rec["syncErrorMessage"]
    assert rec["advowareRowId"] == env.advo_parties()[betnr].rowId  # the PUT's rowId is kept
    env.clock.advance(minutes=2)
    outcome = await env.handle(pid)
    assert outcome.status == "permanently_failed"
    rec = await env.record(pid)
    assert rec["syncStatus"] == "permanently_failed" and not rec.get("syncAutoResetAt")
    assert len(await env.notifications("user-anna")) == 1
    env.reset_counters()
    env.clock.advance(days=2)
    blocked = await env.handle(pid, "update")
    assert blocked.status == "blocked" and env.data_calls()["advoware_write"] == 0
    assert pid not in await env.service.cron_candidates()
    # a user edit in EspoCRM lifts the block
    await env.espo_sim.update_as_user(ENTITY, pid, {"titel": "Prof."})
    assert (await env.handle(pid, "update")).status == "failed"


async def test_lock_held_returns_locked_without_any_call(env: Env) -> None:
    pid, _ = await linked_person(env)
    await env.lock.acquire(env.service.lock_key(pid), 60)
    env.reset_counters()
    outcome = await env.handle(pid, "update")
    assert outcome.status == "locked" and 1.6 <= (outcome.retry_in or 0) <= 2.4  # 2 s ± 20 % jitter
    assert env.advo_sim.calls() == {} and env.espo_sim.calls() == {}


async def test_failed_release_does_not_hide_the_outcome(env: Env) -> None:
    pid, _ = await linked_person(env)
    env.lock.fail_release = True
    assert (await env.handle(pid, "update")).status == "noop"


async def test_lock_is_released_after_every_outcome(env: Env) -> None:
    pid, _ = await linked_person(env)
    await env.faults("advoware", GET_PARTY_FAILS)
    assert (await env.handle(pid)).status == "failed"
    assert (await env.handle(pid)).status == "backoff"
    assert env.lock.held == {}


async def test_failure_write_failing_raises_for_the_engine(env: Env) -> None:
    pid, _ = await linked_person(env)
    await env.faults("advoware", GET_PARTY_FAILS)
    await env.faults("espocrm", {"rules": [{"method": "PUT", "route": "*CBeteiligte*", "status": 503}]})
    with pytest.raises(Exception, match="espocrm PUT"):
        await env.handle(pid)
    assert env.lock.held == {}
    assert (await env.service.audit(pid))[0].result == "error"
