"""The service's webhook subscriptions in EspoCRM, managed idempotently.

`WEBHOOK_TARGETS` is the one table of what the service subscribes to: an entity, the route its
webhooks arrive at, the actions. Each target yields one subscription per action, made with
`skipOwn` (the service's own writes fire no webhook, which prevents sync loops).

A subscription is "ours" when the service's API user owns it and its URL points at one of the
service's webhook routes (`/vmh/webhook/…`), whatever host it names: `register` then updates an
existing subscription (a new public URL, `skipOwn`, re-activation) instead of adding one, removes
duplicates an older version left behind, and removes ours that no target asks for any more.
EspoCRM keeps a webhook's secret fixed, so `rotate` deletes and re-creates each subscription:
new ids, new secrets. Secrets are returned to the caller, never logged.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

ROUTE_PREFIX = "/vmh/webhook/"
ACTIONS = ("create", "update", "delete")


@dataclass(frozen=True)
class WebhookTarget:
    entity: str
    route: str  # below ROUTE_PREFIX
    actions: tuple[str, ...] = ACTIONS


# One line per entity whose changes the service must hear about.
WEBHOOK_TARGETS: tuple[WebhookTarget, ...] = (
    WebhookTarget("CBeteiligte", "beteiligte"),
    WebhookTarget("CAdressen", "adressen"),  # a party's addresses: each change syncs the party
    WebhookTarget("CBankverbindungen", "bankverbindungen"),  # bank accounts: their own sync (§4)
)


@dataclass(frozen=True)
class Wanted:
    event: str  # e.g. CBeteiligte.update
    url: str


def wanted_subscriptions(public_url: str, targets: Sequence[WebhookTarget] = WEBHOOK_TARGETS) -> list[Wanted]:
    base = public_url.rstrip("/")
    return [
        Wanted(f"{t.entity}.{a}", f"{base}{ROUTE_PREFIX}{t.route}/{a}") for t in targets for a in t.actions
    ]


class WebhookCrm(Protocol):
    async def current_user_id(self) -> str: ...

    async def list_webhooks(self) -> Sequence[dict[str, Any]]: ...

    async def create_webhook(self, event: str, url: str, skip_own: bool = True) -> dict[str, Any]: ...

    async def update_webhook(self, webhook_id: str, data: dict[str, Any]) -> dict[str, Any]: ...

    async def delete_webhook(self, webhook_id: str) -> None: ...


Change = Literal["created", "updated", "unchanged", "rotated", "removed duplicate", "removed (not wanted)"]


@dataclass(frozen=True)
class Subscription:
    id: str
    event: str
    url: str
    skip_own: bool
    active: bool
    created_at: str = ""
    secret: str | None = None  # only in what `register` returns

    @classmethod
    def of(cls, hook: dict[str, Any]) -> Subscription:
        return cls(
            str(hook.get("id")),
            str(hook.get("event")),
            str(hook.get("url")),
            bool(hook.get("skipOwn")),
            bool(hook.get("isActive", True)),
            str(hook.get("createdAt") or ""),
            hook.get("secretKey"),
        )

    def public(self) -> Subscription:
        """Without its secret (for listings)."""
        return replace(self, secret=None)


@dataclass(frozen=True)
class Registered:
    change: Change
    subscription: Subscription


async def our_subscriptions(crm: WebhookCrm) -> list[Subscription]:
    me = await crm.current_user_id()
    hooks = await crm.list_webhooks()
    return [
        Subscription.of(h)
        for h in hooks
        if h.get("userId") in (None, me) and urlsplit(str(h.get("url"))).path.startswith(ROUTE_PREFIX)
    ]


async def register(
    crm: WebhookCrm,
    public_url: str,
    *,
    rotate: bool = False,
    known_ids: Collection[str] = (),
    targets: Sequence[WebhookTarget] = WEBHOOK_TARGETS,
) -> list[Registered]:
    """Make EspoCRM's subscriptions match `targets` at `public_url`; returns what was done, the
    kept and new subscriptions with their secrets. Of several for one event, the one at the
    wanted URL is kept, else one whose secret the settings hold (`known_ids`), else the oldest."""
    existing = await our_subscriptions(crm)
    wanted = wanted_subscriptions(public_url, targets)
    out: list[Registered] = []
    for want in wanted:
        same_event = sorted(
            (s for s in existing if s.event == want.event),
            key=lambda s: (s.url != want.url, s.id not in known_ids, not s.active, s.created_at, s.id),
        )
        keep, extra = (same_event[0], same_event[1:]) if same_event else (None, [])
        for dup in extra:
            await crm.delete_webhook(dup.id)
            out.append(Registered("removed duplicate", dup.public()))
        out.append(await _ensure(crm, want, keep, rotate))
    wanted_events = {w.event for w in wanted}
    for stale in (s for s in existing if s.event not in wanted_events):
        await crm.delete_webhook(stale.id)
        out.append(Registered("removed (not wanted)", stale.public()))
    return out


async def _ensure(crm: WebhookCrm, want: Wanted, keep: Subscription | None, rotate: bool) -> Registered:
    if keep is None:
        return Registered("created", Subscription.of(await crm.create_webhook(want.event, want.url)))
    if rotate:
        await crm.delete_webhook(keep.id)
        return Registered("rotated", Subscription.of(await crm.create_webhook(want.event, want.url)))
    if (keep.url, keep.skip_own, keep.active) == (want.url, True, True):
        return Registered("unchanged", keep)
    updated = await crm.update_webhook(keep.id, {"url": want.url, "skipOwn": True, "isActive": True})
    return Registered(
        "updated", Subscription.of({**updated, "secretKey": updated.get("secretKey", keep.secret)})
    )


async def delete(crm: WebhookCrm, ids: Sequence[str] | None = None) -> list[Subscription]:
    """Delete ours (all, or those with the given ids); ids that are not ours raise LookupError
    before anything is deleted."""
    ours = await our_subscriptions(crm)
    if ids is not None:
        unknown = sorted(set(ids) - {s.id for s in ours})
        if unknown:
            raise LookupError(f"no webhook subscription of this service with id {', '.join(unknown)}")
        ours = [s for s in ours if s.id in ids]
    for s in ours:
        await crm.delete_webhook(s.id)
    return [s.public() for s in ours]


def secrets_setting(registered: Sequence[Registered]) -> dict[str, str]:
    """webhook id → secret of every subscription in place, for ESPOCRM_WEBHOOK_SECRETS."""
    return {
        r.subscription.id: r.subscription.secret
        for r in registered
        if r.change in ("created", "updated", "unchanged", "rotated") and r.subscription.secret
    }
