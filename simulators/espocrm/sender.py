"""Outgoing webhooks, part 2: the background sender (2.3, E1, E2).

Like EspoCRM's cron job it runs in rounds: a round starts once the oldest fresh item has waited
`webhook_delay_s` (or a retry is due) and sends everything fresh then queued, so items saved in
quick succession share a POST. Per webhook, items go out in arrays of at most
`webhook_batch_size`, signed over the exact bytes sent.

Result of a POST: 2xx/3xx done; 410 deletes the webhook; 0 (no connection, timeout)/401/403/
404/405/408/500/503 are retried up to `webhook_max_attempts` attempts, `webhook_retry_interval_s`
apart; any other code fails the items at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import aiohttp

from .signing import php_json, signature_headers
from .state import EspoState
from .webhooks import QueueItem, WebhookQueue

RETRY_CODES = frozenset({0, 401, 403, 404, 405, 408, 500, 503})


class WebhookSender:
    def __init__(self, state: EspoState, queue: WebhookQueue) -> None:
        self.state, self.queue, self.config = state, queue, state.config
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        timeout = aiohttp.ClientTimeout(
            total=self.config.webhook_timeout_s, connect=self.config.webhook_connect_timeout_s
        )
        self._session = aiohttp.ClientSession(timeout=timeout)
        self._task = asyncio.create_task(self._loop(), name="espocrm-webhook-sender")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()

    async def flush(self) -> list[dict[str, Any]]:
        """Send every pending item now, retries included; the deliveries this made."""
        return await self._round(force=True)

    async def _loop(self) -> None:
        while True:
            self.queue.wake.clear()
            wait = self._seconds_to_next_round()
            if wait is not None and wait <= 0:
                await self._round(force=False)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.queue.wake.wait(), timeout=wait)

    def _seconds_to_next_round(self) -> float | None:
        if not self.queue.pending:
            return None
        return min(item.process_at for item in self.queue.pending) - time.monotonic()

    def _take(self, force: bool) -> list[QueueItem]:
        now = time.monotonic()
        taken: list[QueueItem] = []
        kept: list[QueueItem] = []
        for item in self.queue.pending:
            (taken if force or item.attempts == 0 or item.process_at <= now else kept).append(item)
        self.queue.pending = kept
        return taken

    async def _round(self, force: bool) -> list[dict[str, Any]]:
        async with self._lock:
            items = self._take(force)
            by_hook: dict[str, list[QueueItem]] = {}
            for item in items:
                by_hook.setdefault(item.webhook_id, []).append(item)
            made: list[dict[str, Any]] = []
            size = max(self.config.webhook_batch_size, 1)
            for webhook_id, hook_items in by_hook.items():
                for start in range(0, len(hook_items), size):
                    made.append(await self._deliver(webhook_id, hook_items[start : start + size]))
            return made

    async def _deliver(self, webhook_id: str, batch: list[QueueItem]) -> dict[str, Any]:
        hook = self.state.tables["Webhook"].get(webhook_id)
        if hook is None:  # deleted meanwhile: EspoCRM drops its queue
            self._finish(batch, "dropped")
            return self._log(webhook_id, None, batch, None, "dropped")
        body = php_json([item.data for item in batch])
        headers = {
            "Content-Type": "application/json",
            **signature_headers(webhook_id, hook.get("secretKey"), body),
        }
        code = await self._post(hook["url"], body, headers)
        for item in batch:
            item.attempts += 1
        outcome = self._handle(webhook_id, batch, code)
        return self._log(webhook_id, hook["url"], batch, code, outcome)

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        assert self._session is not None, "sender not started"
        try:
            async with self._session.post(url, data=body, headers=headers, allow_redirects=False) as resp:
                await resp.read()
                return resp.status
        except (aiohttp.ClientError, TimeoutError, OSError):
            return 0  # no connection or timed out, as curl reports it

    def _handle(self, webhook_id: str, batch: list[QueueItem], code: int) -> str:
        if 200 <= code < 400:
            self._finish(batch, "sent")
            return "done"
        if code == 410:
            self.state.tables["Webhook"].pop(webhook_id, None)
            self._finish(batch, "dropped")
            self._drop_pending(webhook_id)
            return "webhook_deleted"
        if code in RETRY_CODES:
            retry = [i for i in batch if i.attempts < self.config.webhook_max_attempts]
            self._finish([i for i in batch if i.attempts >= self.config.webhook_max_attempts], "failed")
            due = time.monotonic() + self.config.webhook_retry_interval_s
            for item in retry:
                item.process_at = due
            self.queue.pending.extend(retry)
            return "retry" if retry else "failed"
        self._finish(batch, "failed")
        return "failed"

    def _drop_pending(self, webhook_id: str) -> None:
        dropped = [i for i in self.queue.pending if i.webhook_id == webhook_id]
        self.queue.pending = [i for i in self.queue.pending if i.webhook_id != webhook_id]
        self._finish(dropped, "dropped")

    def _finish(self, items: list[QueueItem], status: str) -> None:
        for item in items:
            item.status = status
        self.queue.finished.extend(items)

    def _log(
        self, webhook_id: str, url: str | None, batch: list[QueueItem], code: int | None, outcome: str
    ) -> dict[str, Any]:
        entry = {
            "webhookId": webhook_id,
            "url": url,
            "event": batch[0].event if batch else None,
            "status": code,
            "outcome": outcome,
            "items": len(batch),
            "ids": [item.data.get("id") for item in batch],
            "attempt": max((item.attempts for item in batch), default=0),
            "at": self.state.now(),
        }
        self.queue.deliveries.append(entry)
        return entry
