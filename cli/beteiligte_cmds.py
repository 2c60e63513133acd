"""Operator commands for the party sync, the service database and locks.

They run beside a live service: locks and the token cache live in the same engine backend, so
`bitbylaw sync beteiligte ID` waits its turn like any other sync. Output names ids, field names
and counts; values only with --show-values (personal data). The sync itself is the service's
(`BeteiligteSyncService`); this module only calls its public methods and prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections import Counter
from typing import Any

import typer

from config import Settings, get_settings
from engine.context import new_trace_id
from services import bulk_sync
from services.beteiligte.service import LockedError
from services.clients.errors import NotFound
from steps.deps import open_service_db

from . import wiring
from .errors import USAGE, CliError
from .output import JSON_OPTION, listing, when
from .party_ops import audit_details, plan_lines, run_sync

sync_app = typer.Typer(help="Run a sync now.", no_args_is_help=True)
audit_app = typer.Typer(help="Show the audit trail of a record.", no_args_is_help=True)
beteiligte_app = typer.Typer(help="Party link maintenance.", no_args_is_help=True)
db_app = typer.Typer(help="The service database.", no_args_is_help=True)
locks_app = typer.Typer(help="Distributed locks.", no_args_is_help=True)


def _service(settings: Settings) -> contextlib.AbstractAsyncContextManager[Any]:
    from services.beteiligte.compose import build_service

    return wiring.sync_service(settings, build_service)


def _print_plan(plan: Any, show_values: bool) -> None:
    for line in plan_lines(plan, show_values):
        typer.echo(f"  {line}")


@sync_app.command("beteiligte")
def sync_beteiligte(
    entity_id: str = typer.Argument(None, help="EspoCRM CBeteiligte id"),
    all_: bool = typer.Option(
        False, "--all", help="every party: first a preview with totals, then (after a yes) the real sync"
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="print what would change; write nothing"),
    yes: bool = typer.Option(False, "--yes", "-y", help="with --all: sync without asking"),
    direction: str = typer.Option("both", help="both | to_advoware | to_espocrm (operator one-way runs)"),
    show_values: bool = typer.Option(False, help="print field values (personal data!)"),
) -> None:
    """Sync one party now (or all with --all) and print plan and outcome."""
    if direction not in ("both", "to_advoware", "to_espocrm"):
        raise CliError("--direction must be both, to_advoware or to_espocrm", USAGE)
    if bool(entity_id) == all_:
        raise CliError("give a CBeteiligte ID or --all", USAGE)
    settings = get_settings()
    if entity_id:
        asyncio.run(_sync_one(settings, entity_id, dry_run, direction, show_values))
    else:
        asyncio.run(_sync_all(settings, dry_run, yes, direction, show_values))


async def _sync_one(
    settings: Settings, entity_id: str, dry_run: bool, direction: str, show_values: bool
) -> None:
    async with _service(settings) as service:
        outcome = await run_sync(
            service, entity_id, dry_run=dry_run, direction=direction, trigger="cli", trace_id=new_trace_id()
        )
    typer.echo(f"{entity_id}: {outcome.status}" + (f" ({outcome.error})" if outcome.error else ""))
    _print_plan(outcome.plan, show_values)
    if outcome.status in bulk_sync.FAILED_STATUSES:
        raise CliError(f"CBeteiligte {entity_id}: sync {outcome.status}")


async def _sync_all(settings: Settings, dry_run: bool, yes: bool, direction: str, show_values: bool) -> None:
    async with _service(settings) as service:
        ids = await bulk_sync.all_party_ids(service)

        def show(entity_id: str, outcome: Any) -> None:
            if isinstance(outcome, Exception):
                typer.echo(f"{entity_id}: error ({type(outcome).__name__})")
            elif outcome.plan is not None and not outcome.plan.is_noop:
                typer.echo(
                    f"{entity_id}: {outcome.status}" + (f" ({outcome.error})" if outcome.error else "")
                )
                _print_plan(outcome.plan, show_values)

        children: Counter[str] = Counter()  # entry and address writes the preview would make
        with typer.progressbar(length=len(ids), label="preview", file=sys.stderr) as bar:

            def previewed(entity_id: str, outcome: Any) -> None:
                show(entity_id, outcome)
                plan = getattr(outcome, "plan", None)
                if plan is not None and plan.children is not None:
                    children.update(plan.children.totals())
                bar.update(1)

            totals = await bulk_sync.sync_many(
                service, ids, trace_id=new_trace_id, dry_run=True, direction=direction, on_outcome=previewed
            )
        typer.echo("totals: " + (", ".join(f"{k} {v}" for k, v in sorted(totals.items())) or "no parties"))
        typer.echo(
            "entries and addresses: "
            + (", ".join(f"{k} {v}" for k, v in sorted(children.items())) or "no writes")
        )
        if dry_run or not ids:
            return
        if not yes:
            if not sys.stdin.isatty():
                raise CliError("not syncing without a yes: run with --yes (or answer on a terminal)")
            typer.confirm(f"Sync all {len(ids)} parties now (EspoCRM and Advoware are written)?", abort=True)
        failed: list[str] = []
        with typer.progressbar(length=len(ids), label="sync", file=sys.stderr) as bar:

            def synced(entity_id: str, outcome: Any) -> None:
                if isinstance(outcome, Exception) or outcome.status in bulk_sync.FAILED_STATUSES:
                    failed.append(entity_id)
                bar.update(1)

            done = await bulk_sync.sync_many(
                service, ids, trace_id=new_trace_id, dry_run=False, direction=direction, on_outcome=synced
            )
        await service.send_initial_conflict_summary()
    typer.echo("synced: " + ", ".join(f"{k} {v}" for k, v in sorted(done.items())))
    if failed:
        raise CliError(
            f"{len(failed)} of {len(ids)} parties failed (bitbylaw failed --entity CBeteiligte lists them): "
            + ", ".join(failed[:10])
            + (" …" if len(failed) > 10 else "")
        )


@audit_app.command("beteiligte")
def audit_beteiligte(
    entity_id: str, limit: int = typer.Option(50, help="most entries listed"), as_json: bool = JSON_OPTION
) -> None:
    """Print the audit trail of one party, newest first."""

    async def go() -> list[Any]:
        async with _service(get_settings()) as service:
            return list(await service.audit(entity_id, limit=limit))

    entries = asyncio.run(go())
    if as_json:
        listing(entries, True, [], noun="entries")
        return
    if not entries:
        typer.echo(f"no audit entries for CBeteiligte {entity_id}")
    for e in entries:
        typer.echo(
            f"{e.created_at:%Y-%m-%d %H:%M:%S}Z  {e.action:<22} {e.result:<20} trigger={e.trigger} "
            f"trace={e.trace_id}"
        )
        for line in audit_details(e):
            typer.echo(f"    {line}")


@beteiligte_app.command("unlink")
def beteiligte_unlink(entity_id: str) -> None:
    """Clear the Advoware link of a party (after deleted_in_advoware); the next sync creates it anew."""

    async def go() -> bool:
        async with _service(get_settings()) as service:
            try:
                return bool(await service.unlink(entity_id))
            except NotFound:
                raise CliError(f"CBeteiligte {entity_id} not found in EspoCRM") from None
            except LockedError:
                raise CliError(
                    f"CBeteiligte {entity_id} is being synced by another process; try again in a moment"
                ) from None

    if not asyncio.run(go()):
        raise CliError(f"CBeteiligte {entity_id} has no Advoware link")
    typer.echo(f"unlinked {entity_id}; the next sync creates a new Advoware party")


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending migrations of the service database (also done at start-up)."""
    applied = asyncio.run(_migrate(get_settings()))
    typer.echo(f"applied: {', '.join(applied)}" if applied else "database is up to date")


async def _migrate(settings: Settings) -> list[str]:
    db = await open_service_db(settings, migrate=False)
    try:
        applied: list[str] = await db.migrate()
        return applied
    finally:
        await db.close()


@locks_app.command("list")
def locks_list(
    prefix: str = typer.Option("", help="only keys starting with this"), as_json: bool = JSON_OPTION
) -> None:
    """Locks held right now, with owner token and expiry."""

    async def go() -> list[Any]:
        async with wiring.connected_backend(get_settings()) as backend:
            return await backend.list_locks(prefix)

    now = time.time()
    listing(
        asyncio.run(go()),
        as_json,
        [
            ("key", 40, lambda r: r.key),
            ("owner", 34, lambda r: f"owner={r.owner}"),
            ("expires", 21, lambda r: when(r.expires_at)),
            ("in", -7, lambda r: f"{r.expires_at - now:.0f}s"),
        ],
        noun="lock(s)",
    )


@locks_app.command("release")
def locks_release(key: str) -> None:
    """Force-release a lock whose holder is gone (its TTL would free it too)."""

    async def go() -> bool:
        async with wiring.connected_backend(get_settings()) as backend:
            return await backend.force_release_lock(key)

    if not asyncio.run(go()):
        raise CliError(f"no lock {key}")
    typer.echo(f"released {key}")


def register(app: typer.Typer) -> None:
    app.add_typer(sync_app, name="sync")
    app.add_typer(audit_app, name="audit")
    app.add_typer(beteiligte_app, name="beteiligte")
    app.add_typer(db_app, name="db")
    app.add_typer(locks_app, name="locks")
