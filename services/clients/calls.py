"""Counting of every outbound call: Prometheus metrics and a per-operation `CallLog`.

Prometheus (default registry) gets one counter and one latency histogram, labelled with the
route TEMPLATE so label cardinality stays bounded. Sync code that must respect API-call budgets
(DECISIONS 11) wraps an operation in `count_calls()` and reads the log afterwards:

    with count_calls() as calls:
        await sync_party(...)
    assert calls.count(system="advoware", kind="read") <= 2

Only *data* calls count by default; the Advoware token request and EspoCRM notifications are
recorded with `data=False`. The log is held in a contextvar, so tasks started inside the block
record into it as well; nested blocks all see the calls.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from prometheus_client import Counter, Histogram

CallKind = Literal["read", "write"]

REQUESTS = Counter(
    "bitbylaw_client_requests_total",
    "Outbound HTTP calls to external systems",
    ["system", "method", "route", "status"],
)
LATENCY = Histogram(
    "bitbylaw_client_request_duration_seconds",
    "Duration of outbound HTTP calls to external systems",
    ["system", "method", "route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


@dataclass(frozen=True)
class CallRecord:
    """One HTTP exchange (each retry attempt is its own record). `status` is a number or
    `timeout` / `connection_error` when no response arrived."""

    system: str
    method: str
    route: str
    status: str
    kind: CallKind
    data: bool
    duration_s: float


@dataclass
class CallLog:
    records: list[CallRecord] = field(default_factory=list)

    def count(
        self,
        system: str | None = None,
        kind: CallKind | None = None,
        *,
        method: str | None = None,
        route: str | None = None,
        include_non_data: bool = False,
    ) -> int:
        """Number of calls matching every given filter; non-data calls only on request."""
        return sum(1 for r in self.records if self._matches(r, system, kind, method, route, include_non_data))

    @staticmethod
    def _matches(
        r: CallRecord,
        system: str | None,
        kind: CallKind | None,
        method: str | None,
        route: str | None,
        include_non_data: bool,
    ) -> bool:
        return (
            (include_non_data or r.data)
            and system in (None, r.system)
            and kind in (None, r.kind)
            and method in (None, r.method)
            and route in (None, r.route)
        )


_ACTIVE: contextvars.ContextVar[tuple[CallLog, ...]] = contextvars.ContextVar(
    "bitbylaw_client_call_logs", default=()
)


@contextmanager
def count_calls() -> Iterator[CallLog]:
    """Collect every outbound call made in this context (and in tasks it starts)."""
    log = CallLog()
    token = _ACTIVE.set((*_ACTIVE.get(), log))
    try:
        yield log
    finally:
        _ACTIVE.reset(token)


def kind_of(method: str) -> CallKind:
    return "read" if method.upper() in ("GET", "HEAD") else "write"


@functools.lru_cache(maxsize=1024)
def _series(system: str, method: str, route: str, status: str) -> tuple[Any, Any]:
    """The labelled counter and histogram of one kind of call (label lookups are not free, and
    the label sets are few: routes are templates)."""
    return REQUESTS.labels(system, method, route, status), LATENCY.labels(system, method, route)


def record_call(record: CallRecord) -> None:
    """Count one exchange in Prometheus and in every active CallLog."""
    requests, latency = _series(record.system, record.method, record.route, record.status)
    requests.inc()
    latency.observe(record.duration_s)
    for log in _ACTIVE.get():
        log.records.append(record)
