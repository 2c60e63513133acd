"""A running service (engine + the real steps/) wired to simulators, for step tests."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from config import Settings
from engine.backends.embedded import EmbeddedBackend
from engine.registry import load_steps
from engine.runtime import Engine, EngineOptions
from services.clients.session import close_shared_session
from tests.fixtures.advoware_sim import advoware_sim  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
PROXY_KEY = "test-proxy-key-1"


def advoware_settings(sim) -> dict[str, str]:
    cfg = sim.config
    return {
        "ADVOWARE_API_BASE_URL": sim.url,
        "ADVOWARE_TOKEN_URL": sim.url + "api/v1/Token",
        "ADVOWARE_APP_ID": cfg.app_id,
        "ADVOWARE_API_KEY": cfg.api_key_b64,
        "ADVOWARE_KANZLEI": cfg.kanzlei,
        "ADVOWARE_DATABASE": cfg.database,
        "ADVOWARE_USER": cfg.user,
        "ADVOWARE_PASSWORD": cfg.password,
        "ADVOWARE_PRODUCT_ID": str(cfg.product),
        "ADVOWARE_ROLE": str(cfg.role),
    }


async def start_service(tmp_path: Path, port: int = 0, **settings: str):
    values = {
        "PROXY_API_KEYS": f"{PROXY_KEY},second-key",
        "ENGINE_DB_PATH": str(tmp_path / "engine.db"),
        "DATABASE_URL": f"sqlite:///{tmp_path}/service.db",
        **settings,
    }
    s = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    resources: dict = {"settings": s}

    async def close_db() -> None:
        db = resources.pop("db", None)
        if db is not None:
            await db.close()

    options = EngineOptions(
        port=port, poll_block=0.05, grace=2, resources=resources, on_shutdown=[close_shared_session, close_db]
    )
    engine = Engine(EmbeddedBackend(s.engine_db_path), load_steps([ROOT / "steps"]), options)
    await engine.start()
    return engine


@pytest.fixture
async def service_with_advoware(tmp_path, advoware_sim):
    engine = await start_service(tmp_path, **advoware_settings(advoware_sim))
    async with aiohttp.ClientSession(f"http://127.0.0.1:{engine.port}") as session:
        yield session, advoware_sim, engine
    await engine.stop()
