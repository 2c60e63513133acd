"""Outgoing webhooks, part 1: subscriptions and the queue (2.3).

Every API write becomes a `ChangeEvent`; for each active subscription whose event matches, one
queue item is added — unless the subscription has `skipOwn` and the writer is the user who made
it (E4, open point 10). Subscriptions are records of the `Webhook` entity, so they can be listed
and deleted through the API like in EspoCRM. Sending lives in `sender.py`.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from .config import EspoSimConfig, WebhookSubscriptionConfig
from .entities import ENTITIES
from .errors import ApiError
from .state import ChangeEvent, EspoState

EVENT_RE = re.compile(r"^(?P<entity>\w+)\.(?P<type>create|update|delete|fieldUpdate)(?:\.(?P<field>\w+))?$")
LOG_LIMIT = 10_000
_ACTION_OF_TYPE = {"create": "create", "update": "update", "delete": "delete", "fieldUpdate": "update"}


@dataclass(eq=False)
class QueueItem:
    seq: int
    webhook_id: str
    event: str
    data: dict[str, Any]
    queued_at: float
    process_at: float
    attempts: int = 0
    status: str = "pending"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class WebhookQueue:
    """Pending items and a log of deliveries; `wake` tells the sender something was queued."""

    config: EspoSimConfig
    pending: list[QueueItem] = field(default_factory=list)
    # Bounded logs: a sandbox runs for days.
    finished: deque[QueueItem] = field(default_factory=lambda: deque(maxlen=LOG_LIMIT))
    deliveries: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=LOG_LIMIT))
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    def add(self, webhook_id: str, event: str, data: dict[str, Any]) -> None:
        now = time.monotonic()
        item = QueueItem(next(self._seq), webhook_id, event, data, now, now + self.config.webhook_delay_s)
        self.pending.append(item)
        self.wake.set()

    def clear(self) -> None:
        self.pending.clear()
        self.finished.clear()
        self.deliveries.clear()

    def snapshot(self) -> dict[str, Any]:
        return {
            "queue": [i.as_json() for i in self.pending],
            "finished": [i.as_json() for i in self.finished],
            "deliveries": list(self.deliveries),
        }


def parse_event(event: Any) -> tuple[str, str, str | None]:
    match = EVENT_RE.match(event) if isinstance(event, str) else None
    if match is None or match["entity"] not in ENTITIES:
        raise ApiError(400, f"invalid webhook event {event!r}")
    if (match["type"] == "fieldUpdate") != (match["field"] is not None):
        raise ApiError(400, f"invalid webhook event {event!r}")
    return match["entity"], match["type"], match["field"]


def subscription_fields(data: dict[str, Any], user_id: str, secret: str | None = None) -> dict[str, Any]:
    """The attributes EspoCRM fills in when a webhook is created."""
    entity, kind, field_name = parse_event(data.get("event"))
    url = data.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ApiError(400, "webhook url must be http(s)")
    return {
        "event": data["event"],
        "url": url,
        "entityType": entity,
        "type": kind,
        "field": field_name,
        "skipOwn": bool(data.get("skipOwn", False)),
        "isActive": bool(data.get("isActive", True)),
        "userId": user_id,
        "secretKey": secret or secrets.token_hex(16),
    }


class WebhookRouter:
    """Listens to the state's change events and fills the queue."""

    def __init__(self, state: EspoState, queue: WebhookQueue) -> None:
        self.state, self.queue = state, queue
        state.listeners.append(self.on_change)

    def on_change(self, event: ChangeEvent) -> None:
        for hook in list(self.state.tables["Webhook"].values()):
            item = self._item_for(hook, event)
            if item is not None:
                self.queue.add(hook["id"], hook["event"], item)

    def _item_for(self, hook: dict[str, Any], event: ChangeEvent) -> dict[str, Any] | None:
        if not hook.get("isActive") or hook.get("entityType") != event.entity:
            return None
        if _ACTION_OF_TYPE.get(hook.get("type") or "") != event.action:
            return None
        if hook.get("skipOwn") and hook.get("userId") == event.user_id:
            return None
        if event.action == "update" and self._bookkeeping_only(event):
            return None
        if hook.get("type") == "fieldUpdate":
            name = hook.get("field")
            if name not in event.changed:
                return None
            return {"id": event.record_id, name: event.data[name]}
        return dict(event.data)

    def _bookkeeping_only(self, event: ChangeEvent) -> bool:
        if not self.state.config.ignore_bookkeeping_only_updates:
            return False
        bookkeeping = ENTITIES[event.entity].bookkeeping
        return bool(bookkeeping) and set(event.changed) <= bookkeeping

    def add_configured(self) -> None:
        """Subscriptions from the config, owned by the API user (the sandbox's service). One
        already present (same id, or same event and URL, e.g. from a snapshot) is kept."""
        table = self.state.tables["Webhook"]
        present = {(h.get("event"), h.get("url")) for h in table.values()}
        for raw in self.state.config.subscriptions:
            sub = raw if isinstance(raw, WebhookSubscriptionConfig) else WebhookSubscriptionConfig(*raw)
            if sub.webhook_id in table or (sub.event, sub.url) in present:
                continue
            record_id = sub.webhook_id or self.state.new_id("Webhook")
            data = {"event": sub.event, "url": sub.url, "skipOwn": sub.skip_own}
            fields = subscription_fields(data, self.state.config.api_user_id, sub.secret)
            now = self.state.now()
            meta = {"createdAt": now, "modifiedAt": now, "createdById": "system", "modifiedById": "system"}
            self.state.insert_raw("Webhook", {"id": record_id, **fields, **meta})
