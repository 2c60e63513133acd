"""`bitbylaw backup DIR` / `bitbylaw restore DIR`: a backup taken while the sandbox runs restores
into a fresh directory, and the restored service starts and shows the same records, audit trail
and dead letters; PostgreSQL through pg_dump/pg_restore; secrets never reach the backup."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from cli.backup_cmds import scrubbed_settings, secret_names
from engine.backends.base import EnqueueRequest
from engine.backends.embedded import EmbeddedBackend
from services.db import AuditEntry, open_database
from tests.fixtures.postgres_server import postgres_server, postgres_url  # noqa: F401
from tests.fixtures.service_process import (  # noqa: F401
    ROOT,
    ServiceProcess,
    base_env,
    free_port,
    run_cli,
    service_processes,
    start_sandbox,
)

ESPO_KEY = "sandbox-espocrm-key"


def cli(args: list[str], env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return run_cli(args, env, timeout=120, cwd=cwd)


def test_secrets_are_removed_and_passwords_taken_out_of_urls():
    text = "\n".join(
        [
            "# a comment with = in it",
            "ESPOCRM_API_KEY=abc123",
            "ADVOWARE_PASSWORD='pa ss'",
            "DATABASE_URL=postgresql://svc:s3cr%40t@db.internal:5432/bitbylaw",
            "REDIS_URL=redis://127.0.0.1:6379/1",
            'ESPOCRM_WEBHOOK_SECRETS={"id": "hook-secret"}',
            "HTTP_PORT=3000",
            "PROXY_API_KEYS=",
        ]
    )
    scrubbed, removed = scrubbed_settings(text)
    for secret in ("abc123", "pa ss", "s3cr", "hook-secret"):
        assert secret not in scrubbed
    assert "DATABASE_URL=postgresql://svc@db.internal:5432/bitbylaw" in scrubbed
    assert "REDIS_URL=redis://127.0.0.1:6379/1" in scrubbed and "HTTP_PORT=3000" in scrubbed
    assert sorted(removed) == [
        "ADVOWARE_PASSWORD",
        "DATABASE_URL",
        "ESPOCRM_API_KEY",
        "ESPOCRM_WEBHOOK_SECRETS",
    ]
    assert {"CONSOLE_PASSWORD", "ESPOCRM_SECRET_KEY", "ADVOWARE_API_KEY"} <= secret_names()


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_backup_of_the_running_sandbox_restores_into_a_fresh_directory(tmp_path, service_processes):
    running = start_sandbox(tmp_path / "sandbox", tmp_path / "sb.log", service_processes)
    sandbox, port, espo = running.proc, running.port, running.espocrm_port
    sandbox.wait_http(port, timeout=60)
    sandbox.wait_log("Stop with Ctrl-C")
    sandbox_env = base_env(BITBYLAW_ENV_FILE=str(tmp_path / "sandbox" / "sandbox.env"))
    for name in ("DATABASE_URL", "ENGINE_DB_PATH"):
        sandbox_env.pop(name)
    parties = [create_and_wait_clean(espo, f"Backup{i}") for i in range(3)]
    wait_sync_states(tmp_path / "sandbox" / "service.db", 3)
    probe = dead_letter(tmp_path / "sandbox" / "engine.db")

    def state(env: dict[str, str]) -> dict[str, object]:
        audits = {
            p: json.loads(checked(cli(["audit", "beteiligte", p, "--json"], env)).stdout) for p in parties
        }
        dead = json.loads(checked(cli(["dlq", "list", "--json"], env)).stdout)
        return {"audit": audits, "dead": dead}

    before = state(sandbox_env)
    assert all(before["audit"][p] for p in parties) and [d["id"] for d in before["dead"]] == [probe]
    backup = tmp_path / "backup"
    taken = checked(cli(["backup", str(backup)], sandbox_env))
    assert "online copy" in taken.stdout and "3 party sync states" in taken.stdout
    assert state(sandbox_env) == before  # nothing happened meanwhile: the backup shows this state
    settings_text = (backup / "settings.env").read_text()
    assert "sandbox-espocrm-key" not in settings_text and "sandbox-console-password" not in settings_text

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    secrets = {
        k: v for k, v in _settings(tmp_path / "sandbox" / "sandbox.env").items() if f"{k}=\n" in settings_text
    }
    restored_port = free_port()
    lines = [
        re.sub(r"^DATA_DIR=.*", f"DATA_DIR={fresh / 'data'}", line)
        for line in settings_text.splitlines()
        if not line.startswith(("HTTP_PORT=", *(f"{k}=" for k in secrets)))
    ]
    lines += [f"HTTP_PORT={restored_port}", *(f"{k}={v}" for k, v in secrets.items())]
    lines.append("CONSOLE_COOKIE_SECURE=false")  # urllib sends a Secure cookie over https only
    (fresh / "bitbylaw.env").write_text("\n".join(lines) + "\n")
    fresh_env = {**sandbox_env, "BITBYLAW_ENV_FILE": str(fresh / "bitbylaw.env")}
    done = checked(cli(["restore", str(backup)], fresh_env, cwd=fresh))
    assert "1 dead letter(s)" in done.stdout and "3 party sync states" in done.stdout, done.stdout
    assert (fresh / "data" / "service.db").is_file() and (fresh / "data" / "engine.db").is_file()
    again = cli(["restore", str(backup)], fresh_env)
    assert again.returncode == 2 and "exists" in again.stderr

    restored = ServiceProcess(["run", "--role", "api"], fresh_env, tmp_path / "restored.log").start()
    service_processes.append(restored)
    assert restored.wait_http(restored_port, timeout=40)["status"] in ("ok", "degraded")
    assert state(fresh_env) == before
    for party in parties:  # the restored service's console shows each record's state and trail
        page = console_page(restored_port, f"/console/records/CBeteiligte/{party}")
        betnr = espo_party(espo, party)["betnr"]
        assert f'data-field="snapshot of betNr">{betnr}<' in page, party
        for entry in before["audit"][party]:
            assert entry["trace_id"] in page
    restored.signal(signal.SIGTERM)
    assert restored.wait(30) == 0


def checked(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _settings(path: Path) -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in path.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    return {k: v for k, v in pairs}


ESPO_HEADERS = {"X-Api-Key": ESPO_KEY, "X-Sim-User": "user-anna", "Content-Type": "application/json"}


def espo_party(espo_port: int, party: str) -> dict[str, object]:
    url = f"http://127.0.0.1:{espo_port}/api/v1/CBeteiligte/{party}"
    with urllib.request.urlopen(urllib.request.Request(url, headers=ESPO_HEADERS), timeout=10) as r:
        return dict(json.loads(r.read()))


def create_and_wait_clean(espo_port: int, last_name: str) -> str:
    url = f"http://127.0.0.1:{espo_port}/api/v1/CBeteiligte"
    body = json.dumps({"firstName": "Erika", "lastName": last_name}).encode()
    request = urllib.request.Request(url, body, ESPO_HEADERS, method="POST")
    with urllib.request.urlopen(request, timeout=10) as r:
        party = str(json.loads(r.read())["id"])
    for _ in range(300):
        if espo_party(espo_port, party).get("syncStatus") == "clean":
            return party
        time.sleep(0.1)
    raise AssertionError(f"{party} never turned clean")


def wait_sync_states(service_db: Path, count: int) -> None:
    """EspoCRM shows `clean` a moment before the job commits its sync state: wait for the rows."""
    for _ in range(300):
        with sqlite3.connect(service_db) as db:
            if db.execute("SELECT count(*) FROM party_sync_state").fetchone()[0] >= count:
                return
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} party sync states in {service_db}")


def dead_letter(engine_db: Path) -> str:
    """A dead letter on a queue no step consumes, written beside the running sandbox (a CLI
    process may share the embedded file)."""

    async def make() -> str:
        backend = EmbeddedBackend(engine_db)
        await backend.connect()
        try:
            await backend.enqueue([EnqueueRequest("backup.probe::nobody", {"id": "probe-1"}, "backup-test")])
            [job] = await backend.fetch("backup.probe::nobody", 1, 30.0, "backup-test")
            await backend.dead_letter(job, "ServerError: HTTP 503")
            return job.id
        finally:
            await backend.close()

    return asyncio.run(make())


def console_page(port: int, path: str) -> str:
    """A console page of the restored service, logged in with the sandbox's password."""
    from tests.console.conftest import PASSWORD, Browserless

    client = Browserless(f"http://127.0.0.1:{port}")
    status, _, _ = client.login(PASSWORD)
    assert status == 303
    status, _, html = client.request("GET", path)
    assert status == 200
    return html


@pytest.mark.postgres
@pytest.mark.timeout(120)
def test_postgres_is_dumped_and_restored_into_a_new_database(tmp_path, postgres_server, postgres_url):
    restored_name = "restored_" + str(free_port())
    postgres_server.psql(f'CREATE DATABASE "{restored_name}"')
    try:

        async def fill() -> None:
            async with open_database(postgres_url) as db:
                await db.migrate()
                for i in range(5):
                    await db.add_audit(
                        AuditEntry(
                            entity_type="CBeteiligte", entity_id=f"e{i}", action="create", result="created"
                        )
                    )
                await db.save_snapshot("e1", 104860, {"fields": {}})

        asyncio.run(fill())
        # PostgreSQL goes with the Redis backend, whose state Redis keeps (not in the backup).
        env = base_env(
            ENGINE_BACKEND="redis", DATABASE_URL=postgres_url.replace("postgres@", "postgres:unused-pw@")
        )
        taken = checked(cli(["backup", str(tmp_path / "bk")], env))
        assert "pg_dump" in taken.stdout and (tmp_path / "bk" / "service.pgdump").stat().st_size > 0
        env["DATABASE_URL"] = postgres_server.url(restored_name)
        done = checked(cli(["restore", str(tmp_path / "bk")], env))
        assert "5 audit entries, 1 party sync states" in done.stdout, done.stdout
        refused = cli(["restore", str(tmp_path / "bk")], env)
        assert refused.returncode == 2 and "holds data" in refused.stderr

        async def read() -> list[str]:
            async with open_database(postgres_server.url(restored_name)) as db:
                return [r.entity_id for r in await db.list_audit("CBeteiligte", "e3")]

        assert asyncio.run(read()) == ["e3"]
    finally:
        postgres_server.psql(f'DROP DATABASE IF EXISTS "{restored_name}" WITH (FORCE)')
