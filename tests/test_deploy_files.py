"""The deployment files: systemd units pass `systemd-analyze verify` (where it exists) and say
what a careful operator expects (dedicated user, settings file, hardening); their command lines
are valid `bitbylaw run` invocations; the compose file has what the docs promise and passes
`docker compose config` where Docker Compose v2 is available (scripts/test.sh fetches it); the
Dockerfile parses and its build stage's COPY list builds the package with everything it ships."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
BITBYLAW = "/opt/bitbylaw/venv/bin/bitbylaw"
SERVICES = ["bitbylaw.service", "bitbylaw-api@.service", "bitbylaw-worker@.service"]


def directives(unit: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in unit.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_runs_as_its_own_user_from_its_settings_file_hardened(name):
    d = directives(UNITS / name)
    assert d["User"] == ["bitbylaw"] and d["Group"] == ["bitbylaw"]
    assert d["EnvironmentFile"] == ["/etc/bitbylaw/bitbylaw.env"]
    assert "BITBYLAW_ENV_FILE=/etc/bitbylaw/bitbylaw.env" in d["Environment"]
    assert "DATA_DIR=/var/lib/bitbylaw" in d["Environment"]
    assert d["WorkingDirectory"] == ["/var/lib/bitbylaw"] and d["ReadWritePaths"] == ["/var/lib/bitbylaw"]
    assert d["Restart"] == ["on-failure"] and d["KillSignal"] == ["SIGTERM"]
    assert d["NoNewPrivileges"] == ["yes"] and d["ProtectSystem"] == ["strict"]
    assert d["CapabilityBoundingSet"] == [""]
    # longer than the service's shutdown grace period, so running jobs can finish
    assert int(d["TimeoutStopSec"][0]) > 30


def test_the_instances_pass_their_port():
    assert directives(UNITS / "bitbylaw-api@.service")["ExecStart"] == [
        f"{BITBYLAW} run --role api --backend redis --port %i"
    ]
    assert directives(UNITS / "bitbylaw-worker@.service")["ExecStart"] == [
        f"{BITBYLAW} run --role worker --backend redis --metrics-port %i"
    ]
    assert directives(UNITS / "bitbylaw.service")["ExecStart"] == [
        f"{BITBYLAW} run --role all --backend embedded"
    ]


@pytest.mark.parametrize("name", [*SERVICES, "bitbylaw-backup.service"])
def test_the_command_lines_are_valid_bitbylaw_invocations(name):
    for command in directives(UNITS / name)["ExecStart"]:
        args = re.sub(r".*?/opt/bitbylaw/venv/bin/bitbylaw ", "", command).replace("%i", "3101")
        args = args.split('"')[0].split()  # the backup's target is a shell expression
        result = subprocess.run(
            [sys.executable, "-m", "cli.main", *args, "--help"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, (args, result.stderr)


def test_systemd_analyze_verifies_the_units(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not found (a systemd host has it): the units were not verified")
    # verify wants the ExecStart binaries to exist: point them at this checkout's bitbylaw.
    here = shutil.which("bitbylaw", path=str(Path(sys.executable).parent)) or sys.executable
    names = []
    for unit in sorted(UNITS.iterdir()):
        text = unit.read_text().replace(BITBYLAW, here)
        name = unit.name.replace("@.", "@3101.")  # an instance of each template
        (tmp_path / name).write_text(text)
        names.append(str(tmp_path / name))
    result = subprocess.run([analyze, "verify", *names], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    # Unknown keys and unparsable values are only warnings: none may appear.
    problems = [line for line in result.stderr.splitlines() if str(tmp_path) in line or "Unknown" in line]
    assert problems == []


def test_the_timer_runs_the_backup_daily():
    timer = directives(UNITS / "bitbylaw-backup.timer")
    assert timer["OnCalendar"] == ["*-*-* 02:30:00"] and timer["Persistent"] == ["true"]
    backup = directives(UNITS / "bitbylaw-backup.service")
    assert backup["Type"] == ["oneshot"] and "/var/backups/bitbylaw" in backup["ReadWritePaths"][0]
    assert " backup " in backup["ExecStart"][0]


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_has_redis_with_aof_postgres_and_scalable_api_and_worker():
    services = compose()["services"]
    assert "--appendonly" in services["redis"]["command"] and "yes" in services["redis"]["command"]
    assert services["postgres"]["image"].startswith("postgres:15")  # Debian 12's pg_dump is 15
    for name in ("redis", "postgres", "api", "worker"):
        assert services[name]["healthcheck"]["test"], name
    for name, role, port in (("api", "api", "3000"), ("worker", "worker", "3001")):
        service = services[name]
        assert service["command"] == ["run", "--role", role] and service["deploy"]["replicas"] >= 2
        assert service["environment"]["ENGINE_BACKEND"] == "redis"
        assert f"127.0.0.1:{port}/health" in " ".join(service["healthcheck"]["test"])
        assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert set(compose()["volumes"]) == {"redis-data", "postgres-data", "backups"}
    assert services["proxy"]["ports"] == ["127.0.0.1:8080:8080"]


def compose_command() -> list[str] | None:
    """Docker Compose v2: docker's plugin, or the standalone binary (scripts/test.sh puts one
    into the virtualenv where docker has no plugin)."""
    docker = shutil.which("docker")
    standalone = shutil.which("docker-compose", path=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    for command in ([docker, "compose"] if docker else None, [standalone] if standalone else None):
        if command is None:
            continue
        version = subprocess.run([*command, "version"], capture_output=True, text=True, timeout=30)
        if version.returncode == 0 and " v2." in version.stdout:
            return command
    return None


def test_docker_compose_config_validates_the_file(tmp_path):
    command = compose_command()
    if command is None:
        pytest.skip("Docker Compose v2 not available here: `docker compose config` was not run")
    for name in ("compose.yaml", "nginx.conf"):
        shutil.copy(DEPLOY / name, tmp_path / name)
    shutil.copy(ROOT / ".env.example", tmp_path / "bitbylaw.env")

    def config(file: Path, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, "-f", str(file), "config", "--quiet"],
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": "/usr/bin:/bin:/usr/local/bin", **env},
        )

    result = config(tmp_path / "compose.yaml", POSTGRES_PASSWORD="checked-by-test")
    assert result.returncode == 0, result.stderr
    # It does check: without the password, or with a key compose does not know, it refuses.
    assert "POSTGRES_PASSWORD" in config(tmp_path / "compose.yaml").stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text((tmp_path / "compose.yaml").read_text().replace("    expose:", "    exposes:", 1))
    assert config(broken, POSTGRES_PASSWORD="checked-by-test").returncode != 0


def test_the_dockerfile_parses_and_runs_as_a_user_with_a_health_check():
    from dockerfile_parse import DockerfileParser

    parser = DockerfileParser(path=str(DEPLOY / "Dockerfile"))
    instructions = [(i["instruction"], i["value"]) for i in parser.structure]
    kinds = [k for k, _ in instructions]
    assert kinds.count("FROM") == 2 and parser.baseimage.startswith("python:3.1")
    assert ("USER", "bitbylaw") in instructions and kinds.index("USER") > kinds.index("RUN")
    assert any(k == "HEALTHCHECK" and "/health" in v for k, v in instructions)
    assert ("ENTRYPOINT", '["bitbylaw"]') in instructions and ("EXPOSE", "3000 3001") in instructions
    for kind, value in instructions:
        if kind == "COPY" and not value.startswith("--from"):
            *sources, _ = value.split()
            missing = [s for s in sources if not (ROOT / s).exists()]
            assert missing == [], value


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_build_stage_copies_everything_the_package_needs(tmp_path):
    """What the image's build stage copies builds a wheel with the console's templates and
    static files, the settings template and the project config (no docker needed)."""
    import zipfile

    from dockerfile_parse import DockerfileParser

    parser = DockerfileParser(path=str(DEPLOY / "Dockerfile"))
    context = tmp_path / "src"
    context.mkdir()
    for item in parser.structure:
        if item["instruction"] == "COPY" and not item["value"].startswith("--from"):
            *sources, target = item["value"].split()
            for source in sources:
                destination = context / (Path(source).name if target.endswith("/") else target)
                if (ROOT / source).is_dir():
                    shutil.copytree(
                        ROOT / source,
                        destination,
                        symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__"),
                    )
                else:
                    shutil.copy(ROOT / source, destination)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path / "wheels"),
            str(context),
        ],
        check=True,
        capture_output=True,
        timeout=280,
    )
    (wheel,) = (tmp_path / "wheels").glob("bitbylaw-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for needed in (
        "cli/env.example",
        "cli/motia.config.json",
        "cli/console/templates/overview.html",
        "cli/console/static/htmx-2.0.11.min.js",
        "cli/console/static/console.css",
        "services/db/migrations/postgres/0001_init.sql",
    ):
        assert needed in names, needed
