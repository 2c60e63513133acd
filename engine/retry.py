"""Pure retry computations (kept apart from the worker loop, as arq keeps cron maths apart)."""

from __future__ import annotations


def backoff_delay(attempt: int, base: float, maximum: float) -> float:
    """Delay before the next run after failed run number `attempt` (1-based): base, 2·base,
    4·base, … capped at `maximum`."""
    return float(min(base * (2 ** max(attempt - 1, 0)), maximum))


def should_dead_letter(attempt: int, max_retries: int) -> bool:
    """After run `attempt` failed: True when no retry is left (max_retries retries = 1 + n runs)."""
    return attempt > max_retries
