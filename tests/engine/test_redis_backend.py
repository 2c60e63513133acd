"""Redis-specific behaviour of `RedisBackend`, against a real redis-server.

The backend-agnostic contract lives in `test_backend_contract.py`; this module covers what only
Redis has: several processes ("workers") sharing one server, lease takeover via XAUTOCLAIM,
atomic dedup under concurrency, server restarts with AOF, and connection handling.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis
import redis.asyncio as aioredis

from engine.backends.base import BackendUnavailable, EnqueueRequest, Job
from engine.backends.redis import RedisBackend
from tests.fixtures.redis_server import RedisServer

# The fixtures `redis_server` and `redis_url` come from tests/engine/conftest.py, which imports
# them from tests/fixtures/redis_server.py for the contract suite as well.

pytestmark = [pytest.mark.redis, pytest.mark.timeout(30)]

Q = "vmh.beteiligte.update::sync"
LOGGER = "engine.backends.redis"

MakeBackend = Callable[..., Awaitable[RedisBackend]]


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def url(redis_url: str) -> str:
    """The empty test server's url (FLUSHALL done)."""
    return redis_url


@pytest.fixture
async def make_backend(url: str) -> AsyncIterator[MakeBackend]:
    """Backends sharing one prefix, as separate worker processes would; all closed afterwards."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    made: list[RedisBackend] = []

    async def make(**kwargs: object) -> RedisBackend:
        backend = RedisBackend(url=url, prefix=prefix, **kwargs)  # type: ignore[arg-type]
        await backend.connect()
        made.append(backend)
        return backend

    yield make
    for backend in made:
        await backend.close()


def request(data: object = None, **kwargs: object) -> EnqueueRequest:
    return EnqueueRequest(queue=Q, data=data if data is not None else {"id": "x"}, trace_id="tr", **kwargs)  # type: ignore[arg-type]


async def fetch_until(backend: RedisBackend, count: int, worker: str, within: float = 5.0) -> list[Job]:
    """Fetch (blocking 0.2 s at a time) until `count` jobs arrived or `within` seconds passed."""
    jobs: list[Job] = []
    deadline = time.monotonic() + within
    while len(jobs) < count and time.monotonic() < deadline:
        jobs += await backend.fetch(Q, count - len(jobs), 5.0, worker, block=0.2)
    return jobs


# -- leases ------------------------------------------------------------------------------------
async def test_unacked_job_is_taken_over_after_visibility_timeout(make_backend: MakeBackend) -> None:
    worker_a, worker_b = await make_backend(), await make_backend()
    [job_id] = await worker_a.enqueue([request()])

    [leased] = await worker_a.fetch(Q, 10, 0.3, "worker-a")
    assert (leased.id, leased.attempt) == (job_id, 1)
    assert await worker_b.fetch(Q, 10, 0.3, "worker-b") == []  # lease still running

    await asyncio.sleep(0.4)  # worker A "died"
    [taken] = await worker_b.fetch(Q, 10, 0.3, "worker-b")
    assert (taken.id, taken.attempt, taken.data) == (job_id, 2, leased.data)
    await worker_b.ack([taken])
    stats = (await worker_b.queue_stats([Q]))[0]
    assert (stats.depth, stats.in_flight) == (0, 0)


async def test_the_fetching_worker_sets_the_lease_also_after_a_blocking_read(
    make_backend: MakeBackend,
) -> None:
    worker_a, worker_b = await make_backend(), await make_backend()
    waiting = asyncio.create_task(worker_a.fetch(Q, 1, 0.3, "worker-a", block=5.0))
    await asyncio.sleep(0.1)  # A sits in its blocking XREADGROUP
    [job_id] = await worker_b.enqueue([request()])
    [leased] = await waiting
    assert leased.id == job_id
    # B uses a long visibility timeout itself; A's short lease still decides.
    assert await worker_b.fetch(Q, 1, 30.0, "worker-b") == []
    await asyncio.sleep(0.4)
    [taken] = await worker_b.fetch(Q, 1, 30.0, "worker-b")
    assert (taken.id, taken.attempt) == (job_id, 2)
    # ... and B's lease is 30 s now: A (short timeout) cannot take it back.
    await asyncio.sleep(0.4)
    assert await worker_a.fetch(Q, 1, 0.3, "worker-a") == []


async def test_takeover_of_a_whole_batch(make_backend: MakeBackend) -> None:
    worker_a, worker_b = await make_backend(), await make_backend()
    ids = await worker_a.enqueue([request({"n": i}) for i in range(10)])
    assert len(await worker_a.fetch(Q, 10, 0.2, "worker-a")) == 10
    await asyncio.sleep(0.3)
    taken = await worker_b.fetch(Q, 10, 0.2, "worker-b")
    assert sorted(job.id for job in taken) == sorted(ids)
    assert {job.attempt for job in taken} == {2}


async def test_extend_lease_prevents_takeover(make_backend: MakeBackend) -> None:
    worker_a, worker_b = await make_backend(), await make_backend()
    await worker_a.enqueue([request()])
    [leased] = await worker_a.fetch(Q, 1, 0.3, "worker-a")

    # Worker A heartbeats for 1 s, three times the visibility timeout: B never gets the job.
    for _ in range(6):
        await asyncio.sleep(0.15)
        await worker_a.extend_lease([leased], 0.3)
        assert await worker_b.fetch(Q, 1, 0.3, "worker-b") == []

    # The heartbeat stops: the job is taken over after the timeout, as a redelivery.
    await asyncio.sleep(0.4)
    [taken] = await worker_b.fetch(Q, 1, 0.3, "worker-b")
    assert (taken.id, taken.attempt) == (leased.id, 2)


async def test_extend_lease_does_not_steal_a_taken_over_job(make_backend: MakeBackend, url: str) -> None:
    worker_a, worker_b = await make_backend(), await make_backend()
    await worker_a.enqueue([request()])
    [leased] = await worker_a.fetch(Q, 1, 0.2, "worker-a")
    await asyncio.sleep(0.3)
    [taken] = await worker_b.fetch(Q, 1, 0.2, "worker-b")

    await worker_a.extend_lease([leased], 0.2)  # a late heartbeat of the presumed-dead worker

    client = redis.Redis.from_url(url)
    try:
        [pending] = client.xpending_range(f"{worker_b.prefix}:q:{Q}", "workers", "-", "+", 10)
    finally:
        client.close()
    assert pending["consumer"] == b"worker-b"
    assert pending["times_delivered"] == taken.attempt == 2


async def test_prepare_worker_prunes_idle_consumers_without_jobs(make_backend: MakeBackend, url: str) -> None:
    backend = await make_backend(consumer_expiry=0.1)
    await backend.enqueue([request(), request()])
    [done] = await backend.fetch(Q, 1, 5.0, "worker-gone")
    await backend.ack([done])
    [busy] = await backend.fetch(Q, 1, 5.0, "worker-busy")  # holds a job: must be kept
    await asyncio.sleep(0.2)
    await backend.prepare_worker("worker-new")

    client = redis.Redis.from_url(url)
    try:
        consumers = client.xinfo_consumers(f"{backend.prefix}:q:{Q}", "workers")
    finally:
        client.close()
    assert [c["name"] for c in consumers] == [b"worker-busy"]
    await backend.ack([busy])


async def test_fetch_recreates_a_lost_stream_group(make_backend: MakeBackend, url: str) -> None:
    backend = await make_backend()
    await backend.enqueue([request()])
    assert len(await backend.fetch(Q, 1, 5.0, "w")) == 1
    client = redis.Redis.from_url(url)
    try:
        client.delete(f"{backend.prefix}:q:{Q}")  # e.g. an operator deleted the key
    finally:
        client.close()
    [job_id] = await backend.enqueue([request()])
    [job] = await backend.fetch(Q, 1, 5.0, "w", block=1.0)
    assert job.id == job_id


# -- delayed jobs and retries ------------------------------------------------------------------
async def test_retry_delay_is_honoured_not_early(make_backend: MakeBackend) -> None:
    worker_a, worker_b = await make_backend(), await make_backend()
    await worker_a.enqueue([request()])
    [job] = await worker_a.fetch(Q, 1, 5.0, "worker-a")

    retried_at = time.monotonic()
    await worker_a.retry(job, 0.5, "advoware timeout")
    assert (await worker_a.queue_stats([Q]))[0].delayed == 1

    # Worker B did not schedule the retry itself (no local hint) and polls; A blocks.
    async def timed(jobs: Awaitable[list[Job]]) -> tuple[list[Job], float]:
        got = await jobs
        return got, time.monotonic() - retried_at

    (polled, polled_after), (blocked, blocked_after) = await asyncio.gather(
        timed(fetch_until(worker_b, 1, "worker-b", within=3.0)),
        timed(worker_a.fetch(Q, 1, 5.0, "worker-a", block=3.0)),
    )
    [again] = polled + blocked
    arrived_after = polled_after if polled else blocked_after
    assert 0.5 <= arrived_after < 1.5
    assert (again.id, again.attempt, again.data) == (job.id, 2, job.data)


async def test_blocking_fetch_wakes_for_a_due_delayed_job(make_backend: MakeBackend) -> None:
    backend = await make_backend()
    started = time.monotonic()
    await backend.enqueue([request(delay=0.3)])
    [job] = await backend.fetch(Q, 1, 5.0, "w", block=5.0)
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 1.0
    assert job.attempt == 1


async def test_delayed_job_never_runs_early_by_the_backend_clock(make_backend: MakeBackend) -> None:
    clock = FakeClock()
    producer = await make_backend(clock=clock)
    consumer = await make_backend(clock=clock, housekeeping_interval=0.0)
    [job_id] = await producer.enqueue([request(delay=10.0)])

    for now in (clock.now, clock.now + 5.0, clock.now + 9.999):
        clock.now = now
        assert await consumer.fetch(Q, 1, 5.0, "w", block=0.05) == []
        assert (await consumer.queue_stats([Q]))[0].delayed == 1
    clock.now += 0.001  # exactly due
    [job] = await consumer.fetch(Q, 1, 5.0, "w")
    assert job.id == job_id


async def test_blocking_fetch_wakes_when_another_process_enqueues(make_backend: MakeBackend) -> None:
    consumer, producer = await make_backend(), await make_backend()
    waiting = asyncio.create_task(consumer.fetch(Q, 10, 5.0, "w", block=5.0))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    [job_id] = await producer.enqueue([request()])
    jobs = await waiting
    assert [job.id for job in jobs] == [job_id]
    assert time.monotonic() - started < 0.5


async def test_dead_letter_and_replay_reset_the_attempt(make_backend: MakeBackend) -> None:
    clock = FakeClock()
    backend = await make_backend(clock=clock)
    await backend.enqueue([request({"n": 1})])
    [job] = await backend.fetch(Q, 1, 5.0, "w")
    await backend.retry(job, 0, "first failure")
    [job] = await backend.fetch(Q, 1, 5.0, "w")
    assert job.attempt == 2
    await backend.dead_letter(job, "gave up")

    [letter] = await backend.list_dead()
    assert (letter.id, letter.queue, letter.attempts, letter.error) == (job.id, Q, 2, "gave up")
    assert (await backend.queue_stats([Q]))[0].dead == 1
    assert await backend.replay_dead() == 1
    assert await backend.replay_dead([job.id]) == 0  # already replayed
    [replayed] = await backend.fetch(Q, 1, 5.0, "w")
    assert (replayed.id, replayed.attempt, replayed.data) == (job.id, 1, {"n": 1})
    assert await backend.list_dead() == []
    assert (await backend.queue_stats([Q]))[0].dead == 0


async def test_queue_stats_count_each_state(make_backend: MakeBackend) -> None:
    clock = FakeClock()
    backend = await make_backend(clock=clock)
    await backend.enqueue([request({"n": i}) for i in range(3)] + [request(delay=60.0)])
    clock.now += 7.0
    [stats] = await backend.queue_stats([Q])
    assert (stats.depth, stats.in_flight, stats.delayed, stats.dead) == (3, 0, 1, 0)
    assert stats.oldest_age == pytest.approx(7.0)

    jobs = await backend.fetch(Q, 2, 5.0, "w")
    await backend.dead_letter(jobs[0], "boom")
    [stats] = await backend.queue_stats([Q])
    assert (stats.depth, stats.in_flight, stats.delayed, stats.dead) == (1, 1, 1, 1)
    [empty] = await backend.queue_stats(["no.such::queue"])
    assert (empty.depth, empty.in_flight, empty.delayed, empty.dead, empty.oldest_age) == (0, 0, 0, 0, None)


# -- dedup ---------------------------------------------------------------------------------------
async def test_dedup_is_atomic_under_concurrent_enqueue(make_backend: MakeBackend) -> None:
    worker_a, worker_b = await make_backend(), await make_backend()
    same = request(dedup_key="beteiligte:4711")
    results = await asyncio.gather(*(backend.enqueue([same]) for backend in [worker_a, worker_b] * 25))
    created = [job_id for [job_id] in results if job_id is not None]
    assert len(created) == 1
    jobs = await worker_a.fetch(Q, 100, 5.0, "w")
    assert [job.id for job in jobs] == created
    assert jobs[0].dedup_key == "beteiligte:4711"


async def test_dedup_within_one_batch_and_release(make_backend: MakeBackend) -> None:
    backend = await make_backend()
    ids = await backend.enqueue([request(dedup_key="k"), request(dedup_key="k"), request(dedup_key="other")])
    assert ids[0] is not None and ids[1] is None and ids[2] is not None
    await backend.release_dedup(Q, "k")  # the job started
    [again] = await backend.enqueue([request(dedup_key="k")])
    assert again is not None


async def test_dedup_key_expires_after_its_ttl(make_backend: MakeBackend) -> None:
    backend = await make_backend()
    assert (await backend.enqueue([request(dedup_key="k", dedup_ttl=0.2)]))[0] is not None
    assert (await backend.enqueue([request(dedup_key="k", dedup_ttl=0.2)]))[0] is None
    await asyncio.sleep(0.3)
    assert (await backend.enqueue([request(dedup_key="k", dedup_ttl=0.2)]))[0] is not None


async def test_one_batch_mixing_queues_delays_and_dedup_keys(make_backend: MakeBackend) -> None:
    backend = await make_backend()
    other = "vmh.bankverbindungen.update::sync"
    ids = await backend.enqueue(
        [
            request({"n": 1}),
            EnqueueRequest(queue=other, data={"n": 2}, trace_id="tr"),
            request({"n": 3}, delay=0.2, dedup_key="later"),
            request({"n": 4}, delay=0.2, dedup_key="later"),  # suppressed by the one before
            EnqueueRequest(queue=other, data={"n": 5}, trace_id="tr", dedup_key="now"),
        ]
    )
    assert [i is not None for i in ids] == [True, True, True, False, True]
    mine = await backend.fetch(Q, 10, 5.0, "w")
    theirs = await backend.fetch(other, 10, 5.0, "w")
    assert [j.data["n"] for j in mine] == [1] and [j.data["n"] for j in theirs] == [2, 5]
    await backend.ack(mine + theirs)  # one call across two queues
    [delayed] = await backend.fetch(Q, 10, 5.0, "w", block=2.0)
    assert (delayed.data, delayed.dedup_key) == ({"n": 3}, "later")
    stats = await backend.queue_stats([Q, other])
    assert [(s.depth, s.in_flight, s.delayed) for s in stats] == [(0, 1, 0), (0, 0, 0)]


# -- locks and cron ------------------------------------------------------------------------------
async def test_lock_owner_semantics(make_backend: MakeBackend) -> None:
    clock = FakeClock()
    worker_a, worker_b = await make_backend(clock=clock), await make_backend(clock=clock)
    assert await worker_a.acquire_lock("beteiligte:4711", "owner-a", 5.0)
    assert not await worker_b.acquire_lock("beteiligte:4711", "owner-b", 5.0)
    assert not await worker_b.extend_lock("beteiligte:4711", "owner-b", 5.0)
    assert not await worker_b.release_lock("beteiligte:4711", "owner-b")
    assert await worker_a.extend_lock("beteiligte:4711", "owner-a", 10.0)

    [lock] = await worker_b.list_locks("beteiligte:")
    assert (lock.key, lock.owner) == ("beteiligte:4711", "owner-a")
    assert clock.now + 9.0 < lock.expires_at <= clock.now + 10.0
    assert await worker_b.list_locks("calendar:") == []

    assert await worker_a.release_lock("beteiligte:4711", "owner-a")
    assert not await worker_a.release_lock("beteiligte:4711", "owner-a")
    assert await worker_b.acquire_lock("beteiligte:4711", "owner-b", 5.0)
    assert await worker_a.force_release_lock("beteiligte:4711")
    assert await worker_a.list_locks() == []


async def test_lock_expires_with_its_ttl(make_backend: MakeBackend) -> None:
    worker_a, worker_b = await make_backend(), await make_backend()
    assert await worker_a.acquire_lock("k", "owner-a", 0.2)
    await asyncio.sleep(0.3)
    assert not await worker_a.extend_lock("k", "owner-a", 0.2)  # too late: the lock is gone
    assert await worker_b.acquire_lock("k", "owner-b", 0.2)


async def test_one_cron_leader_per_tick_across_processes(make_backend: MakeBackend) -> None:
    backends = [await make_backend() for _ in range(3)]
    claims = await asyncio.gather(*(b.claim_cron_tick("calendar-sync", 60.0, 5.0) for b in backends * 5))
    assert sum(claims) == 1
    assert await backends[0].claim_cron_tick("calendar-sync", 120.0, 5.0)
    assert not await backends[1].claim_cron_tick("calendar-sync", 120.0, 5.0)
    assert await backends[2].claim_cron_tick("calendar-sync", 30.0, 5.0)  # an old tick stays old
    assert await backends[1].get_cron_last_tick("calendar-sync") == 120.0
    assert await backends[1].get_cron_last_tick("never-ran") is None


# -- state and keys ------------------------------------------------------------------------------
async def test_state_items_return_only_live_keys_of_the_scope(make_backend: MakeBackend) -> None:
    backend = await make_backend()
    await backend.state_set("token", "advoware", {"t": 1})
    await backend.state_set("token", "google:k1", [1, 2], ttl=0.2)
    await backend.state_set("token:sub", "x", 1)  # a longer scope with the same start
    await backend.state_set("tok", "y", 2)
    assert await backend.state_items("token") == {"advoware": {"t": 1}, "google:k1": [1, 2]}
    await asyncio.sleep(0.3)
    assert await backend.state_items("token") == {"advoware": {"t": 1}}
    assert await backend.state_items("token:sub") == {"x": 1}
    assert not await backend.state_set_if_absent("token", "advoware", {"t": 2})
    assert await backend.state_get("token", "advoware") == {"t": 1}


async def test_every_key_lives_under_the_prefix(make_backend: MakeBackend, url: str) -> None:
    backend = await make_backend()
    await backend.enqueue([request(dedup_key="d"), request(delay=30.0)])
    [job, *_] = await backend.fetch(Q, 5, 5.0, "w")
    await backend.dead_letter(job, "x")
    await backend.claim_cron_tick("c", 1.0, 5.0)
    await backend.acquire_lock("l", "o", 5.0)
    await backend.state_set("s", "k", 1)
    await backend.zadd("prio", "m", 1.0)

    client = redis.Redis.from_url(url)
    try:
        keys = [key.decode() for key in client.scan_iter(count=1000)]
    finally:
        client.close()
    assert len(keys) >= 9
    assert all(key.startswith(backend.prefix + ":") for key in keys), keys


async def test_close_releases_every_connection(url: str) -> None:
    observer = aioredis.Redis.from_url(url)
    try:
        before = len(await observer.client_list())
        backend = RedisBackend(url=url, prefix=f"t{uuid.uuid4().hex[:8]}")
        await backend.connect()
        await asyncio.gather(*(backend.state_set("s", str(i), i) for i in range(20)))
        assert len(await observer.client_list()) > before
        await backend.close()
        await asyncio.sleep(0.05)
        assert len(await observer.client_list()) == before
    finally:
        await observer.aclose()


# -- outages -----------------------------------------------------------------------------------
@pytest.fixture
def private_server() -> AsyncIterator[RedisServer]:
    """A redis-server of this test alone, which it may stop and start."""
    with RedisServer() as server:
        yield server  # type: ignore[misc]


@pytest.mark.timeout(60)
async def test_jobs_survive_a_redis_restart_and_the_backend_reconnects(
    private_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    producer = RedisBackend(url=private_server.url, prefix="restart", reconnect_timeout=20.0)
    consumer = RedisBackend(url=private_server.url, prefix="restart", reconnect_timeout=20.0)
    await producer.connect()
    await consumer.connect()
    try:
        secret = {"name": "Erika Mustermann", "iban": "DE02120300000000202051"}
        ids = await producer.enqueue([request({**secret, "n": i}) for i in range(30)])
        [first] = await consumer.fetch(Q, 1, 0.5, "w")  # creates the group, leases one job
        await consumer.ack([first])

        private_server.stop()
        collecting = asyncio.create_task(fetch_until(consumer, len(ids) - 1, "w", within=30.0))
        late_enqueue = asyncio.create_task(producer.enqueue([request({"late": True})]))
        await asyncio.sleep(1.0)  # both keep retrying with backoff meanwhile
        assert not collecting.done() and not late_enqueue.done()
        private_server.start()

        [late_id] = await asyncio.wait_for(late_enqueue, 20)
        delivered = await asyncio.wait_for(collecting, 30)
        delivered += await fetch_until(consumer, 1, "w")
        assert sorted(job.id for job in delivered) == sorted([*ids[1:], late_id])
        assert {job.attempt for job in delivered} == {1}
    finally:
        await producer.close()
        await consumer.close()

    messages = [record.getMessage() for record in caplog.records if record.name == LOGGER]
    assert sum("connection lost" in m for m in messages) == 2  # once per backend instance
    assert sum("connection restored" in m for m in messages) == 2
    assert "Mustermann" not in caplog.text and "DE02" not in caplog.text


async def test_reconnect_is_logged_once_per_outage(
    private_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    backend = RedisBackend(url=private_server.url, prefix="once", reconnect_timeout=20.0, retry_cap=0.1)
    await backend.connect()
    try:
        private_server.stop()
        calls = asyncio.gather(*(backend.state_set("s", str(i), i) for i in range(10)))
        await asyncio.sleep(0.8)  # many failed attempts by ten concurrent calls
        private_server.start()
        await asyncio.wait_for(calls, 20)
        assert await backend.state_items("s") == {str(i): i for i in range(10)}
    finally:
        await backend.close()
    lost = [r for r in caplog.records if r.name == LOGGER and "connection lost" in r.getMessage()]
    restored = [r for r in caplog.records if r.name == LOGGER and "connection restored" in r.getMessage()]
    assert (len(lost), len(restored)) == (1, 1)
    assert lost[0].levelno == logging.WARNING


async def test_restart_while_idle_is_not_an_outage(
    private_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    backend = RedisBackend(url=private_server.url, prefix="idle", reconnect_timeout=5.0)
    await backend.connect()
    try:
        # Fill the pool with several connections, which all go stale with the restart.
        await asyncio.gather(*(backend.state_set("s", str(i), i) for i in range(5)))
        private_server.stop()
        private_server.start()
        assert await asyncio.gather(*(backend.state_get("s", str(i)) for i in range(5))) == list(range(5))
    finally:
        await backend.close()
    assert [r.getMessage() for r in caplog.records if r.name == LOGGER] == []


async def test_ping_raises_backend_unavailable_when_redis_is_down(private_server: RedisServer) -> None:
    backend = RedisBackend(url=private_server.url, prefix="ping", reconnect_timeout=0.3)
    await backend.connect()
    try:
        assert 0 < await backend.ping() < 1.0
        private_server.stop()
        with pytest.raises(BackendUnavailable):
            await backend.ping()
        with pytest.raises(BackendUnavailable):  # other operations give up after reconnect_timeout
            await backend.enqueue([request()])
        private_server.start()
        assert await backend.ping() > 0
    finally:
        await backend.close()
