"""A live service for the fuzz and schemathesis tests: the simulators and the service's HTTP edge
wired exactly as `bitbylaw sandbox` wires them (sandbox settings: the proxy key, the simulator's
webhook secrets), in a thread of their own so that synchronous clients (raw sockets, requests)
can call it. Role `api`: jobs stay queued, so a test can see whether a request enqueued any."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from cli import wiring
from cli.sandbox_cmds import SANDBOX_PROXY_KEY, SANDBOX_WEBHOOK_SECRET, sandbox_settings, sandbox_webhooks
from config import Settings
from engine.runtime import Engine, all_queues
from simulators.runner import Simulators, start_simulators
from tests.fixtures.service_process import free_port
from tests.steps.test_beteiligte_webhook import sign_new

__all__ = ["SANDBOX_PROXY_KEY", "LiveService", "live_service"]


class LiveService:
    def __init__(self, data_dir: Path, **overrides: Any) -> None:
        self.data_dir, self.overrides = data_dir, overrides
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="live-service", daemon=True)
        self.sims: Simulators | None = None
        self.engine: Engine | None = None

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> LiveService:
        self.thread.start()
        self.call(self._start(), timeout=60)
        return self

    async def _start(self) -> None:
        base = Settings(_env_file=None, HTTP_PORT=str(free_port()), LOG_LEVEL="WARNING")  # type: ignore[call-arg]
        self.sims = await start_simulators(webhooks=sandbox_webhooks(base))
        settings, _ = sandbox_settings(base, self.sims, self.data_dir)
        settings = settings.model_copy(update=self.overrides)
        self.engine = wiring.make_engine(settings, role="api", backend_kind="embedded")
        await self.engine.start()

    def stop(self) -> None:
        async def stop() -> None:
            if self.engine is not None:
                await self.engine.stop()
            if self.sims is not None:
                await self.sims.stop()
            # Connections still lingering over an unread body end with the loop.
            rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        try:
            self.call(stop(), timeout=60)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(30)
            self.loop.close()

    @property
    def port(self) -> int:
        assert self.engine is not None and self.engine.port is not None
        return self.engine.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def queued(self) -> int:
        """Jobs waiting in every queue of the service (nothing consumes them in role `api`)."""
        assert self.engine is not None
        engine = self.engine

        async def count() -> int:
            stats = await engine.backend.queue_stats(all_queues(engine.steps))
            return sum(s.depth + s.delayed + s.in_flight for s in stats)

        return int(self.call(count()))

    def advoware_calls(self) -> int:
        assert self.sims is not None
        core = self.sims.advoware.runner.app["core"]

        async def count() -> int:
            return sum(core.calls.values())

        return int(self.call(count()))


def espocrm_signature(raw: bytes) -> str:
    """The `Signature` header the sandbox's EspoCRM simulator would send for `raw`."""
    return sign_new("sandbox-create", SANDBOX_WEBHOOK_SECRET, raw)


@pytest.fixture(scope="module")
def live_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    service = LiveService(tmp_path_factory.mktemp("live"), http_body_timeout_seconds=1.0)
    service.start()
    try:
        yield service
    finally:
        service.stop()
