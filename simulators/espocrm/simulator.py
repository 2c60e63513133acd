"""One EspoCRM simulator instance: the record store, the webhook queue, router and sender, and
the admin operations over them (reset, seed, dump, snapshot). Stored at `app["espocrm"]`."""

from __future__ import annotations

from typing import Any

from . import snapshot
from .config import EspoSimConfig
from .records import Record
from .seed import seed_parties
from .sender import WebhookSender
from .state import EspoState
from .webhooks import WebhookQueue, WebhookRouter


class EspoSimulator:
    def __init__(self, config: EspoSimConfig) -> None:
        self.config = config
        self.store = EspoState(config)
        self.webhooks = WebhookQueue(config)
        self.router = WebhookRouter(self.store, self.webhooks)
        self.sender = WebhookSender(self.store, self.webhooks)
        if config.snapshot_path:
            snapshot.load(self.store, str(config.snapshot_path))
        self.router.add_configured()

    @property
    def tables(self) -> dict[str, dict[str, Record]]:
        return self.store.tables

    def get(self, entity: str, record_id: str) -> Record:
        return self.store.get(entity, record_id)

    def reset(self) -> None:
        """Empty CRM; the configured subscriptions come back (the sandbox needs them)."""
        self.store.clear()
        self.webhooks.clear()
        self.router.add_configured()

    def seed(self, body: dict[str, Any]) -> dict[str, Any]:
        return seed_parties(self.store, body)

    def dump(self) -> dict[str, Any]:
        return {
            "entities": self.store.dump(),
            "counts": self.store.counts(),
            "actingUser": self.store.acting_user,
            "webhooks": self.webhooks.snapshot(),
        }

    def save_snapshot(self) -> dict[str, Any] | None:
        if not self.config.snapshot_path:
            return None
        return snapshot.save(self.store, str(self.config.snapshot_path))
