"""Operator commands for the calendar sync (SYNC_RULES §5): `sync calendar`, `calendar adopt`,
`audit calendar`.

They run beside a live service: the employee's lock `calendar:{KUERZEL}` and the token caches
live in the same engine backend, so a CLI run waits for nothing and never runs next to the
service's run of the same employee (it says so and exits 1). Output names plan kinds, Termin
numbers and Google event ids, never appointment texts (DECISIONS 17).
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
from engine.context import Locks, StateScope, new_trace_id
from services.clients.session import SessionHolder
from steps.deps import StateTokenCache, open_service_db

from . import wiring
from .beteiligte_cmds import audit_app, sync_app
from .errors import CliError
from .output import JSON_OPTION, listing

calendar_app = typer.Typer(help="Calendar maintenance (adoption of a found calendar).", no_args_is_help=True)
KUERZEL = typer.Argument(..., help="the employee's Advoware Kürzel (e.g. SB)")
FAILED = frozenset({"braked", "quota_exceeded", "locked", "skipped", "no_email"})


@contextlib.asynccontextmanager
async def calendar_service(settings: Settings) -> AsyncIterator[Any]:
    """The calendar sync service outside the engine, sharing the running service's locks and
    token caches through the engine backend."""
    from services.calendar.compose import build_service

    session = SessionHolder()
    async with wiring.connected_backend(settings, must_exist=False) as backend:
        db = await open_service_db(settings)
        try:
            state = StateScope(backend)
            yield build_service(
                settings,
                session=session,
                token_cache=StateTokenCache(state),
                google_token_caches=lambda principal: StateTokenCache(state, "google", principal),
                db=db,
                lock=Locks(backend),
            )
        finally:
            await db.close()
            await session.close()


def _print_decision(decision: Any) -> None:
    if decision is None:
        return
    for plan in decision.plans:
        typer.echo(f"  {plan.kind:<16} {plan.ref}" + (f" ({plan.failure})" if plan.failure else ""))
    planned = Counter(p.kind for p in decision.plans)
    typer.echo("  planned: " + (", ".join(f"{k} {n}" for k, n in sorted(planned.items())) or "nothing"))
    if decision.unmatched:
        typer.echo(
            f"  {len(decision.unmatched)} Google event(s) match no Termin and wait for "
            "`bitbylaw calendar adopt KUERZEL --apply`: " + ", ".join(decision.unmatched[:10])
        )
    if decision.brake is not None:
        b = decision.brake
        typer.echo(f"  safety brake: {b.creates} creates, {b.deletes} deletes (limit {b.limit})")


async def _run(settings: Settings, kuerzel: str, **options: Any) -> Any:
    """One employee's run, with a progress bar over the appointments once they are decided."""
    async with calendar_service(settings) as service:
        with contextlib.ExitStack() as stack:
            bars: list[Any] = []

            def progress(done: int, total: int) -> None:
                if not bars:
                    label = f"calendar {kuerzel.upper()}"
                    bars.append(
                        stack.enter_context(typer.progressbar(length=total, label=label, file=sys.stderr))
                    )
                bars[0].update(1)

            return await service.sync_employee(
                kuerzel, trigger="cli", trace_id=new_trace_id(), progress=progress, **options
            )


def _report(outcome: Any, dry_run: bool) -> None:
    k = outcome.kuerzel
    done = ", ".join(f"{kind} {n}" for kind, n in sorted(outcome.done.items()))
    typer.echo(
        f"{k}: {outcome.status}"
        + (f" ({done})" if done else "")
        + (f"; {outcome.failed} failed" if outcome.failed else "")
        + (f" — {outcome.error}" if outcome.error else "")
    )
    if dry_run or outcome.status == "braked":
        _print_decision(outcome.decision)
    if outcome.status == "locked":
        raise CliError(
            f"calendar {k} is being synced by another process (lock calendar:{k}); try again in a "
            "moment, or see `bitbylaw locks list`"
        )
    if outcome.status == "braked":
        raise CliError(f"calendar {k}: nothing applied; check, then run again with --allow-mass-changes")
    if outcome.status in FAILED or outcome.failed:
        raise CliError(
            f"calendar {k}: sync {outcome.status}" + (f", {outcome.failed} failed" if outcome.failed else "")
        )


@sync_app.command("calendar")
def sync_calendar(
    kuerzel: str = KUERZEL,
    dry_run: bool = typer.Option(False, "--dry-run", help="print what would change; write nothing"),
    allow_mass_changes: bool = typer.Option(
        False, "--allow-mass-changes", help="apply a run the safety brake stopped (after checking it)"
    ),
) -> None:
    """Sync one employee's Advoware Termine with his Google calendar now and print the outcome."""
    options = {"dry_run": dry_run, "allow_mass_changes": allow_mass_changes}
    outcome = asyncio.run(_run(get_settings(), kuerzel, **options))
    _report(outcome, dry_run)


@calendar_app.command("adopt")
def calendar_adopt(
    kuerzel: str = KUERZEL,
    apply: bool = typer.Option(
        False, "--apply", help="adopt: map the matches and send the unmatched events to Advoware"
    ),
    allow_mass_changes: bool = typer.Option(
        False, "--allow-mass-changes", help="with --apply: more creates than the safety brake allows"
    ),
) -> None:
    """Match an existing calendar's events to Termine (by link, else by start, end and subject).
    Without --apply only prints what would be matched and what would go to Advoware."""
    options = {"dry_run": not apply, "adopting": apply, "allow_mass_changes": allow_mass_changes}
    outcome = asyncio.run(_run(get_settings(), kuerzel, **options))
    _report(outcome, not apply)


@audit_app.command("calendar")
def audit_calendar(
    kuerzel: str = KUERZEL,
    limit: int = typer.Option(50, help="most entries listed"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Print the audit trail of one employee's calendar runs, newest first."""

    async def go() -> list[Any]:
        async with calendar_service(get_settings()) as service:
            return list(await service.audit(kuerzel, limit=limit))

    entries = asyncio.run(go())
    if as_json:
        listing(entries, True, [], noun="entries")
        return
    if not entries:
        typer.echo(f"no audit entries for calendar {kuerzel.upper()}")
    for e in entries:
        typer.echo(
            f"{e.created_at:%Y-%m-%d %H:%M:%S}Z  {e.result:<15} trigger={e.trigger} trace={e.trace_id}"
        )
        decision = e.decision or {}
        for key in ("planned", "applied"):
            if decision.get(key):
                typer.echo(f"    {key}: " + ", ".join(f"{k} {n}" for k, n in sorted(decision[key].items())))
        if decision.get("brake"):
            typer.echo(f"    brake: {decision['brake']}")
        if e.error:
            typer.echo(f"    error: {e.error}")


def register(app: typer.Typer) -> None:
    app.add_typer(calendar_app, name="calendar")
