"""One `aiohttp.ClientSession` per process, shared by the three clients.

A session owns a connection pool; one per process keeps keep-alive connections reused across
all calls. The holder creates it lazily (inside the running event loop, as aiohttp requires)
and closes it on shutdown. Timeouts are set per request by the clients, not on the session.
"""

from __future__ import annotations

import asyncio

import aiohttp


class SessionHolder:
    """Lazily creates one ClientSession; `close()` on shutdown. Can also wrap a session owned
    by someone else (then `close()` leaves it open)."""

    def __init__(self, session: aiohttp.ClientSession | None = None, connection_limit: int = 100) -> None:
        self._session = session
        self._owned = session is None
        self._limit = connection_limit
        self._lock = asyncio.Lock()

    async def get(self) -> aiohttp.ClientSession:
        if self._session is not None and not self._session.closed:
            return self._session
        async with self._lock:
            if self._session is None or self._session.closed:
                connector = aiohttp.TCPConnector(limit=self._limit)
                # raise_for_status stays off: the clients map statuses to errors themselves.
                self._session = aiohttp.ClientSession(connector=connector)
                self._owned = True
            return self._session

    async def close(self) -> None:
        if self._owned and self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


SessionSource = SessionHolder | aiohttp.ClientSession


def as_holder(source: SessionSource) -> SessionHolder:
    """Clients accept a holder or a plain session; a plain session is wrapped, not owned."""
    return source if isinstance(source, SessionHolder) else SessionHolder(source)


_shared: SessionHolder | None = None


def shared_session() -> SessionHolder:
    """The process-wide holder; `close_shared_session()` belongs in the shutdown hook."""
    global _shared
    if _shared is None:
        _shared = SessionHolder()
    return _shared


async def close_shared_session() -> None:
    global _shared
    if _shared is not None:
        await _shared.close()
        _shared = None
