"""`bitbylaw check`: a pre-flight of the configuration, one line per check with the fix.

Exit code 0 when nothing failed (warnings allowed), 1 when a check failed, 2 when the settings
themselves are invalid (then each bad setting is one line, as for every command).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import typer

from config import Settings, get_settings, settings_warnings
from engine.backends.base import BackendUnavailable
from services import preflight
from services.clients.advoware import AdvowareClient
from services.clients.espocrm import EspoCrmClient
from services.clients.retry import RetryPolicy
from services.clients.session import SessionHolder
from services.clients.tokens import InMemoryTokenCache
from services.preflight import Check
from steps.deps import ServiceDatabaseUnavailable, open_service_db

from . import wiring
from .errors import CliError

MARK = {"ok": "ok  ", "warn": "warn", "fail": "FAIL", "skip": "skip"}
# A pre-flight must answer quickly: one try per call, short timeouts.
QUICK = {"retry": RetryPolicy(max_tries=1), "timeout_s": 5.0}


def check() -> None:
    """Check the settings and every system they name: EspoCRM (key, bookkeeping fields,
    webhooks), Advoware (token), the engine backend, the service database, Google credentials."""
    settings = get_settings()
    results = asyncio.run(run_checks(settings))
    for r in results:
        typer.echo(f"{MARK[r.verdict]}  {r.name}: {r.detail}" + (f" (fix: {r.fix})" if r.fix else ""))
    failed = sum(r.verdict == "fail" for r in results)
    if failed:
        raise CliError(f"{failed} check(s) failed")


async def run_checks(settings: Settings) -> list[Check]:
    out = [
        Check(
            "settings valid",
            "ok",
            f"{settings.engine_backend} backend, data dir {settings.data_path()}, "
            f"crons in {settings.cron_timezone}",
        )
    ]
    out += [Check("production setting", "warn", w) for w in settings_warnings(settings)]
    out.append(await _guard("engine backend reachable", lambda: _backend(settings)))
    out.append(await _guard("service database reachable", lambda: _database(settings)))
    session = SessionHolder()
    try:
        crm = EspoCrmClient.from_settings(settings, session, **QUICK)
        espo = await preflight.check_espocrm(crm, settings.espocrm_api_base_url)
        out.append(espo)
        if espo.verdict == "ok":
            out.append(await preflight.check_bookkeeping_fields(crm))
            out.append(
                await preflight.check_webhooks(
                    crm,
                    settings.service_public_url,
                    list(settings.espocrm_webhook_secrets),
                    bool(settings.espocrm_webhook_secret.get_secret_value()),
                )
            )
        advo = AdvowareClient.from_settings(settings, session, InMemoryTokenCache(), **QUICK)
        out.append(await preflight.check_advoware(advo))
    finally:
        await session.close()
    out.append(preflight.check_google_credentials(settings.google_service_account_file))
    return out


async def _guard(name: str, check: Callable[[], Awaitable[Check]]) -> Check:
    try:
        return await check()
    except (BackendUnavailable, ServiceDatabaseUnavailable, CliError) as exc:
        fix = (
            "check DATABASE_URL"
            if isinstance(exc, ServiceDatabaseUnavailable)
            else "check ENGINE_BACKEND, REDIS_URL"
        )
        return Check(name, "fail", str(exc), fix)


async def _backend(settings: Settings) -> Check:
    name = "engine backend reachable"
    if settings.engine_backend == "embedded" and not settings.engine_db_file().is_file():
        return Check(
            name, "warn", f"no engine database yet at {settings.engine_db_file()}", "bitbylaw run creates it"
        )
    async with wiring.connected_backend(settings) as backend:
        latency = await backend.ping()
    where = (
        settings.engine_db_file()
        if settings.engine_backend == "embedded"
        else f"prefix {settings.redis_prefix}"
    )
    return Check(name, "ok", f"{settings.engine_backend} ({where}), {latency * 1000:.1f} ms")


def _sqlite_file_missing(url: str) -> bool:
    return url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite://")).is_file()


async def _database(settings: Settings) -> Check:
    url = settings.service_database_url()
    if _sqlite_file_missing(url):
        return Check("service database reachable", "warn", f"no database yet at {url}", "bitbylaw db migrate")
    db = await open_service_db(settings, migrate=False)
    try:
        return await preflight.check_database(db)
    finally:
        await db.close()


def register(app: typer.Typer) -> None:
    app.command()(check)
