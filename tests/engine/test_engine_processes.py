"""The embedded engine as a real process: SIGKILL mid-handler, SIGTERM with jobs in flight,
restart with queued/delayed jobs and dead letters, cron once per tick with at most one
catch-up, and the operator CLI (`dlq list`, `dlq replay`, `queues`)."""

from __future__ import annotations

import json
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from tests.engine.example_steps._record import read_records
from tests.fixtures.service_process import ServiceProcess, base_env, free_port, run_cli, service_processes  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]
EXAMPLES = "tests/engine/example_steps"


def env_for(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    return base_env(
        STEPS_DIRS=json.dumps([EXAMPLES]),
        ENGINE_BACKEND="embedded",
        ENGINE_DB_PATH=str(tmp_path / "engine.db"),
        HTTP_PORT=str(port),
        EXAMPLE_RECORD_FILE=str(tmp_path / "rec.jsonl"),
        SHUTDOWN_GRACE_SECONDS="10",
        **extra,
    )


def post(port: int, path: str, body: dict) -> dict:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def start(tmp_path: Path, procs: list, port: int, name: str, **extra: str) -> ServiceProcess:
    p = ServiceProcess(["run"], env_for(tmp_path, port, **extra), tmp_path / f"{name}.log").start()
    procs.append(p)
    p.wait_http(port)
    return p


def wait_until(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_job_killed_mid_handler_runs_again_after_restart(tmp_path, service_processes):
    port = free_port()
    rec = tmp_path / "rec.jsonl"
    first = start(tmp_path, service_processes, port, "first")
    post(port, "/ingest", {"items": [{"n": 30, "topic": "demo.slow"}]})  # 3 s handler
    wait_until(lambda: len(read_records(rec, "example-slow")) == 1)
    first.signal(signal.SIGKILL)
    first.wait(10)
    assert [r["event"] for r in read_records(rec, "example-slow")] == ["start"]
    start(tmp_path, service_processes, port, "second")
    wait_until(lambda: any(r["event"] == "done" for r in read_records(rec, "example-slow")))
    runs = read_records(rec, "example-slow")
    assert [(r["event"], r["attempt"]) for r in runs] == [("start", 1), ("start", 2), ("done", 2)]


def test_sigterm_finishes_in_flight_jobs_then_exits_zero(tmp_path, service_processes):
    port = free_port()
    rec = tmp_path / "rec.jsonl"
    proc = start(tmp_path, service_processes, port, "svc")
    post(port, "/ingest", {"items": [{"n": 10, "topic": "demo.slow"}, {"n": 15, "topic": "demo.slow"}]})
    wait_until(lambda: len(read_records(rec, "example-slow")) == 2)
    proc.signal(signal.SIGTERM)
    assert proc.wait(20) == 0
    done = [r["n"] for r in read_records(rec, "example-slow") if r["event"] == "done"]
    assert sorted(done) == [10, 15]
    assert "shutdown requested" in proc.output() and "engine stopped" in proc.output()


def test_queued_and_delayed_jobs_and_dead_letters_survive_restart(tmp_path, service_processes):
    port = free_port()
    rec = tmp_path / "rec.jsonl"
    proc = start(tmp_path, service_processes, port, "one")
    post(port, "/ingest", {"items": [{"n": 1, "topic": "demo.flaky"}]})
    env = env_for(tmp_path, port)
    wait_until(lambda: json.loads(run_cli(["dlq", "list", "--json"], env).stdout or "[]") != [])
    post(port, "/ingest", {"items": [{"n": 2, "delay": 3}]})
    proc.signal(signal.SIGTERM)
    assert proc.wait(20) == 0
    assert read_records(rec, "example-record") == []
    queues = run_cli(["queues"], env)
    assert queues.returncode == 0 and "demo.item::example-record" in queues.stdout
    start(tmp_path, service_processes, port, "two")
    wait_until(lambda: len(read_records(rec, "example-record")) == 1)
    dead = json.loads(run_cli(["dlq", "list", "--json"], env).stdout)
    assert len(dead) == 1 and dead[0]["queue"] == "demo.flaky::example-flaky" and dead[0]["attempts"] == 4
    replay = run_cli(["dlq", "replay", dead[0]["id"]], env)
    assert replay.returncode == 0 and "replayed 1 job" in replay.stdout
    wait_until(lambda: len(read_records(rec, "example-flaky")) == 8)
    unknown = run_cli(["dlq", "replay", "does-not-exist"], env)
    assert unknown.returncode == 2 and "no dead letter" in unknown.stderr


def test_cron_fires_once_per_tick_and_catches_up_at_most_once(tmp_path, service_processes):
    port = free_port()
    rec = tmp_path / "rec.jsonl"
    proc = start(tmp_path, service_processes, port, "cron1")
    time.sleep(3.2)
    proc.signal(signal.SIGTERM)
    assert proc.wait(20) == 0
    ticks = [r["tick"] for r in read_records(rec, "example-tick")]
    assert len(ticks) >= 2 and len(ticks) == len(set(ticks))
    assert all(b - a == 1.0 for a, b in zip(ticks, ticks[1:], strict=False))
    time.sleep(3.0)  # about three ticks missed while down
    before = len(ticks)
    proc2 = start(tmp_path, service_processes, port, "cron2")
    wait_until(lambda: any(r["catch_up"] for r in read_records(rec, "example-tick")))
    time.sleep(1.5)
    proc2.signal(signal.SIGTERM)
    proc2.wait(20)
    after = read_records(rec, "example-tick")[before:]
    assert sum(1 for r in after if r["catch_up"]) == 1
    all_ticks = [r["tick"] for r in read_records(rec, "example-tick")]
    assert len(all_ticks) == len(set(all_ticks))


def test_run_rejects_invalid_steps_with_a_clear_message(tmp_path):
    bad = tmp_path / "steps"
    bad.mkdir()
    (bad / "broken_step.py").write_text(
        "config = {'name': 'x', 'triggers': []}\nasync def handler(i, c): pass\n"
    )
    env = base_env(
        STEPS_DIRS=json.dumps([str(bad)]), ENGINE_DB_PATH=str(tmp_path / "e.db"), HTTP_PORT=str(free_port())
    )
    result = run_cli(["run"], env, timeout=30)
    assert result.returncode == 2
    assert "broken_step.py: config['triggers'] must list at least one trigger" in result.stderr
