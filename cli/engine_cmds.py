"""Engine commands: run, steps, queues, dlq, cron."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer

from config import get_settings, settings_warnings
from engine import operator
from engine.logs import configure_logging
from engine.runtime import all_queues
from engine.triggers import CronTrigger, HttpTrigger, QueueTrigger

from . import wiring
from .errors import USAGE, CliError
from .output import JSON_OPTION, listing, when

T = TypeVar("T")
dlq_app = typer.Typer(help="Dead letters: jobs that failed after their last retry.", no_args_is_help=True)
cron_app = typer.Typer(help="Crons: their schedule, last success, and a run now.", no_args_is_help=True)
BACKEND_OPTION = typer.Option(None, "--backend", help="embedded or redis (default: ENGINE_BACKEND)")


def with_backend(kind: str | None, use: Callable[[Any], Awaitable[T]]) -> T:
    """Run `use(backend)` on a connected backend of this deployment."""

    async def go() -> T:
        async with wiring.connected_backend(get_settings(), kind) as backend:
            return await use(backend)

    return asyncio.run(go())


def run(
    role: str = typer.Option("all", help="all = api + worker; api = HTTP only; worker = queues + cron."),
    backend: str = typer.Option(None, help="embedded or redis (default: ENGINE_BACKEND)."),
    port: int = typer.Option(None, help="HTTP port (default: HTTP_PORT)."),
    metrics_port: int = typer.Option(
        None, help="worker role: port of /metrics and /health (default: WORKER_METRICS_PORT; 0 = none)."
    ),
) -> None:
    """Run the service until SIGTERM/SIGINT."""
    if role not in ("all", "api", "worker"):
        raise CliError(f"--role must be all, api or worker, not {role!r}", USAGE)
    settings = get_settings()
    configure_logging(settings.log_level)
    for warning in settings_warnings(settings):
        logging.getLogger("bitbylaw").warning(warning)
    try:
        engine = wiring.make_engine(
            settings,
            role=role,  # type: ignore[arg-type]
            backend_kind=backend,
            port=port,
            metrics_port=metrics_port,
        )
    except ValueError as exc:
        raise CliError(str(exc), USAGE) from None
    asyncio.run(engine.run_until_signal())


def steps(as_json: bool = JSON_OPTION) -> None:
    """List steps, their triggers and topics: the flow graph as text."""
    all_steps = wiring.load(get_settings())
    tz = get_settings().cron_timezone
    subscribers: dict[str, list[str]] = {}
    for s in all_steps:
        for t in s.triggers_of(QueueTrigger):
            subscribers.setdefault(t.topic, []).append(s.name)
    ordered = sorted(all_steps, key=lambda s: (s.flows, s.name))
    if as_json:
        listing([_step_row(s, tz) for s in ordered], True, [], noun="steps")
        return
    for s in ordered:
        typer.echo(f"{s.name}  [{', '.join(s.flows) or '-'}]  {s.file}")
        for t in s.triggers:
            if isinstance(t, CronTrigger):
                typer.echo(f"    <- {t.describe()} ({tz})")
            elif isinstance(t, HttpTrigger):
                typer.echo(f"    <- {t.describe()}")
            else:
                cfg = t.config
                typer.echo(
                    f"    <- queue {t.topic} (concurrency {cfg.concurrency}, retries {cfg.max_retries})"
                )
        for topic in s.enqueues:
            typer.echo(f"    -> {topic} -> {', '.join(subscribers.get(topic, []))}")
    if not all_steps:
        typer.echo("no steps found")


def _step_row(step: Any, tz: str) -> dict[str, Any]:
    triggers = []
    for t in step.triggers:
        entry = {"kind": t.kind, "describe": t.describe()}
        if isinstance(t, CronTrigger):
            entry["timezone"] = tz
        triggers.append(entry)
    return {
        "name": step.name,
        "flows": step.flows,
        "file": step.file,
        "triggers": triggers,
        "enqueues": step.enqueues,
    }


def openapi() -> None:
    """Print the OpenAPI 3.1 document of the HTTP API (the one served at GET /openapi.json)."""
    from engine.openapi import build_openapi

    typer.echo(json.dumps(build_openapi(wiring.load(get_settings()), **wiring.api_info()), indent=2))


def queues(
    backend: str = BACKEND_OPTION,
    delayed: bool = typer.Option(
        False, "--delayed", help="list the delayed jobs (retries with their last error)"
    ),
    limit: int = typer.Option(100, help="most delayed jobs listed"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Per queue: ready depth, in flight, delayed, dead, age of the oldest ready job."""
    names = all_queues(wiring.load(get_settings()))
    if delayed:
        rows = with_backend(backend, lambda b: operator.delayed_rows(b, names, limit))
        listing(
            rows,
            as_json,
            [
                ("runs_at", 21, lambda r: when(r.at)),
                ("queue", 50, lambda r: r.queue),
                ("record", 20, lambda r: r.record_id),
                ("runs", -4, lambda r: r.attempts),
                ("last_error", 0, lambda r: (r.error or "")[:120]),
            ],
            noun="delayed job(s)",
        )
        return
    stats = with_backend(backend, lambda b: operator.queue_rows(b, names))
    listing(
        stats,
        as_json,
        [
            ("queue", 60, lambda r: r.queue),
            ("depth", -6, lambda r: r.depth),
            ("flight", -6, lambda r: r.in_flight),
            ("delay", -6, lambda r: r.delayed),
            ("dead", -6, lambda r: r.dead),
            ("oldest", -8, lambda r: "-" if r.oldest_age_s is None else f"{r.oldest_age_s:.1f}s"),
        ],
        noun="queue(s)",
    )


@dlq_app.command("list")
def dlq_list(
    limit: int = typer.Option(100, help="most dead letters listed"),
    backend: str = BACKEND_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """List dead letters with the id of the record each is about (payloads are not printed:
    they may hold personal data)."""
    rows = with_backend(backend, lambda b: operator.dead_letter_rows(b, limit))
    listing(
        rows,
        as_json,
        [
            ("id", 32, lambda r: r.id),
            ("failed_at", 21, lambda r: when(r.at)),
            ("queue", 44, lambda r: r.queue),
            ("record", 20, lambda r: r.record_id),
            ("runs", -4, lambda r: r.attempts),
            ("trace", 32, lambda r: r.trace_id),
            ("error", 0, lambda r: (r.error or "")[:120]),
        ],
        noun="dead letter(s)",
    )


@dlq_app.command("replay")
def dlq_replay(
    job_id: str = typer.Argument(None, help="dead letter id"),
    all_: bool = typer.Option(False, "--all", help="replay every dead letter"),
    backend: str = BACKEND_OPTION,
) -> None:
    """Put dead letters back on their queue with a fresh retry budget."""
    if not job_id and not all_:
        raise CliError("give a dead letter ID or --all", USAGE)
    n = with_backend(backend, lambda b: b.replay_dead(None if all_ else [job_id]))
    if n == 0 and not all_:
        raise CliError(f"no dead letter with id {job_id}", USAGE)
    typer.echo(f"replayed {n} job(s)")


@cron_app.command("list")
def cron_list(backend: str = BACKEND_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Every cron with its time zone, next run and last successful run (deployment-wide)."""
    settings = get_settings()
    all_steps = wiring.load(settings)
    rows = with_backend(backend, lambda b: operator.cron_rows(b, all_steps, settings.cron_timezone))
    listing(
        rows,
        as_json,
        [
            ("cron", 30, lambda r: r.step),
            ("schedule", 16, lambda r: r.expression),
            ("timezone", 14, lambda r: r.timezone),
            ("next_run", 21, lambda r: when(r.next_run)),
            ("last_success", 0, lambda r: when(r.last_success)),
        ],
        noun="cron(s)",
    )


@cron_app.command("run")
def cron_run(name: str = typer.Argument(..., help="the cron's step name (see `bitbylaw cron list`)")) -> None:
    """Run one tick of a cron now, beside the running service (its regular ticks go on)."""
    settings = get_settings()
    configure_logging(settings.log_level)
    engine = wiring.make_engine(settings, role="worker", metrics_port=0)
    if not asyncio.run(engine.run_cron(name)):
        raise CliError(f"cron {name} failed (its log line above says why)")
    typer.echo(f"cron {name} ran")


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(steps)
    app.command()(openapi)
    app.command()(queues)
    app.add_typer(dlq_app, name="dlq")
    app.add_typer(cron_app, name="cron")
