"""Engine benchmark (not a test): throughput of the step engine beside raw baselines measured
in the same run.

  python scripts/bench_engine.py [--jobs 20000] [--seconds 5] [--redis]

1. Embedded backend: N no-op jobs through the real worker (durable: committed to SQLite in WAL
   mode before the ack), vs a bare `asyncio.Queue` producer/consumer loop.
2. HTTP: requests/s of a no-op HTTP step vs a bare aiohttp JSON handler, each served by its
   own process and loaded by the same client.
3. With --redis: the Redis backend (see scripts/bench_redis.py for the bare Streams ceiling).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.backends.base import Backend, EnqueueRequest, queue_name  # noqa: E402
from engine.backends.embedded import EmbeddedBackend  # noqa: E402
from engine.registry import load_steps  # noqa: E402
from engine.worker import Worker  # noqa: E402

NOOP_STEPS = {
    "noop_queue_step.py": """
        from engine import QueueConfig, queue
        config = {"name": "noop", "triggers": [queue("bench.noop", config=QueueConfig(concurrency=100))]}
        async def handler(data, ctx):
            return None
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
    for i in range(0, n, batch):
        await backend.enqueue([EnqueueRequest(q, {"n": j}, "bench") for j in range(i, min(i + batch, n))])
    while True:
        (stats,) = await backend.queue_stats([q])
        if stats.depth == 0 and stats.in_flight == 0 and stats.delayed == 0 and worker.in_flight == 0:
            break
        await asyncio.sleep(0.01)
    await worker.acks.flush()
    elapsed = time.perf_counter() - start
    await worker.stop(5)
    await backend.close()
    return n / elapsed


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


async def load_http(port: int, seconds: float, concurrency: int = 32) -> float:
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
        return count / (time.perf_counter() - start)


async def http_rate(code: str, args: list[str], seconds: float) -> float:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", code, str(port), *args], env=env, cwd=ROOT)
    try:
        return await load_http(port, seconds)
    finally:
        proc.terminate()
        proc.wait(10)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--redis", action="store_true", help="also measure the Redis backend")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        steps_dir = write_steps(Path(tmp))
        print(f"jobs: {args.jobs} no-op jobs, enqueued in batches of {args.batch}")
        base = await bare_queue(args.jobs, args.batch)
        print(f"  bare asyncio.Queue loop        {base:10.0f} jobs/s")
        emb = await engine_jobs(EmbeddedBackend(Path(tmp) / "jobs.db"), steps_dir, args.jobs, args.batch)
        print(f"  engine, embedded (SQLite WAL)  {emb:10.0f} jobs/s  ({emb / base:.3f} x bare)")
        if args.redis:
            await redis_jobs(steps_dir, args.jobs, args.batch)
        print(f"http: no-op POST, 32 concurrent clients, {args.seconds:.0f} s each")
        bare = await http_rate(BARE_SERVER, [], args.seconds)
        print(f"  bare aiohttp handler           {bare:10.0f} req/s")
        step = await http_rate(ENGINE_SERVER, [str(steps_dir), str(Path(tmp) / "http.db")], args.seconds)
        print(f"  engine http step               {step:10.0f} req/s  ({step / bare:.2f} x bare)")


async def redis_jobs(steps_dir: Path, n: int, batch: int) -> None:
    from engine.backends.redis import RedisBackend
    from tests.fixtures.redis_server import RedisServer

    with tempfile.TemporaryDirectory() as data:
        server = RedisServer(Path(data))
        server.start()
        try:
            rate = await engine_jobs(RedisBackend(server.url, prefix="bench"), steps_dir, n, batch)
            print(f"  engine, redis (AOF everysec)   {rate:10.0f} jobs/s")
        finally:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
