"""`from_settings` wires each client from `config.Settings`: the same code talks to a simulator
when the base URLs point at it."""

from __future__ import annotations

from config import Settings
from services.clients import AdvowareClient, EspoCrmClient, InMemoryTokenCache, SessionHolder, count_calls
from tests.fixtures.advoware_sim import start_advoware_sim
from tests.fixtures.espocrm_sim import start_espocrm_sim


async def test_advoware_from_settings(holder: SessionHolder) -> None:
    async with start_advoware_sim() as sim:
        cfg = sim.config
        settings = Settings(
            ADVOWARE_API_BASE_URL=sim.url,
            ADVOWARE_TOKEN_URL=sim.url + "api/v1/Token",
            ADVOWARE_APP_ID=cfg.app_id,
            ADVOWARE_API_KEY=cfg.api_key_b64,
            ADVOWARE_KANZLEI=cfg.kanzlei,
            ADVOWARE_DATABASE=cfg.database,
            ADVOWARE_USER=cfg.user,
            ADVOWARE_PASSWORD=cfg.password,
            ADVOWARE_ROLE=cfg.role,
            ADVOWARE_PRODUCT_ID=cfg.product,
        )  # type: ignore[call-arg]
        client = AdvowareClient.from_settings(settings, holder, InMemoryTokenCache())
        with count_calls() as calls:
            assert await client.list_employees() == []
        assert calls.count(system="advoware") == 1


async def test_espocrm_from_settings(holder: SessionHolder) -> None:
    async with start_espocrm_sim() as sim:
        settings = Settings(
            ESPOCRM_API_BASE_URL=sim.url,
            ESPOCRM_API_KEY=sim.config.api_key,
            ESPOCRM_SECRET_KEY=sim.config.secret_key,
        )  # type: ignore[call-arg]
        client = EspoCrmClient.from_settings(settings, holder)
        assert (await client.list("CBeteiligte"))["total"] == 0


async def test_shared_session_is_reused_and_closed() -> None:
    from services.clients import close_shared_session, shared_session

    holder = shared_session()
    first = await holder.get()
    assert await shared_session().get() is first
    await close_shared_session()
    assert first.closed
