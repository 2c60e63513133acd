"""`bitbylaw espocrm webhooks register|list|delete`: the service's subscriptions in EspoCRM."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import TypeVar

import typer

from config import get_settings
from services import webhook_subscriptions as subs
from services.clients.espocrm import EspoCrmClient
from services.clients.session import SessionHolder

from .errors import USAGE, CliError
from .output import JSON_OPTION, listing

T = TypeVar("T")
espocrm_app = typer.Typer(help="EspoCRM set-up.", no_args_is_help=True)
webhooks_app = typer.Typer(
    help="The service's webhook subscriptions in EspoCRM (made with skipOwn, so the service's own "
    "writes fire none).",
    no_args_is_help=True,
)
espocrm_app.add_typer(webhooks_app, name="webhooks")


def _with_crm(use: Callable[[EspoCrmClient], Awaitable[T]]) -> T:
    async def go() -> T:
        session = SessionHolder()
        try:
            return await use(EspoCrmClient.from_settings(get_settings(), session))
        finally:
            await session.close()

    return asyncio.run(go())


@webhooks_app.command("register")
def register_webhooks(
    public_url: str = typer.Option(
        None, help="URL EspoCRM reaches the service at (default: SERVICE_PUBLIC_URL)"
    ),
    rotate_secrets: bool = typer.Option(
        False, "--rotate-secrets", help="re-create every subscription: new ids and new secrets"
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Subscribe the service to its EspoCRM events; run again at will: existing subscriptions
    are updated, never added twice. Prints the ESPOCRM_WEBHOOK_SECRETS line for the settings."""
    settings = get_settings()
    base = public_url or settings.service_public_url
    if not base.startswith(("http://", "https://")):
        raise CliError("--public-url must be an http(s) URL", USAGE)
    known = list(settings.espocrm_webhook_secrets)
    done = _with_crm(lambda crm: subs.register(crm, base, rotate=rotate_secrets, known_ids=known))
    secrets = subs.secrets_setting(done)
    if as_json:
        rows = [{"change": r.change, **asdict(r.subscription.public())} for r in done]
        typer.echo(json.dumps({"subscriptions": rows, "ESPOCRM_WEBHOOK_SECRETS": secrets}))
        return
    for r in done:
        typer.echo(f"{r.subscription.event}: {r.change} (webhook id {r.subscription.id})")
    typer.echo("Put this line into the settings file and restart the service:", err=True)
    typer.echo("ESPOCRM_WEBHOOK_SECRETS=" + json.dumps(secrets))


@webhooks_app.command("list")
def list_webhooks(as_json: bool = JSON_OPTION) -> None:
    """The service's subscriptions in EspoCRM and whether the settings hold each one's secret
    (secrets are not printed)."""
    settings = get_settings()
    known = set(settings.espocrm_webhook_secrets)
    one_secret = bool(settings.espocrm_webhook_secret.get_secret_value())
    rows = [
        {
            **asdict(s.public()),
            "secret_in_settings": s.id in known or one_secret,
        }
        for s in _with_crm(subs.our_subscriptions)
    ]
    listing(
        rows,
        as_json,
        [
            ("id", 20, lambda r: r["id"]),
            ("event", 26, lambda r: r["event"]),
            ("skipOwn", 7, lambda r: "yes" if r["skip_own"] else "NO"),
            ("active", 6, lambda r: "yes" if r["active"] else "no"),
            ("secret", 6, lambda r: "set" if r["secret_in_settings"] else "MISSING"),
            ("url", 0, lambda r: r["url"]),
        ],
        noun="subscription(s)",
    )


@webhooks_app.command("delete")
def delete_webhooks(
    ids: list[str] = typer.Argument(None, help="webhook ids (see `list`)"),
    all_: bool = typer.Option(False, "--all", help="delete every subscription of this service"),
) -> None:
    """Delete subscriptions of this service (others' are never touched)."""
    if bool(ids) == all_:
        raise CliError("give webhook ids or --all", USAGE)
    try:
        gone = _with_crm(lambda crm: subs.delete(crm, None if all_ else ids))
    except LookupError as exc:
        raise CliError(str(exc)) from None
    for s in gone:
        typer.echo(f"deleted {s.id} ({s.event})")
    typer.echo(f"{len(gone)} subscription(s) deleted", err=True)


@espocrm_app.command("register-webhooks", hidden=True)
def register_webhooks_alias(public_url: str = typer.Option(None)) -> None:
    """Older name of `bitbylaw espocrm webhooks register`."""
    register_webhooks(public_url=public_url, rotate_secrets=False, as_json=False)


def register(app: typer.Typer) -> None:
    app.add_typer(espocrm_app, name="espocrm")
