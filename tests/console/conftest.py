"""A live, sandbox-wired service with the console (the edge tests' `LiveService`, role `api`),
plus a worker the test starts and stops, so queued jobs wait until the test lets them run.
Helpers act as EspoCRM's users and as Advoware's faults do, over the simulators' HTTP."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.cookiejar import CookieJar
from typing import Any
from urllib.parse import urlencode

import pytest

from cli import wiring
from cli.sandbox_cmds import SANDBOX_CONSOLE_PASSWORD
from engine.context import Emit, Subscriptions, enqueue_emits
from engine.runtime import Engine, all_queues
from tests.edge.conftest import LiveService

SYNC_CHECK = "vmh.beteiligte.sync_check"
SYNC_QUEUE = f"{SYNC_CHECK}::vmh-beteiligte-sync"
PASSWORD = SANDBOX_CONSOLE_PASSWORD


class ConsoleService(LiveService):
    worker: Engine | None = None

    def start_worker(self) -> None:
        async def start() -> None:
            assert self.settings is not None
            self.worker = wiring.make_engine(
                self.settings, role="worker", backend_kind="embedded", metrics_port=0
            )
            await self.worker.start()

        self.call(start())

    def stop_worker(self) -> None:
        async def stop() -> None:
            if self.worker is not None:
                await self.worker.stop()
                self.worker = None

        self.call(stop(), timeout=60)

    def stop(self) -> None:
        self.stop_worker()
        super().stop()

    @property
    def backend(self) -> Any:
        assert self.engine is not None
        return self.engine.backend

    def enqueue(self, topic: str, ids: list[str]) -> None:
        assert self.engine is not None
        subs = Subscriptions(self.engine.steps)
        self.call(enqueue_emits(self.backend, subs, [Emit(topic, {"id": i}) for i in ids], "console-test"))

    def dead_letter(self, entity_id: str, error: str) -> str:
        """A job of the sync queue that failed its last retry, as the worker leaves it."""
        self.enqueue(SYNC_CHECK, [entity_id])

        async def kill() -> str:
            [job] = await self.backend.fetch(SYNC_QUEUE, 1, 30.0, "console-test")
            await self.backend.dead_letter(job, error)
            return str(job.id)

        return str(self.call(kill()))

    def dead(self) -> list[Any]:
        return list(self.call(self.backend.list_dead(1000)))

    def queue_depth(self, queue: str = SYNC_QUEUE) -> int:
        assert self.engine is not None
        stats = self.call(self.backend.queue_stats(all_queues(self.engine.steps)))
        return sum(s.depth for s in stats if s.queue == queue)

    # -- the simulators, as their users and admins -------------------------------------------
    def espo(self, method: str, path: str, body: Any = None) -> Any:
        assert self.sims is not None
        headers = {
            "X-Api-Key": self.sims.espocrm_config.api_key,
            "X-Sim-User": "user-anna",
            "Content-Type": "application/json",
        }
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.sims.espocrm_api_url + path, data, headers, method=method)
        with urllib.request.urlopen(request, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def create_party(self, first: str, last: str) -> str:
        return str(self.espo("POST", "/CBeteiligte", {"firstName": first, "lastName": last})["id"])

    def party(self, entity_id: str) -> dict[str, Any]:
        return dict(self.espo("GET", f"/CBeteiligte/{entity_id}"))

    def advoware_faults(self, rules: list[dict[str, Any]] | None) -> None:
        assert self.sims is not None
        url = f"{self.sims.advoware.url}/_admin/faults"
        body = json.dumps({"rules": rules}).encode() if rules else None
        method = "POST" if rules else "DELETE"
        request = urllib.request.Request(url, body, {"Content-Type": "application/json"}, method=method)
        urllib.request.urlopen(request, timeout=10).close()


@pytest.fixture(scope="module")
def console_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConsoleService]:
    """One per test module; the module's CONSOLE_SETTINGS override the sandbox's settings."""
    overrides = {"console_refresh_seconds": 1.0, **getattr(request.module, "CONSOLE_SETTINGS", {})}
    service = ConsoleService(tmp_path_factory.mktemp("console"), **overrides)
    service.start()
    try:
        yield service
    finally:
        service.stop()


class Browserless:
    """A cookie-keeping HTTP client for the console's pages (what a browser sends, minus JS)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], str]:
        data = urlencode(form).encode() if form is not None else None
        return self.raw(method, path, data, "application/x-www-form-urlencoded", headers)

    def raw(
        self,
        method: str,
        path: str,
        body: bytes | None,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], str]:
        """A request with exactly these body bytes (and the cookies of this client)."""
        all_headers = {"Content-Type": content_type, **(headers or {})}
        req = urllib.request.Request(self.base + path, body, all_headers, method=method)
        try:
            with self.opener.open(req, timeout=15) as r:
                return r.status, dict(r.headers), r.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read().decode(errors="replace")

    def csrf(self, html: str) -> str:
        match = re.search(r'name="csrf" value="([^"]+)"', html)
        assert match, html[:500]
        return match[1]

    def cookie(self, name: str) -> Any:
        return next((c for c in self.jar if c.name == name), None)

    def login(self, password: str = PASSWORD) -> tuple[int, dict[str, str], str]:
        status, _, html = self.request("GET", "/console/login")
        assert status == 200
        return self.request("POST", "/console/login", {"csrf": self.csrf(html), "password": password})


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None
