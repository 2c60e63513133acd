"""`bitbylaw backup DIR` and `bitbylaw restore DIR`: the deployment's state in one folder.

A backup holds, beside `manifest.json` (what, when, which version, sizes, SHA-256, row counts):
- `engine.db` — the embedded backend's SQLite file (queued and delayed jobs, dead letters,
  locks, cron ticks, state), an online copy. With Redis the engine state lives in Redis: back
  up its AOF/RDB files (the manifest says so).
- `service.db` (SQLite, online copy) or `service.pgdump` (`pg_dump --format=custom`).
- `settings.env` — the settings file in use with every secret removed (passwords in URLs too).

Both run beside a running service (the copies are consistent); restore wants the service
stopped and refuses to overwrite data unless `--force` (which keeps the old files beside).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import typer
from pydantic import SecretStr

from config import Settings, get_settings, settings_file
from engine.backends.base import BackendUnavailable
from engine.backends.embedded import EmbeddedBackend
from engine.runtime import all_queues
from services.db import open_database
from services.db.backup import BackupError, copy_sqlite, pg_dump, pg_restore, sqlite_counts, without_password
from steps.deps import open_service_db

from . import wiring
from .errors import USAGE, CliError

MANIFEST = "manifest.json"
ENGINE_FILE, SQLITE_FILE, PG_FILE, SETTINGS_FILE = "engine.db", "service.db", "service.pgdump", "settings.env"
COUNTED = ("audit_log", "party_sync_state")
URL_SECRETS = ("DATABASE_URL", "REDIS_URL")  # kept, without their password


def secret_names() -> set[str]:
    """Env names of the settings that are secrets (SecretStr, or maps of them)."""
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    return {
        str(info.alias)
        for name, info in Settings.model_fields.items()
        if isinstance(getattr(defaults, name), SecretStr) or "SecretStr" in str(info.annotation)
    }


def scrubbed_settings(text: str) -> tuple[str, list[str]]:
    """The settings file's text with every secret value removed; the names removed."""
    secrets, out, removed = secret_names(), [], []
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or line.lstrip().startswith("#") or name not in secrets or not value.strip():
            out.append(line)
        elif name in URL_SECRETS:
            plain, password = without_password(value.strip().strip("'\""))
            out.append(f"{name}={plain}")
            if password is not None:
                removed.append(name)
        else:
            out += [f"# {name}: secret removed by `bitbylaw backup`; set it again", f"{name}="]
            removed.append(name)
    return "\n".join(out) + "\n", removed


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def backup(
    directory: Path = typer.Argument(..., help="a new (or empty) folder for this backup", file_okay=False),
) -> None:
    """Back up the engine state (embedded), the service database and the settings (without
    secrets) into DIR, while the service runs. Restore with `bitbylaw restore DIR`."""
    settings = get_settings()
    if directory.exists() and any(directory.iterdir()):
        raise CliError(f"{directory} is not empty: give a new folder for each backup", USAGE)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    manifest: dict[str, Any] = {"created_at": time.time(), "version": wiring.service_version(), "files": {}}
    try:
        manifest["engine"] = _backup_engine(settings, directory)
        manifest["database"] = asyncio.run(_backup_database(settings, directory))
    except BackupError as exc:
        raise CliError(str(exc)) from None
    source = settings_file()
    if source.is_file():
        text, removed = scrubbed_settings(source.read_text(encoding="utf-8"))
        (directory / SETTINGS_FILE).write_text(text, encoding="utf-8")
        manifest["settings"] = {"file": str(source.resolve()), "secrets_removed": removed}
        typer.echo(f"settings: {source} without {len(removed)} secret(s) -> {SETTINGS_FILE}")
    for path in sorted(p for p in directory.iterdir() if p.is_file()):
        path.chmod(0o600)  # the copies hold personal data and the engine's tokens
        manifest["files"][path.name] = {"bytes": path.stat().st_size, "sha256": sha256(path)}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (directory / MANIFEST).chmod(0o600)
    typer.echo(f"backup written to {directory} ({MANIFEST})")


def _backup_engine(settings: Settings, directory: Path) -> dict[str, Any]:
    if settings.engine_backend == "redis":
        typer.echo("engine state: in Redis (not in this backup: back up Redis's AOF/RDB files)")
        return {"backend": "redis"}
    source = settings.engine_db_file()
    copy_sqlite(source, directory / ENGINE_FILE)
    typer.echo(f"engine state: {source} -> {ENGINE_FILE} (online copy)")
    return {"backend": "embedded", "file": ENGINE_FILE}


async def _backup_database(settings: Settings, directory: Path) -> dict[str, Any]:
    url = settings.service_database_url()
    if url.startswith("sqlite:///"):
        copy_sqlite(Path(url.removeprefix("sqlite:///")), directory / SQLITE_FILE)
        counts = sqlite_counts(directory / SQLITE_FILE, COUNTED)
        typer.echo(f"service database (sqlite) -> {SQLITE_FILE}: {_counted(counts)}")
        return {"dialect": "sqlite", "file": SQLITE_FILE, "counts": counts, "exact": True}
    counts = await _counts(settings)  # before the dump: writes during it may add rows
    await asyncio.to_thread(pg_dump, url, directory / PG_FILE)
    typer.echo(f"service database (postgres) -> {PG_FILE} (pg_dump): about {_counted(counts)}")
    return {"dialect": "postgres", "file": PG_FILE, "counts": counts, "exact": False}


async def _counts(settings: Settings) -> dict[str, int]:
    db = await open_service_db(settings, migrate=False)
    try:
        return {"audit_log": await db.count_audit(), "party_sync_state": await db.count_snapshots()}
    finally:
        await db.close()


def _counted(counts: dict[str, int]) -> str:
    return f"{counts['audit_log']} audit entries, {counts['party_sync_state']} party sync states"


def restore(
    directory: Path = typer.Argument(..., help="a folder written by `bitbylaw backup`", file_okay=False),
    force: bool = typer.Option(False, "--force", help="replace existing data (old files are kept beside)"),
) -> None:
    """Restore a backup into the files and database the settings name (stop the service first),
    then check that the database migrates and answers with the backed-up rows."""
    settings = get_settings()
    manifest = _checked_manifest(directory)
    try:
        if manifest["engine"]["backend"] == "embedded":
            _restore_engine(settings, directory, force)
        asyncio.run(_restore_database(settings, directory, manifest["database"], force))
    except BackupError as exc:
        raise CliError(str(exc)) from None
    if (directory / SETTINGS_FILE).is_file():
        kept = directory / SETTINGS_FILE
        typer.echo(f"settings of the backup (secrets removed): {kept}; yours are in effect")


def _checked_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not path.is_file():
        raise CliError(f"no {MANIFEST} in {directory}: not a bitbylaw backup", USAGE)
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    for name, want in manifest["files"].items():
        file = directory / name
        if not file.is_file() or sha256(file) != want["sha256"]:
            raise CliError(f"{file} is missing or damaged (its SHA-256 differs from the manifest)")
    typer.echo(f"checked: {len(manifest['files'])} file(s) match {MANIFEST} (version {manifest['version']})")
    return manifest


def _make_room(target: Path, force: bool, what: str) -> None:
    if not target.exists():
        return
    if not force:
        raise CliError(f"{what} {target} exists: restore into fresh settings, or replace it (--force)", USAGE)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    for part in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
        if part.exists():
            part.rename(f"{part}.replaced-{stamp}")
    typer.echo(f"kept the replaced {what} as {target}.replaced-{stamp}")


def _restore_engine(settings: Settings, directory: Path, force: bool) -> None:
    if settings.engine_backend != "embedded":
        raise CliError("the backup holds an embedded engine state, the settings use Redis", USAGE)
    target = settings.engine_db_file()
    if target.exists():
        asyncio.run(_refuse_if_in_use(target))
    _make_room(target, force, "engine database")
    copy_sqlite(directory / ENGINE_FILE, target)
    queued, dead = asyncio.run(_engine_answers(settings, target))
    typer.echo(f"engine state restored to {target}: {queued} job(s) queued or delayed, {dead} dead letter(s)")


async def _refuse_if_in_use(target: Path) -> None:
    backend = EmbeddedBackend(target)
    await backend.connect()
    try:
        await backend.prepare_worker("restore")
    except BackendUnavailable:
        raise CliError(f"a service is running on {target}: stop it before restoring") from None
    finally:
        await backend.close()


async def _engine_answers(settings: Settings, target: Path) -> tuple[int, int]:
    backend = EmbeddedBackend(target)
    await backend.connect()
    try:
        await backend.ping()
        stats = await backend.queue_stats(all_queues(wiring.load(settings)))
        dead = len(await backend.list_dead(1_000_000))
        return sum(s.depth + s.delayed + s.in_flight for s in stats), dead
    finally:
        await backend.close()


async def _restore_database(settings: Settings, directory: Path, saved: dict[str, Any], force: bool) -> None:
    url = settings.service_database_url()
    dialect = "sqlite" if url.startswith("sqlite:///") else "postgres"
    if dialect != saved["dialect"]:
        raise CliError(f"the backup holds a {saved['dialect']} database, DATABASE_URL is {dialect}", USAGE)
    if dialect == "sqlite":
        target = Path(url.removeprefix("sqlite:///"))
        _make_room(target, force, "service database")
        copy_sqlite(directory / SQLITE_FILE, target)
    else:
        await _refuse_if_filled(url, force)
        await asyncio.to_thread(pg_restore, url, directory / PG_FILE)
    async with open_database(url) as db:  # the restored database must migrate and answer
        applied = await db.migrate()
        counts = {"audit_log": await db.count_audit(), "party_sync_state": await db.count_snapshots()}
    migrated = f"migrations applied: {', '.join(applied)}" if applied else "migrations up to date"
    typer.echo(f"service database restored ({dialect}): {migrated}; {_counted(counts)}")
    if counts != saved["counts"]:
        if saved["exact"]:
            raise CliError(f"the restored database holds {counts}, the backup {saved['counts']}")
        typer.echo(f"note: counted {saved['counts']} when the dump started; rows written during it differ")


async def _refuse_if_filled(url: str, force: bool) -> None:
    async with open_database(url) as db:
        if force or not await db.applied_migrations():
            return
        if await db.count_audit() or await db.count_snapshots():
            raise CliError("DATABASE_URL holds data: restore into a new database (or --force)", USAGE)


def register(app: typer.Typer) -> None:
    app.command()(backup)
    app.command()(restore)
