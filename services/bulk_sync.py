"""Many parties through the party sync at once: the go-live preview and the real bulk run behind
`bitbylaw sync beteiligte --all`. Only the sync service's public methods are used; the
per-record logic stays in the service."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Protocol

ENTITY = "CBeteiligte"
FAILED_STATUSES = ("failed", "permanently_failed", "error")


class PartySync(Protocol):
    espo: Any

    async def handle(
        self,
        entity_id: str,
        action: Any,
        *,
        trigger: str,
        trace_id: str,
        direction: Any = "both",
        dry_run: bool = False,
        bulk: bool = False,
    ) -> Any: ...


async def all_party_ids(sync: PartySync) -> list[str]:
    """Every CBeteiligte id, collected before any sync changes a record."""
    return [str(r["id"]) async for r in sync.espo.iter_all(ENTITY, select=["id"])]


def outcome_key(outcome: Any) -> str:
    """What a run is counted as: the plan's variant in a preview (create, update, noop, …),
    else the outcome's status."""
    plan = getattr(outcome, "plan", None)
    return plan.variant if plan is not None and outcome.status == "dry_run" else str(outcome.status)


async def sync_many(
    sync: PartySync,
    ids: Sequence[str],
    *,
    trace_id: Callable[[], str],
    dry_run: bool,
    direction: str = "both",
    concurrency: int = 4,
    on_outcome: Callable[[str, Any], None] = lambda _id, _outcome: None,
) -> Counter[str]:
    """`sync_check` every id (`concurrency` at a time, each with its own trace id); returns the
    count per outcome key. An exception of one record is counted as `error` and reported to
    `on_outcome` as that exception; the others go on."""
    totals: Counter[str] = Counter()
    slots = asyncio.Semaphore(concurrency)

    async def one(entity_id: str) -> None:
        async with slots:
            try:
                outcome: Any = await sync.handle(
                    entity_id,
                    "sync_check",
                    trigger="cli-all",
                    trace_id=trace_id(),
                    direction=direction,
                    dry_run=dry_run,
                    bulk=True,  # initial-sync notices are summed up for the admin
                )
                totals[outcome_key(outcome)] += 1
            except Exception as exc:
                totals["error"] += 1
                outcome = exc
            on_outcome(entity_id, outcome)

    await asyncio.gather(*(one(i) for i in ids))
    return totals


def failures(totals: Counter[str]) -> int:
    return sum(totals.get(s, 0) for s in FAILED_STATUSES)
