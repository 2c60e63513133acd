"""`bitbylaw sandbox`: the service against the simulators, nothing else to install."""

from __future__ import annotations

import asyncio

import typer

from config import get_settings
from engine.logs import configure_logging

from . import wiring


def sandbox(port: int = typer.Option(None, help="HTTP port of the service (default: HTTP_PORT).")) -> None:
    """Start the service (embedded backend) in sandbox mode until Ctrl-C."""
    settings = get_settings()
    configure_logging(settings.log_level)
    engine = wiring.make_engine(settings, role="all", backend_kind="embedded", port=port)

    def ready(e) -> None:  # type: ignore[no-untyped-def]
        typer.echo(f"bitbylaw sandbox running: http://{settings.http_host}:{e.port}/health  (Ctrl-C to stop)")

    asyncio.run(engine.run_until_signal(ready))


def register(app: typer.Typer) -> None:
    app.command()(sandbox)
