"""`bitbylaw failed`: records whose sync failed or waits for a person (read from EspoCRM)."""

from __future__ import annotations

import asyncio

import typer

from config import get_settings
from services.clients.espocrm import EspoCrmClient
from services.clients.session import SessionHolder
from services.operator_views import ATTENTION_STATUSES, FailedRecord, entity_names, failed_records

from .errors import USAGE, CliError
from .output import JSON_OPTION, listing


def failed(
    entity: list[str] = typer.Option(
        None, "--entity", help=f"only this entity ({', '.join(entity_names())})"
    ),
    limit: int = typer.Option(1000, help="most records listed"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Records in EspoCRM whose sync failed or needs a person (failed, permanently_failed,
    manual_action, invalid, duplicate_suspected), with the last error and the next retry."""
    unknown = sorted(set(entity or ()) - set(entity_names()))
    if unknown:
        raise CliError(
            f"--entity must be one of {', '.join(entity_names())}, not {', '.join(unknown)}", USAGE
        )

    async def go() -> list[FailedRecord]:
        session = SessionHolder()
        try:
            crm = EspoCrmClient.from_settings(get_settings(), session)
            return await failed_records(crm, entity or None, limit)
        finally:
            await session.close()

    rows = asyncio.run(go())
    listing(
        rows,
        as_json,
        [
            ("entity", 12, lambda r: r.entity),
            ("id", 20, lambda r: r.id),
            ("status", 19, lambda r: r.status),
            ("tries", -5, lambda r: r.retry_count),
            ("next_retry", 20, lambda r: r.next_retry or r.auto_reset_at),
            ("error", 0, lambda r: (r.error or "")[:120]),
        ],
        noun=f"record(s) in {', '.join(ATTENTION_STATUSES)}",
    )


def register(app: typer.Typer) -> None:
    app.command()(failed)
