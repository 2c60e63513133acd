"""Shared helpers for the client tests: a session holder, fast retries, simulator admin calls.

The clients are exercised over real HTTP against the simulators; nothing of the clients is
mocked. Retry delays are tiny so tests stay fast."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from services.clients import (
    GoogleCalendarClient,
    InMemoryTokenCache,
    RetryPolicy,
    ServiceAccount,
    SessionHolder,
)

FAST_RETRY = RetryPolicy(max_tries=4, base_delay=0.001, max_delay=0.005)


@pytest.fixture
async def holder() -> AsyncIterator[SessionHolder]:
    h = SessionHolder()
    yield h
    await h.close()


async def admin_post(root_url: str, path: str, body: Any) -> Any:
    """POST to a simulator's admin interface (`root_url` is the origin, no API prefix)."""
    async with aiohttp.ClientSession() as session, session.post(root_url.rstrip("/") + path, json=body) as r:
        assert r.status < 300, await r.text()
        return await r.json()


async def set_faults(root_url: str, *rules: dict[str, Any]) -> None:
    await admin_post(root_url, "/_admin/faults", {"rules": list(rules)})


def count(
    calls: dict[tuple[str, str, int], int],
    method: str | None = None,
    route: str | None = None,
    status: int | None = None,
) -> int:
    """Sum of simulator call counts; `route` matches as a suffix of the route template."""
    return sum(
        n
        for (m, r, s), n in calls.items()
        if method in (None, m) and (route is None or r.endswith(route)) and status in (None, s)
    )


def make_google_client(sim: Any, holder: SessionHolder, **overrides: object) -> GoogleCalendarClient:
    """A Google client of the simulator's trusted service account (acting as itself unless
    `subject=` says otherwise), fast retries, no rate limit."""
    kwargs: dict[str, object] = {
        "base_url": sim.url,
        "service_account": ServiceAccount.from_info(sim.key_info, token_uri=sim.token_url),
        "token_caches": lambda _principal: InMemoryTokenCache(),
        "session": holder,
        "retry": FAST_RETRY,
        "max_requests_per_second": 0,
        "timeout_s": 5.0,
    }
    return GoogleCalendarClient(**{**kwargs, **overrides})  # type: ignore[arg-type]
