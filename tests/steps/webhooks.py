"""Shared by the webhook step tests of child records (addresses, bank accounts): a service whose
worker and cron are stopped, so the jobs a webhook enqueues stay queued for inspection, and a
signed POST to one of its webhook routes."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from tests.steps.conftest import start_service
from tests.steps.test_beteiligte_webhook import sign_new

SECRET = "hook-secret"


@contextlib.asynccontextmanager
async def paused_service(tmp_path: Path) -> AsyncIterator[tuple[aiohttp.ClientSession, Any]]:
    engine = await start_service(tmp_path, ESPOCRM_WEBHOOK_SECRET=SECRET)
    try:
        await engine.worker.stop(1)  # keep the jobs queued for inspection
        await engine.cron.stop(1)
        async with aiohttp.ClientSession(f"http://127.0.0.1:{engine.port}") as session:
            yield session, engine
    finally:
        await engine.stop()


async def post_webhook(
    session: aiohttp.ClientSession, route: str, items: list[dict[str, Any]], signed: bool = True
) -> tuple[int, Any]:
    """POST `items` to `/vmh/webhook/{route}`, signed with the service's secret unless `signed` is off."""
    body = json.dumps(items).encode()
    headers = {"Content-Type": "application/json"}
    if signed:
        headers["Signature"] = sign_new("wh", SECRET, body)
    async with session.post(f"/vmh/webhook/{route}", data=body, headers=headers) as r:
        return r.status, await r.json()
