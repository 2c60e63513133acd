"""Adapters from the engine's `ctx` to what services need (DECISIONS 3): the per-process
clients, a token cache over `ctx.state`. Not a step file (no `_step.py` suffix)."""

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


async def database(ctx: Any) -> Any:
    """The service database of this process, opened and migrated once (also at start-up)."""
    db = ctx.resources.get("db")
    if db is None:
        from services.db import open_database

        s = settings_of(ctx)
        db = await open_database(s.database_url.get_secret_value(), show_values=s.audit_show_values).connect()
        await db.migrate()
        ctx.resources["db"] = db
    return db


class CtxLock:
    """services' Lock port over the engine's owner-token locks."""

    def __init__(self, locks: Any) -> None:
        self._locks = locks

    async def acquire(self, key: str, ttl: float) -> str | None:
        token: str | None = await self._locks.acquire(key, ttl)
        return token

    async def release(self, key: str, token: str) -> bool:
        released: bool = await self._locks.release(key, token)
        return released


async def beteiligte_service(ctx: Any) -> Any:
    service = ctx.resources.get("beteiligte_service")
    if service is None:
        from services.beteiligte.ports import SyncSettings
        from services.beteiligte.service import BeteiligteSyncService

        s = settings_of(ctx)
        sync_settings = SyncSettings(
            admin_user_id=s.espocrm_admin_user_id,
            audit_show_values=s.audit_show_values,
            lock_ttl_s=s.beteiligte_lock_ttl_seconds,
        )
        service = BeteiligteSyncService(
            espocrm(ctx), advoware(ctx), await database(ctx), CtxLock(ctx.locks), sync_settings
        )
        ctx.resources["beteiligte_service"] = service
    return service


def webhook_secrets(ctx: Any) -> Any:
    from services.webhooks import WebhookSecrets

    s = settings_of(ctx)
    by_id = {k: v.get_secret_value() for k, v in s.espocrm_webhook_secrets.items()}
    return WebhookSecrets(s.espocrm_webhook_secret.get_secret_value(), by_id or None)
