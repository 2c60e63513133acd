"""What the console's pages show, gathered from the same functions the CLI prints:
`engine.operator` (queues, crons, dead letters), `services.operator_views` (records that need
attention, stuck locks), the service database (audit trail, outcomes), and the health checks.

A section whose source is down shows the error line the CLI would print instead of its rows;
the rest of the page still renders.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from engine import operator
from engine.context import Locks, StateScope
from services.operator_views import entity_of_topic, failed_records, stuck_locks
from steps import deps

from ..errors import describe
from . import chart

T = TypeVar("T")
LIST_LIMIT = 200  # rows per listing: enough to act on, small enough to stay fast
# The console's own operator actions (replays) are audited under this entity type.
CONSOLE_ENTITY = "console"
DEAD_LETTERS = "dead-letters"


@dataclass(frozen=True)
class ServiceScope:
    """The parts of a step's `ctx` that the steps' adapters (`steps.deps`) use, so the console
    builds the party sync, its health check and the database exactly as the steps do (one
    instance per process, in the shared resources)."""

    resources: dict[str, Any]
    state: StateScope
    locks: Locks


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def error_line(exc: BaseException) -> str:
    """The one line the CLI prints for this failure (or the exception's type for a bug)."""
    described = describe(exc)
    if described is None:
        return f"unexpected {type(exc).__name__} (see the service log)"
    return " ".join(described[0]).removeprefix("error: ")


async def attempt(source: Awaitable[T]) -> tuple[T | None, str | None]:
    try:
        return await source, None
    except Exception as exc:
        return None, error_line(exc)


async def _timed(name: str, probe: Awaitable[Any], detail: str = "") -> Check:
    start = time.perf_counter()
    _, error = await attempt(probe)
    if error is not None:
        return Check(name, False, error)
    ms = (time.perf_counter() - start) * 1000
    return Check(name, True, f"{detail}{' · ' if detail else ''}{ms:.1f} ms")


async def health(edge: Any, scope: ServiceScope) -> list[Check]:
    """Engine backend, service database (and its migrations), EspoCRM as `/health` sees it."""
    checks = [await _timed(f"engine backend ({edge.backend.name})", edge.backend.ping())]
    db, error = await attempt(deps.database(scope))
    if db is None:
        checks.append(Check("service database", False, error or ""))
    else:
        pending, error = await attempt(db.pending_migrations())
        if error is not None or pending is None:
            checks.append(Check(f"service database ({db.dialect})", False, error or ""))
        else:
            state = f"{len(pending)} migration(s) pending" if pending else "migrations up to date"
            checks.append(await _timed(f"service database ({db.dialect})", db.applied_migrations(), state))
    sync, error = await attempt(deps.beteiligte_health(scope))
    if sync is None:
        checks.append(Check("EspoCRM", False, error or ""))
    else:
        checks.append(_sync_check(sync))
    return checks


def _sync_check(result: dict[str, Any]) -> Check:
    sync = result.get("sync", {})
    if sync.get("espocrm") == "unreachable":
        return Check("EspoCRM", False, f"unreachable ({sync.get('error_type')})")
    detail = f"{sync.get('permanently_failed', 0)} permanently failed (threshold {sync.get('threshold')})"
    if sync.get("locked_too_long"):
        detail += f"; locks held too long: {', '.join(sync['locked_too_long'])}"
    return Check("EspoCRM (party sync)", not result.get("degraded"), detail)


async def overview(edge: Any, scope: ServiceScope, timezone: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    queues, queues_error = await attempt(operator.queue_rows(edge.backend, edge.queues))
    crons, crons_error = await attempt(operator.cron_rows(edge.backend, edge.steps, timezone))
    outcomes, outcomes_error = await attempt(_outcomes(scope, now))
    return {
        "checks": await health(edge, scope),
        "queues": queues or [],
        "queues_error": queues_error,
        "crons": crons or [],
        "crons_error": crons_error,
        "outcomes": outcomes or [],
        "outcomes_error": outcomes_error,
        "chart": chart,
    }


async def _outcomes(scope: ServiceScope, now: datetime) -> list[chart.EntityOutcomes]:
    db = await deps.database(scope)
    day = await db.audit_outcomes(now - timedelta(hours=chart.HOURS))
    hour = await db.audit_outcomes(now - timedelta(hours=1))
    return chart.outcomes(day, hour, now, hide=[CONSOLE_ENTITY])


async def attention(scope: ServiceScope, locked_threshold_s: float) -> dict[str, Any]:
    """Records in an attention status (EspoCRM) and record locks held longer than the threshold."""
    service, error = await attempt(deps.beteiligte_service(scope))
    records, records_error = (None, error)
    if service is not None:
        records, records_error = await attempt(failed_records(service.espo, None, LIST_LIMIT))
    locks, locks_error = await attempt(scope.locks.list(""))
    return {
        "records": records or [],
        "records_error": records_error,
        "truncated": len(records or []) >= LIST_LIMIT,
        "stuck": stuck_locks(locks or [], locked_threshold_s, time.time()),
        "locks_error": locks_error,
        "locked_threshold_s": locked_threshold_s,
    }


async def dead_letters(edge: Any, scope: ServiceScope) -> dict[str, Any]:
    rows, rows_error = await attempt(operator.dead_letter_rows(edge.backend, LIST_LIMIT))
    queues, _ = await attempt(operator.queue_rows(edge.backend, edge.queues))
    db, _ = await attempt(deps.database(scope))
    replays, _ = await attempt(db.list_audit(CONSOLE_ENTITY, DEAD_LETTERS, limit=10)) if db else (None, None)
    return {
        "rows": [(row, entity_of_topic(row.queue)) for row in rows or []],
        "rows_error": rows_error,
        "total": sum(q.dead for q in queues) if queues is not None else len(rows or []),
        "replays": replays or [],
    }


async def find_dead_letter(edge: Any, job_id: str) -> Any | None:
    """The dead letter with this id (the list holds at most 1,000 rows: enough to confirm)."""
    return next((r for r in await operator.dead_letter_rows(edge.backend, 1000) if r.id == job_id), None)
