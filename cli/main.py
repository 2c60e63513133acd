"""`bitbylaw` — the one command-line entry point (typer)."""

from __future__ import annotations

import typer

from config import SettingsError

from . import beteiligte_cmds, engine_cmds, sandbox_cmds

app = typer.Typer(
    help="bitbylaw: keeps EspoCRM, Advoware and Google Calendar in sync.",
    no_args_is_help=True,
    add_completion=False,
)
engine_cmds.register(app)
sandbox_cmds.register(app)
beteiligte_cmds.register(app)


def main() -> None:
    """Entry point: settings problems are reported by field name, without a traceback."""
    try:
        app()
    except SettingsError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
