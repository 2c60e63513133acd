"""The embedded backend: everything in one SQLite file, nothing to install.

Queued and delayed jobs, dead letters, locks, dedup keys, cron ticks, state and priority sets
survive a restart because they are rows in `data/engine.db` (WAL mode; a job is committed before
`enqueue` returns and deleted only when acked).

Design notes:
- A job row's `run_at` is the time it may be delivered. Leasing a job moves `run_at` to the end
  of the lease, so an expired lease (its worker died) simply makes the job ready again: one index
  `(queue, run_at)` serves ready jobs, delayed jobs, retries and redeliveries alike.
- All SQLite work runs in one dedicated thread (one connection, serialised), so the event loop
  never blocks on disk and no two coroutines interleave inside a transaction.
- Only one worker process may consume from a file (an OS file lock held while it runs, released
  by the kernel if the process dies); on start it makes every leased job ready again, so a job
  that was running when the process died runs again at once. CLI processes (dlq, locks, sync of
  one record) may use the same file concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from .base import (
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

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY, queue TEXT NOT NULL, data TEXT NOT NULL, trace_id TEXT NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 0, enqueued_at REAL NOT NULL, run_at REAL NOT NULL,
  lease_owner TEXT, dedup_key TEXT, last_error TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_queue_run_at ON jobs (queue, run_at);
CREATE TABLE IF NOT EXISTS dedup (
  queue TEXT NOT NULL, key TEXT NOT NULL, expires_at REAL NOT NULL, PRIMARY KEY (queue, key)
);
CREATE TABLE IF NOT EXISTS dead (
  id TEXT PRIMARY KEY, queue TEXT NOT NULL, data TEXT NOT NULL, trace_id TEXT NOT NULL,
  attempts INTEGER NOT NULL, error TEXT NOT NULL, failed_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_by_queue ON dead (queue);
CREATE TABLE IF NOT EXISTS cron_ticks (
  name TEXT NOT NULL, tick REAL NOT NULL, expires_at REAL NOT NULL, PRIMARY KEY (name, tick)
);
CREATE TABLE IF NOT EXISTS cron_last (name TEXT PRIMARY KEY, tick REAL NOT NULL);
CREATE TABLE IF NOT EXISTS locks (key TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS state (
  scope TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, expires_at REAL,
  PRIMARY KEY (scope, key)
);
CREATE TABLE IF NOT EXISTS zsets (
  name TEXT NOT NULL, member TEXT NOT NULL, score REAL NOT NULL, PRIMARY KEY (name, member)
);
CREATE INDEX IF NOT EXISTS zsets_by_score ON zsets (name, score);
"""


class EmbeddedBackend(Backend):
    name = "embedded"

    def __init__(self, path: str | Path, clock: Clock | None = None, synchronous: str = "NORMAL") -> None:
        super().__init__(clock)
        self.path = Path(path)
        self.synchronous = synchronous
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._wakeups: dict[str, asyncio.Event] = {}
        self._worker_lock_fd: int | None = None

    # -- plumbing ----------------------------------------------------------------------------
    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._executor is None or self._conn is None:
            raise BackendUnavailable("embedded backend is not connected")
        conn = self._conn
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, conn)
        except sqlite3.OperationalError as exc:
            raise BackendUnavailable(f"SQLite {self.path}: {exc}") from exc

    async def _tx(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` in one IMMEDIATE transaction (committed before returning)."""

        def work(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return await self._run(work)

    def _wake(self, queue: str) -> None:
        event = self._wakeups.get(queue)
        if event is not None:
            event.set()

    # -- lifecycle ---------------------------------------------------------------------------
    async def connect(self) -> None:
        if self._conn is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="engine-sqlite")

        def open_conn() -> sqlite3.Connection:
            conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
            _enable_wal(conn)
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute("PRAGMA busy_timeout=10000")
            conn.executescript(SCHEMA)
            return conn

        loop = asyncio.get_running_loop()
        self._conn = await loop.run_in_executor(self._executor, open_conn)

    async def close(self) -> None:
        if self._conn is not None and self._executor is not None:
            conn = self._conn
            await asyncio.get_running_loop().run_in_executor(self._executor, conn.close)
        self._conn = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        if self._worker_lock_fd is not None:
            os.close(self._worker_lock_fd)  # releases the flock
            self._worker_lock_fd = None

    async def ping(self) -> float:
        start = self.clock()
        await self._run(lambda c: c.execute("SELECT 1").fetchone())
        return max(self.clock() - start, 0.0)

    async def prepare_worker(self, worker_id: str) -> None:
        lock_path = str(self.path) + ".worker.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise BackendUnavailable(
                f"another worker already consumes {self.path}; the embedded backend runs one "
                "worker process per database file (use the redis backend to scale out)"
            ) from exc
        self._worker_lock_fd = fd
        now = self.clock()
        # The previous worker of this file is gone: its leased jobs run again right away.
        await self._tx(
            lambda c: c.execute(
                "UPDATE jobs SET run_at = ?, lease_owner = NULL WHERE lease_owner IS NOT NULL",
                (now,),
            )
        )

    # -- queue -------------------------------------------------------------------------------
    async def enqueue(self, requests: Sequence[EnqueueRequest]) -> list[str | None]:
        now = self.clock()

        def work(conn: sqlite3.Connection) -> list[str | None]:
            ids: list[str | None] = []
            for req in requests:
                if req.dedup_key is not None and not _claim_dedup(conn, req, now):
                    ids.append(None)
                    continue
                job_id = uuid.uuid4().hex
                conn.execute(
                    "INSERT INTO jobs (id, queue, data, trace_id, enqueued_at, run_at, dedup_key)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        job_id,
                        req.queue,
                        json.dumps(req.data),
                        req.trace_id,
                        now,
                        now + max(req.delay, 0.0),
                        req.dedup_key,
                    ),
                )
                ids.append(job_id)
            return ids

        ids = await self._tx(work)
        for req in requests:
            self._wake(req.queue)
        return ids

    async def fetch(
        self, queue: str, count: int, visibility_timeout: float, worker_id: str, block: float = 0.0
    ) -> list[Job]:
        deadline = self.clock() + block
        while True:
            jobs = await self._lease(queue, count, visibility_timeout, worker_id)
            remaining = deadline - self.clock()
            if jobs or remaining <= 0:
                return jobs
            await self._wait(queue, remaining)

    async def _lease(self, queue: str, count: int, vt: float, worker_id: str) -> list[Job]:
        now = self.clock()

        def work(conn: sqlite3.Connection) -> list[Job]:
            rows = conn.execute(
                "UPDATE jobs SET run_at = ?, lease_owner = ?, attempt = attempt + 1"
                " WHERE id IN (SELECT id FROM jobs WHERE queue = ? AND run_at <= ?"
                "              ORDER BY run_at LIMIT ?)"
                " RETURNING id, queue, data, trace_id, attempt, enqueued_at, dedup_key",
                (now + vt, worker_id, queue, now, count),
            ).fetchall()
            return [
                Job(
                    id=r[0],
                    queue=r[1],
                    data=json.loads(r[2]),
                    trace_id=r[3],
                    attempt=r[4],
                    enqueued_at=r[5],
                    dedup_key=r[6],
                    receipt=worker_id,
                )
                for r in sorted(rows, key=lambda r: r[5])
            ]

        return await self._tx(work)

    async def _wait(self, queue: str, remaining: float) -> None:
        """Sleep until an enqueue in this process wakes us or the next job of the queue (delayed,
        retried or leased) is due; cap at `remaining`."""
        next_due = await self._run(
            lambda c: c.execute("SELECT MIN(run_at) FROM jobs WHERE queue = ?", (queue,)).fetchone()[0]
        )
        timeout = remaining if next_due is None else min(remaining, max(next_due - self.clock(), 0.001))
        event = self._wakeups.setdefault(queue, asyncio.Event())
        event.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    async def extend_lease(self, jobs: Sequence[Job], visibility_timeout: float) -> None:
        until = self.clock() + visibility_timeout
        await self._tx(
            lambda c: c.executemany(
                "UPDATE jobs SET run_at = ? WHERE id = ? AND lease_owner = ?",
                [(until, j.id, j.receipt) for j in jobs],
            )
        )

    async def ack(self, jobs: Sequence[Job]) -> None:
        if jobs:
            await self._tx(lambda c: c.executemany("DELETE FROM jobs WHERE id = ?", [(j.id,) for j in jobs]))

    async def retry(self, job: Job, delay: float, error: str) -> None:
        run_at = self.clock() + max(delay, 0.0)
        await self._tx(
            lambda c: c.execute(
                "UPDATE jobs SET run_at = ?, lease_owner = NULL, last_error = ? WHERE id = ?",
                (run_at, error[:2000], job.id),
            )
        )
        self._wake(job.queue)

    async def dead_letter(self, job: Job, error: str) -> None:
        now = self.clock()

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM jobs WHERE id = ?", (job.id,))
            conn.execute(
                "INSERT OR REPLACE INTO dead (id, queue, data, trace_id, attempts, error, failed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (job.id, job.queue, json.dumps(job.data), job.trace_id, job.attempt, error[:4000], now),
            )

        await self._tx(work)

    async def release_dedup(self, queue: str, dedup_key: str) -> None:
        await self._tx(
            lambda c: c.execute("DELETE FROM dedup WHERE queue = ? AND key = ?", (queue, dedup_key))
        )

    async def list_dead(self, limit: int = 100) -> list[DeadLetter]:
        rows = await self._run(
            lambda c: c.execute(
                "SELECT id, queue, data, trace_id, attempts, error, failed_at FROM dead"
                " ORDER BY failed_at LIMIT ?",
                (limit,),
            ).fetchall()
        )
        return [DeadLetter(r[0], r[1], json.loads(r[2]), r[3], r[4], r[5], r[6]) for r in rows]

    async def replay_dead(self, ids: Sequence[str] | None = None) -> int:
        now = self.clock()

        def work(conn: sqlite3.Connection) -> list[str]:
            if ids is None:
                rows = conn.execute("SELECT id, queue, data, trace_id FROM dead").fetchall()
            else:
                marks = ",".join("?" * len(ids))
                rows = conn.execute(
                    f"SELECT id, queue, data, trace_id FROM dead WHERE id IN ({marks})", list(ids)
                ).fetchall()
            for job_id, queue, data, trace_id in rows:
                conn.execute(
                    "INSERT INTO jobs (id, queue, data, trace_id, enqueued_at, run_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (job_id, queue, data, trace_id, now, now),
                )
                conn.execute("DELETE FROM dead WHERE id = ?", (job_id,))
            return [r[1] for r in rows]

        queues = await self._tx(work)
        for queue in set(queues):
            self._wake(queue)
        return len(queues)

    async def queue_stats(self, queues: Sequence[str]) -> list[QueueStats]:
        now = self.clock()

        def work(conn: sqlite3.Connection) -> list[QueueStats]:
            # One pass over the jobs and one over the dead letters, grouped by queue.
            jobs = {
                row[0]: row[1:]
                for row in conn.execute(
                    "SELECT queue, COALESCE(SUM(run_at <= ?1), 0),"
                    " MIN(CASE WHEN run_at <= ?1 THEN enqueued_at END),"
                    " COALESCE(SUM(run_at > ?1 AND lease_owner IS NOT NULL), 0),"
                    " COALESCE(SUM(run_at > ?1 AND lease_owner IS NULL), 0) FROM jobs GROUP BY queue",
                    {"1": now},  # a named parameter: sqlite3 warns about ?1 bound from a tuple
                )
            }
            dead = dict(conn.execute("SELECT queue, COUNT(*) FROM dead GROUP BY queue").fetchall())
            out = []
            for q in queues:
                ready, oldest, in_flight, delayed = jobs.get(q, (0, None, 0, 0))
                age = None if oldest is None else max(now - oldest, 0.0)
                out.append(QueueStats(q, ready, in_flight, delayed, dead.get(q, 0), age))
            return out

        return await self._run(work)

    async def list_delayed(self, queues: Sequence[str], limit: int = 100) -> list[DelayedJob]:
        if not queues:
            return []
        now = self.clock()
        marks = ",".join("?" * len(queues))
        rows = await self._run(
            lambda c: c.execute(
                "SELECT id, queue, data, trace_id, attempt, run_at, last_error FROM jobs"
                f" WHERE queue IN ({marks}) AND run_at > ? AND lease_owner IS NULL ORDER BY run_at LIMIT ?",
                (*queues, now, limit),
            ).fetchall()
        )
        return [DelayedJob(r[0], r[1], json.loads(r[2]), r[3], r[4], r[5], r[6]) for r in rows]

    # -- cron --------------------------------------------------------------------------------
    async def claim_cron_tick(self, cron_name: str, tick: float, ttl: float) -> bool:
        now = self.clock()

        def work(conn: sqlite3.Connection) -> bool:
            conn.execute("DELETE FROM cron_ticks WHERE expires_at < ?", (now,))
            cur = conn.execute(
                "INSERT OR IGNORE INTO cron_ticks (name, tick, expires_at) VALUES (?, ?, ?)",
                (cron_name, tick, now + ttl),
            )
            if cur.rowcount != 1:
                return False
            conn.execute(
                "INSERT INTO cron_last (name, tick) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET tick = MAX(tick, excluded.tick)",
                (cron_name, tick),
            )
            return True

        return await self._tx(work)

    async def get_cron_last_tick(self, cron_name: str) -> float | None:
        row = await self._run(
            lambda c: c.execute("SELECT tick FROM cron_last WHERE name = ?", (cron_name,)).fetchone()
        )
        return None if row is None else float(row[0])

    # -- locks -------------------------------------------------------------------------------
    async def acquire_lock(self, key: str, owner: str, ttl: float) -> bool:
        now = self.clock()

        def work(conn: sqlite3.Connection) -> bool:
            conn.execute("DELETE FROM locks WHERE key = ? AND expires_at <= ?", (key, now))
            cur = conn.execute(
                "INSERT OR IGNORE INTO locks (key, owner, expires_at) VALUES (?, ?, ?)",
                (key, owner, now + ttl),
            )
            return cur.rowcount == 1

        return await self._tx(work)

    async def extend_lock(self, key: str, owner: str, ttl: float) -> bool:
        now = self.clock()
        cur = await self._tx(
            lambda c: c.execute(
                "UPDATE locks SET expires_at = ? WHERE key = ? AND owner = ? AND expires_at > ?",
                (now + ttl, key, owner, now),
            )
        )
        return cur.rowcount == 1

    async def release_lock(self, key: str, owner: str) -> bool:
        now = self.clock()
        cur = await self._tx(
            lambda c: c.execute(
                "DELETE FROM locks WHERE key = ? AND owner = ? AND expires_at > ?", (key, owner, now)
            )
        )
        return cur.rowcount == 1

    async def force_release_lock(self, key: str) -> bool:
        cur = await self._tx(lambda c: c.execute("DELETE FROM locks WHERE key = ?", (key,)))
        return cur.rowcount == 1

    async def list_locks(self, prefix: str = "") -> list[LockInfo]:
        now = self.clock()
        rows = await self._run(
            lambda c: c.execute(
                "SELECT key, owner, expires_at FROM locks WHERE expires_at > ? AND substr(key, 1, ?) = ?"
                " ORDER BY key",
                (now, len(prefix), prefix),
            ).fetchall()
        )
        return [LockInfo(*r) for r in rows]

    # -- state -------------------------------------------------------------------------------
    async def state_get(self, scope: str, key: str) -> Any | None:
        now = self.clock()
        row = await self._run(
            lambda c: c.execute(
                "SELECT value FROM state WHERE scope = ? AND key = ?"
                " AND (expires_at IS NULL OR expires_at > ?)",
                (scope, key, now),
            ).fetchone()
        )
        return None if row is None else json.loads(row[0])

    async def state_set(self, scope: str, key: str, value: Any, ttl: float | None = None) -> None:
        expires = None if ttl is None else self.clock() + ttl
        await self._tx(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO state (scope, key, value, expires_at) VALUES (?, ?, ?, ?)",
                (scope, key, json.dumps(value), expires),
            )
        )

    async def state_set_if_absent(self, scope: str, key: str, value: Any, ttl: float | None = None) -> bool:
        now = self.clock()
        expires = None if ttl is None else now + ttl

        def work(conn: sqlite3.Connection) -> bool:
            conn.execute(
                "DELETE FROM state WHERE scope = ? AND key = ? AND expires_at <= ?", (scope, key, now)
            )
            cur = conn.execute(
                "INSERT OR IGNORE INTO state (scope, key, value, expires_at) VALUES (?, ?, ?, ?)",
                (scope, key, json.dumps(value), expires),
            )
            return cur.rowcount == 1

        return await self._tx(work)

    async def state_delete(self, scope: str, key: str) -> bool:
        cur = await self._tx(
            lambda c: c.execute("DELETE FROM state WHERE scope = ? AND key = ?", (scope, key))
        )
        return cur.rowcount == 1

    async def state_items(self, scope: str) -> dict[str, Any]:
        now = self.clock()
        rows = await self._run(
            lambda c: c.execute(
                "SELECT key, value FROM state WHERE scope = ? AND (expires_at IS NULL OR expires_at > ?)",
                (scope, now),
            ).fetchall()
        )
        return {k: json.loads(v) for k, v in rows}

    # -- priority sets -----------------------------------------------------------------------
    async def zadd(self, name: str, member: str, score: float) -> None:
        await self._tx(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO zsets (name, member, score) VALUES (?, ?, ?)",
                (name, member, score),
            )
        )

    async def zrange(self, name: str, limit: int | None = None) -> list[tuple[str, float]]:
        rows = await self._run(
            lambda c: c.execute(
                "SELECT member, score FROM zsets WHERE name = ? ORDER BY score, member LIMIT ?",
                (name, -1 if limit is None else limit),
            ).fetchall()
        )
        return [(m, float(s)) for m, s in rows]

    async def zrem(self, name: str, member: str) -> bool:
        cur = await self._tx(
            lambda c: c.execute("DELETE FROM zsets WHERE name = ? AND member = ?", (name, member))
        )
        return cur.rowcount == 1


def _claim_dedup(conn: sqlite3.Connection, req: EnqueueRequest, now: float) -> bool:
    conn.execute(
        "DELETE FROM dedup WHERE queue = ? AND key = ? AND expires_at <= ?",
        (req.queue, req.dedup_key, now),
    )
    cur = conn.execute(
        "INSERT OR IGNORE INTO dedup (queue, key, expires_at) VALUES (?, ?, ?)",
        (req.queue, req.dedup_key, now + req.dedup_ttl),
    )
    return cur.rowcount == 1


def _enable_wal(conn: sqlite3.Connection, tries: int = 100) -> None:
    """A concurrent switch of a new file to WAL fails at once with `database is locked` (no
    busy wait), e.g. a CLI command and the service opening a fresh file together. Retry briefly."""
    for attempt in range(tries):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == tries - 1:
                raise
            time.sleep(0.05)
