"""`bitbylaw` — the one command-line entry point (typer)."""

from __future__ import annotations

import typer

from . import beteiligte_cmds, engine_cmds, sandbox_cmds

app = typer.Typer(
    help="bitbylaw: keeps EspoCRM, Advoware and Google Calendar in sync.",
    no_args_is_help=True,
    add_completion=False,
)
engine_cmds.register(app)
sandbox_cmds.register(app)
beteiligte_cmds.register(app)

if __name__ == "__main__":
    app()
