"""The engine of one process: HTTP edge (role `api`), queue worker and cron (role `worker`),
or both (`all`). Graceful shutdown on SIGTERM/SIGINT: stop taking requests and jobs, let
in-flight ones finish within the grace period, then exit."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from .backends.base import Backend, queue_name
from .context import ContextFactory, new_trace_id
from .crontab import UTC_NAME, interval_seconds
from .http_limits import BoundedAppRunner, EdgeLimits
from .http_server import HealthCheck, HttpApp
from .metrics import DeploymentGauges, init_job_counters, set_build_info
from .registry import Step
from .scheduler import CronScheduler
from .triggers import CronTrigger, QueueTrigger
from .worker import Worker

log = logging.getLogger("bitbylaw.engine")
Role = Literal["all", "api", "worker"]
Hook = Callable[[], Awaitable[None]]


@dataclass
class EngineOptions:
    role: Role = "all"
    host: str = "127.0.0.1"
    port: int = 3000
    max_body: int = 1024 * 1024
    request_timeout: float = 60.0
    limits: EdgeLimits = field(default_factory=EdgeLimits)  # deadlines, connection cap, JSON bounds
    api_info: dict[str, str] = field(default_factory=dict)  # title, version of the OpenAPI document
    grace: float = 30.0
    visibility_timeout: float = 60.0
    poll_block: float = 1.0
    cron_timeout: float = 900.0
    dead_letter_threshold: int = 1
    # Worker-only processes serve /metrics and /health here (0 = not at all).
    metrics_port: int = 0
    # Cron expressions are wall-clock times of this zone.
    cron_timezone: str = UTC_NAME
    version: str = ""
    health_checks: Sequence[HealthCheck] = ()
    on_startup: Sequence[Hook] = ()
    on_shutdown: Sequence[Hook] = ()
    resources: dict[str, Any] = field(default_factory=dict)


def step_health_checks(
    backend: Backend, steps: Sequence[Step], resources: dict[str, Any]
) -> list[HealthCheck]:
    """The health checks steps declare (`config["health"]`), each run with a context of its step."""
    contexts = ContextFactory(backend, steps, resources)

    def bind(step: Step) -> HealthCheck:
        async def check() -> dict[str, Any]:
            assert step.health is not None
            return await step.health(contexts.make(step, step.triggers[0], new_trace_id()))

        return check

    return [bind(s) for s in steps if s.health is not None]


def all_queues(steps: Sequence[Step]) -> list[str]:
    return [queue_name(t.topic, s.name) for s in steps for t in s.triggers_of(QueueTrigger)]


def cron_intervals(steps: Sequence[Step], timezone: str) -> list[tuple[str, float]]:
    return [
        (s.name, interval_seconds(t.expression, timezone)) for s in steps for t in s.triggers_of(CronTrigger)
    ]


class Engine:
    def __init__(self, backend: Backend, steps: Sequence[Step], options: EngineOptions | None = None) -> None:
        self.backend = backend
        self.steps = list(steps)
        self.options = opts = options or EngineOptions()
        self.worker_id = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self.http: HttpApp | None = None
        self.worker: Worker | None = None
        self.cron: CronScheduler | None = None
        self._runner: BoundedAppRunner | None = None
        self.port: int | None = None
        queues = all_queues(self.steps)
        self.gauges = DeploymentGauges(backend, queues, cron_intervals(self.steps, opts.cron_timezone))
        serves_http = opts.role in ("all", "api")
        if serves_http or opts.metrics_port:
            # A worker-only process serves /metrics and /health alone, on its own port.
            self.http = HttpApp(
                backend,
                self.steps if serves_http else [],
                max_body=opts.max_body,
                request_timeout=opts.request_timeout,
                limits=opts.limits,
                health_checks=[*opts.health_checks, *step_health_checks(backend, self.steps, opts.resources)],
                dead_letter_threshold=opts.dead_letter_threshold,
                queues=queues,
                resources=opts.resources,
                gauges=self.gauges,
                api_info=opts.api_info,
            )
        if opts.role in ("all", "worker"):
            self.worker = Worker(
                backend,
                self.steps,
                self.worker_id,
                default_visibility_timeout=opts.visibility_timeout,
                poll_block=opts.poll_block,
                resources=opts.resources,
            )
            self.cron = CronScheduler(
                backend,
                self.steps,
                timeout=opts.cron_timeout,
                resources=opts.resources,
                timezone=opts.cron_timezone,
            )
            init_job_counters(queues)
        set_build_info(opts.version)

    @property
    def listen_port(self) -> int:
        """The port the HTTP app binds: HTTP_PORT for api processes, the metrics port else."""
        return self.options.port if self.options.role in ("all", "api") else self.options.metrics_port

    async def start(self) -> None:
        await self.backend.connect()
        try:
            for hook in self.options.on_startup:
                await hook()
            # The port first: a busy port stops the start before any job is taken.
            if self.http is not None:
                self._runner = BoundedAppRunner(
                    self.http.app, self.options.limits, access_log=None, handle_signals=False
                )
                await self._runner.setup()
                site = web.TCPSite(self._runner, self.options.host, self.listen_port)
                await site.start()
                sockets = getattr(site._server, "sockets", None)
                self.port = sockets[0].getsockname()[1] if sockets else self.listen_port
            if self.worker is not None and self.cron is not None:
                await self.worker.start()
                await self.cron.start()
        except BaseException:
            await self.stop(quiet=True)
            raise
        log.info(
            "engine started",
            extra={
                "role": self.options.role,
                "backend": self.backend.name,
                "port": self.port,
                "steps": len(self.steps),
                "worker_id": self.worker_id,
            },
        )

    async def stop(self, quiet: bool = False) -> None:
        grace = self.options.grace
        if self._runner is not None:
            await self._runner.shutdown()  # stop accepting; finish open requests
        if self.cron is not None:
            await self.cron.stop(grace)
        if self.worker is not None:
            await self.worker.stop(grace)
        if self._runner is not None:
            await self._runner.cleanup()
        await self.gauges.resign()
        for hook in self.options.on_shutdown:
            try:
                await hook()
            except Exception as exc:
                log.warning("shutdown hook failed", extra={"error_type": type(exc).__name__})
        await self.backend.close()
        if not quiet:
            log.info("engine stopped", extra={"role": self.options.role})

    async def run_cron(self, name: str) -> bool:
        """One tick of a cron now (`bitbylaw cron run NAME`): start-up hooks, the handler,
        shutdown hooks, without serving HTTP or consuming queues."""
        if self.cron is None:
            raise ValueError("run_cron needs an engine with the worker role")
        self.cron.find(name)  # an unknown name fails before anything is opened
        await self.backend.connect()
        try:
            for hook in self.options.on_startup:
                await hook()
            return await self.cron.run_now(name)
        finally:
            for hook in self.options.on_shutdown:
                await hook()
            await self.backend.close()

    async def run_until_signal(self, ready: Callable[[Engine], None] | None = None) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        if ready is not None:
            ready(self)
        try:
            await stop.wait()
            log.info("shutdown requested, finishing in-flight work", extra={"grace_s": self.options.grace})
        finally:
            await self.stop()
