"""The composition root of the calendar sync: settings and ports in, the service out.

Used by the steps (`steps/deps.py`) and by the CLI alike, so both run the same service with the
same settings; the lock and the token caches come from the engine's backend, the clients from the
process's one HTTP session. The retry policy is the same object the party sync builds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from config import Settings
from services.beteiligte.compose import retry_policy
from services.calendar.ports import CalendarSettings
from services.calendar.service import CalendarSyncService
from services.clients.advoware import AdvowareClient
from services.clients.espocrm import EspoCrmClient
from services.clients.google import GoogleCalendarClient


def calendar_settings(settings: Settings) -> CalendarSettings:
    return CalendarSettings(
        admin_user_id=settings.espocrm_admin_user_id,
        past_days=settings.calendar_sync_past_days,
        future_days=settings.calendar_sync_future_days,
        only=settings.calendar_sync_kuerzel,
        notify_users=dict(settings.calendar_notify_users),
        lock_ttl_s=settings.calendar_lock_ttl_seconds,
        lock_retry_initial_s=settings.beteiligte_lock_retry_initial_seconds,
        lock_retry_max_s=settings.beteiligte_lock_retry_max_seconds,
        google_deletes=settings.calendar_google_deletes,
        max_events=settings.calendar_mass_change_max_events,
        max_percent=settings.calendar_mass_change_max_percent,
        delegation=settings.google_delegation,
        owner=settings.google_calendar_owner,
        time_zone=settings.google_calendar_timezone,
        retry=retry_policy(settings),
    )


def build_service(
    settings: Settings,
    *,
    session: Any,
    token_cache: Any,
    google_token_caches: Callable[[str], Any],
    db: Any,
    lock: Any,
) -> CalendarSyncService:
    google = GoogleCalendarClient.from_settings(settings, session, google_token_caches)
    advoware = AdvowareClient.from_settings(settings, session, token_cache)
    espo = EspoCrmClient.from_settings(settings, session, None)
    return CalendarSyncService(google, advoware, espo, db, lock, calendar_settings(settings))
