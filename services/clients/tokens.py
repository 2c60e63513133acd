"""Bearer-token caching shared by the Advoware and Google clients.

The cache itself is supplied by the caller through the small `TokenCache` protocol: steps adapt
the engine's key-value state to it (so every process shares one token and `services/` imports
nothing from `engine/`, DECISIONS 3); `InMemoryTokenCache` serves tests and the CLI.
`TokenManager` adds what a cache alone cannot: one fetch for many concurrent callers, a local
copy to spare a cache round trip per call, and a refresh after a 401 that does not refetch when
another caller already did.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol


class TokenCache(Protocol):
    async def get(self) -> str | None: ...

    async def set(self, token: str, ttl_seconds: float) -> None: ...


class InMemoryTokenCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._token: str | None = None
        self._expires = 0.0

    async def get(self) -> str | None:
        return self._token if self._token and self._clock() < self._expires else None

    async def set(self, token: str, ttl_seconds: float) -> None:
        self._token, self._expires = token, self._clock() + ttl_seconds


# (token, lifetime in seconds as reported by the issuer, or None when it says nothing)
TokenFetcher = Callable[[], Awaitable[tuple[str, float | None]]]


def cache_ttl(reported_s: float | None, configured_s: float, margin_s: float) -> float:
    """How long to keep a token: the shorter of the reported and configured lifetime, minus a
    safety margin so no call starts with a token about to expire. Short lifetimes (tests) keep
    half their length instead of going negative."""
    lifetime = min(reported_s, configured_s) if reported_s else configured_s
    return lifetime - margin_s if lifetime > 2 * margin_s else lifetime / 2


class TokenManager:
    def __init__(
        self,
        cache: TokenCache,
        fetch: TokenFetcher,
        lifetime_s: float,
        margin_s: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cache, self._fetch = cache, fetch
        self._lifetime, self._margin = lifetime_s, margin_s
        self._clock = clock
        self._local: str | None = None
        self._local_expires = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        if self._local and self._clock() < self._local_expires:
            return self._local
        async with self._lock:  # concurrent first callers share one fetch
            if self._local and self._clock() < self._local_expires:
                return self._local
            cached = await self._cache.get()
            if cached:
                # The cache's remaining TTL is unknown here: re-check it again soon.
                self._keep(cached, min(60.0, self._lifetime / 2))
                return cached
            return await self._renew()

    async def refresh(self, rejected: str | None) -> str:
        """After a 401 with `rejected`: a fresh token, fetched only if nobody did so already."""
        async with self._lock:
            if self._local and self._local != rejected and self._clock() < self._local_expires:
                return self._local
            cached = await self._cache.get()
            if cached and cached != rejected:
                self._keep(cached, min(60.0, self._lifetime / 2))
                return cached
            return await self._renew()

    async def _renew(self) -> str:
        token, reported = await self._fetch()
        ttl = cache_ttl(reported, self._lifetime, self._margin)
        await self._cache.set(token, ttl)
        self._keep(token, ttl)
        return token

    def _keep(self, token: str, ttl: float) -> None:
        self._local, self._local_expires = token, self._clock() + ttl
