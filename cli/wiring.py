"""Builds the engine of this deployment from settings: backend, steps, options, resources.
The one place where settings meet the engine (the engine itself reads no settings)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from importlib.metadata import PackageNotFoundError, version
from importlib.resources import files
from pathlib import Path
from typing import Any

from config import Settings
from engine.backends import create_backend
from engine.backends.base import Backend
from engine.context import Locks, StateScope
from engine.http_limits import EdgeLimits
from engine.project import ProjectConfig, apply_project_config, load_project_config, override_crons
from engine.registry import Step, StepValidationError, load_steps
from engine.runtime import Engine, EngineOptions, Role
from services.clients.session import SessionHolder, close_shared_session
from steps.deps import StateTokenCache, open_service_db

from .console import console_extension
from .errors import CliError

ROOT = Path(__file__).resolve().parent.parent
# Shipped inside the `cli` package (in a checkout a link to the file at the repository root).
PROJECT_CONFIG = Path(str(files("cli") / "motia.config.json"))
# A CLI command waits this long for an unreachable Redis (the service itself: 30 s).
CLI_RECONNECT_SECONDS = 3.0


def steps_dirs(settings: Settings) -> list[Path]:
    """STEPS_DIRS when set in the environment, else the `steps` of motia.config.json."""
    dirs = settings.steps_dirs if "steps_dirs" in settings.model_fields_set else project().steps
    return [p if p.is_absolute() else ROOT / p for p in map(Path, dirs)]


def project() -> ProjectConfig:
    """The project's wiring; the service refuses to start without it (built-in defaults would
    silently change queue limits and flow checks)."""
    if not PROJECT_CONFIG.is_file():
        raise StepValidationError([f"project config {PROJECT_CONFIG} not found (reinstall bitbylaw)"])
    return load_project_config(PROJECT_CONFIG)


def service_version() -> str:
    try:
        return version("bitbylaw")
    except PackageNotFoundError:
        return "0+unknown"


def make_backend(settings: Settings, kind: str | None = None, *, for_cli: bool = False) -> Backend:
    kind = kind or settings.engine_backend
    if kind == "redis" and for_cli:
        from engine.backends.redis import RedisBackend

        return RedisBackend(
            url=settings.redis_url.get_secret_value(),
            prefix=settings.redis_prefix,
            reconnect_timeout=CLI_RECONNECT_SECONDS,
        )
    return create_backend(
        kind,
        db_path=settings.engine_db_file(),
        redis_url=settings.redis_url.get_secret_value(),
        redis_prefix=settings.redis_prefix,
    )


@contextlib.asynccontextmanager
async def connected_backend(
    settings: Settings, kind: str | None = None, *, must_exist: bool = True
) -> AsyncIterator[Backend]:
    """A backend for one CLI command, closed afterwards. With `must_exist`, a missing embedded
    database is an error, not a new empty file (the command would show an empty deployment)."""
    kind = kind or settings.engine_backend
    if kind not in ("embedded", "redis"):
        raise CliError(f"--backend must be embedded or redis, not {kind!r}", 2)
    if kind == "embedded" and must_exist and not settings.engine_db_file().is_file():
        raise CliError(
            f"no engine database at {settings.engine_db_file()}: is the service running with these "
            "settings? (DATA_DIR, ENGINE_DB_PATH; beside a sandbox use the settings file its banner names)",
            3,
        )
    backend = make_backend(settings, kind, for_cli=True)
    # The CLI prints its own one-line error; the backend's reconnect warnings are noise here.
    logging.getLogger("engine.backends.redis").setLevel(logging.ERROR)
    await backend.connect()
    try:
        yield backend
    finally:
        await backend.close()


@contextlib.asynccontextmanager
async def sync_service(settings: Settings, build: Callable[..., Any]) -> AsyncIterator[Any]:
    """A sync service (`build`: a composition root such as `services.beteiligte.compose.
    build_service`) outside the engine, sharing the running service's locks and token cache
    through the engine backend, so a CLI sync waits its turn like any other."""
    session = SessionHolder()
    async with connected_backend(settings, must_exist=False) as backend:
        db = await open_service_db(settings)
        try:
            token_cache = StateTokenCache(StateScope(backend))
            yield build(settings, session=session, token_cache=token_cache, db=db, lock=Locks(backend))
        finally:
            await db.close()
            await session.close()


def cron_overrides(settings: Settings) -> dict[str, str]:
    """Cron expressions the deployment sets (a step's `cron(..., override=NAME)`)."""
    return {"BETEILIGTE_CRON": settings.beteiligte_cron, "CALENDAR_CRON": settings.calendar_cron}


def load(settings: Settings) -> list[Step]:
    steps = override_crons(load_steps(steps_dirs(settings)), cron_overrides(settings))
    if "steps_dirs" in settings.model_fields_set:  # a foreign step set (tests, demos): defaults only
        return apply_project_config(steps, project().model_copy(update={"flows": {}}), PROJECT_CONFIG)
    return apply_project_config(steps, project(), PROJECT_CONFIG)


def edge_limits(settings: Settings) -> EdgeLimits:
    return EdgeLimits(
        head_timeout=settings.http_head_timeout_seconds,
        body_timeout=settings.http_body_timeout_seconds,
        keepalive_timeout=settings.http_keepalive_timeout_seconds,
        max_connections=settings.http_max_connections,
        json_max_depth=settings.http_json_max_depth,
        json_max_number_length=settings.http_json_max_number_length,
    )


def api_info() -> dict[str, str]:
    """Title, version and description of the OpenAPI document."""
    about = (
        "EspoCRM webhooks, the authenticated Advoware proxy, the calendar trigger, health and metrics "
        "of bitbylaw."
    )
    return {"title": "bitbylaw", "version": service_version(), "description": about}


def make_engine(
    settings: Settings,
    role: Role = "all",
    backend_kind: str | None = None,
    port: int | None = None,
    extra: dict[str, Any] | None = None,
    metrics_port: int | None = None,
) -> Engine:
    resources: dict[str, Any] = {"settings": settings, **(extra or {})}
    steps = load(settings)

    async def open_db() -> None:
        """Migrate at start-up: a schema problem stops the start, not a sync."""
        resources["db"] = await open_service_db(settings)

    async def close_db() -> None:
        db = resources.pop("db", None)
        if db is not None:
            await db.close()

    console = console_extension(settings)
    options = EngineOptions(
        role=role,
        host=settings.http_host,
        port=settings.http_port if port is None else port,
        max_body=settings.http_max_body_bytes,
        request_timeout=settings.http_request_timeout_seconds,
        limits=edge_limits(settings),
        api_info=api_info(),
        grace=settings.shutdown_grace_seconds,
        visibility_timeout=settings.visibility_timeout_seconds,
        dead_letter_threshold=settings.health_dead_letter_threshold,
        metrics_port=settings.worker_metrics_port if metrics_port is None else metrics_port,
        cron_timezone=settings.cron_timezone,
        version=service_version(),
        resources=resources,
        on_startup=[open_db],
        on_shutdown=[close_shared_session, close_db],
        http_extensions=[console] if console is not None else [],
    )
    return Engine(make_backend(settings, backend_kind), steps, options)
