"""`bitbylaw_sync_outcomes_total{entity, status}`: how every sync run of a record ended.

Counted per process where the sync runs (the worker). The failure statuses are created at 0 for
each entity that records outcomes, so the first failure is an increase Prometheus can see.
"""

from __future__ import annotations

from prometheus_client import Counter

SYNC_OUTCOMES = Counter(
    "bitbylaw_sync_outcomes_total", "Sync runs by entity and outcome", ["entity", "status"]
)
# Outcomes an operator must hear about: logged at warning, alerted on (docs/prometheus/alerts.yml).
# The calendar's per-employee runs add theirs: some appointments failed, the safety brake held the
# run back, Google's quota ran out.
FAILURE_STATUSES = (
    "failed", "permanently_failed", "manual_action", "invalid", "duplicate_suspected",
    "partial", "braked", "quota_exceeded",
)  # fmt: skip


def init_outcomes(entity: str) -> None:
    for status in FAILURE_STATUSES:
        SYNC_OUTCOMES.labels(entity, status)


def record_outcome(entity: str, status: str) -> bool:
    """Count one outcome; True when it is a failure worth a warning."""
    SYNC_OUTCOMES.labels(entity, status).inc()
    return status in FAILURE_STATUSES
