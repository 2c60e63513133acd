"""Prometheus metrics of the engine (prometheus-client, default registry). Each process serves
its own `/metrics`; with several processes, scrape each one (see docs/engine.md)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

JOBS_ENQUEUED = Counter("bitbylaw_jobs_enqueued_total", "Jobs enqueued", ["topic", "step"])
JOBS_DEDUPLICATED = Counter(
    "bitbylaw_jobs_deduplicated_total", "Enqueues suppressed by a dedup key", ["topic", "step"]
)
JOBS_PROCESSED = Counter("bitbylaw_jobs_processed_total", "Jobs that succeeded", ["topic", "step"])
JOBS_FAILED = Counter(
    "bitbylaw_jobs_failed_total", "Jobs that went to the dead-letter list", ["topic", "step"]
)
JOBS_RETRIED = Counter("bitbylaw_jobs_retried_total", "Jobs scheduled for a retry", ["topic", "step"])
HANDLER_SECONDS = Histogram(
    "bitbylaw_handler_seconds",
    "Handler run time",
    ["step", "trigger"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
HTTP_REQUESTS = Counter("bitbylaw_http_requests_total", "HTTP requests", ["route", "method", "status"])
QUEUE_DEPTH = Gauge("bitbylaw_queue_depth", "Jobs ready to run", ["queue"])
QUEUE_IN_FLIGHT = Gauge("bitbylaw_queue_in_flight", "Jobs being processed", ["queue"])
QUEUE_DELAYED = Gauge("bitbylaw_queue_delayed", "Jobs scheduled for later", ["queue"])
QUEUE_DEAD = Gauge("bitbylaw_queue_dead", "Dead letters", ["queue"])
CRON_RUNS = Counter("bitbylaw_cron_runs_total", "Cron ticks run by this process", ["step", "status"])
