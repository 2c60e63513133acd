"""Adapters from the engine's `ctx` to what services need: the per-process clients, a token
cache over `ctx.state`, the party sync service from its composition root. Not a step file (no
`_step.py` suffix)."""

from __future__ import annotations

from typing import Any

from config import Settings
from services.clients.advoware import AdvowareClient
from services.clients.session import shared_session


class StateTokenCache:
    """The Advoware token lives in the engine's state (SQLite or Redis), shared by every process
    of the deployment, so the token endpoint is asked once per lifetime, not once per process."""

    def __init__(self, state: Any, group: str = "advoware", key: str = "access_token") -> None:
        self._state, self._group, self._key = state, group, key

    async def get(self) -> str | None:
        value = await self._state.get(self._group, self._key)
        return value if isinstance(value, str) else None

    async def set(self, token: str, ttl_seconds: float) -> None:
        await self._state.set(self._group, self._key, token, ttl=ttl_seconds)


def settings_of(ctx: Any) -> Settings:
    settings = ctx.resources.get("settings")
    if settings is None:
        from config import get_settings

        settings = ctx.resources["settings"] = get_settings()
    return settings


def advoware(ctx: Any) -> AdvowareClient:
    client = ctx.resources.get("advoware")
    if client is None:
        client = AdvowareClient.from_settings(settings_of(ctx), shared_session(), StateTokenCache(ctx.state))
        ctx.resources["advoware"] = client
    return client


def espocrm(ctx: Any) -> Any:
    client = ctx.resources.get("espocrm")
    if client is None:
        from services.clients.espocrm import EspoCrmClient

        client = EspoCrmClient.from_settings(settings_of(ctx), shared_session(), None)
        ctx.resources["espocrm"] = client
    return client


class ServiceDatabaseUnavailable(RuntimeError):
    """The service database cannot be opened or migrated; the message names no password."""

    log_safe = True


async def open_service_db(settings: Settings, migrate: bool = True) -> Any:
    """The service database, opened and (by default) migrated: migrations run at start-up."""
    from services.db import open_database

    url = settings.service_database_url()
    try:
        db = await open_database(url, show_values=settings.audit_show_values).connect()
    except (OSError, ValueError) as exc:
        raise ServiceDatabaseUnavailable(
            f"service database unreachable: {_reason(exc)} (check DATABASE_URL)"
        ) from exc
    except Exception as exc:  # asyncpg's errors (wrong password, no such database) share no base
        raise ServiceDatabaseUnavailable(
            f"service database refused the connection: {type(exc).__name__} (check DATABASE_URL)"
        ) from exc
    if migrate:
        await db.migrate()
    return db


def _reason(exc: Exception) -> str:
    """An OSError's reason without the URL (which may hold a password)."""
    if isinstance(exc, OSError):
        return (exc.strerror or type(exc).__name__).lower()
    return type(exc).__name__


async def database(ctx: Any) -> Any:
    """The service database of this process, opened once (normally at start-up)."""
    db = ctx.resources.get("db")
    if db is None:
        db = ctx.resources["db"] = await open_service_db(settings_of(ctx))
    return db


async def beteiligte_service(ctx: Any) -> Any:
    """The party sync of this process, from the one composition root; `ctx.locks` serves as its
    Lock port as it is."""
    from services.beteiligte.compose import build_service

    return await _sync_service(ctx, "beteiligte_service", build_service)


async def bank_service(ctx: Any) -> Any:
    """The bank account sync of this process (same lock, database and settings as the party's)."""
    from services.bankverbindungen.compose import build_bank_service

    return await _sync_service(ctx, "bank_service", build_bank_service)


async def _sync_service(ctx: Any, name: str, build: Any) -> Any:
    """One sync service per process, built on its first job and kept in the resources."""
    service = ctx.resources.get(name)
    if service is None:
        service = build(
            settings_of(ctx),
            session=shared_session(),
            token_cache=StateTokenCache(ctx.state),
            db=await database(ctx),
            lock=ctx.locks,
        )
        ctx.resources[name] = service
    return service


async def calendar_service(ctx: Any) -> Any:
    """The calendar sync of this process, from its composition root; Google tokens are cached in
    the engine's state per principal (the delegated user), the Advoware token as for parties."""
    service = ctx.resources.get("calendar_service")
    if service is None:
        from services.calendar.compose import build_service

        service = build_service(
            settings_of(ctx),
            session=shared_session(),
            token_cache=StateTokenCache(ctx.state),
            google_token_caches=lambda principal: StateTokenCache(ctx.state, "google", principal),
            db=await database(ctx),
            lock=ctx.locks,
        )
        ctx.resources["calendar_service"] = service
    return service


async def beteiligte_health(ctx: Any) -> dict[str, Any]:
    """`/health`'s part of the party sync (permanently failed parties, locks held too long)."""
    check = ctx.resources.get("beteiligte_health")
    if check is None:
        from services.beteiligte.compose import build_health

        check = build_health(settings_of(ctx), shared_session(), ctx.locks.list)
        ctx.resources["beteiligte_health"] = check
    result: dict[str, Any] = await check()
    return result


def webhook_secrets(ctx: Any) -> Any:
    """The webhook secrets of this process, built once (every webhook request checks them)."""
    secrets = ctx.resources.get("webhook_secrets")
    if secrets is None:
        from services.webhooks import WebhookSecrets

        s = settings_of(ctx)
        by_id = {k: v.get_secret_value() for k, v in s.espocrm_webhook_secrets.items()}
        secrets = WebhookSecrets(s.espocrm_webhook_secret.get_secret_value(), by_id or None)
        ctx.resources["webhook_secrets"] = secrets
    return secrets
