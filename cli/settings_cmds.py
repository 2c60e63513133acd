"""`bitbylaw settings show|template`: the settings in effect, and a commented settings file."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import typer
from pydantic import SecretStr

from config import Settings, get_settings, settings_file, settings_warnings

from .output import JSON_OPTION

settings_app = typer.Typer(help="The service's settings.", no_args_is_help=True)


def effective(settings: Settings) -> dict[str, Any]:
    """env name → value in effect; secrets only as `set` / `empty`, paths resolved."""
    out: dict[str, Any] = {}
    for name, info in Settings.model_fields.items():
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = "(set)" if value.get_secret_value() else "(empty)"
        elif name == "espocrm_webhook_secrets":
            value = f"({len(value)} webhook id(s))"
        elif isinstance(value, Path):
            value = str(value)
        out[str(info.alias)] = value
    out["DATA_DIR"] = str(settings.data_path())
    out["ENGINE_DB_PATH"] = str(settings.engine_db_file())
    return out


@settings_app.command("show")
def show(as_json: bool = JSON_OPTION) -> None:
    """The settings in effect (secrets shown only as set or empty) and warnings about them."""
    settings = get_settings()
    values = effective(settings)
    if as_json:
        typer.echo(
            json.dumps(
                {"file": str(settings_file()), "settings": values, "warnings": settings_warnings(settings)}
            )
        )
        return
    source = settings_file()
    typer.echo(f"# from the environment and {source if source.is_file() else '(no settings file)'}")
    for name, value in values.items():
        typer.echo(f"{name}={value}")
    for warning in settings_warnings(settings):
        typer.echo(f"warning: {warning}", err=True)


@settings_app.command("template")
def template() -> None:
    """Print a commented settings file with every setting and its default
    (`bitbylaw settings template > .env`)."""
    typer.echo(files("cli").joinpath("env.example").read_text(encoding="utf-8"), nl=False)


def register(app: typer.Typer) -> None:
    app.add_typer(settings_app, name="settings")
