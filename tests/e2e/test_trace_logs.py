"""One webhook's trace through a real run (finding 6 of the first-day report): the service as a
subprocess (`bitbylaw run`, LOG_LEVEL=DEBUG), the simulators over HTTP, the JSON log lines
captured from its stderr.

The webhook arrives with a W3C `traceparent`; every log line of the request and of the job it
causes — the engine's, the sync's, each client call's — carries that trace id and the record's
id, the simulators see the trace continued on every call, and a failed sync is a warning.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.fixtures.espocrm_sim import start_espocrm_sim
from tests.fixtures.service_process import ServiceProcess, base_env, free_port, service_processes  # noqa: F401
from tests.steps.conftest import advoware_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
JOB_LOGGERS = ("bitbylaw.steps", "bitbylaw.beteiligte", "bitbylaw.clients", "bitbylaw.engine.worker")


def log_lines(proc: ServiceProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in proc.output().splitlines() if line.startswith("{")]


def post_webhook(
    port: int, action: str, ids: list[str], traceparent: str | None
) -> tuple[int, dict[str, str]]:
    headers = {"Content-Type": "application/json"}
    if traceparent:
        headers["traceparent"] = traceparent
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/vmh/webhook/beteiligte/{action}",
        data=json.dumps([{"id": i} for i in ids]).encode(),
        headers=headers,
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, dict(r.headers)


async def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


def run_service(tmp_path: Path, espo, advo, processes: list, **settings: str) -> tuple[ServiceProcess, int]:
    """`bitbylaw run` (embedded, the real steps) against the two simulators; waits for /health."""
    port = free_port()
    env = base_env(
        HTTP_PORT=str(port),
        ENGINE_DB_PATH=str(tmp_path / "engine.db"),
        DATABASE_URL=f"sqlite:///{tmp_path}/service.db",
        ESPOCRM_API_BASE_URL=espo.url,
        ESPOCRM_API_KEY=espo.config.api_key,
        **advoware_settings(advo),
        **settings,
    )
    proc = ServiceProcess(["run"], env, tmp_path / "service.log").start()
    processes.append(proc)
    proc.wait_http(port, timeout=30)
    return proc, port


async def traces_seen(session: aiohttp.ClientSession, admin_url: str) -> list[dict[str, Any]]:
    async with session.get(admin_url) as r:
        return list((await r.json())["traces"])


async def test_every_log_line_of_a_webhooks_job_carries_its_trace_id_and_the_trace_goes_upstream(
    tmp_path: Path, advoware_sim, service_processes
):
    async with start_espocrm_sim() as espo:
        proc, port = run_service(tmp_path, espo, advoware_sim, service_processes, LOG_LEVEL="DEBUG")
        record = await espo.create_as_user("CBeteiligte", {"firstName": "Tina", "lastName": "Trace"})

        status, headers = post_webhook(port, "create", [record["id"]], f"00-{TRACE}-00f067aa0ba902b7-01")
        assert status == 200 and headers["X-Trace-Id"] == TRACE
        await wait_for(lambda: any(line.get("msg") == "party sync" for line in log_lines(proc)))
        assert espo.state.get("CBeteiligte", record["id"])["syncStatus"] == "clean"

        lines = log_lines(proc)
        start = next(i for i, line in enumerate(lines) if line.get("msg") == "webhook received")
        end = next(i for i, line in enumerate(lines) if line.get("msg") == "party sync")
        window = [line for line in lines[start : end + 1] if line["logger"].startswith(JOB_LOGGERS)]
        own = [line for line in window if line.get("trace_id") == TRACE]
        # Nothing in between lacks a trace id (a cron tick would carry its own).
        assert all(line.get("trace_id") for line in window), [x for x in window if not x.get("trace_id")]
        # the steps (webhook, sync), the sync service and the clients (the worker logs no success)
        assert {line["logger"] for line in own} >= set(JOB_LOGGERS[:3]), {line["logger"] for line in own}
        calls = [line for line in own if line["logger"] == "bitbylaw.clients" and "route" in line]
        assert {line["system"] for line in calls} >= {"espocrm", "advoware"}, calls
        assert calls[-1]["system"] == "espocrm" and calls[-1]["method"] == "PUT"  # the last client call
        job_lines = [
            line
            for line in own
            if line["logger"] != "bitbylaw.steps" or line.get("step") != "vmh-beteiligte-webhook"
        ]
        assert job_lines and all(line.get("entity_id") == record["id"] for line in job_lines)
        assert "Tina" not in proc.output() and 'Trace"' not in proc.output()  # ids only, never names

        async with aiohttp.ClientSession() as session:
            upstream = await traces_seen(session, f"{advoware_sim.url}_admin/traces")
            upstream += await traces_seen(session, f"{espo.root}/_admin/traces")
        ours = [t for t in upstream if t["traceparent"].split("-")[1] == TRACE]
        # Every call of the job continues the webhook's trace. Other traces upstream are the
        # /health requests' own (waiting for the service to come up), each its EspoCRM list query.
        assert {t["route"] for t in ours} >= {"/api/v1/Token", "/api/v1/advonet/Beteiligte"}, upstream
        assert any(t["method"] == "PUT" for t in ours), upstream
        others = [t for t in upstream if t not in ours]
        assert all(t["method"] == "GET" and t["route"] == "/api/v1/{entity}" for t in others), others
        assert len({t["traceparent"].split("-")[2] for t in upstream}) == len(upstream)  # a span per call

        # A request without (or with a broken) traceparent gets a trace of its own.
        other = await espo.create_as_user("CBeteiligte", {"firstName": "Nora", "lastName": "New"})
        _, headers = post_webhook(port, "create", [other["id"]], "00-not-a-trace-01")
        assert len(headers["X-Trace-Id"]) == 32 and headers["X-Trace-Id"] != TRACE


async def test_a_failed_sync_is_logged_as_a_warning_with_its_trace(
    tmp_path: Path, advoware_sim, service_processes
):
    async with start_espocrm_sim() as espo, aiohttp.ClientSession() as session:
        proc, port = run_service(tmp_path, espo, advoware_sim, service_processes)
        rules = {"rules": [{"method": "POST", "route": "*/Beteiligte", "status": 400}]}
        async with session.post(f"{advoware_sim.url}_admin/faults", json=rules) as r:
            assert r.status == 200
        record = await espo.create_as_user("CBeteiligte", {"firstName": "Fay", "lastName": "Failing"})
        _, headers = post_webhook(port, "create", [record["id"]], None)
        await wait_for(lambda: any(line.get("msg") == "party sync" for line in log_lines(proc)))
        (line,) = [line for line in log_lines(proc) if line.get("msg") == "party sync"]
        assert line["level"] == "warning" and line["status"] in ("failed", "permanently_failed", "invalid")
        assert line["trace_id"] == headers["X-Trace-Id"] and line["entity_id"] == record["id"]
