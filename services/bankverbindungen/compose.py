"""The composition root of the account sync: the same settings and ports as the party sync
(`services/beteiligte/compose.py`), so both take the same party lock and retry policy."""

from __future__ import annotations

from typing import Any

from config import Settings
from services.bankverbindungen.ports import BankSettings
from services.bankverbindungen.service import BankSyncService
from services.beteiligte.compose import clients, sync_settings


def bank_settings(settings: Settings) -> BankSettings:
    party = sync_settings(settings)
    return BankSettings(
        admin_user_id=party.admin_user_id,
        retry=party.retry,
        lock_ttl_s=party.lock_ttl_s,
        lock_retry_initial_s=party.lock_retry_initial_s,
        lock_retry_max_s=party.lock_retry_max_s,
        party_wait_s=settings.bank_party_wait_seconds,
        party_wait_max_tries=settings.bank_party_wait_max_tries,
    )


def build_bank_service(
    settings: Settings, *, session: Any, token_cache: Any, db: Any, lock: Any
) -> BankSyncService:
    espo, advo = clients(settings, session, token_cache)
    return BankSyncService(espo, advo, db, lock, bank_settings(settings))
