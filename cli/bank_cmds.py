"""`bitbylaw sync bankverbindungen ID [--dry-run]`: one bank account's sync now (SYNC_RULES §4).

The same service the queue step runs (`services.bankverbindungen.compose`), beside a live
service: it takes the party's lock from the engine backend, so it waits its turn like any other
sync of that party. Output names ids, statuses, operations and field names — never an IBAN or
another value (personal data). A party not yet in Advoware is the operator's next step, not a
silent re-queue: the command says which party to sync first.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import typer

from config import Settings, get_settings
from engine.context import new_trace_id
from services import bulk_sync
from services.sync.actions import describe

from . import wiring
from .beteiligte_cmds import sync_app
from .errors import CliError

ENTITY = "CBankverbindungen"


def _service(settings: Settings) -> contextlib.AbstractAsyncContextManager[Any]:
    from services.bankverbindungen.compose import build_bank_service

    return wiring.sync_service(settings, build_bank_service)


def _line(action: Any) -> str:
    d = describe(action)
    if "call" in d:
        return f"{d['call']} ({d['target']})"
    if "patch" in d:
        return f"write {d['patch']} {d['target']}: {', '.join(d['fields'])}"
    if "notify" in d:
        return f"notify: {d['notify']}"
    return f"note: {d['note']}"


def _print(account_id: str, outcome: Any) -> None:
    typer.echo(f"{account_id}: {outcome.status}" + (f" ({outcome.error})" if outcome.error else ""))
    plan = outcome.plan
    if plan is not None:
        typer.echo(f"  plan: {plan.variant}")
        for action in plan.actions:
            typer.echo(f"    {_line(action)}")
        for warning in plan.warnings:
            typer.echo(f"    warning: {warning}")
    for key in ("tombstone", "forget"):
        if key in outcome.decision:
            typer.echo(f"  plan: {key} (EspoCRM no longer has the account)")


def sync_bankverbindungen(
    account_id: str = typer.Argument(..., help="EspoCRM CBankverbindungen id"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print what would change; write nothing"),
) -> None:
    """Sync one bank account now (validate, link or create in Advoware, changes and deletes as
    manual actions) and print plan and outcome."""
    asyncio.run(_sync_one(get_settings(), account_id, dry_run))


async def _sync_one(settings: Settings, account_id: str, dry_run: bool) -> None:
    async with _service(settings) as service:
        outcome = await service.handle(
            account_id, "sync_check", trigger="cli", trace_id=new_trace_id(), dry_run=dry_run
        )
    if outcome.status == "not_found":
        raise CliError(f"{ENTITY} {account_id} not found in EspoCRM")
    _print(account_id, outcome)
    if outcome.status == "locked":
        raise CliError(
            f"{ENTITY} {account_id}: its party is being synced by another process (lock "
            f"{outcome.decision.get('lock')}); try again in a moment, or see `bitbylaw locks list`"
        )
    if outcome.status == "waiting_for_party":
        party = outcome.party_to_check
        raise CliError(
            f"{ENTITY} {account_id}: its party {party} is not yet in Advoware; run "
            f"`bitbylaw sync beteiligte {party}` first, then this command again"
        )
    if outcome.status in bulk_sync.FAILED_STATUSES:
        raise CliError(f"{ENTITY} {account_id}: sync {outcome.status}")


def register(app: typer.Typer) -> None:
    """`sync bankverbindungen` beside `sync beteiligte` (the `sync` group is the party module's)."""
    sync_app.command("bankverbindungen")(sync_bankverbindungen)
