"""Several api processes behind a load balancer share console sessions (they live in Redis): a
login on one is a login on every other, and a logout on one ends it everywhere."""

from __future__ import annotations

import asyncio
import copy

import pytest
from pydantic import SecretStr

from cli import wiring
from config import Settings
from tests.console.conftest import Browserless
from tests.fixtures.redis_server import redis_server, redis_url  # noqa: F401

pytestmark = [pytest.mark.redis, pytest.mark.timeout(60)]


async def test_a_console_session_holds_on_every_api_process(tmp_path, redis_url):
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        ENGINE_BACKEND="redis",
        REDIS_URL=redis_url,
        DATABASE_URL=f"sqlite:///{tmp_path}/service.db",
        CONSOLE_COOKIE_SECURE="false",
        LOG_LEVEL="WARNING",
    )
    settings = settings.model_copy(update={"console_password": SecretStr("shared-console-password")})
    engines = [wiring.make_engine(settings, role="api", port=0) for _ in range(2)]
    for engine in engines:
        await engine.start()
    try:
        urls = [f"http://127.0.0.1:{e.port}" for e in engines]
        browser = Browserless(urls[0])

        def scenario() -> list[int]:
            browser.login("shared-console-password")  # on the first process
            session = copy.copy(browser.cookie("bitbylaw_console"))
            browser.base = urls[1]  # the load balancer sends the browser to the second
            status, _, page = browser.request("GET", "/console/dead")
            seen = [status, browser.request("POST", "/console/logout", {"csrf": browser.csrf(page)})[0]]
            browser.jar.set_cookie(session)  # the old cookie, kept: the session itself is gone
            assert browser.cookie("bitbylaw_console").value == session.value
            browser.base = urls[0]
            seen.append(browser.request("GET", "/console/dead")[0])
            return seen

        assert await asyncio.to_thread(scenario) == [200, 303, 303]
    finally:
        for engine in engines:
            await engine.stop()
