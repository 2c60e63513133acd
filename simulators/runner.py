"""Start the three simulators together (for `bitbylaw simulate`, the sandbox and benchmarks).

Ports come from the caller (0 = a free one). With a snapshot directory each simulator loads its
state from `<dir>/<name>.json` at start and saves it on shutdown. With a key file path, the
Google simulator trusts the service-account key there (generated on first use, kept after)
and knows the calendar owner and, after `seed_demo_data`, every seeded employee as a user.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from simulators.advoware import AdvowareSimConfig, build_advoware_app
from simulators.common.server import RunningApp, start_app
from simulators.espocrm import EspoSimConfig, WebhookSubscriptionConfig, build_espocrm_app
from simulators.google import GoogleSimConfig, build_google_app
from simulators.google.keys import ensure_key_file

# The Google account the sandbox's calendars live in (GOOGLE_DELEGATION=owner).
SANDBOX_CALENDAR_OWNER = "kalender@kanzlei.example"
GOOGLE_KEY_FILE = "google-service-account.json"


@dataclass
class Simulators:
    advoware: RunningApp
    espocrm: RunningApp
    google: RunningApp
    advoware_config: AdvowareSimConfig
    espocrm_config: EspoSimConfig
    google_config: GoogleSimConfig
    google_key_file: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def advoware_url(self) -> str:
        return self.advoware.url + "/"

    @property
    def espocrm_api_url(self) -> str:
        return self.espocrm.url + "/api/v1"

    @property
    def google_api_url(self) -> str:
        return self.google.url + "/calendar/v3"

    async def stop(self) -> None:
        for running in (self.advoware, self.espocrm, self.google):
            await running.stop()


def _snapshot(directory: Path | None, name: str) -> Any:
    return None if directory is None else directory / f"{name}.json"


async def start_simulators(
    host: str = "127.0.0.1",
    ports: tuple[int, int, int] = (0, 0, 0),
    snapshot_dir: Path | None = None,
    webhooks: Sequence[WebhookSubscriptionConfig] = (),
    webhook_delay_s: float = 1.0,
    google_key_file: Path | None = None,
) -> Simulators:
    """Start Advoware, EspoCRM and Google simulators on (advoware, espocrm, google) ports."""
    if snapshot_dir is not None:
        snapshot_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, at start-up
    adv_cfg = AdvowareSimConfig(snapshot_path=_snapshot(snapshot_dir, "advoware"))
    espo_snapshot = _snapshot(snapshot_dir, "espocrm")
    espo_cfg = EspoSimConfig(
        subscriptions=list(webhooks),
        webhook_delay_s=webhook_delay_s,
        snapshot_path=None if espo_snapshot is None else str(espo_snapshot),
    )
    google_cfg = GoogleSimConfig(
        snapshot_path=_snapshot(snapshot_dir, "google"), users={SANDBOX_CALENDAR_OWNER}
    )
    started: list[RunningApp] = []
    try:  # a busy port stops the start; the simulators already listening stop again
        for app, port in (
            (build_advoware_app(adv_cfg), ports[0]),
            (build_espocrm_app(espo_cfg), ports[1]),
            (build_google_app(google_cfg), ports[2]),
        ):
            started.append(await start_app(app, host, port))
    except BaseException:
        for running in started:
            await running.stop()
        raise
    advoware, espocrm, google = started
    if google_key_file is not None:
        # The key names the token URI, known once the port is: so the key comes after start-up.
        key = ensure_key_file(google_key_file, google.url + "/token")
        google_cfg.service_accounts.append(key)
    return Simulators(advoware, espocrm, google, adv_cfg, espo_cfg, google_cfg, google_key_file)


async def seed_demo_data(sims: Simulators, parties: int = 25, employees: int = 3) -> dict[str, Any]:
    """A small, deterministic data set for trying the service by hand."""
    async with aiohttp.ClientSession() as session:
        out: dict[str, Any] = {}
        for name, url, body in (
            (
                "advoware",
                sims.advoware.url,
                {"parties": parties, "employees": employees, "appointments_per_employee": 10, "seed": 1},
            ),
            ("espocrm", sims.espocrm.url, {"parties": parties, "seed": 1}),
        ):
            async with session.post(f"{url}/_admin/seed", json=body) as r:
                r.raise_for_status()
                out[name] = await r.json()
        # Every seeded employee is a Google user (the calendar is shared with, or lives in, his account).
        async with session.get(f"{sims.advoware.url}/_admin/state") as r:
            r.raise_for_status()
            emails = [e["email"] for e in (await r.json())["employees"] if e.get("email")]
        async with session.post(f"{sims.google.url}/_admin/users", json={"users": emails}) as r:
            r.raise_for_status()
        return out
