"""The operator's first day, as a new operator meets it: the CLI as a subprocess in a fresh folder
with `cp .env.example .env`. Each test names the finding of the first-day report it covers and
asserts the exit code and the exact one-line message (no traceback anywhere).

1. `.env.example` as `.env` works: every command's --help, `check`, empty values mean unset.
2. Expected failures are one line and an exit code: bad settings, busy ports, Redis down.
8. Packaging: --version, the settings template shipped in the package, shell completion.
9. Help and docs name nothing outside the repository and claim no calendar sync.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import typer

from tests.fixtures.service_process import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(120)

# Internal documents and reference codes that are not in the repository, and a claim of a
# calendar sync that does not exist yet.
FORBIDDEN = re.compile(
    r"ARCHITECTURE\.md|SYNC_RULES|EXTERNAL_SYSTEMS|STYLE\.md|DECISIONS|\b[EAG]\d{1,2}\b|open point \d"
    r"|(?i:Google Calendar\)? in (?:two-way )?sync|sync(?:s|ing)? (?:with |to )?Google Calendar)"
)


def clean_env(**extra: str) -> dict[str, str]:
    """Only what a shell has: no bitbylaw setting comes from the environment."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", **extra)
    return env


def bitbylaw(args: list[str], cwd: Path, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def first_day(tmp_path: Path) -> Path:
    """A fresh folder after `cp .env.example .env`."""
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    return tmp_path


def all_commands() -> list[list[str]]:
    from cli.main import app

    out: list[list[str]] = []

    def walk(cmd: Any, path: list[str]) -> None:
        out.append(path)
        if hasattr(cmd, "commands"):  # a group (typer ships its own click)
            for name, sub in cmd.commands.items():
                if not sub.hidden:
                    walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return out


# -- 1. .env.example as .env --------------------------------------------------------------------
@pytest.mark.timeout(300)
def test_every_commands_help_works_with_the_example_settings_and_names_no_internal_document(first_day):
    commands = all_commands()
    assert len(commands) > 25 and ["espocrm", "webhooks", "register"] in commands and ["check"] in commands
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda c: (c, bitbylaw([*c, "--help"], first_day)), commands))
    for command, result in results:
        assert result.returncode == 0, (command, result.stderr)
        assert result.stdout.startswith("Usage: bitbylaw"), (command, result.stdout[:200])
        assert not FORBIDDEN.search(result.stdout), (command, FORBIDDEN.search(result.stdout))
        assert result.stderr == "", (command, result.stderr)


def test_check_with_the_example_settings_lists_one_line_per_check_and_fails_on_the_missing_systems(first_day):
    # The example names the simulators' default ports; something else may listen there on a
    # developer's machine, so the environment points the two systems at free ports instead.
    espo, advo = free_port(), free_port()
    result = bitbylaw(
        ["check"],
        first_day,
        ESPOCRM_API_BASE_URL=f"http://127.0.0.1:{espo}/api/v1",
        ADVOWARE_API_BASE_URL=f"http://127.0.0.1:{advo}/",
        ADVOWARE_TOKEN_URL=f"http://127.0.0.1:{advo}/api/v1/Token",
    )
    assert result.returncode == 1
    assert one_line(result) == "error: 2 check(s) failed"
    lines = result.stdout.splitlines()
    data = first_day / "data"
    assert lines[0] == f"ok    settings valid: embedded backend, data dir {data}, crons in Europe/Berlin"
    assert all(line.split()[0] in ("ok", "warn", "FAIL", "skip") for line in lines), lines
    assert "warn  production setting: PROXY_API_KEYS empty: the Advoware proxy refuses every caller" in lines
    assert (
        "warn  production setting: ESPOCRM_API_KEY, ADVOWARE_KANZLEI, ADVOWARE_DATABASE, ADVOWARE_USER, "
        "ADVOWARE_PASSWORD, ADVOWARE_API_KEY empty: the sync cannot authenticate" in lines
    )
    assert (
        f"warn  engine backend reachable: no engine database yet at {data}/engine.db (fix: bitbylaw run creates it)"
        in lines
    )
    assert (
        "FAIL  EspoCRM reachable with the API key: unreachable (connection failed) "
        "(fix: check ESPOCRM_API_BASE_URL)" in lines
    )
    assert (
        "FAIL  Advoware token obtained: unreachable (connection failed) (fix: check ADVOWARE_TOKEN_URL)"
        in lines
    )
    assert "skip  Google service-account key: GOOGLE_SERVICE_ACCOUNT_FILE not set" in lines
    assert not data.exists(), "a pre-flight creates no files"


def test_empty_values_in_the_example_mean_unset(first_day):
    result = bitbylaw(["settings", "show", "--json"], first_day)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    settings = shown["settings"]
    assert settings["SIMULATOR_SNAPSHOT_DIR"] is None  # not the working directory
    assert settings["GOOGLE_SERVICE_ACCOUNT_FILE"] is None
    assert settings["ESPOCRM_WEBHOOK_SECRETS"] == "(0 webhook id(s))"
    assert settings["ESPOCRM_API_KEY"] == "(empty)" and settings["REDIS_URL"] == "(set)"
    assert settings["DATA_DIR"] == str(first_day / "data")
    assert settings["ENGINE_DB_PATH"] == str(first_day / "data" / "engine.db")
    assert shown["file"] == ".env"


# -- 3. one data directory, wherever the command runs ------------------------------------------------
def test_relative_data_paths_live_in_the_data_dir_next_to_the_settings_file(tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "site.env").write_text("DATA_DIR=var\nENGINE_DB_PATH=queues/engine.db\n")
    somewhere, elsewhere = tmp_path / "a", tmp_path / "b"
    somewhere.mkdir(), elsewhere.mkdir()
    migrated = bitbylaw(["--env-file", str(conf / "site.env"), "db", "migrate"], somewhere)
    assert migrated.returncode == 0 and "0001_init" in migrated.stdout, migrated.stderr
    assert (conf / "var" / "service.db").is_file()
    again = bitbylaw(["db", "migrate"], elsewhere, BITBYLAW_ENV_FILE=str(conf / "site.env"))
    assert again.stdout == "database is up to date\n"
    shown = json.loads(
        bitbylaw(["settings", "show", "--json"], elsewhere, BITBYLAW_ENV_FILE=str(conf / "site.env")).stdout
    )
    assert shown["settings"]["ENGINE_DB_PATH"] == str(conf / "var" / "queues" / "engine.db")
    assert list(somewhere.iterdir()) == [] and list(elsewhere.iterdir()) == []


# -- 2. one line and an exit code -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("setting", "value", "line"),
    [
        (
            "LOG_LEVEL",
            "verbose",
            "invalid setting LOG_LEVEL: Input should be 'DEBUG', 'INFO', 'WARNING', 'ERROR' or 'CRITICAL'",
        ),
        ("HTTP_PORT", "99999", "invalid setting HTTP_PORT: Input should be less than or equal to 65535"),
        (
            "ESPOCRM_API_BASE_URL",
            "not a url",
            "invalid setting ESPOCRM_API_BASE_URL: must be a URL such as https://host/path",
        ),
        (
            "ADVOWARE_TOKEN_URL",
            "http://host:99999/x",
            "invalid setting ADVOWARE_TOKEN_URL: must be a URL such as https://host/path (the port is not a number in 0..65535)",
        ),
        (
            "REDIS_URL",
            "http://user:pw-s3cr3t@host/",
            "invalid setting REDIS_URL: must be a URL such as redis://host:6379/0",
        ),
        (
            "DATABASE_URL",
            "mysql://u:pw-s3cr3t@h/db",
            "invalid setting DATABASE_URL: must be a URL such as postgresql://user@host:5432/db or sqlite:///service.db",
        ),
        (
            "ESPOCRM_WEBHOOK_SECRETS",
            '{"abc": s3cr3t}',
            "invalid setting ESPOCRM_WEBHOOK_SECRETS: is not valid JSON (Expecting value at column 9)",
        ),
        (
            "ESPOCRM_WEBHOOK_SECRETS",
            '["s3cr3t"]',
            'invalid setting ESPOCRM_WEBHOOK_SECRETS: must be a JSON object such as {"webhookId": "secret"}',
        ),
        (
            "CRON_TIMEZONE",
            "Europe/Berlinn",
            "invalid setting CRON_TIMEZONE: must be an IANA time zone such as Europe/Berlin or UTC",
        ),
        (
            "SHUTDOWN_GRACE_SECONDS",
            "-1",
            "invalid setting SHUTDOWN_GRACE_SECONDS: Input should be greater than 0",
        ),
        (
            "HTTP_MAX_CONNECTIONS",
            "0",
            "invalid setting HTTP_MAX_CONNECTIONS: Input should be greater than or equal to 1",
        ),
        (
            "HTTP_BODY_TIMEOUT_SECONDS",
            "soon",
            "invalid setting HTTP_BODY_TIMEOUT_SECONDS: Input should be a valid number, unable to parse string as a number",
        ),
    ],
)
def test_a_bad_setting_is_one_line_with_exit_2_and_never_its_value(first_day, setting, value, line):
    result = bitbylaw(["queues"], first_day, **{setting: value})
    assert result.returncode == 2
    assert one_line(result) == line
    assert "s3cr3t" not in result.stderr + result.stdout


def test_every_bad_setting_gets_its_own_line(first_day):
    result = bitbylaw(["steps"], first_day, LOG_LEVEL="verbose", HTTP_PORT="0", SIMULATOR_GOOGLE_PORT="x")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "invalid setting HTTP_PORT: Input should be greater than or equal to 1",
        "invalid setting LOG_LEVEL: Input should be 'DEBUG', 'INFO', 'WARNING', 'ERROR' or 'CRITICAL'",
        "invalid setting SIMULATOR_GOOGLE_PORT: Input should be a valid integer, unable to parse string as an integer",
    ]


def test_a_settings_file_that_is_not_there_is_one_line(first_day):
    result = bitbylaw(["--env-file", "nope.env", "queues"], first_day)
    assert result.returncode == 2
    assert one_line(result) == "settings file nope.env not found (BITBYLAW_ENV_FILE)"


def test_debug_shows_the_traceback(first_day):
    result = bitbylaw(["--debug", "queues"], first_day, LOG_LEVEL="verbose")
    assert result.returncode != 0 and "Traceback" in result.stderr and "SettingsError" in result.stderr


def test_queues_beside_no_service_says_so_instead_of_creating_an_empty_database(first_day):
    result = bitbylaw(["queues"], first_day)
    assert result.returncode == 3
    assert one_line(result) == (
        f"error: no engine database at {first_day}/data/engine.db: is the service running with these settings? "
        "(DATA_DIR, ENGINE_DB_PATH; beside a sandbox use the settings file its banner names)"
    )
    assert not (first_day / "data").exists()


@pytest.mark.redis
def test_redis_down_is_one_line_after_a_few_seconds_not_a_traceback(first_day):
    port = free_port()
    result = bitbylaw(["queues"], first_day, ENGINE_BACKEND="redis", REDIS_URL=f"redis://127.0.0.1:{port}/0")
    assert result.returncode == 3
    assert one_line(result) == (
        "error: engine backend unavailable: redis unreachable for 3s: ConnectionError "
        "(check ENGINE_BACKEND, REDIS_URL, DATA_DIR)"
    )


def busy_port() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def port_in_use_line(port: int) -> str:
    return (
        f"error: cannot listen on 127.0.0.1:{port}: the port is in use by another process "
        "(stop it, or choose another port: HTTP_PORT, WORKER_METRICS_PORT, SIMULATOR_*_PORT)"
    )


def test_run_on_a_busy_port_is_one_line(first_day):
    with busy_port() as sock:
        port = sock.getsockname()[1]
        result = bitbylaw(["run"], first_day, HTTP_PORT=str(port), LOG_LEVEL="ERROR")
    assert result.returncode == 3
    assert one_line(result) == port_in_use_line(port)


def test_simulate_on_a_busy_port_is_one_line(first_day):
    with busy_port() as sock:
        port = sock.getsockname()[1]
        result = bitbylaw(
            ["simulate"],
            first_day,
            SIMULATOR_ADVOWARE_PORT=str(free_port()),
            SIMULATOR_ESPOCRM_PORT=str(port),
            SIMULATOR_GOOGLE_PORT=str(free_port()),
            LOG_LEVEL="ERROR",
        )
    assert result.returncode == 3
    assert one_line(result) == port_in_use_line(port)


# -- 8. packaging --------------------------------------------------------------------------------
def test_version(first_day):
    result = bitbylaw(["--version"], first_day)
    assert result.returncode == 0 and re.fullmatch(r"bitbylaw \d+\.\d+\.\d+\S*\n", result.stdout)


def test_the_settings_template_ships_with_the_package_and_is_the_example(first_day):
    result = bitbylaw(["settings", "template"], first_day)
    assert result.returncode == 0 and result.stdout == (ROOT / ".env.example").read_text()


def test_shell_completion(first_day):
    script = bitbylaw(["--show-completion", "bash"], first_day)
    assert script.returncode == 0 and "_bitbylaw_completion" in script.stdout
    completed = subprocess.run(
        [sys.executable, "-m", "cli.main"],
        cwd=first_day,
        env=clean_env(_BITBYLAW_COMPLETE="complete_bash", COMP_WORDS="bitbylaw dl", COMP_CWORD="1"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert completed.stdout.split() == ["dlq"]


def test_python_requirement_has_no_upper_bound():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"


def test_the_service_refuses_to_start_without_its_project_config(monkeypatch, tmp_path):
    from cli import wiring
    from config import Settings
    from engine.registry import StepValidationError

    monkeypatch.setattr(wiring, "PROJECT_CONFIG", tmp_path / "motia.config.json")
    with pytest.raises(StepValidationError) as exc:
        wiring.load(Settings(_env_file=None))  # type: ignore[call-arg]
    assert exc.value.problems == [
        f"project config {tmp_path}/motia.config.json not found (reinstall bitbylaw)"
    ]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_wheel_carries_its_project_config_and_settings_template(tmp_path):
    import zipfile

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=280,
    )
    (wheel,) = tmp_path.glob("bitbylaw-*.whl")
    with zipfile.ZipFile(wheel) as z:
        assert z.read("cli/motia.config.json") == (ROOT / "motia.config.json").read_bytes()
        assert z.read("cli/env.example") == (ROOT / ".env.example").read_bytes()
        assert "tracecontext.py" in z.namelist() and "config.py" in z.namelist()
        assert "services/db/migrations/sqlite/0001_init.sql" in z.namelist()


# -- 9. docs speak only of what is in the repository ------------------------------------------------
def test_readme_and_docs_name_no_internal_document_and_claim_no_calendar_sync():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    found = {str(p.relative_to(ROOT)): m.group(0) for p in pages if (m := FORBIDDEN.search(p.read_text()))}
    assert found == {}
