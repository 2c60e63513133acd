"""Prometheus metrics of the engine (prometheus-client, default registry).

Every process serves its own `/metrics`: api processes on their HTTP port, worker processes on
`EngineOptions.metrics_port`. Counters and histograms are per process (sum them). The queue and
cron gauges describe the whole deployment and are reported by one process at a time
(`DeploymentGauges`), so a `sum()` over all processes counts each queue once.

Label names are the same wherever they mean the same: `topic` and `step` for jobs and queues,
`step` for crons and handlers, `route`/`method`/`status` for HTTP, `entity`/`status` for syncs.
"""

from __future__ import annotations

import logging
import platform
import uuid
from collections.abc import Sequence

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from .backends.base import Backend, split_queue_name

log = logging.getLogger("bitbylaw.engine.metrics")

JOB_LABELS = ["topic", "step"]
JOBS_ENQUEUED = Counter("bitbylaw_jobs_enqueued_total", "Jobs enqueued", JOB_LABELS)
JOBS_DEDUPLICATED = Counter(
    "bitbylaw_jobs_deduplicated_total", "Enqueues suppressed by a dedup key", JOB_LABELS
)
JOBS_PROCESSED = Counter("bitbylaw_jobs_processed_total", "Jobs that succeeded", JOB_LABELS)
JOBS_FAILED = Counter("bitbylaw_jobs_failed_total", "Jobs that went to the dead-letter list", JOB_LABELS)
JOBS_RETRIED = Counter("bitbylaw_jobs_retried_total", "Jobs scheduled for a retry", JOB_LABELS)
HANDLER_SECONDS = Histogram(
    "bitbylaw_handler_seconds",
    "Handler run time",
    ["step", "trigger"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
HTTP_REQUESTS = Counter("bitbylaw_http_requests_total", "HTTP requests", ["route", "method", "status"])
CRON_RUNS = Counter("bitbylaw_cron_runs_total", "Cron ticks run by this process", ["step", "status"])
BUILD_INFO = Gauge("bitbylaw_build_info", "Version of the running service (value 1)", ["version", "python"])

# Deployment-wide: set only by the process holding the reporter lock (see DeploymentGauges).
QUEUE_DEPTH = Gauge("bitbylaw_queue_depth", "Jobs ready to run", JOB_LABELS)
QUEUE_IN_FLIGHT = Gauge("bitbylaw_queue_in_flight", "Jobs being processed", JOB_LABELS)
QUEUE_DELAYED = Gauge("bitbylaw_queue_delayed", "Jobs scheduled for later (incl. retries)", JOB_LABELS)
QUEUE_DEAD = Gauge("bitbylaw_queue_dead", "Dead letters", JOB_LABELS)
QUEUE_OLDEST_AGE = Gauge(
    "bitbylaw_queue_oldest_job_age_seconds", "Age of the oldest job ready to run (0 when none)", JOB_LABELS
)
CRON_LAST_SUCCESS = Gauge(
    "bitbylaw_cron_last_success_timestamp_seconds", "When the cron last finished successfully", ["step"]
)
CRON_INTERVAL = Gauge("bitbylaw_cron_interval_seconds", "Usual time between two ticks of the cron", ["step"])
DEPLOYMENT_GAUGES = (
    QUEUE_DEPTH,
    QUEUE_IN_FLIGHT,
    QUEUE_DELAYED,
    QUEUE_DEAD,
    QUEUE_OLDEST_AGE,
    CRON_LAST_SUCCESS,
    CRON_INTERVAL,
)


def set_build_info(version: str) -> None:
    BUILD_INFO.labels(version or "unknown", platform.python_version()).set(1)


def init_job_counters(queues: Sequence[str]) -> None:
    """Create the per-queue counters at 0, so the first failure is an increase Prometheus sees
    (a series that first appears at 1 has no `increase()`)."""
    for queue in queues:
        topic, step = split_queue_name(queue)
        for counter in (JOBS_PROCESSED, JOBS_FAILED, JOBS_RETRIED):
            counter.labels(topic, step)


def exposition() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST.split(";")[0]


class DeploymentGauges:
    """Queue and cron gauges from one process per deployment.

    Whichever process holds the backend lock `REPORTER_LOCK` sets them on each scrape (it
    renews the lock then); the others report none of these series. The lock lives `ttl`
    seconds, longer than any sane scrape interval, so the reporter stays the same process; when
    it stops, another scraped process takes over after at most `ttl`."""

    REPORTER_LOCK = "engine:metrics-reporter"

    def __init__(
        self,
        backend: Backend,
        queues: Sequence[str],
        crons: Sequence[tuple[str, float]] = (),
        ttl: float = 90.0,
    ) -> None:
        """`crons`: (step name, usual interval in seconds) of every cron of the deployment."""
        self.backend, self.queues, self.crons, self.ttl = backend, list(queues), list(crons), ttl
        self._token = uuid.uuid4().hex
        self._leading = False

    async def refresh(self) -> bool:
        """Update the gauges if this process is the reporter; True when it is."""
        from .scheduler import last_successes

        try:
            if not await self._lead():
                _clear()
                return False
            stats = await self.backend.queue_stats(self.queues)
            successes = await last_successes(self.backend)
        except Exception as exc:  # metrics must answer even with the backend down
            log.warning("deployment gauges unavailable", extra={"error_type": type(exc).__name__})
            _clear()
            return False
        for s in stats:
            topic, step = split_queue_name(s.queue)
            QUEUE_DEPTH.labels(topic, step).set(s.depth)
            QUEUE_IN_FLIGHT.labels(topic, step).set(s.in_flight)
            QUEUE_DELAYED.labels(topic, step).set(s.delayed)
            QUEUE_DEAD.labels(topic, step).set(s.dead)
            QUEUE_OLDEST_AGE.labels(topic, step).set(s.oldest_age or 0.0)
        for step, interval in self.crons:
            CRON_INTERVAL.labels(step).set(interval)
            if step in successes:
                CRON_LAST_SUCCESS.labels(step).set(successes[step]["finished_at"])
        return True

    async def _lead(self) -> bool:
        if self._leading and await self.backend.extend_lock(self.REPORTER_LOCK, self._token, self.ttl):
            return True
        self._leading = await self.backend.acquire_lock(self.REPORTER_LOCK, self._token, self.ttl)
        return self._leading

    async def resign(self) -> None:
        """On shutdown: let another process report at once."""
        if self._leading:
            self._leading = False
            try:
                await self.backend.release_lock(self.REPORTER_LOCK, self._token)
            except Exception as exc:  # the TTL frees it
                log.warning("metrics reporter lock not released", extra={"error_type": type(exc).__name__})


def _clear() -> None:
    for gauge in DEPLOYMENT_GAUGES:
        gauge.clear()
