"""Engine commands: run, steps, queues, dlq."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import typer

from config import get_settings
from engine.logs import configure_logging
from engine.registry import StepValidationError
from engine.runtime import all_queues
from engine.triggers import CronTrigger, HttpTrigger, QueueTrigger

from . import wiring

dlq_app = typer.Typer(help="Dead letters: jobs that failed after their last retry.", no_args_is_help=True)


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def _load_steps_or_exit() -> list[Any]:
    try:
        return wiring.load(get_settings())
    except StepValidationError as exc:
        _fail(str(exc))
        raise  # unreachable


def run(
    role: str = typer.Option("all", help="all = api + worker; api = HTTP only; worker = queues + cron."),
    backend: str = typer.Option(None, help="embedded or redis (default: ENGINE_BACKEND)."),
    port: int = typer.Option(None, help="HTTP port (default: HTTP_PORT)."),
) -> None:
    """Run the service until SIGTERM/SIGINT."""
    if role not in ("all", "api", "worker"):
        _fail(f"--role must be all, api or worker, not {role!r}")
    settings = get_settings()
    configure_logging(settings.log_level)
    try:
        engine = wiring.make_engine(settings, role=role, backend_kind=backend, port=port)  # type: ignore[arg-type]
    except (StepValidationError, ValueError) as exc:
        _fail(str(exc))
        return
    asyncio.run(engine.run_until_signal())


def steps() -> None:
    """List steps, their triggers and topics: the flow graph as text."""
    all_steps = _load_steps_or_exit()
    subscribers: dict[str, list[str]] = {}
    for s in all_steps:
        for t in s.triggers_of(QueueTrigger):
            subscribers.setdefault(t.topic, []).append(s.name)
    for s in sorted(all_steps, key=lambda s: (s.flows, s.name)):
        typer.echo(f"{s.name}  [{', '.join(s.flows) or '-'}]  {s.file}")
        for t in s.triggers:
            if isinstance(t, HttpTrigger | CronTrigger):
                typer.echo(f"    <- {t.describe()}")
            else:
                cfg = t.config
                limits = f"concurrency {cfg.concurrency}, retries {cfg.max_retries}"
                typer.echo(f"    <- queue {t.topic} ({limits})")
        for topic in s.enqueues:
            typer.echo(f"    -> {topic} -> {', '.join(subscribers.get(topic, []))}")
    if not all_steps:
        typer.echo("no steps found")


def openapi() -> None:
    """Print the OpenAPI 3.1 document of the HTTP API (the one served at GET /openapi.json)."""
    from engine.openapi import build_openapi

    typer.echo(json.dumps(build_openapi(_load_steps_or_exit(), **wiring.api_info()), indent=2))


def queues(backend: str = typer.Option(None, help="embedded or redis")) -> None:
    """Per queue: ready depth, in flight, delayed, dead, age of the oldest ready job."""
    settings = get_settings()
    names = all_queues(_load_steps_or_exit())

    async def go() -> list[Any]:
        async with wiring.connected_backend(settings, backend) as b:
            return await b.queue_stats(names)

    rows = asyncio.run(go())
    typer.echo(f"{'queue':60} {'depth':>6} {'flight':>6} {'delay':>6} {'dead':>6} {'oldest':>8}")
    for r in rows:
        age = "-" if r.oldest_age is None else f"{r.oldest_age:.1f}s"
        typer.echo(f"{r.queue:60} {r.depth:6} {r.in_flight:6} {r.delayed:6} {r.dead:6} {age:>8}")


@dlq_app.command("list")
def dlq_list(
    limit: int = typer.Option(100),
    backend: str = typer.Option(None),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """List dead letters (payloads are not printed: they may hold personal data)."""
    settings = get_settings()

    async def go() -> list[Any]:
        async with wiring.connected_backend(settings, backend) as b:
            return await b.list_dead(limit)

    dead = asyncio.run(go())
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "id": d.id,
                        "queue": d.queue,
                        "attempts": d.attempts,
                        "error": d.error,
                        "failed_at": d.failed_at,
                        "trace_id": d.trace_id,
                    }
                    for d in dead
                ]
            )
        )
        return
    for d in dead:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(d.failed_at))
        typer.echo(f"{d.id}  {when}Z  {d.queue}  attempts={d.attempts}  trace={d.trace_id}  {d.error[:120]}")
    typer.echo(f"{len(dead)} dead letter(s)", err=True)


@dlq_app.command("replay")
def dlq_replay(
    job_id: str = typer.Argument(None, help="dead letter id"),
    all_: bool = typer.Option(False, "--all", help="replay every dead letter"),
    backend: str = typer.Option(None),
) -> None:
    """Put dead letters back on their queue with a fresh retry budget."""
    if not job_id and not all_:
        _fail("give a dead letter ID or --all")
    settings = get_settings()

    async def go() -> int:
        async with wiring.connected_backend(settings, backend) as b:
            return await b.replay_dead(None if all_ else [job_id])

    n = asyncio.run(go())
    if n == 0 and not all_:
        _fail(f"no dead letter with id {job_id}")
    typer.echo(f"replayed {n} job(s)")


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(steps)
    app.command()(openapi)
    app.command()(queues)
    app.add_typer(dlq_app, name="dlq")
