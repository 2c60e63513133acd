"""Benchmark of the Redis backend against a bare redis-py Streams loop.

Runs stand-alone: starts its own redis-server (AOF, appendfsync everysec, free port, temporary
directory), measures, prints, stops the server.

    .venv/bin/python scripts/bench_redis.py [--n 20000] [--batch 100] [--samples 500]

(a) bare redis-py: per batch one pipeline of XADDs, XREADGROUP COUNT batch, XACK of the batch
    (no XDEL, no lease, no payload encoding: the floor of what Streams cost from redis-py).
(b) RedisBackend: per batch enqueue(batch requests), fetch(count=batch), ack(batch).
Both use the same batch size (DECISIONS 20). Latency: one job at a time, a consumer blocked in
fetch, time from enqueue() to fetch() returning it.

The measuring functions are importable (`bench_bare_streams`, `bench_backend`,
`bench_latency`, `p50_p99`) so `scripts/bench_engine.py` can reuse them.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis.asyncio as aioredis

from engine.backends.base import EnqueueRequest, queue_name
from engine.backends.redis import RedisBackend
from tests.fixtures.redis_server import RedisServer

QUEUE = queue_name("bench.noop", "consume")


async def bench_bare_streams(url: str, n: int, batch: int) -> float:
    """Jobs/s of a bare redis-py XADD (pipelined batch) → XREADGROUP COUNT batch → XACK loop."""
    client = aioredis.Redis.from_url(url)
    stream = f"bench-bare:{uuid.uuid4().hex}"
    try:
        await client.xgroup_create(stream, "g", id="0", mkstream=True)
        started = time.perf_counter()
        done = 0
        while done < n:
            size = min(batch, n - done)
            pipe = client.pipeline(transaction=False)
            for i in range(size):
                pipe.xadd(stream, {"j": f'{{"i":{done + i}}}'})
            await pipe.execute()
            reply = await client.xreadgroup("g", "c", {stream: ">"}, count=size)
            ids = [entry_id for entry_id, _ in reply[0][1]]
            await client.xack(stream, "g", *ids)
            done += len(ids)
        elapsed = time.perf_counter() - started
        await client.delete(stream)
        return n / elapsed
    finally:
        await client.aclose()


async def bench_backend(url: str, n: int, batch: int) -> float:
    """Jobs/s of RedisBackend enqueue(batch) → fetch(count=batch) → ack(batch)."""
    backend = RedisBackend(url, prefix=f"bench-{uuid.uuid4().hex[:8]}")
    await backend.connect()
    try:
        started = time.perf_counter()
        done = 0
        while done < n:
            size = min(batch, n - done)
            await backend.enqueue([EnqueueRequest(QUEUE, {"i": done + i}, "bench") for i in range(size)])
            jobs = await backend.fetch(QUEUE, size, 30.0, "bench-worker")
            await backend.ack(jobs)
            done += len(jobs)
        return n / (time.perf_counter() - started)
    finally:
        await backend.close()


async def bench_latency(url: str, samples: int) -> tuple[float, float]:
    """(p50, p99) seconds from enqueue() to a blocked fetch() returning the job, one at a time."""
    producer = RedisBackend(url, prefix=f"bench-{uuid.uuid4().hex[:8]}")
    consumer = RedisBackend(url, prefix=producer.prefix)
    await producer.connect()
    await consumer.connect()
    latencies: list[float] = []
    try:
        await consumer.fetch(QUEUE, 1, 30.0, "lat-worker")  # create the group before timing
        for i in range(samples):
            waiting = asyncio.create_task(consumer.fetch(QUEUE, 1, 30.0, "lat-worker", block=5.0))
            await asyncio.sleep(0.002)  # let the consumer reach its blocking read
            started = time.perf_counter()
            await producer.enqueue([EnqueueRequest(QUEUE, {"i": i}, "bench")])
            jobs = await waiting
            latencies.append(time.perf_counter() - started)
            await consumer.ack(jobs)
    finally:
        await producer.close()
        await consumer.close()
    return p50_p99(latencies)


def p50_p99(samples: list[float]) -> tuple[float, float]:
    quantiles = statistics.quantiles(samples, n=100)
    return quantiles[49], quantiles[98]


async def run(url: str, n: int, batch: int, samples: int, rounds: int = 3) -> dict[str, float]:
    """Alternate the two loops `rounds` times and take each one's median, so a burst of load
    from other processes on the machine does not decide the ratio."""
    await bench_bare_streams(url, min(n, 2000), batch)  # warm up server and client
    bare, backend = [], []
    for _ in range(rounds):
        bare.append(await bench_bare_streams(url, n, batch))
        backend.append(await bench_backend(url, n, batch))
    p50, p99 = await bench_latency(url, samples)
    bare_rate, backend_rate = statistics.median(bare), statistics.median(backend)
    return {
        "bare": bare_rate,
        "backend": backend_rate,
        "ratio": backend_rate / bare_rate,
        "p50": p50,
        "p99": p99,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="no-op jobs per throughput run")
    parser.add_argument("--batch", type=int, default=100, help="batch size of both loops")
    parser.add_argument("--samples", type=int, default=500, help="latency samples")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (median is shown)")
    args = parser.parse_args()
    with RedisServer() as server:
        result = asyncio.run(run(server.url, args.n, args.batch, args.samples, args.rounds))
    print(f"redis-server AOF everysec, N={args.n}, batch={args.batch}, median of {args.rounds} rounds")
    print(f"(a) bare redis-py XADD/XREADGROUP/XACK : {result['bare']:10.0f} jobs/s")
    print(f"(b) RedisBackend enqueue/fetch/ack     : {result['backend']:10.0f} jobs/s")
    print(f"    ratio (b)/(a)                      : {result['ratio']:10.2f}")
    print(
        f"enqueue→fetch latency, one at a time   : p50 {result['p50'] * 1000:.2f} ms, "
        f"p99 {result['p99'] * 1000:.2f} ms ({args.samples} samples)"
    )


if __name__ == "__main__":
    main()
