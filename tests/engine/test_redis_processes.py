"""The Redis backend with real processes and a real `redis-server` (AOF on): many api and worker
processes share one server and nothing is lost. A worker killed mid-job, a cron on three
workers, SIGTERM with jobs in flight, a Redis restart, 1,000 webhook-style requests across
two api and two worker processes, the operator CLI, and `/health`.

Every test starts its own redis-server in its tmp_path; the `service_processes` fixture and the
`redis` fixture kill every process at teardown. Each worker process records to its own file
(`$EXAMPLE_RECORD_FILE`), so a test can tell which process ran what.
"""

from __future__ import annotations

import json
import signal
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.engine.example_steps._record import read_records
from tests.fixtures.redis_server import RedisServer
from tests.fixtures.service_process import ServiceProcess, base_env, free_port, run_cli, service_processes  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.redis]
EXAMPLES = "tests/engine/example_steps"
LOST = "redis connection lost, reconnecting with backoff"
RESTORED = "redis connection restored"


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test alone (AOF everysec) in tmp_path, killed at teardown."""
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory=str(directory))
    server.start()
    try:
        yield server
    finally:
        server.close()


def env_for(tmp_path: Path, server: RedisServer, record: str = "rec.jsonl", **extra: str) -> dict[str, str]:
    return base_env(
        STEPS_DIRS=json.dumps([EXAMPLES]),
        ENGINE_BACKEND="redis",
        REDIS_URL=server.url,
        REDIS_PREFIX="proc-test",
        ENGINE_DB_PATH=str(tmp_path / "unused-embedded.db"),
        HTTP_PORT=str(free_port()),
        EXAMPLE_RECORD_FILE=str(tmp_path / record),
        SHUTDOWN_GRACE_SECONDS="10",
        VISIBILITY_TIMEOUT_SECONDS="2",
        **extra,
    )


def spawn(
    tmp_path: Path,
    procs: list[ServiceProcess],
    server: RedisServer,
    role: str,
    name: str,
    port: int | None = None,
    record: str = "rec.jsonl",
) -> ServiceProcess:
    """Start `bitbylaw run --role ROLE --backend redis` (not waiting for it: see `ready`)."""
    args = ["run", "--role", role, "--backend", "redis"]
    if port is not None:
        args += ["--port", str(port)]
    p = ServiceProcess(args, env_for(tmp_path, server, record), tmp_path / f"{name}.log").start()
    procs.append(p)
    return p


def ready(proc: ServiceProcess, port: int | None = None) -> ServiceProcess:
    if port is not None:
        proc.wait_http(port, timeout=30)
    proc.wait_log("engine started", timeout=30)
    return proc


def post(port: int, path: str, body: dict[str, Any], timeout: float = 10.0) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, json.loads(r.read())


def get_health(port: int) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_until(predicate, timeout: float = 20.0, what: str = "condition", detail=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} not met within {timeout}s" + (f": {detail()}" if detail else ""))


def cli(args: list[str], env: dict[str, str]) -> str:
    result = run_cli([*args, "--backend", "redis"], env, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout


def queue_table(env: dict[str, str]) -> dict[str, dict[str, int]]:
    """`bitbylaw queues --backend redis` parsed: queue -> depth, flight, delay, dead."""
    lines = cli(["queues"], env).splitlines()
    assert lines[0].split() == ["queue", "depth", "flight", "delay", "dead", "oldest"]
    table = {}
    for line in lines[1:]:
        name, depth, flight, delay, dead, _oldest = line.split()
        table[name] = {"depth": int(depth), "flight": int(flight), "delay": int(delay), "dead": int(dead)}
    return table


def dead_letters(env: dict[str, str]) -> list[dict[str, Any]]:
    return json.loads(cli(["dlq", "list", "--json"], env))


def assert_drained(env: dict[str, str]) -> None:
    for name, row in queue_table(env).items():
        assert row == {"depth": 0, "flight": 0, "delay": 0, "dead": 0}, (name, row)


@pytest.mark.timeout(60)
def test_worker_killed_mid_job_another_worker_takes_it_over(tmp_path, redis, service_processes):
    port = free_port()
    api = spawn(tmp_path, service_processes, redis, "api", "api", port)
    first = spawn(tmp_path, service_processes, redis, "worker", "first", record="first.jsonl")
    ready(api, port), ready(first)
    post(port, "/ingest", {"items": [{"n": 30, "topic": "demo.slow"}]})  # a 3 s handler
    wait_until(lambda: read_records(tmp_path / "first.jsonl", "example-slow") != [], what="first start")
    second = ready(spawn(tmp_path, service_processes, redis, "worker", "second", record="second.jsonl"))
    first.signal(signal.SIGKILL)
    first.wait(10)
    killed_at = time.monotonic()
    # VISIBILITY_TIMEOUT_SECONDS=2 (the step's own timeout is 300 s): the second worker claims the
    # job once the dead worker's lease ran out — within about one visibility timeout — as delivery 2.
    wait_until(
        lambda: any(r["event"] == "start" for r in read_records(tmp_path / "second.jsonl", "example-slow")),
        timeout=20,
        what="second worker took the job over",
    )
    assert time.monotonic() - killed_at < 10  # not the step timeout + 5 (305 s)
    wait_until(
        lambda: any(r["event"] == "done" for r in read_records(tmp_path / "second.jsonl", "example-slow")),
        timeout=20,
        what="second worker finished the job",
    )
    first_runs = read_records(tmp_path / "first.jsonl", "example-slow")
    second_runs = read_records(tmp_path / "second.jsonl", "example-slow")
    assert [(r["event"], r["attempt"]) for r in first_runs] == [("start", 1)]
    assert [(r["event"], r["attempt"]) for r in second_runs] == [("start", 2), ("done", 2)]
    env = env_for(tmp_path, redis)
    wait_until(lambda: queue_table(env)["demo.slow::example-slow"]["flight"] == 0, what="ack")
    assert_drained(env)
    assert dead_letters(env) == []
    assert second.proc is not None and second.proc.poll() is None


@pytest.mark.timeout(60)
def test_cron_on_three_workers_runs_each_tick_exactly_once(tmp_path, redis, service_processes):
    workers = [
        spawn(tmp_path, service_processes, redis, "worker", f"w{i}", record=f"w{i}.jsonl") for i in range(3)
    ]
    for w in workers:
        ready(w)
    time.sleep(10)
    for w in workers:
        w.signal(signal.SIGTERM)
    assert [w.wait(20) for w in workers] == [0, 0, 0]
    per_worker = [
        [r["tick"] for r in read_records(tmp_path / f"w{i}.jsonl", "example-tick")] for i in range(3)
    ]
    ticks = sorted(t for ticks in per_worker for t in ticks)
    duplicates = [t for t, n in Counter(ticks).items() if n > 1]
    assert duplicates == [], f"ticks run more than once: {duplicates}"
    assert len(ticks) >= 9, ticks
    gaps = [(a, b) for a, b in zip(ticks, ticks[1:], strict=False) if b - a != 1.0]
    assert gaps == [], f"missed ticks between {gaps}"


@pytest.mark.timeout(60)
def test_sigterm_lets_in_flight_jobs_finish_then_exits_zero(tmp_path, redis, service_processes):
    port = free_port()
    api = spawn(tmp_path, service_processes, redis, "api", "api", port)
    worker = spawn(tmp_path, service_processes, redis, "worker", "worker")
    ready(api, port), ready(worker)
    rec = tmp_path / "rec.jsonl"
    post(port, "/ingest", {"items": [{"n": 10, "topic": "demo.slow"}, {"n": 15, "topic": "demo.slow"}]})
    wait_until(lambda: len(read_records(rec, "example-slow")) == 2, what="both jobs started")
    worker.signal(signal.SIGTERM)
    assert worker.wait(20) == 0
    assert sorted(r["n"] for r in read_records(rec, "example-slow") if r["event"] == "done") == [10, 15]
    assert "shutdown requested" in worker.output() and "engine stopped" in worker.output()
    # Acks were flushed before the exit: nothing left in flight to be run a second time.
    assert_drained(env_for(tmp_path, redis))


@pytest.mark.timeout(90)
def test_redis_restart_workers_reconnect_log_once_and_every_job_runs(tmp_path, redis, service_processes):
    port = free_port()
    api = spawn(tmp_path, service_processes, redis, "api", "api", port)
    workers = [
        spawn(tmp_path, service_processes, redis, "worker", f"w{i}", record=f"w{i}.jsonl") for i in range(2)
    ]
    ready(api, port)
    for w in workers:
        ready(w)
    delayed = [{"n": i, "delay": 2.0} for i in range(20)]
    busy = [{"n": 20, "topic": "demo.slow"}, {"n": 21, "topic": "demo.slow"}]  # 2 s handlers
    assert post(port, "/ingest", {"items": delayed + busy})[0] == 202

    def slow(event: str) -> list[int]:
        rows = [r for i in range(2) for r in read_records(tmp_path / f"w{i}.jsonl", "example-slow")]
        return sorted(r["n"] for r in rows if r["event"] == event)

    wait_until(lambda: slow("start") == [20, 21], what="slow jobs started")
    redis.stop()  # graceful: the AOF is fsynced
    # A webhook arriving during the outage waits for Redis instead of failing.
    during: dict[str, Any] = {}
    late = threading.Thread(
        target=lambda: during.update(r=post(port, "/ingest", {"items": [{"n": 100}]}, timeout=30))
    )
    late.start()
    time.sleep(2.5)  # past the delayed jobs' due time and the slow jobs' end
    redis.start()
    late.join(30)
    assert during["r"] == (202, {"enqueued": 1, "deduplicated": 0})

    def seen(step: str) -> list[int]:
        return sorted(r["n"] for i in range(2) for r in read_records(tmp_path / f"w{i}.jsonl", step))

    expected = [*range(20), 100]
    wait_until(lambda: seen("example-record") == expected and seen("example-audit") == expected, timeout=30)
    wait_until(lambda: slow("done") == [20, 21], what="slow jobs finished")
    env = env_for(tmp_path, redis)
    wait_until(
        lambda: all(r["flight"] == 0 for r in queue_table(env).values()),
        what="acks after restart",
        detail=lambda: queue_table(env),
    )
    assert_drained(env)
    # Each process logs the outage once and its end once (a process whose every operation is
    # in a backoff wait notices the end up to one backoff step, <= 2 s, late).
    for proc in [api, *workers]:
        wait_until(lambda p=proc: RESTORED in p.output(), timeout=10, what="restore logged")
    time.sleep(1.0)
    for proc in [api, *workers]:
        out = proc.output()
        assert (out.count(LOST), out.count(RESTORED)) == (1, 1), out
    assert slow("start") == [20, 21], "a job in flight across the restart was delivered twice"


@pytest.mark.timeout(120)
def test_thousand_webhooks_two_api_two_workers_every_job_once(tmp_path, redis, service_processes):
    ports = [free_port(), free_port()]
    apis = [spawn(tmp_path, service_processes, redis, "api", f"api{i}", ports[i]) for i in range(2)]
    workers = [
        spawn(tmp_path, service_processes, redis, "worker", f"w{i}", record=f"w{i}.jsonl") for i in range(2)
    ]
    for api, port in zip(apis, ports, strict=True):
        ready(api, port)
    for w in workers:
        ready(w)
    n = 1000

    def send(i: int) -> tuple[int, dict[str, Any]]:
        return post(ports[i % 2], "/ingest", {"items": [{"n": i}]})

    with ThreadPoolExecutor(16) as pool:
        replies = list(pool.map(send, range(n)))
    assert replies == [(202, {"enqueued": 1, "deduplicated": 0})] * n

    def seen(step: str) -> list[list[int]]:
        return [[r["n"] for r in read_records(tmp_path / f"w{i}.jsonl", step)] for i in range(2)]

    def complete() -> bool:
        return all(sum(map(len, seen(step))) >= n for step in ("example-record", "example-audit"))

    wait_until(complete, timeout=60, what="all jobs ran")
    time.sleep(0.5)  # a duplicate delivery would show up now
    for step in ("example-record", "example-audit"):
        per_worker = seen(step)
        assert sorted(per_worker[0] + per_worker[1]) == list(range(n)), f"{step}: lost or duplicated jobs"
    assert all(per_worker), "both worker processes took jobs"
    env = env_for(tmp_path, redis)
    assert dead_letters(env) == []
    assert_drained(env)


@pytest.mark.timeout(90)
def test_operator_cli_queues_and_dead_letters_against_redis(tmp_path, redis, service_processes):
    port = free_port()
    api = ready(spawn(tmp_path, service_processes, redis, "api", "api", port), port)
    env = env_for(tmp_path, redis)
    items = [
        {"n": 1},
        {"n": 2},
        {"n": 3, "delay": 600},
        {"n": 10, "topic": "demo.flaky"},
        {"n": 11, "topic": "demo.flaky"},
        {"n": 60, "topic": "demo.slow"},
    ]
    post(port, "/ingest", {"items": items})
    # No worker yet: everything waits in its queue.
    table = queue_table(env)
    assert table["demo.item::example-record"] == {"depth": 2, "flight": 0, "delay": 1, "dead": 0}
    assert table["demo.item::example-audit"] == {"depth": 2, "flight": 0, "delay": 1, "dead": 0}
    assert table["demo.flaky::example-flaky"] == {"depth": 2, "flight": 0, "delay": 0, "dead": 0}
    assert table["demo.slow::example-slow"] == {"depth": 1, "flight": 0, "delay": 0, "dead": 0}

    ready(spawn(tmp_path, service_processes, redis, "worker", "worker"))
    rec = tmp_path / "rec.jsonl"
    wait_until(lambda: len(dead_letters(env)) == 2, timeout=30, what="two dead letters")
    table = queue_table(env)
    assert table["demo.item::example-record"] == {"depth": 0, "flight": 0, "delay": 1, "dead": 0}
    assert table["demo.flaky::example-flaky"] == {"depth": 0, "flight": 0, "delay": 0, "dead": 2}
    assert table["demo.slow::example-slow"] == {"depth": 0, "flight": 1, "delay": 0, "dead": 0}
    dead = dead_letters(env)
    assert {d["queue"] for d in dead} == {"demo.flaky::example-flaky"}
    assert [d["attempts"] for d in dead] == [4, 4]
    assert all(d["error"].startswith("RuntimeError at ") and "flaky_step.py:" in d["error"] for d in dead)
    assert len(read_records(rec, "example-flaky")) == 8

    replay = cli(["dlq", "replay", dead[0]["id"]], env)
    assert "replayed 1 job(s)" in replay
    wait_until(lambda: len(read_records(rec, "example-flaky")) == 12, what="replayed job ran 4 times")
    wait_until(lambda: len(dead_letters(env)) == 2, what="replayed job dead again")
    runs = [r["attempt"] for r in read_records(rec, "example-flaky")[8:]]
    assert runs == [1, 2, 3, 4], "a replayed job starts with a fresh retry budget"

    replay_all = cli(["dlq", "replay", "--all"], env)
    assert "replayed 2 job(s)" in replay_all
    wait_until(lambda: len(read_records(rec, "example-flaky")) == 20, what="both replayed jobs ran")
    wait_until(lambda: len(dead_letters(env)) == 2, what="both dead again")
    unknown = run_cli(["dlq", "replay", "does-not-exist", "--backend", "redis"], env)
    assert unknown.returncode == 2 and "no dead letter" in unknown.stderr
    wait_until(lambda: queue_table(env)["demo.slow::example-slow"]["flight"] == 0, what="6 s job acked")
    assert api.proc is not None and api.proc.poll() is None


@pytest.mark.timeout(60)
def test_health_reports_redis_and_answers_503_when_it_is_down(tmp_path, redis, service_processes):
    port = free_port()
    ready(spawn(tmp_path, service_processes, redis, "api", "api", port), port)
    status, body = get_health(port)
    assert status == 200 and body["status"] == "ok"
    backend = body["backend"]
    assert backend["name"] == "redis" and backend["reachable"] is True
    assert isinstance(backend["latency_ms"], int | float) and 0 <= backend["latency_ms"] < 1000
    redis.stop()
    status, body = get_health(port)
    assert status == 503 and body["status"] == "down"
    assert body["backend"]["name"] == "redis" and body["backend"]["reachable"] is False
    redis.start()
    wait_until(lambda: get_health(port)[0] == 200, timeout=15, what="healthy again after restart")
