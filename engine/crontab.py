"""Cron tick computation (pure) and the per-process scheduler loop.

Every process computes the same tick times from the expression; `Backend.claim_cron_tick`
lets exactly one of them run each tick. After downtime, ticks missed while no process ran are
not replayed: at most one catch-up run for the newest missed tick.
"""

from __future__ import annotations

from datetime import UTC, datetime

from croniter import croniter


def next_tick(expression: str, after: float) -> float:
    """The first tick strictly after `after` (epoch seconds, UTC)."""
    it = croniter(expression, datetime.fromtimestamp(after, UTC))
    return float(it.get_next(float))


def previous_tick(expression: str, at_or_before: float) -> float:
    it = croniter(expression, datetime.fromtimestamp(at_or_before + 1e-6, UTC))
    return float(it.get_prev(float))


def catch_up_tick(expression: str, last_claimed: float | None, now: float) -> float | None:
    """The one missed tick to run at start-up, or None. Nothing is missed on a first start
    (no tick was ever claimed) or when the newest past tick is the last claimed one."""
    if last_claimed is None:
        return None
    newest_past = previous_tick(expression, now)
    return newest_past if newest_past > last_claimed else None
