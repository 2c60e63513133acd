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
