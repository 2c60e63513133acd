"""`bitbylaw` — the one command-line entry point (typer).

Global options come before the command: `bitbylaw --env-file data/sandbox/sandbox.env queues`.
Every expected failure is one line on stderr and a non-zero exit code (`cli/errors.py`); a
traceback only with `--debug`.
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import typer

from config import ENV_FILE_VARIABLE, get_settings
from engine.logs import configure_logging

from . import (
    backup_cmds,
    bank_cmds,
    beteiligte_cmds,
    calendar_cmds,
    check_cmds,
    engine_cmds,
    operator_cmds,
    sandbox_cmds,
    settings_cmds,
    webhook_cmds,
)
from .errors import describe

app = typer.Typer(
    help="bitbylaw: keeps EspoCRM and Advoware in sync (webhooks, queues, crons, an Advoware proxy).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def package_version() -> str:
    try:
        return version("bitbylaw")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "0+unknown"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"bitbylaw {package_version()}")
        raise typer.Exit()


@app.callback()
def root(
    env_file: Path = typer.Option(
        None,
        "--env-file",
        help=f"settings file to read instead of ./.env (same as {ENV_FILE_VARIABLE}=PATH)",
        dir_okay=False,
    ),
    debug: bool = typer.Option(False, "--debug", help="print log lines, and the traceback of an error"),
    _version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="print the version and exit"
    ),
) -> None:
    # A command prints its own lines; log lines only with --debug. `run`, `sandbox` and
    # `simulate` log at LOG_LEVEL once the settings are read.
    configure_logging("DEBUG" if debug else "CRITICAL")
    if env_file is not None:
        os.environ[ENV_FILE_VARIABLE] = str(env_file)
        get_settings.cache_clear()


engine_cmds.register(app)
operator_cmds.register(app)
sandbox_cmds.register(app)
beteiligte_cmds.register(app)
bank_cmds.register(app)
calendar_cmds.register(app)
webhook_cmds.register(app)
check_cmds.register(app)
settings_cmds.register(app)
backup_cmds.register(app)


def main() -> None:
    debug = "--debug" in sys.argv[1:]
    try:
        app(prog_name="bitbylaw")
    except Exception as exc:
        described = describe(exc)
        if debug or described is None:
            if described is None and not debug:
                typer.secho(
                    f"error: unexpected {type(exc).__name__} (run again with --debug for the traceback)",
                    fg=typer.colors.RED,
                    err=True,
                )
                raise SystemExit(1) from None
            raise
        lines, code = described
        for line in lines:
            typer.secho(line, fg=typer.colors.RED, err=True)
        raise SystemExit(code) from None


if __name__ == "__main__":
    main()
