"""Settings of the EspoCRM simulator.

Defaults fit the sandbox (an operator runs the whole service against the simulator); tests shrink
the webhook delay and retry interval so nothing waits for EspoCRM's real cron cadence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class WebhookSubscriptionConfig:
    """A subscription present from the start (the sandbox needs no `register-webhooks` run)."""

    event: str
    url: str
    secret: str
    skip_own: bool = True
    webhook_id: str | None = None


@dataclass
class EspoSimConfig:
    api_key: str = "sandbox-espocrm-key"
    # Secret of the API user for HMAC auth (`X-Hmac-Authorization`).
    secret_key: str = "sandbox-espocrm-secret"
    # The service's own API user: its writes are "own" writes for `skipOwn` webhooks (E4).
    api_user_id: str = "service-user"
    admin_user_id: str = "1"
    # Human users seeded records are assigned to (notification recipients).
    user_ids: tuple[str, ...] = ("user-anna", "user-bernd", "user-clara", "user-dieter")
    # EspoCRM sends webhooks from its cron job, never at save time (E2).
    webhook_delay_s: float = 1.0
    webhook_batch_size: int = 50
    webhook_timeout_s: float = 10.0
    webhook_connect_timeout_s: float = 5.0
    webhook_max_attempts: int = 4
    webhook_retry_interval_s: float = 600.0
    # Open point 10, alternative mode: updates that change only bookkeeping fields fire no
    # update webhook at all, whoever wrote them.
    ignore_bookkeeping_only_updates: bool = False
    # The old instance validated IBANs (`invalidIbanChecksum`); switch off to store bad ones.
    validate_iban: bool = True
    # WebhookSubscriptionConfig or plain tuples (event, url, secret[, skip_own[, webhook_id]]).
    subscriptions: list[WebhookSubscriptionConfig | tuple[Any, ...]] = field(default_factory=list)
    snapshot_path: str | None = None
    # Injectable clock (DECISIONS 19): tests move time to see `modifiedAt` change (E6).
    clock: Callable[[], datetime] = utc_now
    # Seed of the id generator; ids stay 17 lowercase hex chars like EspoCRM's.
    id_seed: int = 1
