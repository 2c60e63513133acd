"""Settings of the Google Calendar simulator (one dataclass, all defaults usable as is)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class GoogleSimConfig:
    """How strict and how large the simulator is.

    `accepted_tokens=None` accepts any non-empty bearer token (the sandbox default); a set
    restricts access to those tokens plus the ones the fake `POST /token` endpoint has issued.
    """

    accepted_tokens: set[str] | None = None
    token_lifetime_s: int = 3600
    service_account_email: str = "bitbylaw-sim@bitbylaw-sandbox.iam.gserviceaccount.com"
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
