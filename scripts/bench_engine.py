"""Engine benchmark (not a test): throughput of the step engine beside raw baselines measured
in the same run.

  python scripts/bench_engine.py [--jobs 20000] [--seconds 2] [--rounds 11] [--redis]

1. Embedded backend: N no-op jobs through the real worker (durable: committed to SQLite in WAL
   mode before the ack), vs a bare `asyncio.Queue` producer/consumer loop.
2. HTTP: requests/s of a no-op HTTP step (the whole edge: trace id, metrics, body deadline,
   bounded JSON, handler timeout) vs a bare aiohttp JSON handler, each served by its own
   process and loaded by the same client in alternating slices (`--rounds` of `--seconds`);
   the figure is the median of the per-slice ratios, so load from elsewhere on the machine
   skews both sides alike.
3. With --redis (a redis-server started here in a temporary directory, AOF everysec, stopped
   at the end): the Redis backend in this process; no-op jobs/s drained by 1 and by 2 worker
   PROCESSES (`bitbylaw run --role worker --backend redis`), the jobs enqueued by this script in
   batches, timed from the first enqueue until the queue is drained; enqueue-to-start latency
   (one job at a time, a worker process idle, time from before `enqueue()` to the handler's
   start); beside a bare redis-py XADD/XREADGROUP/XACK loop with the same batch size
   (`scripts/bench_redis.py`), measured against the same server in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.backends.base import Backend, EnqueueRequest, queue_name  # noqa: E402
from engine.backends.embedded import EmbeddedBackend  # noqa: E402
from engine.backends.redis import RedisBackend  # noqa: E402
from engine.registry import load_steps  # noqa: E402
from engine.worker import Worker  # noqa: E402

NOOP_STEPS = {
    "noop_queue_step.py": """
        from engine import QueueConfig, queue
        config = {"name": "noop", "triggers": [queue("bench.noop", config=QueueConfig(concurrency=100))]}
        async def handler(data, ctx):
            return None
    """,
    "latency_step.py": """
        import os, time
        import redis.asyncio as aioredis
        from engine import queue
        config = {"name": "latency", "triggers": [queue("bench.latency")]}
        _client = None
        async def handler(data, ctx):
            started = time.time()
            global _client
            if _client is None:
                _client = aioredis.Redis.from_url(os.environ["REDIS_URL"])
            await _client.rpush(os.environ["REDIS_PREFIX"] + ":bench-latency", repr(started - data["t"]))
    """,
    "noop_http_step.py": """
        from engine import http
        config = {"name": "noop-http", "triggers": [http("POST", "/noop")]}
        async def handler(request, ctx):
            return {"ok": True}
    """,
}


def write_steps(directory: Path) -> Path:
    for name, body in NOOP_STEPS.items():
        (directory / name).write_text(textwrap.dedent(body))
    return directory


async def bare_queue(n: int, batch: int) -> float:
    q: asyncio.Queue[dict[str, int]] = asyncio.Queue()
    done = asyncio.Event()
    count = 0

    async def noop(_: dict[str, int]) -> None:
        return None

    async def consumer() -> None:
        nonlocal count
        while True:
            item = await q.get()
            await noop(item)
            count += 1
            if count == n:
                done.set()

    workers = [asyncio.create_task(consumer()) for _ in range(100)]
    start = time.perf_counter()
    for i in range(0, n, batch):
        for j in range(i, min(i + batch, n)):
            q.put_nowait({"n": j})
        await asyncio.sleep(0)
    await done.wait()
    elapsed = time.perf_counter() - start
    for w in workers:
        w.cancel()
    return n / elapsed


async def engine_jobs(backend: Backend, steps_dir: Path, n: int, batch: int) -> float:
    steps = load_steps([steps_dir])
    await backend.connect()
    q = queue_name("bench.noop", "noop")
    worker = Worker(backend, [s for s in steps if s.name == "noop"], "bench", poll_block=0.05)
    await worker.start()
    start = time.perf_counter()
    await enqueue_noops(backend, q, n, batch)
    await wait_drained(backend, q, 0.01, lambda: worker.in_flight == 0)
    await worker.acks.flush()
    elapsed = time.perf_counter() - start
    await worker.stop(5)
    await backend.close()
    return n / elapsed


async def enqueue_noops(backend: Backend, q: str, n: int, batch: int) -> None:
    for i in range(0, n, batch):
        await backend.enqueue([EnqueueRequest(q, {"n": j}, "bench") for j in range(i, min(i + batch, n))])


async def wait_drained(
    backend: Backend, q: str, poll_s: float, idle: Callable[[], bool] = lambda: True
) -> None:
    """Until the queue holds nothing ready, in flight or delayed (and `idle()` holds)."""
    while True:
        (stats,) = await backend.queue_stats([q])
        if stats.depth == 0 and stats.in_flight == 0 and stats.delayed == 0 and idle():
            return
        await asyncio.sleep(poll_s)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


BARE_SERVER = """
import sys
from aiohttp import web
async def noop(request):
    await request.read()
    return web.json_response({"ok": True})
app = web.Application()
app.router.add_post("/noop", noop)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""

ENGINE_SERVER = """
import asyncio, sys
from engine.backends.embedded import EmbeddedBackend
from engine.registry import load_steps
from engine.runtime import Engine, EngineOptions
steps = [s for s in load_steps([sys.argv[2]]) if s.name == "noop-http"]
engine = Engine(EmbeddedBackend(sys.argv[3]), steps, EngineOptions(role="api", port=int(sys.argv[1])))
asyncio.run(engine.run_until_signal())
"""


async def load_http(port: int, seconds: float, concurrency: int = 32) -> tuple[float, int]:
    """(requests/s, requests served) of `seconds` of load, after the server answered once."""
    url = f"http://127.0.0.1:{port}/noop"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        for _ in range(100):
            with contextlib.suppress(aiohttp.ClientError):
                async with session.post(url, json={"a": 1}) as r:
                    if r.status == 200:
                        break
            await asyncio.sleep(0.1)
        count = 0
        deadline = time.perf_counter() + seconds

        async def client() -> None:
            nonlocal count
            while time.perf_counter() < deadline:
                async with session.post(url, json={"a": 1}) as r:
                    await r.read()
                    count += 1

        start = time.perf_counter()
        await asyncio.gather(*[client() for _ in range(concurrency)])
        return count / (time.perf_counter() - start), count


def start_server(code: str, args: list[str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, cwd=ROOT)


async def http_comparison(steps_dir: Path, tmp: Path, seconds: float, rounds: int) -> None:
    """Both servers run side by side; they are loaded in turn, `rounds` slices of `seconds`
    each, and each engine slice is compared with the bare slice just before it. The median of
    those ratios is the figure: load from elsewhere on the machine drifts slower than a slice."""
    print(f"http: no-op POST, 32 concurrent clients, {rounds} alternating slices of {seconds:g} s")
    ports = free_port(), free_port()
    procs = [
        start_server(BARE_SERVER, [str(ports[0])]),
        start_server(ENGINE_SERVER, [str(ports[1]), str(steps_dir), str(tmp / "http.db")]),
    ]
    try:
        bares, steps, cpu = [], [], {0: [0.0, 0], 1: [0.0, 0]}
        for _ in range(rounds):
            for i, rates in ((0, bares), (1, steps)):
                before = cpu_seconds(procs[i].pid)
                rate, served = await load_http(ports[i], seconds)
                rates.append(rate)
                cpu[i][0] += cpu_seconds(procs[i].pid) - before
                cpu[i][1] += served
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
    ratios = [s / b for s, b in zip(steps, bares, strict=True)]
    ratio = statistics.median(ratios)
    us = [cpu[i][0] / max(cpu[i][1], 1) * 1e6 for i in (0, 1)]
    for label, rates, cpu_us in (("bare aiohttp handler", bares, us[0]), ("engine http step", steps, us[1])):
        print(
            f"  {label:30} {statistics.median(rates):10.0f} req/s  (median; {cpu_us:.0f} us server CPU/req)"
        )
    print(f"  engine / bare, per slice: {', '.join(f'{r:.2f}' for r in ratios)}; median {ratio:.2f} x bare")
    print(f"  target >= 0.8 x bare: {'met' if ratio >= 0.8 else 'MISSED'}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one HTTP load slice")
    parser.add_argument("--rounds", type=int, default=11, help="alternating HTTP load slices")
    parser.add_argument("--redis", action="store_true", help="also measure the Redis backend")
    parser.add_argument("--samples", type=int, default=300, help="latency samples (--redis)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        steps_dir = write_steps(Path(tmp))
        print(f"jobs: {args.jobs} no-op jobs, enqueued in batches of {args.batch}")
        base = await bare_queue(args.jobs, args.batch)
        print(f"  bare asyncio.Queue loop        {base:10.0f} jobs/s")
        emb = await engine_jobs(EmbeddedBackend(Path(tmp) / "jobs.db"), steps_dir, args.jobs, args.batch)
        print(f"  engine, embedded (SQLite WAL)  {emb:10.0f} jobs/s  ({emb / base:.3f} x bare)")
        if args.redis:
            await redis_jobs(steps_dir, args.jobs, args.batch, args.samples)
        await http_comparison(steps_dir, Path(tmp), args.seconds, args.rounds)


async def redis_jobs(steps_dir: Path, n: int, batch: int, samples: int) -> None:
    import redis.asyncio as aioredis

    from scripts.bench_redis import bench_bare_streams, bench_latency
    from tests.fixtures.redis_server import RedisServer

    with RedisServer() as server:  # AOF on, appendfsync everysec, own temporary directory
        await bench_bare_streams(server.url, min(n, 2000), batch)  # warm up server and client
        # The bare loop runs between the engine runs; its median is the reference, so a burst
        # of load from elsewhere on the machine skews both sides alike.
        bares = [await bench_bare_streams(server.url, n, batch)]
        local = await engine_jobs(RedisBackend(server.url, prefix="bench"), steps_dir, n, batch)
        bares.append(await bench_bare_streams(server.url, n, batch))
        by_procs = {}
        for procs in (1, 2):
            by_procs[procs] = await redis_worker_processes(server.url, steps_dir, procs, n, batch)
            bares.append(await bench_bare_streams(server.url, n, batch))
        bare = statistics.median(bares)
        runs = ", ".join(f"{b:.0f}" for b in bares)
        print(f"  {'bare redis-py XADD/XREADGROUP/XACK loop':46} {bare:10.0f} jobs/s  (median of {runs})")
        rows = [("engine, redis, worker in this process", local)]
        rows += [
            (f"engine, redis, {k} worker process{'es' if k > 1 else ''}", v) for k, v in by_procs.items()
        ]
        for label, rate in rows:
            print(f"  {label:46} {rate:10.0f} jobs/s  ({rate / bare:.2f} x bare)")
        worst = min(by_procs.values()) / bare
        print(f"  target >= 0.5 x bare with worker processes: {'met' if worst >= 0.5 else 'MISSED'}")
        p50, p99 = await redis_latency(server.url, steps_dir, samples)
        print(f"latency: enqueue -> start, one job at a time into an idle consumer, {samples} samples")
        latency_row("engine: handler start in a worker process", p50, p99)
        latency_row("backend alone: blocked fetch returns", *await bench_latency(server.url, samples))
        print(f"  target p99 < 20 ms: {'met' if p99 < 0.020 else 'MISSED'}")
        client = aioredis.Redis.from_url(server.url)
        info = await client.info("persistence")
        await client.aclose()
        print(f"  redis-server: aof_enabled={info['aof_enabled']}, appendfsync everysec")


def latency_row(label: str, p50: float, p99: float) -> None:
    print(f"  {label:46} p50 {p50 * 1000:6.2f} ms   p99 {p99 * 1000:6.2f} ms")


def start_workers(url: str, prefix: str, steps_dir: Path, count: int) -> list[subprocess.Popen[bytes]]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ENGINE_", "HTTP_", "REDIS_"))},
        "PYTHONPATH": str(ROOT),
        "STEPS_DIRS": json.dumps([str(steps_dir)]),
        "REDIS_URL": url,
        "REDIS_PREFIX": prefix,
        "LOG_LEVEL": "WARNING",
        "SHUTDOWN_GRACE_SECONDS": "5",
        "WORKER_METRICS_PORT": "0",  # several workers on this host: none serves /metrics
    }
    cmd = [sys.executable, "-m", "cli.main", "run", "--role", "worker", "--backend", "redis"]
    return [subprocess.Popen(cmd, env=env, cwd=ROOT) for _ in range(count)]


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


async def wait_workers(backend: RedisBackend, count: int) -> None:
    """Until `count` worker processes wait for jobs: each blocks in XREADGROUP on each of its
    two queues (bench.noop, bench.latency) when idle."""
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline:
        info = await backend._client.info("clients")
        if int(info["blocked_clients"]) >= 2 * count:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{count} worker process(es) did not start")


async def redis_worker_processes(url: str, steps_dir: Path, count: int, n: int, batch: int) -> float:
    """No-op jobs/s drained by `count` worker processes: enqueue n jobs in batches (as fast as
    Redis takes them) and time until the queue is empty and nothing is in flight."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    q = queue_name("bench.noop", "noop")
    backend = RedisBackend(url, prefix=prefix)
    await backend.connect()
    procs = start_workers(url, prefix, steps_dir, count)
    try:
        await wait_workers(backend, count)
        start = time.perf_counter()
        await enqueue_noops(backend, q, n, batch)
        await wait_drained(backend, q, 0.005)
        return n / (time.perf_counter() - start)
    finally:
        stop_workers(procs)
        await backend.close()


async def redis_latency(url: str, steps_dir: Path, samples: int) -> tuple[float, float]:
    """(p50, p99) seconds from just before `enqueue()` of one job to its handler starting in an
    idle worker process; the next job is enqueued only after the previous one started."""
    import redis.asyncio as aioredis

    from scripts.bench_redis import p50_p99

    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    q = queue_name("bench.latency", "latency")
    backend = RedisBackend(url, prefix=prefix)
    await backend.connect()
    client = aioredis.Redis.from_url(url)
    procs = start_workers(url, prefix, steps_dir, 1)
    latencies: list[float] = []
    try:
        await wait_workers(backend, 1)
        for _ in range(samples + 10):  # the first 10 warm up the worker
            await asyncio.sleep(0.01)  # let the worker get back into its blocking read
            await backend.enqueue([EnqueueRequest(q, {"t": time.time()}, "bench")])
            reply = await client.blpop([f"{prefix}:bench-latency"], timeout=10)
            if reply is None:
                raise RuntimeError("latency job did not start within 10 s")
            latencies.append(float(reply[1]))
    finally:
        stop_workers(procs)
        await client.aclose()
        await backend.close()
    return p50_p99(latencies[10:])


if __name__ == "__main__":
    asyncio.run(main())
