"""Settings of the Google Calendar simulator (one dataclass, all defaults usable as is)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from simulators.google.keys import SANDBOX_SERVICE_ACCOUNT, ServiceAccountKey

# The `aud` every service-account assertion carries (google-auth puts it there whatever the
# token URI is), and the one Google's token endpoint insists on.
TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class GoogleSimConfig:
    """How strict and how large the simulator is.

    The API accepts only tokens its `POST /token` issued; that endpoint accepts only JWTs signed
    with one of `service_accounts`' keys, delegated (`sub`) to one of `users` or to nobody (the
    service account acts as itself). `service_account_email` owns seeded calendars by default.
    """

    service_accounts: list[ServiceAccountKey] = field(default_factory=list)
    users: set[str] = field(default_factory=set)
    token_audience: str = TOKEN_AUDIENCE
    token_lifetime_s: int = 3600
    service_account_email: str = SANDBOX_SERVICE_ACCOUNT
    default_time_zone: str = "Europe/Berlin"
    max_results_default: int = 250
    max_results_cap: int = 2500
    calendar_list_max_default: int = 100
    calendar_list_max_cap: int = 250
    # Real sync tokens expire after an unspecified time (weeks); a week keeps the 410 path
    # reachable in long sandbox runs without surprising a service that syncs every 15 minutes.
    sync_token_lifetime_s: int = 7 * 24 * 3600
    # Expansion of open-ended series (singleEvents=true without timeMax) stops here, like
    # Google's own bounded expansion.
    expansion_horizon_days: int = 730
    max_instances_per_series: int = 1000
    snapshot_path: Path | None = None
    clock: Callable[[], datetime] = field(default=_utc_now)
