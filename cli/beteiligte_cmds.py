"""Operator commands for the party sync, the service database, locks and EspoCRM webhooks.

They run beside a live service: locks and the token cache live in the same engine backend
(DECISIONS 2), so `bitbylaw sync beteiligte ID` waits its turn like any other sync.
Output names ids, field names and counts; values only with --show-values (personal data).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import typer

from config import Settings, get_settings
from engine.backends.base import Backend
from engine.context import Locks, StateScope, new_trace_id
from services.clients.espocrm import EspoCrmClient
from services.clients.session import SessionHolder
from services.db import migrate_url
from steps.deps import StateTokenCache, open_service_db

from . import wiring

sync_app = typer.Typer(help="Run a sync now.", no_args_is_help=True)
audit_app = typer.Typer(help="Show the audit trail of a record.", no_args_is_help=True)
beteiligte_app = typer.Typer(help="Party link maintenance.", no_args_is_help=True)
db_app = typer.Typer(help="The service database.", no_args_is_help=True)
locks_app = typer.Typer(help="Distributed locks.", no_args_is_help=True)
espocrm_app = typer.Typer(help="EspoCRM set-up.", no_args_is_help=True)


@contextlib.asynccontextmanager
async def _service(settings: Settings) -> AsyncIterator[tuple[Any, Backend]]:
    """The party sync service outside the engine, sharing the running service's locks and
    token cache through the engine backend."""
    from services.beteiligte.compose import build_service

    session = SessionHolder()
    async with wiring.connected_backend(settings) as backend:
        db = await open_service_db(settings)
        try:
            token_cache = StateTokenCache(StateScope(backend))
            yield (
                build_service(settings, session=session, token_cache=token_cache, db=db, lock=Locks(backend)),
                backend,
            )
        finally:
            await db.close()
            await session.close()


def _print_plan(plan: Any, show_values: bool) -> None:
    if plan is None:
        return
    typer.echo(f"  plan: {plan.variant}")
    for label, fields in (("to Advoware", plan.to_advoware), ("to EspoCRM", plan.to_espocrm)):
        if fields:
            typer.echo(f"    {label}: {', '.join(fields)}")
    for c in plan.conflicts:
        detail = f" (EspoCRM {c.espo_value!r} / Advoware {c.advo_value!r})" if show_values else ""
        typer.echo(f"    conflict: {c.field} → {c.winner} wins{detail}")
    for a in plan.actions:
        if getattr(a, "kind", None) and getattr(a, "recipient", None):
            typer.echo(f"    notify {a.recipient}: {a.kind}")


@sync_app.command("beteiligte")
def sync_beteiligte(
    entity_id: str = typer.Argument(None, help="EspoCRM CBeteiligte id"),
    all_: bool = typer.Option(False, "--all", help="every party the cron would pick (with --dry-run: all)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print what would change; write nothing"),
    direction: str = typer.Option("both", help="both | to_advoware | to_espocrm (operator one-way runs)"),
    show_values: bool = typer.Option(False, help="print field values (personal data!)"),
) -> None:
    """Sync one party now (or preview all with --all --dry-run) and print plan and outcome."""
    if direction not in ("both", "to_advoware", "to_espocrm"):
        raise typer.BadParameter("direction must be both, to_advoware or to_espocrm")
    if bool(entity_id) == all_:
        raise typer.BadParameter("give an ID or --all")
    if all_ and not dry_run:
        raise typer.BadParameter("--all is a preview: use it with --dry-run (the cron syncs for real)")
    code = asyncio.run(_sync(get_settings(), entity_id, all_, dry_run, direction, show_values))
    raise typer.Exit(code)


async def _sync(
    settings: Settings, entity_id: str | None, all_: bool, dry_run: bool, direction: str, show_values: bool
) -> int:
    async with _service(settings) as (service, _):
        ids = [entity_id] if entity_id else await _all_ids(service)
        totals: Counter[str] = Counter()
        for n, i in enumerate(ids, 1):
            outcome = await service.handle(
                i, "sync_check", trigger="cli", trace_id=new_trace_id(), direction=direction, dry_run=dry_run
            )
            variant = outcome.plan.variant if outcome.plan is not None else outcome.status
            totals[variant] += 1
            if entity_id or (outcome.plan is not None and not outcome.plan.is_noop):
                typer.echo(f"{i}: {outcome.status}" + (f" ({outcome.error})" if outcome.error else ""))
                _print_plan(outcome.plan, show_values)
            if all_ and n % 100 == 0:
                typer.echo(f"… {n}/{len(ids)}", err=True)
        if all_:
            typer.echo("totals: " + ", ".join(f"{k} {v}" for k, v in sorted(totals.items())))
        return 1 if totals.get("failed") or totals.get("permanently_failed") else 0


async def _all_ids(service: Any) -> list[str]:
    ids: list[str] = [r["id"] async for r in service.espo.iter_all("CBeteiligte", select=["id"])]
    return ids


@audit_app.command("beteiligte")
def audit_beteiligte(entity_id: str, limit: int = typer.Option(50)) -> None:
    """Print the audit trail of one party, newest first."""

    async def go() -> list[Any]:
        db = await open_service_db(get_settings())
        try:
            return list(await db.list_audit("CBeteiligte", entity_id, limit=limit))
        finally:
            await db.close()

    entries = asyncio.run(go())
    if not entries:
        typer.echo(f"no audit entries for CBeteiligte {entity_id}")
    for e in entries:
        typer.echo(
            f"{e.created_at:%Y-%m-%d %H:%M:%S}Z  {e.action:<22} {e.result:<20} trigger={e.trigger} "
            f"trace={e.trace_id}"
        )
        decision = e.decision or {}
        for key in ("to_advoware", "to_espocrm"):
            if decision.get(key):
                typer.echo(f"    {key}: {', '.join(decision[key])}")
        for c in decision.get("conflicts") or []:
            typer.echo(f"    conflict: {c}")
        if e.error:
            typer.echo(f"    error: {e.error}")


@beteiligte_app.command("unlink")
def beteiligte_unlink(entity_id: str) -> None:
    """Clear the Advoware link of a party (after deleted_in_advoware); the next sync creates it anew."""

    async def go() -> bool:
        async with _service(get_settings()) as (service, _):
            return bool(await service.unlink(entity_id))

    if not asyncio.run(go()):
        typer.secho(f"{entity_id} has no Advoware link", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    typer.echo(f"unlinked {entity_id}; the next sync creates a new Advoware party")


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending migrations of the service database (also done at start-up)."""
    applied = asyncio.run(migrate_url(get_settings().database_url.get_secret_value()))
    typer.echo(f"applied: {', '.join(applied)}" if applied else "database is up to date")


@locks_app.command("list")
def locks_list(prefix: str = typer.Option("", help="only keys starting with this")) -> None:
    """Locks held right now, with owner token and expiry."""

    async def go() -> list[Any]:
        async with wiring.connected_backend(get_settings()) as backend:
            return await backend.list_locks(prefix)

    import time

    locks = asyncio.run(go())
    for lock in locks:
        typer.echo(f"{lock.key}  owner={lock.owner}  expires_in={lock.expires_at - time.time():.0f}s")
    typer.echo(f"{len(locks)} lock(s)", err=True)


@locks_app.command("release")
def locks_release(key: str) -> None:
    """Force-release a lock whose holder is gone (its TTL would free it too)."""

    async def go() -> bool:
        async with wiring.connected_backend(get_settings()) as backend:
            return await backend.force_release_lock(key)

    if not asyncio.run(go()):
        typer.secho(f"no lock {key}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    typer.echo(f"released {key}")


@espocrm_app.command("register-webhooks")
def register_webhooks(
    public_url: str = typer.Option(None, help="URL EspoCRM reaches the service at"),
) -> None:
    """Subscribe the service to CBeteiligte create/update/delete with skipOwn (loop prevention, E4).
    Prints each webhook id and secret: put them into ESPOCRM_WEBHOOK_SECRETS."""
    settings = get_settings()
    base = (public_url or settings.service_public_url).rstrip("/")

    async def go() -> list[dict[str, Any]]:
        session = SessionHolder()
        try:
            espo = EspoCrmClient.from_settings(settings, session)
            made = []
            for action in ("create", "update", "delete"):
                hook = await espo.create_webhook(
                    f"CBeteiligte.{action}", f"{base}/vmh/webhook/beteiligte/{action}"
                )
                made.append(
                    {"event": f"CBeteiligte.{action}", "id": hook.get("id"), "secret": hook.get("secretKey")}
                )
            return made
        finally:
            await session.close()

    import json

    hooks = asyncio.run(go())
    for h in hooks:
        typer.echo(f"{h['event']}: webhook id {h['id']}")
    secrets = {h["id"]: h["secret"] for h in hooks}
    typer.echo("ESPOCRM_WEBHOOK_SECRETS=" + json.dumps(secrets), file=sys.stdout)


def register(app: typer.Typer) -> None:
    app.add_typer(sync_app, name="sync")
    app.add_typer(audit_app, name="audit")
    app.add_typer(beteiligte_app, name="beteiligte")
    app.add_typer(db_app, name="db")
    app.add_typer(locks_app, name="locks")
    app.add_typer(espocrm_app, name="espocrm")
