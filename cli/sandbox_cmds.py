"""`bitbylaw sandbox` (the service wired to the three simulators, embedded backend, nothing else
to install) and `bitbylaw simulate` (the simulators alone)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
from pathlib import Path

import typer

from config import ENV_FILE_VARIABLE, Settings, get_settings, load_settings
from engine.logs import configure_logging
from services.webhook_subscriptions import wanted_subscriptions
from simulators.espocrm import WebhookSubscriptionConfig
from simulators.runner import (
    GOOGLE_KEY_FILE,
    SANDBOX_CALENDAR_OWNER,
    Simulators,
    seed_demo_data,
    start_simulators,
)

from . import wiring

SANDBOX_PROXY_KEY = "sandbox-proxy-key"
SANDBOX_WEBHOOK_SECRET = "sandbox-webhook-secret"
SANDBOX_CONSOLE_PASSWORD = "sandbox-console-password"


SETTINGS_FILE = "sandbox.env"


def public_url(base: Settings) -> str:
    return f"http://{base.http_host}:{base.http_port}"


def sandbox_webhooks(base: Settings) -> list[WebhookSubscriptionConfig]:
    """EspoCRM's subscriptions to the service, as `bitbylaw espocrm webhooks register` makes them."""
    return [
        WebhookSubscriptionConfig(
            w.event, w.url, SANDBOX_WEBHOOK_SECRET, webhook_id=f"sandbox-{w.event.lower().replace('.', '-')}"
        )
        for w in wanted_subscriptions(public_url(base))
    ]


def sandbox_values(base: Settings, sims: Simulators, data_dir: Path) -> dict[str, str]:
    """The settings of a service talking to the simulators (credentials from their configs)."""
    adv = sims.advoware_config
    proxy_keys = base.proxy_api_keys.get_secret_value() or SANDBOX_PROXY_KEY
    values: dict[str, str] = {
        "DATA_DIR": str(data_dir.resolve()),
        "ENGINE_BACKEND": "embedded",
        "ENGINE_DB_PATH": "engine.db",
        "DATABASE_URL": "sqlite:///service.db",
        "HTTP_HOST": base.http_host,
        "HTTP_PORT": str(base.http_port),
        "SERVICE_PUBLIC_URL": public_url(base),
        "LOG_LEVEL": base.log_level,
        "CRON_TIMEZONE": base.cron_timezone,
        "ADVOWARE_API_BASE_URL": sims.advoware_url,
        "ADVOWARE_TOKEN_URL": sims.advoware_url + "api/v1/Token",
        "ADVOWARE_APP_ID": adv.app_id,
        "ADVOWARE_API_KEY": adv.api_key_b64,
        "ADVOWARE_KANZLEI": adv.kanzlei,
        "ADVOWARE_DATABASE": adv.database,
        "ADVOWARE_USER": adv.user,
        "ADVOWARE_PASSWORD": adv.password,
        "ESPOCRM_API_BASE_URL": sims.espocrm_api_url,
        "ESPOCRM_API_KEY": sims.espocrm_config.api_key,
        "GOOGLE_API_BASE_URL": sims.google_api_url,
        "GOOGLE_TOKEN_URL": sims.google.url + "/token",
        "GOOGLE_SERVICE_ACCOUNT_FILE": str(sims.google_key_file or data_dir / GOOGLE_KEY_FILE),
        "GOOGLE_DELEGATION": "owner",
        "GOOGLE_CALENDAR_OWNER": SANDBOX_CALENDAR_OWNER,
        "PROXY_API_KEYS": proxy_keys,
        "CONSOLE_PASSWORD": base.console_password.get_secret_value() or SANDBOX_CONSOLE_PASSWORD,
        # The simulator signs its webhooks with this secret; the service verifies them.
        "ESPOCRM_WEBHOOK_SECRET": SANDBOX_WEBHOOK_SECRET,
        "SIMULATOR_HOST": base.simulator_host,
        "SIMULATOR_ADVOWARE_PORT": str(sims.advoware.port),
        "SIMULATOR_ESPOCRM_PORT": str(sims.espocrm.port),
        "SIMULATOR_GOOGLE_PORT": str(sims.google.port),
    }
    if "steps_dirs" in base.model_fields_set:
        values["STEPS_DIRS"] = json.dumps(base.steps_dirs)
    return values


def write_settings_file(values: dict[str, str], path: Path) -> None:
    """The settings file a CLI beside the sandbox needs (owner-only: it holds credentials)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Written by `bitbylaw sandbox`: the settings of the running sandbox (simulators only)."]
    lines += [f"{k}={_quoted(v)}" for k, v in values.items()]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def _quoted(value: str) -> str:
    """Single quotes (taken literally by the settings file's parser) unless the value is plain."""
    return value if re.fullmatch(r"[A-Za-z0-9_./:@,+-]*", value) else "'" + value.replace("'", "") + "'"


def sandbox_settings(base: Settings, sims: Simulators, data_dir: Path) -> tuple[Settings, Path]:
    """Writes the sandbox's settings file and loads the settings from it, as a CLI would."""
    path = data_dir.resolve() / SETTINGS_FILE
    values = sandbox_values(base, sims, data_dir)
    write_settings_file(values, path)
    # The values as init arguments: they win over the environment, as the file's contents must.
    return load_settings(path, **values), path


def _banner(settings: Settings, port: int | None, sims: Simulators, settings_path: Path) -> str:
    svc = f"http://{settings.http_host}:{port}"
    proxy = f"{svc}/advoware/proxy?path"
    key = SANDBOX_PROXY_KEY if settings.proxy_keys() == [SANDBOX_PROXY_KEY] else "$PROXY_API_KEYS"
    console = (
        SANDBOX_CONSOLE_PASSWORD
        if settings.console_password.get_secret_value() == SANDBOX_CONSOLE_PASSWORD
        else "$CONSOLE_PASSWORD"
    )
    return "\n".join(
        [
            "bitbylaw sandbox is running (embedded backend, simulated EspoCRM, Advoware, Google).",
            f"  service          {svc}   (health: {svc}/health, metrics: {svc}/metrics)",
            f"  console          {svc}/console   (password: {console})",
            f"  Advoware sim     {sims.advoware.url}   (admin: {sims.advoware.url}/_admin/calls)",
            f"  EspoCRM sim      {sims.espocrm.url}   (admin: {sims.espocrm.url}/_admin/state)",
            f"  Google sim       {sims.google.url}",
            "Try:",
            f"  curl -s {svc}/health",
            f"  curl -s -H 'X-API-Key: {key}' '{proxy}=api/v1/advonet/Mitarbeiter'",
            f"  curl -s -H 'X-API-Key: {key}' '{proxy}=api/v1/advonet/Beteiligte/{_a_party(sims)}'",
            "  # a party created in EspoCRM by a user: its webhook makes the service create it in Advoware",
            f"  curl -s -X POST -H 'X-Api-Key: {sims.espocrm_config.api_key}' -H 'X-Sim-User: user-anna'"
            f' -H \'Content-Type: application/json\' -d \'{{"firstName": "Erika", "lastName": "Probe"}}\''
            f" {sims.espocrm_api_url}/CBeteiligte",
            f"  curl -s -H 'X-Api-Key: {sims.espocrm_config.api_key}' {sims.espocrm_api_url}/CBeteiligte/<id>"
            "   # betnr, syncStatus clean",
            f"  curl -s {sims.advoware.url}/_admin/calls",
            f"CLI beside this sandbox (its settings file, {settings_path}):",
            f"  export {ENV_FILE_VARIABLE}={settings_path}",
            "  bitbylaw queues; bitbylaw failed; bitbylaw sync beteiligte <id> --dry-run; bitbylaw check",
            "Stop with Ctrl-C.",
        ]
    )


def _a_party(sims: Simulators) -> int:
    """A party number that exists in the Advoware simulator (the first seeded one)."""
    parties = sims.advoware.runner.app["advoware"].parties
    return min(parties) if parties else 100001


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _start_simulators(
    base: Settings, seed: bool, webhooks: list[WebhookSubscriptionConfig], data_dir: Path
) -> Simulators:
    ports = (base.simulator_advoware_port, base.simulator_espocrm_port, base.simulator_google_port)
    sims = await start_simulators(
        base.simulator_host,
        ports,
        base.snapshot_dir(),
        webhooks,
        google_key_file=data_dir / GOOGLE_KEY_FILE,
    )
    if seed:
        try:
            await seed_demo_data(sims)
        except BaseException:
            await sims.stop()
            raise
    return sims


async def _sandbox(base: Settings, data_dir: Path, seed: bool) -> None:
    sims = await _start_simulators(base, seed, sandbox_webhooks(base), data_dir)
    try:
        settings, settings_path = sandbox_settings(base, sims, data_dir)
        engine = wiring.make_engine(settings, role="all", backend_kind="embedded")
        await engine.start()
        try:
            typer.echo(_banner(settings, engine.port, sims, settings_path))
            await _wait_for_signal()
            typer.echo("stopping…")
        finally:
            await engine.stop()
    finally:
        await sims.stop()


def sandbox(
    data_dir: Path = typer.Option(
        None, help="where the sandbox keeps its files and its settings file (default: DATA_DIR/sandbox)"
    ),
    seed: bool = typer.Option(True, help="seed the simulators with demo data"),
) -> None:
    """Run the service against simulated EspoCRM, Advoware and Google until Ctrl-C. Writes the
    settings file a CLI beside it needs and names it in its banner."""
    base = get_settings()
    configure_logging(base.log_level)
    asyncio.run(_sandbox(base, data_dir or base.data_path() / "sandbox", seed))


async def _simulate(base: Settings, seed: bool, data_dir: Path) -> None:
    sims = await _start_simulators(base, seed, [], data_dir)
    try:
        typer.echo(
            f"Advoware {sims.advoware_url}\nEspoCRM  {sims.espocrm_api_url}\nGoogle   {sims.google_api_url}"
        )
        typer.echo(
            f"Google service-account key (GOOGLE_SERVICE_ACCOUNT_FILE): {sims.google_key_file}; "
            f"calendar owner {SANDBOX_CALENDAR_OWNER}"
        )
        typer.echo("Admin API under /_admin on each. Stop with Ctrl-C.")
        await _wait_for_signal()
    finally:
        await sims.stop()


def simulate(
    seed: bool = typer.Option(False, help="seed demo data"),
    data_dir: Path = typer.Option(
        Path("data/simulators"), help="where the generated Google service-account key is kept"
    ),
) -> None:
    """Start the three simulators alone (ports from SIMULATOR_*_PORT)."""
    base = get_settings()
    configure_logging(base.log_level)
    asyncio.run(_simulate(base, seed, data_dir))


def register(app: typer.Typer) -> None:
    app.command()(sandbox)
    app.command()(simulate)
