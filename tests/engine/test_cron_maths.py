"""Pure cron computations: next tick, and at most one catch-up after downtime."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.crontab import catch_up_tick, next_tick, previous_tick
from engine.registry import is_valid_cron
from engine.retry import backoff_delay, should_dead_letter


def ts(s: str) -> float:
    return datetime.fromisoformat(s).replace(tzinfo=UTC).timestamp()


def test_next_tick_every_15_minutes():
    assert next_tick("*/15 * * * *", ts("2026-01-01T10:07:00")) == ts("2026-01-01T10:15:00")
    assert next_tick("*/15 * * * *", ts("2026-01-01T10:15:00")) == ts("2026-01-01T10:30:00")


def test_previous_tick_includes_exact_tick():
    assert previous_tick("*/15 * * * *", ts("2026-01-01T10:15:00")) == ts("2026-01-01T10:15:00")
    assert previous_tick("*/15 * * * *", ts("2026-01-01T10:29:59")) == ts("2026-01-01T10:15:00")


def test_catch_up_runs_only_the_newest_missed_tick():
    last = ts("2026-01-01T08:00:00")
    now = ts("2026-01-01T10:20:00")  # nine ticks missed
    assert catch_up_tick("*/15 * * * *", last, now) == ts("2026-01-01T10:15:00")


def test_no_catch_up_on_first_start_or_when_nothing_missed():
    assert catch_up_tick("*/15 * * * *", None, ts("2026-01-01T10:20:00")) is None
    assert catch_up_tick("*/15 * * * *", ts("2026-01-01T10:15:00"), ts("2026-01-01T10:20:00")) is None


def test_cron_validity_five_or_six_fields():
    assert is_valid_cron("*/15 * * * *")
    assert is_valid_cron("* * * * * *")
    assert not is_valid_cron("*/15 * * *")
    assert not is_valid_cron("61 * * * *")
    assert not is_valid_cron("every minute")


def test_backoff_doubles_and_caps():
    assert [backoff_delay(a, 1.0, 10.0) for a in range(1, 6)] == [1, 2, 4, 8, 10]


def test_dead_letter_after_max_retries():
    assert not should_dead_letter(3, 3) and should_dead_letter(4, 3)
