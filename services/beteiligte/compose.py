"""The composition root of the party sync: settings and ports in, the service out.

Used by the steps (`steps/deps.py`) and by the CLI alike, so both run the same service with the
same settings; the lock and the token cache come from the engine's backend, the clients from the
process's one HTTP session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from config import Settings
from services.beteiligte.ports import SyncSettings
from services.beteiligte.service import BeteiligteSyncService
from services.clients.advoware import AdvowareClient
from services.clients.espocrm import EspoCrmClient
from services.health import SyncHealth
from services.sync.policy import RetryPolicy


def retry_policy(settings: Settings) -> RetryPolicy:
    """The one retry policy (schedule, max failures, auto-reset) of parties, bank accounts and
    calendar mappings."""
    return RetryPolicy(
        schedule_minutes=settings.retry_schedule(),
        max_failures=settings.sync_max_failures,
        auto_reset_hours=settings.sync_auto_reset_hours,
        stale_hours=settings.beteiligte_stale_hours,
    )


def sync_settings(settings: Settings) -> SyncSettings:
    return SyncSettings(
        admin_user_id=settings.espocrm_admin_user_id,
        policy=settings.beteiligte_conflict_policy,
        retry=retry_policy(settings),
        lock_ttl_s=settings.beteiligte_lock_ttl_seconds,
        lock_retry_initial_s=settings.beteiligte_lock_retry_initial_seconds,
        lock_retry_max_s=settings.beteiligte_lock_retry_max_seconds,
        adopt_existing=settings.beteiligte_adopt_existing,
        deleted_recheck_hours=settings.beteiligte_deleted_recheck_hours,
        audit_show_values=settings.audit_show_values,
    )


def build_service(
    settings: Settings, *, session: Any, token_cache: Any, db: Any, lock: Any
) -> BeteiligteSyncService:
    espo, advo = clients(settings, session, token_cache)
    return BeteiligteSyncService(espo, advo, db, lock, sync_settings(settings))


def clients(settings: Settings, session: Any, token_cache: Any) -> tuple[EspoCrmClient, AdvowareClient]:
    """The EspoCRM and Advoware clients of a sync service (parties, bank accounts)."""
    return (
        EspoCrmClient.from_settings(settings, session, None),
        AdvowareClient.from_settings(settings, session, token_cache),
    )


def build_health(
    settings: Settings, session: Any, list_locks: Callable[[str], Awaitable[list[Any]]]
) -> SyncHealth:
    """`/health`'s view of the party sync: permanently failed parties, locks held too long."""
    from services.clients.retry import RetryPolicy as ClientRetry

    # One quick try: /health must answer fast even when EspoCRM is down.
    crm = EspoCrmClient.from_settings(settings, session, retry=ClientRetry(max_tries=1), timeout_s=3.0)
    return SyncHealth(
        crm,
        settings.health_permanently_failed_threshold,
        list_locks=list_locks,
        locked_threshold_s=settings.health_locked_seconds,
    )
