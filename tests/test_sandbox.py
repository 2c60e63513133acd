"""`bitbylaw sandbox` as a real subprocess: it comes up, the proxy answers through the Advoware
simulator, the simulator's signed webhooks are verified end to end, and Ctrl-C stops it
cleanly."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.fixtures.service_process import (  # noqa: F401
    ServiceProcess,
    base_env,
    free_port,
    service_processes,
    start_sandbox,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


def test_sandbox_starts_serves_proxy_and_stops_cleanly(tmp_path, service_processes):
    sandbox = start_sandbox(
        tmp_path / "sandbox", tmp_path / "sandbox.log", service_processes, PROXY_API_KEYS=""
    )
    proc, port, adv, espo_port = sandbox.proc, sandbox.port, sandbox.advoware_port, sandbox.espocrm_port
    google = sandbox.google_port
    health = proc.wait_http(port, timeout=40)
    assert health["status"] == "ok" and health["backend"]["name"] == "embedded"
    proc.wait_log("Stop with Ctrl-C")
    assert "curl" in proc.output() and "sandbox-proxy-key" in proc.output()
    # The simulator signs its webhooks and the service verifies them: no warning, unsigned → 401.
    assert "accepted unsigned" not in proc.output()
    unsigned = urllib.request.Request(
        f"http://127.0.0.1:{port}/vmh/webhook/beteiligte/create",
        data=b'[{"id": "x1"}]',
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(unsigned, timeout=10)
    assert refused.value.code == 401
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/advoware/proxy?path=api/v1/advonet/Mitarbeiter",
        headers={"X-API-Key": "sandbox-proxy-key"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        employees = json.loads(r.read())["result"]
    assert r.status == 200 and len(employees) == 3
    # the banner's example party call works as printed
    (example,) = [
        line.split("'")[3] for line in proc.output().splitlines() if "Beteiligte/" in line and "proxy" in line
    ]
    with urllib.request.urlopen(
        urllib.request.Request(example, headers={"X-API-Key": "sandbox-proxy-key"}), timeout=10
    ) as r:
        assert r.status == 200 and json.loads(r.read())["result"][0]["betNr"] == int(
            example.rsplit("/", 1)[1]
        )
    with urllib.request.urlopen(f"http://127.0.0.1:{adv}/_admin/calls", timeout=5) as r:
        calls = json.loads(r.read())["calls"]
    assert any(c["route"].endswith("/Mitarbeiter") and c["status"] == 200 for c in calls)
    # The full flow: a user creates a party in EspoCRM; its webhook reaches the service, which
    # creates the party in Advoware and links it back.
    espo = f"http://127.0.0.1:{espo_port}/api/v1/CBeteiligte"
    headers = {
        "X-Api-Key": "sandbox-espocrm-key",
        "X-Sim-User": "user-anna",
        "Content-Type": "application/json",
    }
    body = json.dumps({"firstName": "Erika", "lastName": "Probe"}).encode()
    with urllib.request.urlopen(
        urllib.request.Request(espo, data=body, headers=headers, method="POST"), timeout=10
    ) as r:
        party_id = json.loads(r.read())["id"]
    record: dict = {}
    for _ in range(200):
        get = urllib.request.Request(f"{espo}/{party_id}", headers={"X-Api-Key": "sandbox-espocrm-key"})
        with urllib.request.urlopen(get, timeout=5) as r:
            record = json.loads(r.read())
        if record.get("syncStatus") == "clean":
            break
        time.sleep(0.1)
    assert record.get("syncStatus") == "clean" and record.get("betnr"), record.get("syncStatus")
    # The sandbox made its own service-account key; with it, google-auth gets tokens for the
    # calendar owner and for every seeded employee, and nobody else.
    key_file = tmp_path / "sandbox" / "google-service-account.json"
    assert key_file.stat().st_mode & 0o777 == 0o600
    asyncio.run(_google_with_sandbox_key(key_file, google, [e["email"] for e in employees]))
    cli_beside_the_sandbox(proc, tmp_path, party_id)
    proc.signal(signal.SIGINT)
    assert proc.wait(30) == 0
    assert "engine stopped" in proc.output()


async def _google_with_sandbox_key(key_file, port: int, emails: list[str]) -> None:
    from services.clients import (
        GoogleCalendarClient,
        InMemoryTokenCache,
        ServiceAccount,
        SessionHolder,
        Unauthorized,
    )
    from simulators.runner import SANDBOX_CALENDAR_OWNER

    holder = SessionHolder()
    try:
        client = GoogleCalendarClient(
            base_url=f"http://127.0.0.1:{port}/calendar/v3",
            session=holder,
            service_account=ServiceAccount.from_file(key_file),  # the file's own token_uri
            token_caches=lambda _p: InMemoryTokenCache(),
            subject=SANDBOX_CALENDAR_OWNER,
        )
        calendar = await client.insert_calendar("SB", "Europe/Berlin")
        await client.insert_acl(calendar["id"], emails[0])
        assert calendar["id"] in [c["id"] for c in await client.delegate(emails[0]).list_calendars()]
        for email in emails:
            await client.delegate(email).list_calendars()
        with pytest.raises(Unauthorized):
            await client.delegate("fremd@example.org").list_calendars()
    finally:
        await holder.close()


def cli_beside_the_sandbox(proc: ServiceProcess, tmp_path, party_id: str) -> None:
    """From another folder, with only the settings file the banner names, the CLI sees the
    sandbox's queues and database and reaches its simulators with their credentials."""
    (line,) = [x for x in proc.output().splitlines() if x.strip().startswith("export BITBYLAW_ENV_FILE=")]
    settings_file = line.split("=", 1)[1]
    assert settings_file == str(tmp_path / "sandbox" / "sandbox.env")
    env = base_env(BITBYLAW_ENV_FILE=settings_file)
    for name in ("DATABASE_URL", "ENGINE_DB_PATH"):  # only the file says where the data is
        env.pop(name)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli.main", *args],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    queues = cli("queues", "--json")
    assert queues.returncode == 0, queues.stderr
    assert "vmh.beteiligte.create::vmh-beteiligte-sync" in {q["queue"] for q in json.loads(queues.stdout)}
    preview = cli("sync", "beteiligte", party_id, "--dry-run")
    assert preview.returncode == 0, preview.stderr
    assert preview.stdout.startswith(f"{party_id}: dry_run")
    hooks = json.loads(cli("espocrm", "webhooks", "list", "--json").stdout)
    events = {
        h["event"] for h in hooks
    }  # the service's one subscription table (parties, addresses, accounts)
    assert {
        f"{e}.{a}"
        for e in ("CBeteiligte", "CAdressen", "CBankverbindungen")
        for a in ("create", "update", "delete")
    } == events
    assert len(hooks) == 9 and all(h["secret_in_settings"] and h["skip_own"] for h in hooks)
    check = cli("check")
    assert check.returncode == 0, check.stdout + check.stderr
    # The sandbox's own service-account key makes the Google check pass too.
    assert [line.split()[0] for line in check.stdout.splitlines()] == ["ok"] * 8, check.stdout
    assert not (elsewhere / "data").exists()


def test_simulate_starts_the_three_simulators_alone(tmp_path, service_processes):
    adv, espo_port, google = (free_port() for _ in range(3))
    env = base_env(
        SIMULATOR_ADVOWARE_PORT=str(adv),
        SIMULATOR_ESPOCRM_PORT=str(espo_port),
        SIMULATOR_GOOGLE_PORT=str(google),
    )
    proc = ServiceProcess(["simulate", "--seed"], env, tmp_path / "simulate.log").start()
    service_processes.append(proc)
    proc.wait_log("Stop with Ctrl-C")
    for port in (adv, espo_port, google):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_admin/calls", timeout=5) as r:
            assert r.status == 200
    with urllib.request.urlopen(f"http://127.0.0.1:{adv}/_admin/state", timeout=5) as r:
        assert len(json.loads(r.read())["employees"]) == 3  # --seed
    proc.signal(signal.SIGINT)
    assert proc.wait(20) == 0
