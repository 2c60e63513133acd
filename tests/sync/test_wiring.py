"""Settings reach the party sync (retry schedule, cron, lock) and /health sees stuck locks."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from config import Settings
from engine import cron
from engine.project import override_crons
from engine.registry import Step, StepValidationError
from services.beteiligte.compose import sync_settings
from services.health import SyncHealth
from services.sync.locking import owner_token


def settings(**env: str) -> Settings:
    return Settings(_env_file=None, **env)  # type: ignore[call-arg]


def test_retry_schedule_and_lock_settings_become_the_one_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNC_RETRY_SCHEDULE_MINUTES", "2, 3,10")
    monkeypatch.setenv("SYNC_MAX_FAILURES", "3")
    monkeypatch.setenv("SYNC_AUTO_RESET_HOURS", "6")
    monkeypatch.setenv("BETEILIGTE_LOCK_TTL_SECONDS", "45")
    s = sync_settings(settings())
    assert s.retry.schedule_minutes == (2.0, 3.0, 10.0) and s.retry.max_failures == 3
    assert s.retry.auto_reset_hours == 6 and s.lock_ttl_s == 45


def test_a_bad_retry_schedule_is_a_settings_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNC_RETRY_SCHEDULE_MINUTES", "1,soon")
    with pytest.raises(Exception, match=r"sync_retry_schedule_minutes|SYNC_RETRY_SCHEDULE_MINUTES"):
        settings()


async def _noop(*_: object) -> None:
    return None


def test_cron_expression_comes_from_the_setting_and_is_validated() -> None:
    step = Step("c", "c_step.py", _noop, [cron("*/15 * * * *", override="BETEILIGTE_CRON")])
    override_crons([step], {"BETEILIGTE_CRON": "5 * * * *"})
    assert step.triggers[0].expression == "5 * * * *"
    with pytest.raises(StepValidationError, match="BETEILIGTE_CRON"):
        override_crons([step], {"BETEILIGTE_CRON": "every minute"})


@dataclass
class Info:
    key: str
    owner: str


class Crm:
    async def list(self, *args: object, **kwargs: object) -> dict[str, object]:
        return {"total": 0, "list": []}


async def test_health_is_degraded_while_a_party_lock_is_held_too_long() -> None:
    locks = [
        Info("beteiligte:old", owner_token(lambda: time.time() - 700)),
        Info("beteiligte:new", owner_token()),
    ]

    async def list_locks(prefix: str) -> list[Info]:
        return [lock for lock in locks if lock.key.startswith(prefix)]

    health = SyncHealth(Crm(), threshold=1, list_locks=list_locks, locked_threshold_s=600)
    result = await health()
    assert result["degraded"] is True and result["sync"]["locked_too_long"] == ["beteiligte:old"]
    locks.pop(0)
    assert (await health())["degraded"] is False
