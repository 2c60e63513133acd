"""The backend contract: one suite, run against every backend (saq's TestQueue pattern).

Times are real and short (≤ 1 s), so the same tests hold for Redis, whose TTLs use the
server's clock."""

from __future__ import annotations

import asyncio
import time

import pytest

from engine.backends.base import EnqueueRequest, queue_name

Q = queue_name("topic.a", "step-a")
Q2 = queue_name("topic.a", "step-b")

pytestmark = pytest.mark.timeout(30)


def req(data, **kw) -> EnqueueRequest:
    return EnqueueRequest(queue=kw.pop("queue", Q), data=data, trace_id=kw.pop("trace_id", "t1"), **kw)


async def test_enqueue_fetch_ack_roundtrip(backend):
    ids = await backend.enqueue([req({"n": 1}), req({"n": 2})])
    assert all(ids) and len(set(ids)) == 2
    jobs = await backend.fetch(Q, 10, visibility_timeout=5, worker_id="w1")
    assert [j.data for j in jobs] == [{"n": 1}, {"n": 2}]
    assert {j.attempt for j in jobs} == {1}
    assert jobs[0].trace_id == "t1" and jobs[0].topic == "topic.a" and jobs[0].step == "step-a"
    await backend.ack(jobs)
    assert await backend.fetch(Q, 10, visibility_timeout=5, worker_id="w1") == []


async def test_fetch_respects_count_and_queue(backend):
    await backend.enqueue([req({"n": i}) for i in range(5)] + [req({"other": 1}, queue=Q2)])
    first = await backend.fetch(Q, 3, visibility_timeout=5, worker_id="w1")
    second = await backend.fetch(Q, 3, visibility_timeout=5, worker_id="w1")
    assert len(first) == 3 and len(second) == 2
    assert {j.data["n"] for j in first + second} == set(range(5))
    other = await backend.fetch(Q2, 10, visibility_timeout=5, worker_id="w1")
    assert [j.data for j in other] == [{"other": 1}]


async def test_unacked_job_is_redelivered_after_visibility_timeout(backend):
    await backend.enqueue([req({"n": 1})])
    (job,) = await backend.fetch(Q, 1, visibility_timeout=0.3, worker_id="dead-worker")
    assert await backend.fetch(Q, 1, visibility_timeout=0.3, worker_id="w2") == []
    await asyncio.sleep(0.45)
    (again,) = await backend.fetch(Q, 1, visibility_timeout=5, worker_id="w2")
    assert again.id == job.id and again.attempt == 2


async def test_extend_lease_prevents_redelivery(backend):
    await backend.enqueue([req({"n": 1})])
    (job,) = await backend.fetch(Q, 1, visibility_timeout=0.3, worker_id="w1")
    for _ in range(3):
        await asyncio.sleep(0.15)
        await backend.extend_lease([job], 0.3)
    assert await backend.fetch(Q, 1, visibility_timeout=5, worker_id="w2") == []


async def test_retry_with_delay_does_not_run_early(backend):
    await backend.enqueue([req({"n": 1})])
    (job,) = await backend.fetch(Q, 1, visibility_timeout=5, worker_id="w1")
    await backend.retry(job, delay=0.4, error="boom")
    assert await backend.fetch(Q, 1, visibility_timeout=5, worker_id="w1") == []
    await asyncio.sleep(0.5)
    (again,) = await backend.fetch(Q, 1, visibility_timeout=5, worker_id="w1")
    assert again.attempt == 2 and again.data == {"n": 1}


async def test_delayed_job_does_not_run_early(backend):
    start = time.monotonic()
    await backend.enqueue([req({"n": 1}, delay=0.5)])
    assert await backend.fetch(Q, 1, visibility_timeout=5, worker_id="w1") == []
    (job,) = await backend.fetch(Q, 1, visibility_timeout=5, worker_id="w1", block=2.0)
    assert time.monotonic() - start >= 0.45
    assert job.data == {"n": 1}


async def test_blocking_fetch_wakes_on_enqueue(backend):
    async def later():
        await asyncio.sleep(0.2)
        await backend.enqueue([req({"n": 1})])

    start = time.monotonic()
    task = asyncio.create_task(later())
    jobs = await backend.fetch(Q, 1, visibility_timeout=5, worker_id="w1", block=3.0)
    await task
    assert [j.data for j in jobs] == [{"n": 1}]
    assert time.monotonic() - start < 2.0


async def test_dedup_key_suppresses_second_enqueue_until_released(backend):
    first = await backend.enqueue([req({"n": 1}, dedup_key="k1")])
    second = await backend.enqueue([req({"n": 2}, dedup_key="k1")])
    other_queue = await backend.enqueue([req({"n": 3}, dedup_key="k1", queue=Q2)])
    assert first[0] is not None and second == [None] and other_queue[0] is not None
    await backend.release_dedup(Q, "k1")
    third = await backend.enqueue([req({"n": 4}, dedup_key="k1")])
    assert third[0] is not None
    jobs = await backend.fetch(Q, 10, visibility_timeout=5, worker_id="w1")
    assert sorted(j.data["n"] for j in jobs) == [1, 4]
    assert {j.dedup_key for j in jobs} == {"k1"}


async def test_dedup_key_expires_after_ttl(backend):
    await backend.enqueue([req({"n": 1}, dedup_key="k", dedup_ttl=0.2)])
    await asyncio.sleep(0.3)
    assert (await backend.enqueue([req({"n": 2}, dedup_key="k")]))[0] is not None


async def test_batch_enqueue_mixes_new_and_deduplicated(backend):
    ids = await backend.enqueue([req({"n": 1}, dedup_key="a"), req({"n": 2}, dedup_key="a"), req({"n": 3})])
    assert ids[0] is not None and ids[1] is None and ids[2] is not None


async def test_dead_letter_list_and_replay(backend):
    await backend.enqueue([req({"n": 1}, trace_id="trace-x"), req({"n": 2})])
    jobs = await backend.fetch(Q, 2, visibility_timeout=5, worker_id="w1")
    await backend.dead_letter(jobs[0], "ValueError: bad")
    await backend.ack(jobs[1:])
    dead = await backend.list_dead()
    assert len(dead) == 1 and dead[0].error == "ValueError: bad" and dead[0].queue == Q
    assert dead[0].data == {"n": 1} and dead[0].trace_id == "trace-x" and dead[0].attempts == 1
    assert await backend.replay_dead([dead[0].id]) == 1
    assert await backend.list_dead() == []
    (job,) = await backend.fetch(Q, 1, visibility_timeout=5, worker_id="w1")
    assert job.data == {"n": 1} and job.attempt == 1 and job.trace_id == "trace-x"


async def test_replay_all_dead_letters(backend):
    await backend.enqueue([req({"n": i}) for i in range(3)])
    for job in await backend.fetch(Q, 3, visibility_timeout=5, worker_id="w1"):
        await backend.dead_letter(job, "err")
    assert len(await backend.list_dead()) == 3
    assert await backend.replay_dead(None) == 3
    assert len(await backend.fetch(Q, 10, visibility_timeout=5, worker_id="w1")) == 3


async def test_queue_stats(backend):
    await backend.enqueue([req({"n": i}) for i in range(4)] + [req({"d": 1}, delay=30)])
    (leased,) = await backend.fetch(Q, 1, visibility_timeout=30, worker_id="w1")
    (to_kill,) = await backend.fetch(Q, 1, visibility_timeout=30, worker_id="w1")
    await backend.dead_letter(to_kill, "x")
    await asyncio.sleep(0.05)
    (stats,) = await backend.queue_stats([Q])
    assert (stats.depth, stats.in_flight, stats.delayed, stats.dead) == (2, 1, 1, 1)
    assert stats.oldest_age is not None and stats.oldest_age >= 0.04
    (empty,) = await backend.queue_stats([Q2])
    assert (empty.depth, empty.in_flight, empty.delayed, empty.dead, empty.oldest_age) == (0, 0, 0, 0, None)


async def test_list_delayed_shows_scheduled_jobs_and_retries_with_their_last_error(backend):
    await backend.enqueue(
        [req({"id": "ready"}), req({"id": "later"}, delay=30), req({"other": 1}, queue=Q2, delay=60)]
    )
    (job,) = await backend.fetch(Q, 1, visibility_timeout=30, worker_id="w1")
    await backend.retry(job, delay=10, error="TransportError: espocrm GET {entity}/{id}: no response")
    delayed = await backend.list_delayed([Q, Q2])
    assert [(d.queue, d.data, d.attempts) for d in delayed] == [
        (Q, {"id": "ready"}, 1),
        (Q, {"id": "later"}, 0),
        (Q2, {"other": 1}, 0),
    ]
    assert delayed[0].last_error == "TransportError: espocrm GET {entity}/{id}: no response"
    assert delayed[1].last_error is None and delayed[0].trace_id == "t1"
    assert delayed[0].run_at < delayed[1].run_at < delayed[2].run_at
    assert [d.data for d in await backend.list_delayed([Q], limit=1)] == [{"id": "ready"}]
    assert await backend.list_delayed([]) == []
    assert await backend.fetch(Q, 10, visibility_timeout=5, worker_id="w1") == []  # both still wait


async def test_cron_tick_claimed_once(backend):
    results = await asyncio.gather(*[backend.claim_cron_tick("c1", 1000.0, ttl=60) for _ in range(10)])
    assert results.count(True) == 1
    assert await backend.claim_cron_tick("c1", 1060.0, ttl=60)
    assert await backend.claim_cron_tick("c2", 1000.0, ttl=60)
    assert await backend.get_cron_last_tick("c1") == 1060.0
    assert await backend.get_cron_last_tick("never") is None


async def test_lock_owner_semantics(backend):
    assert await backend.acquire_lock("lk", "owner-a", ttl=5)
    assert not await backend.acquire_lock("lk", "owner-b", ttl=5)
    assert not await backend.release_lock("lk", "owner-b")
    assert not await backend.extend_lock("lk", "owner-b", ttl=5)
    assert await backend.extend_lock("lk", "owner-a", ttl=5)
    (info,) = await backend.list_locks("l")
    assert info.key == "lk" and info.owner == "owner-a"
    assert await backend.release_lock("lk", "owner-a")
    assert await backend.acquire_lock("lk", "owner-b", ttl=5)
    assert await backend.force_release_lock("lk")
    assert await backend.list_locks() == []


async def test_lock_expires_after_ttl(backend):
    assert await backend.acquire_lock("lk", "a", ttl=0.2)
    await asyncio.sleep(0.3)
    assert await backend.acquire_lock("lk", "b", ttl=5)
    assert not await backend.release_lock("lk", "a")


async def test_concurrent_lock_acquire_single_winner(backend):
    results = await asyncio.gather(*[backend.acquire_lock("race", f"o{i}", ttl=5) for i in range(20)])
    assert results.count(True) == 1


async def test_state_scoped_with_ttl(backend):
    await backend.state_set("s1", "a", {"x": [1, "ü"]})
    await backend.state_set("s1", "b", 2, ttl=0.2)
    await backend.state_set("s2", "a", "other")
    assert await backend.state_get("s1", "a") == {"x": [1, "ü"]}
    assert await backend.state_items("s1") == {"a": {"x": [1, "ü"]}, "b": 2}
    await asyncio.sleep(0.3)
    assert await backend.state_get("s1", "b") is None
    assert await backend.state_items("s1") == {"a": {"x": [1, "ü"]}}
    assert await backend.state_delete("s1", "a")
    assert not await backend.state_delete("s1", "a")
    assert await backend.state_get("s2", "a") == "other"


async def test_state_set_if_absent(backend):
    assert await backend.state_set_if_absent("s", "k", 1, ttl=0.2)
    assert not await backend.state_set_if_absent("s", "k", 2)
    assert await backend.state_get("s", "k") == 1
    await asyncio.sleep(0.3)
    assert await backend.state_set_if_absent("s", "k", 3)


async def test_priority_set_orders_by_score(backend):
    await backend.zadd("prio", "SB", 30)
    await backend.zadd("prio", "AI", 10)
    await backend.zadd("prio", "RO", 20)
    await backend.zadd("prio", "SB", 5)
    assert await backend.zrange("prio") == [("SB", 5.0), ("AI", 10.0), ("RO", 20.0)]
    assert await backend.zrange("prio", limit=1) == [("SB", 5.0)]
    assert await backend.zrem("prio", "AI")
    assert [m for m, _ in await backend.zrange("prio")] == ["SB", "RO"]


async def test_ping(backend):
    assert await backend.ping() >= 0
