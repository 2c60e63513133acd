"""The Redis backend of the step engine (production: many processes on many hosts).

Queues are Redis Streams read through one consumer group per stream; delayed jobs and retries
wait in a sorted set per queue; dedup keys, cron ticks and locks are `SET NX PX` keys; dead
letters live in a hash; state is one key per (scope, key) with a native TTL. Every key sits
under one configurable prefix. `docs/redis-backend.md` lists the keys and explains the design.

Hot path, per batch (not per job): enqueue is one Lua script call (dedup `SET NX` + `XADD`
atomically), fetch is one Lua script call (`XREADGROUP COUNT n`, plus moving due delayed jobs
and `XAUTOCLAIM` of expired leases when that housekeeping is due), ack is one MULTI with
`XACK` + `XDEL`. Only a fetch that finds nothing blocks, in a plain `XREADGROUP BLOCK`.

Leases: Redis keeps no deadline per pending entry, only its idle time, so a lease is stored
as an idle time: leasing sets it to `max_lease - visibility_timeout` (XCLAIM ... IDLE JUSTID)
and housekeeping runs `XAUTOCLAIM min-idle=max_lease`, which takes the job over exactly when
the lease of the worker that fetched it ran out. `extend_lease` sets the idle time again.

A job's attempt is `base + delivery count`: `base` (in the job's envelope) counts the
deliveries before the job last entered its stream, the stream's delivery count the rest, so
a job taken over from a dead worker has attempt + 1 and a retried job restarts its stream life
with `base = attempt`.

Connection loss is retried with exponential backoff (the `backoff` package's wait generator)
for up to `reconnect_timeout` seconds, then `BackendUnavailable` is raised. The outage and the
recovery are each logged once per backend instance. Job payloads are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar, cast

import backoff
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from engine.backends.base import (
    Backend,
    BackendUnavailable,
    Clock,
    DeadLetter,
    DelayedJob,
    EnqueueRequest,
    Job,
    LockInfo,
    QueueStats,
)
from engine.backends.redis_scripts import (
    ACK_LUA,
    CRON_LUA,
    DEAD_LUA,
    ENQUEUE_LUA,
    EXTEND_LUA,
    FETCH_LUA,
    LOCK_EXTEND_LUA,
    LOCK_RELEASE_LUA,
    PRUNE_CONSUMERS_LUA,
    REPLAY_LUA,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
ScriptArg = str | int | float

# The one consumer group of every stream: all workers of a queue share its jobs.
GROUP = "workers"
# Errors worth retrying: the server is down, restarting, or still loading its AOF
# (BusyLoadingError is a ConnectionError subclass).
TRANSIENT_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
# Enqueue scripts run atomically and block Redis while they run; split huge batches.
ENQUEUE_CHUNK = 2000


# -- helpers -----------------------------------------------------------------------------------
class _Receipt(NamedTuple):
    """Where a delivered job lives: its stream entry and the consumer holding its lease."""

    entry_id: str
    consumer: str


@dataclass
class _QueueState:
    """Per-process bookkeeping of one queue, so fetch does housekeeping only when useful."""

    group_ready: bool = False
    last_housekeeping: float = float("-inf")  # time.monotonic()
    next_due: float | None = None  # earliest delayed job known to this process (clock time)
    claim_cursor: str = "0-0"


def _ms(seconds: float) -> int:
    """Redis PX / BLOCK / min-idle value: whole milliseconds, at least 1 (0 means 'forever')."""
    return max(1, int(seconds * 1000))


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _glob_escape(text: str) -> str:
    """Escape a literal for SCAN MATCH."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _scope_part(scope: str) -> str:
    """Scope as one key segment without ':' so `scope:*` never matches a longer scope."""
    return scope.replace("%", "%25").replace(":", "%3A")


def _envelope(
    job_id: str,
    trace_id: str,
    base: int,
    enqueued_at: float,
    ready_at: float,
    dedup_key: str | None,
    data: Any,
    last_error: str | None = None,
) -> str:
    """The one stream field of a job. Also the member in the delayed zset, so moving a due job
    into its stream needs no decoding in Lua. A retried job carries its last error (8th item)."""
    fields = [job_id, trace_id, base, enqueued_at, ready_at, dedup_key, data]
    return _dumps(fields if last_error is None else [*fields, last_error])


def _job(queue: str, entry_id: bytes | str, envelope: bytes, deliveries: int, consumer: str) -> Job:
    job_id, trace_id, base, enqueued_at, _ready_at, dedup_key, data, *_ = json.loads(envelope)
    return Job(
        id=job_id,
        queue=queue,
        data=data,
        trace_id=trace_id,
        attempt=base + deliveries,
        enqueued_at=enqueued_at,
        dedup_key=dedup_key,
        receipt=_Receipt(_text(entry_id), consumer),
    )


class RedisBackend(Backend):
    """Backend on one Redis server (standalone; Lua scripts touch keys of several queues)."""

    name = "redis"

    def __init__(
        self,
        url: str,
        prefix: str = "bitbylaw",
        clock: Clock | None = None,
        *,
        reconnect_timeout: float = 30.0,
        retry_base: float = 0.05,
        retry_cap: float = 2.0,
        housekeeping_interval: float = 0.1,
        connect_timeout: float = 2.0,
        max_connections: int | None = None,
        consumer_expiry: float = 86400.0,
        max_lease: float = 3600.0,
    ) -> None:
        """`housekeeping_interval`: how often (per process and queue) a fetch also moves due
        delayed jobs and takes over expired leases; a fetch about to block always does.
        `consumer_expiry`: `prepare_worker` forgets consumers idle this long without jobs.
        `max_lease`: the longest visibility timeout (longer ones are cut to it); also how long
        a job stays with a worker that died between a blocking read and recording its lease."""
        super().__init__(clock)
        self.url = url
        self.prefix = prefix
        self.reconnect_timeout = reconnect_timeout
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.housekeeping_interval = housekeeping_interval
        self.connect_timeout = connect_timeout
        self.max_connections = max_connections
        self.consumer_expiry = consumer_expiry
        self.max_lease = max_lease
        self._redis: aioredis.Redis | None = None
        self._queues: dict[str, _QueueState] = {}
        self._scripts: dict[str, AsyncScript] = {}
        self._down = False  # an outage was logged and has not been logged as over yet

    # -- keys --------------------------------------------------------------------------------
    def _key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def _stream(self, queue: str) -> str:
        return self._key("q", queue)

    def _delayed(self, queue: str) -> str:
        return self._key("delayed", queue)

    def _dedup(self, queue: str, dedup_key: str) -> str:
        return self._key("dedup", queue, dedup_key)

    def _lock(self, key: str) -> str:
        return self._key("lock", key)

    def _state(self, scope: str, key: str) -> str:
        return self._key("state", _scope_part(scope), key)

    # -- lifecycle ---------------------------------------------------------------------------
    async def connect(self) -> None:
        if self._redis is None:
            self._redis = aioredis.Redis.from_url(
                self.url,
                # Our own retry loop (see _run) decides what is retried and logs it once;
                # redis-py's default retries would stack on top of it.
                retry=Retry(NoBackoff(), 0),
                socket_connect_timeout=self.connect_timeout,
                socket_keepalive=True,
                max_connections=self.max_connections,
            )
        await self._run(self._client.ping)

    async def close(self) -> None:
        client, self._redis = self._redis, None
        self._queues.clear()
        self._scripts.clear()
        if client is not None:
            await client.aclose(close_connection_pool=True)

    async def ping(self) -> float:
        """One PING, no retries: health checks want the truth now."""
        started = time.perf_counter()
        try:
            await asyncio.wait_for(self._client.ping(), self.connect_timeout)
        except (TimeoutError, *TRANSIENT_ERRORS) as exc:
            raise BackendUnavailable(f"redis unreachable: {type(exc).__name__}") from exc
        return time.perf_counter() - started

    async def prepare_worker(self, worker_id: str) -> None:
        """Prune consumers of long-gone workers. Their unfinished jobs need nothing here:
        any fetch takes them over by XAUTOCLAIM once their lease ran out."""
        streams = await self._scan(_glob_escape(self._stream("")) + "*")
        removed = 0
        for start in range(0, len(streams), 500):
            args: list[ScriptArg] = [GROUP, _ms(self.consumer_expiry)]
            removed += int(await self._script(PRUNE_CONSUMERS_LUA, streams[start : start + 500], args))
        if removed:
            log.info("pruned %d idle stream consumers", removed, extra={"backend": "redis"})

    @property
    def _client(self) -> aioredis.Redis:
        if self._redis is None:
            raise BackendUnavailable("RedisBackend is not connected (call connect() first)")
        return self._redis

    async def _run(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run one Redis operation, retrying connection errors with exponential backoff.

        An operation retried after a lost reply may have run already: at-least-once delivery
        makes that safe (a second enqueue of a dedup job is suppressed, a lost XREADGROUP
        reply is redelivered after the lease)."""
        waits = backoff.expo(factor=self.retry_base, max_value=self.retry_cap)
        next(waits)  # backoff's generators yield None first
        failures = 0
        deadline = float("inf")
        while True:
            try:
                result = await operation()
            except TRANSIENT_ERRORS as exc:
                failures += 1
                now = time.monotonic()
                deadline = min(deadline, now + self.reconnect_timeout)
                # A first failure is often a pooled connection gone stale (Redis restarted while
                # it sat idle), and its idle siblings are stale too: drop them and retry at once
                # on a fresh connection. Only a failure of that retry is an outage worth a warning.
                if failures == 1 and now < deadline:
                    await self._drop_idle_connections()
                    continue
                self._note_outage(exc)
                if now >= deadline:
                    raise BackendUnavailable(
                        f"redis unreachable for {self.reconnect_timeout:g}s: {type(exc).__name__}"
                    ) from exc
                wait = next(waits)
                await asyncio.sleep(min(wait / 2 + backoff.full_jitter(wait / 2), deadline - now))
                continue
            if self._down:
                self._down = False
                log.info("redis connection restored", extra={"backend": "redis"})
            return result

    async def _drop_idle_connections(self) -> None:
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.connection_pool.disconnect(inuse_connections=False)

    async def _script(self, lua: str, keys: list[str], args: Sequence[ScriptArg]) -> Any:
        """EVALSHA of one of this module's scripts (redis-py loads it again after NOSCRIPT,
        e.g. after a restart of Redis)."""
        script = self._scripts.get(lua)
        if script is None:
            script = self._scripts[lua] = self._client.register_script(lua)
        return await self._run(lambda: script(keys=keys, args=args))

    def _note_outage(self, exc: BaseException) -> None:
        if not self._down:
            self._down = True
            # The message of a connection error names host and port, never a payload.
            log.warning(
                "redis connection lost, reconnecting with backoff: %s: %s",
                type(exc).__name__,
                exc,
                extra={"backend": "redis"},
            )

    # -- queue: enqueue ----------------------------------------------------------------------
    async def enqueue(self, requests: Sequence[EnqueueRequest]) -> list[str | None]:
        ids: list[str | None] = []
        for start in range(0, len(requests), ENQUEUE_CHUNK):
            ids.extend(await self._enqueue_chunk(requests[start : start + ENQUEUE_CHUNK]))
        return ids

    async def _enqueue_chunk(self, requests: Sequence[EnqueueRequest]) -> list[str | None]:
        if not requests:
            return []
        now = self.clock()
        key_index: dict[str, int] = {}  # Lua KEYS are 1-based

        def index(key: str) -> int:
            return key_index.setdefault(key, len(key_index) + 1)

        args: list[ScriptArg] = []
        job_ids: list[str] = []
        for request in requests:
            job_id = uuid.uuid4().hex
            job_ids.append(job_id)
            if request.delay > 0:
                ready_at = now + request.delay
                header = f"{index(self._delayed(request.queue))} {ready_at!r}"
            else:
                ready_at = now
                header = str(index(self._stream(request.queue)))
            if request.dedup_key is not None:
                dedup = index(self._dedup(request.queue, request.dedup_key))
                header = f"{header} -" if request.delay <= 0 else header
                header += f" {dedup} {_ms(request.dedup_ttl)} {job_id}"
            elif request.delay > 0:
                header += " - - -"
            envelope = _envelope(job_id, request.trace_id, 0, now, ready_at, request.dedup_key, request.data)
            args += [header, envelope]
        created = await self._script(ENQUEUE_LUA, list(key_index), args)
        result: list[str | None] = []
        for request, job_id, flag in zip(requests, job_ids, created, strict=True):
            result.append(job_id if flag == ord("1") else None)
            if flag == ord("1") and request.delay > 0:
                self._note_due(request.queue, now + request.delay)
        return result

    def _lease_idle(self, visibility_timeout: float) -> int:
        """How a lease is stored: Redis keeps no deadline per pending entry, only its idle time,
        and XAUTOCLAIM takes over entries idle for at least `max_lease`. Setting an entry's idle
        time to `max_lease - visibility_timeout` when it is leased (XCLAIM ... IDLE) makes it
        claimable exactly `visibility_timeout` later, whatever timeout the claiming fetch uses."""
        return max(_ms(self.max_lease) - _ms(visibility_timeout), 0)

    def _note_due(self, queue: str, due: float) -> None:
        """Remember a delayed job this process created, so its queue's next fetch after `due`
        moves it at once instead of waiting for the housekeeping interval."""
        state = self._queue(queue)
        if state.next_due is None or due < state.next_due:
            state.next_due = due

    def _queue(self, queue: str) -> _QueueState:
        state = self._queues.get(queue)
        if state is None:
            state = self._queues[queue] = _QueueState()
        return state

    # -- queue: fetch ------------------------------------------------------------------------
    async def fetch(
        self, queue: str, count: int, visibility_timeout: float, worker_id: str, block: float = 0.0
    ) -> list[Job]:
        if count <= 0:
            return []
        jobs = await self._fetch_once(queue, count, visibility_timeout, worker_id, force=False)
        if jobs or block <= 0:
            return jobs
        deadline = time.monotonic() + block
        while True:
            # Always move due jobs and take over expired leases before going to sleep.
            jobs = await self._fetch_once(queue, count, visibility_timeout, worker_id, force=True)
            if jobs:
                return jobs
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            # A blocking XREADGROUP only wakes for new entries: wake up for the next delayed job.
            next_due = self._queue(queue).next_due
            if next_due is not None:
                remaining = min(remaining, max(next_due - self.clock(), 0.001))
            jobs = await self._blocking_read(queue, count, visibility_timeout, worker_id, remaining)
            if jobs or time.monotonic() >= deadline:
                return jobs

    async def _fetch_once(
        self, queue: str, count: int, visibility_timeout: float, worker_id: str, force: bool
    ) -> list[Job]:
        state = self._queue(queue)
        if not state.group_ready:
            await self._ensure_group(queue)
        now_mono, now = time.monotonic(), self.clock()
        housekeeping = (
            force
            or now_mono - state.last_housekeeping >= self.housekeeping_interval
            or (state.next_due is not None and now >= state.next_due)
        )
        keys = [self._stream(queue), self._delayed(queue)]
        args: list[ScriptArg] = [
            GROUP,
            worker_id,
            count,
            repr(now),
            "1" if housekeeping else "0",
            _ms(self.max_lease),
            state.claim_cursor,
            self._lease_idle(visibility_timeout),
        ]
        try:
            raw = await self._script(FETCH_LUA, keys, args)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # The stream or its group vanished (key deleted, Redis lost its data): recreate.
            await self._ensure_group(queue)
            raw = await self._script(FETCH_LUA, keys, args)
        if housekeeping:
            cursor, next_due, _ = raw.split(b"\n", 2)
            state.last_housekeeping = now_mono
            state.claim_cursor = cursor.decode()
            state.next_due = float(next_due) if next_due else None
        return self._parse_fetch(queue, raw, worker_id)

    @staticmethod
    def _parse_fetch(queue: str, raw: bytes, worker_id: str) -> list[Job]:
        lines = raw.split(b"\n")
        claimed_end = 3 + 3 * int(lines[2])
        jobs = [
            _job(queue, lines[i], lines[i + 2], int(lines[i + 1]), worker_id)
            for i in range(3, claimed_end, 3)
        ]
        jobs += [_job(queue, lines[i], lines[i + 1], 1, worker_id) for i in range(claimed_end, len(lines), 2)]
        return jobs

    async def _blocking_read(
        self, queue: str, count: int, visibility_timeout: float, worker_id: str, wait: float
    ) -> list[Job]:
        """Block in XREADGROUP; what arrives gets its lease in a second round trip (a worker
        dying in between leaves the job leased for `max_lease`)."""
        stream = self._stream(queue)

        async def read() -> Any:
            return await self._client.xreadgroup(
                GROUP, worker_id, {stream: ">"}, count=count, block=_ms(wait)
            )

        try:
            reply = await self._run(read)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self._queue(queue).group_ready = False
            return []
        if not reply:
            return []
        entries = reply[0][1]
        lease_idle = self._lease_idle(visibility_timeout)
        if lease_idle:
            ids = [entry_id for entry_id, _ in entries]
            await self._run(
                lambda: self._client.xclaim(stream, GROUP, worker_id, 0, ids, idle=lease_idle, justid=True)
            )
        return [_job(queue, entry_id, fields[b"j"], 1, worker_id) for entry_id, fields in entries]

    async def _ensure_group(self, queue: str) -> None:
        """Create the consumer group reading from the stream's start, so jobs enqueued before
        the first worker ever fetched are delivered too."""

        async def create() -> None:
            try:
                await self._client.xgroup_create(self._stream(queue), GROUP, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

        await self._run(create)
        self._queue(queue).group_ready = True

    # -- queue: leases, ack, retry, dead letters ---------------------------------------------
    async def extend_lease(self, jobs: Sequence[Job], visibility_timeout: float) -> None:
        """Lease the jobs for `visibility_timeout` from now (see _lease_idle), unless another
        worker has taken them over meanwhile."""
        for (queue, consumer), entry_ids in self._by_queue_and_consumer(jobs).items():
            args: list[ScriptArg] = [GROUP, consumer, self._lease_idle(visibility_timeout), *entry_ids]
            await self._script(EXTEND_LUA, [self._stream(queue)], args)

    async def ack(self, jobs: Sequence[Job]) -> None:
        by_queue = self._by_queue(jobs)
        if by_queue:
            keys = [self._stream(queue) for queue in by_queue]
            await self._script(ACK_LUA, keys, [GROUP, *(" ".join(ids) for ids in by_queue.values())])

    async def retry(self, job: Job, delay: float, error: str) -> None:
        now = self.clock()
        ready_at = now + max(delay, 0.0)
        # base = attempt: the next delivery (delivery count 1 in the new entry) is attempt + 1.
        envelope = _envelope(
            job.id,
            job.trace_id,
            job.attempt,
            job.enqueued_at,
            ready_at,
            job.dedup_key,
            job.data,
            error[:2000],
        )
        stream = self._stream(job.queue)

        async def run() -> None:
            pipe = self._client.pipeline(transaction=True)
            if isinstance(job.receipt, _Receipt):
                pipe.xack(stream, GROUP, job.receipt.entry_id)
                pipe.xdel(stream, job.receipt.entry_id)
            if delay > 0:
                pipe.zadd(self._delayed(job.queue), {envelope: ready_at})
            else:
                pipe.xadd(stream, {"j": envelope})
            await pipe.execute()

        await self._run(run)
        if delay > 0:
            self._note_due(job.queue, ready_at)

    async def dead_letter(self, job: Job, error: str) -> None:
        failed_at = self.clock()
        record = _dumps(
            {
                "queue": job.queue,
                "data": job.data,
                "trace_id": job.trace_id,
                "attempts": job.attempt,
                "error": error,
                "failed_at": failed_at,
            }
        )
        entry_id = job.receipt.entry_id if isinstance(job.receipt, _Receipt) else ""
        keys = [self._stream(job.queue), *self._dead_keys()]
        args: list[ScriptArg] = [GROUP, entry_id, job.id, record, failed_at, job.queue]
        await self._script(DEAD_LUA, keys, args)

    def _dead_keys(self) -> list[str]:
        return [self._key("dead"), self._key("dead", "index"), self._key("dead", "count")]

    async def release_dedup(self, queue: str, dedup_key: str) -> None:
        await self._run(lambda: self._client.delete(self._dedup(queue, dedup_key)))

    async def list_dead(self, limit: int = 100) -> list[DeadLetter]:
        if limit <= 0:
            return []
        ids = await self._dead_ids(limit - 1)
        return [letter for letter in await self._dead_letters(ids) if letter is not None]

    async def _dead_ids(self, end: int) -> list[str]:
        """Dead letter ids, oldest failure first (`end` -1: all)."""
        ids = await self._run(lambda: self._client.zrange(self._key("dead", "index"), 0, end))
        return [_text(i) for i in cast(list[bytes], ids)]

    async def _dead_letters(self, ids: Sequence[bytes | str]) -> list[DeadLetter | None]:
        if not ids:
            return []
        records = await self._run(lambda: self._client.hmget(self._key("dead"), list(ids)))
        letters: list[DeadLetter | None] = []
        for job_id, record in zip(ids, records, strict=True):
            if record is None:  # replayed meanwhile
                letters.append(None)
                continue
            fields = json.loads(record)
            letters.append(
                DeadLetter(
                    id=_text(job_id),
                    queue=fields["queue"],
                    data=fields["data"],
                    trace_id=fields["trace_id"],
                    attempts=fields["attempts"],
                    error=fields["error"],
                    failed_at=fields["failed_at"],
                )
            )
        return letters

    async def replay_dead(self, ids: Sequence[str] | None = None) -> int:
        if ids is None:
            ids = await self._dead_ids(-1)
        replayed = 0
        for start in range(0, len(ids), ENQUEUE_CHUNK):
            replayed += await self._replay_chunk(ids[start : start + ENQUEUE_CHUNK])
        return replayed

    async def _replay_chunk(self, ids: Sequence[str]) -> int:
        letters = [letter for letter in await self._dead_letters(ids) if letter is not None]
        if not letters:
            return 0
        now = self.clock()
        keys = self._dead_keys()
        args: list[ScriptArg] = []
        stream_index: dict[str, int] = {}
        for letter in letters:
            if letter.queue not in stream_index:
                keys.append(self._stream(letter.queue))
                stream_index[letter.queue] = len(keys)  # Lua KEYS are 1-based
            # base 0: the replayed job starts a fresh life with attempt 1.
            envelope = _envelope(letter.id, letter.trace_id, 0, now, now, None, letter.data)
            args += [letter.id, letter.queue, stream_index[letter.queue], envelope]
        return int(await self._script(REPLAY_LUA, keys, args))

    async def queue_stats(self, queues: Sequence[str]) -> list[QueueStats]:
        if not queues:
            return []

        async def counts() -> list[Any]:
            pipe = self._client.pipeline(transaction=False)
            for queue in queues:
                pipe.xlen(self._stream(queue))
                pipe.xinfo_groups(self._stream(queue))
                pipe.zcard(self._delayed(queue))
                pipe.hget(self._key("dead", "count"), queue)
            return list(await pipe.execute(raise_on_error=False))

        raw = await self._run(counts)
        rows = []
        for i, queue in enumerate(queues):
            length, groups, delayed, dead = raw[4 * i : 4 * i + 4]
            group = self._our_group(groups)
            pending = int(group["pending"]) if group else 0
            last_id = _text(group["last-delivered-id"]) if group else "0-0"
            rows.append(
                (queue, max(int(length) - pending, 0), pending, int(delayed), int(dead or 0), last_id)
            )
        oldest = await self._oldest_ready(rows)
        return [
            QueueStats(queue, depth, in_flight, delayed, dead, oldest.get(queue))
            for queue, depth, in_flight, delayed, dead, _ in rows
        ]

    async def list_delayed(self, queues: Sequence[str], limit: int = 100) -> list[DelayedJob]:
        async def ranges() -> list[Any]:
            pipe = self._client.pipeline(transaction=False)
            for queue in queues:
                pipe.zrange(self._delayed(queue), 0, limit - 1, withscores=True)
            return list(await pipe.execute())

        out: list[DelayedJob] = []
        for queue, members in zip(queues, await self._run(ranges), strict=True):
            for envelope, score in members:
                job_id, trace_id, base, _enqueued, _ready, _dedup, data, *rest = json.loads(envelope)
                out.append(
                    DelayedJob(job_id, queue, data, trace_id, base, float(score), rest[0] if rest else None)
                )
        return sorted(out, key=lambda j: j.run_at)[:limit]

    @staticmethod
    def _our_group(groups: Any) -> dict[str, Any] | None:
        if isinstance(groups, Exception):  # no stream yet
            return None
        for group in groups:
            if _text(group["name"]) == GROUP:
                return dict(group)
        return None

    async def _oldest_ready(self, rows: Iterable[tuple[str, int, int, int, int, str]]) -> dict[str, float]:
        """Age of the first entry after the group's last delivered id, from its envelope's
        ready time (backend clock)."""
        waiting = [(queue, last_id) for queue, depth, _, _, _, last_id in rows if depth > 0]
        if not waiting:
            return {}

        async def first_entries() -> list[Any]:
            pipe = self._client.pipeline(transaction=False)
            for queue, last_id in waiting:
                pipe.xrange(self._stream(queue), min=f"({last_id}", max="+", count=1)
            return list(await pipe.execute())

        now = self.clock()
        ages = {}
        for (queue, _), entries in zip(waiting, await self._run(first_entries), strict=True):
            if entries:
                ready_at = json.loads(entries[0][1][b"j"])[4]
                ages[queue] = max(now - ready_at, 0.0)
        return ages

    @staticmethod
    def _by_queue(jobs: Iterable[Job]) -> dict[str, list[str]]:
        by_queue: dict[str, list[str]] = {}
        for job in jobs:
            if isinstance(job.receipt, _Receipt):
                by_queue.setdefault(job.queue, []).append(job.receipt.entry_id)
        return by_queue

    @staticmethod
    def _by_queue_and_consumer(jobs: Iterable[Job]) -> dict[tuple[str, str], list[str]]:
        groups: dict[tuple[str, str], list[str]] = {}
        for job in jobs:
            if isinstance(job.receipt, _Receipt):
                groups.setdefault((job.queue, job.receipt.consumer), []).append(job.receipt.entry_id)
        return groups

    # -- cron --------------------------------------------------------------------------------
    async def claim_cron_tick(self, cron_name: str, tick: float, ttl: float) -> bool:
        tick_text = repr(float(tick))
        keys = [self._key("cron", cron_name, tick_text), self._key("cronlast", cron_name)]
        args: list[ScriptArg] = [uuid.uuid4().hex, _ms(ttl), tick_text]
        return bool(await self._script(CRON_LUA, keys, args))

    async def get_cron_last_tick(self, cron_name: str) -> float | None:
        value = await self._run(lambda: self._client.get(self._key("cronlast", cron_name)))
        return None if value is None else float(value)

    # -- locks -------------------------------------------------------------------------------
    async def acquire_lock(self, key: str, owner: str, ttl: float) -> bool:
        return bool(await self._run(lambda: self._client.set(self._lock(key), owner, nx=True, px=_ms(ttl))))

    async def extend_lock(self, key: str, owner: str, ttl: float) -> bool:
        return bool(await self._script(LOCK_EXTEND_LUA, [self._lock(key)], [owner, _ms(ttl)]))

    async def release_lock(self, key: str, owner: str) -> bool:
        return bool(await self._script(LOCK_RELEASE_LUA, [self._lock(key)], [owner]))

    async def force_release_lock(self, key: str) -> bool:
        return bool(await self._run(lambda: self._client.delete(self._lock(key))))

    async def list_locks(self, prefix: str = "") -> list[LockInfo]:
        lock_prefix = self._lock("")
        names = await self._scan(_glob_escape(lock_prefix + prefix) + "*")
        if not names:
            return []

        async def owners_and_ttls() -> list[Any]:
            pipe = self._client.pipeline(transaction=False)
            for name in names:
                pipe.get(name)
                pipe.pttl(name)
            return list(await pipe.execute())

        raw = await self._run(owners_and_ttls)
        now = self.clock()
        locks = []
        for i, name in enumerate(names):
            owner, pttl = raw[2 * i], raw[2 * i + 1]
            if owner is None or pttl < 0:  # released meanwhile (locks always carry a TTL)
                continue
            locks.append(LockInfo(name[len(lock_prefix) :], _text(owner), now + pttl / 1000))
        return sorted(locks, key=lambda lock: lock.key)

    async def _scan(self, pattern: str) -> list[str]:
        async def scan() -> list[str]:
            return [_text(name) async for name in self._client.scan_iter(match=pattern, count=1000)]

        return sorted(set(await self._run(scan)))

    # -- key-value state ---------------------------------------------------------------------
    # One key per (scope, key) with Redis's own TTL: exact expiry without bookkeeping, at the
    # price of a SCAN for state_items (meant for small scopes and operator views).
    async def state_get(self, scope: str, key: str) -> Any | None:
        value = await self._run(lambda: self._client.get(self._state(scope, key)))
        return None if value is None else json.loads(value)

    async def state_set(self, scope: str, key: str, value: Any, ttl: float | None = None) -> None:
        px = None if ttl is None else _ms(ttl)
        await self._run(lambda: self._client.set(self._state(scope, key), _dumps(value), px=px))

    async def state_set_if_absent(self, scope: str, key: str, value: Any, ttl: float | None = None) -> bool:
        px = None if ttl is None else _ms(ttl)
        name = self._state(scope, key)
        return bool(await self._run(lambda: self._client.set(name, _dumps(value), nx=True, px=px)))

    async def state_delete(self, scope: str, key: str) -> bool:
        return bool(await self._run(lambda: self._client.delete(self._state(scope, key))))

    async def state_items(self, scope: str) -> dict[str, Any]:
        scope_prefix = self._state(scope, "")
        names = await self._scan(_glob_escape(scope_prefix) + "*")
        items: dict[str, Any] = {}
        for start in range(0, len(names), 1000):
            chunk = names[start : start + 1000]
            values = await self._mget(chunk)
            for name, value in zip(chunk, values, strict=True):
                if value is not None:  # expired between SCAN and MGET
                    items[name[len(scope_prefix) :]] = json.loads(value)
        return items

    async def _mget(self, names: list[str]) -> list[bytes | None]:
        return cast(list[bytes | None], await self._run(lambda: self._client.mget(names)))

    # -- priority set ------------------------------------------------------------------------
    async def zadd(self, name: str, member: str, score: float) -> None:
        await self._run(lambda: self._client.zadd(self._key("z", name), {member: score}))

    async def zrange(self, name: str, limit: int | None = None) -> list[tuple[str, float]]:
        if limit is not None and limit <= 0:
            return []
        end = -1 if limit is None else limit - 1
        pairs = await self._run(lambda: self._client.zrange(self._key("z", name), 0, end, withscores=True))
        return [(_text(member), float(score)) for member, score in cast(list[tuple[bytes, float]], pairs)]

    async def zrem(self, name: str, member: str) -> bool:
        return bool(await self._run(lambda: self._client.zrem(self._key("z", name), member)))
