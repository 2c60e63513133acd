"""Table tests of the retry policy (failure bookkeeping, cron selection) and the party's
round-trip rules."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.beteiligte import roundtrip
from services.sync.espotime import format_espo_datetime
from services.sync.policy import RetryPolicy
from tests.beteiligte.factories import NOW

POLICY = RetryPolicy()


def at(minutes: float) -> str:
    return format_espo_datetime(NOW + timedelta(minutes=minutes))


@pytest.mark.parametrize(
    ("previous_count", "status", "next_retry_minutes"),
    [(0, "failed", 1), (1, "failed", 5), (2, "failed", 15), (3, "failed", 60)],
)
def test_failure_schedule(previous_count, status, next_retry_minutes) -> None:
    update = POLICY.on_failure({"syncRetryCount": previous_count}, "boom", NOW)
    assert update.fields == {
        "syncStatus": status,
        "syncRetryCount": previous_count + 1,
        "syncErrorMessage": "boom",
        "syncNextRetry": at(next_retry_minutes),
    }
    assert not update.notify


def test_fifth_failure_is_permanent_with_auto_reset_and_notification() -> None:
    update = POLICY.on_failure({"syncRetryCount": 4, "syncNextRetry": at(-1)}, "down", NOW)
    assert update.fields == {
        "syncStatus": "permanently_failed",
        "syncRetryCount": 5,
        "syncErrorMessage": "down",
        "syncNextRetry": None,
        "syncAutoResetAt": format_espo_datetime(NOW + timedelta(hours=24)),
    }
    assert update.notify and update.permanent


def test_schedule_and_thresholds_are_parameters() -> None:
    policy = RetryPolicy(schedule_minutes=(0.01, 0.02), max_failures=3, auto_reset_hours=1 / 3600)
    update = policy.on_failure({"syncRetryCount": 1}, "x", NOW)
    assert update.fields["syncStatus"] == "failed"
    assert update.fields["syncNextRetry"] == format_espo_datetime(NOW + timedelta(minutes=0.02))
    final = policy.on_failure({"syncRetryCount": 2}, "x", NOW)
    assert final.fields["syncAutoResetAt"] == format_espo_datetime(NOW + timedelta(seconds=1))


def test_permanently_failed_is_one_episode() -> None:
    """DECISIONS 27: one notice and one reset time, set at the transition; later failures of the
    same episode change neither."""
    start = POLICY.on_failure({"syncRetryCount": 4}, "down", NOW)
    record = {"syncRetryCount": 4, **start.fields}
    later = POLICY.on_failure(record, "still down", NOW + timedelta(hours=3))
    assert start.notify and not later.notify and later.permanent
    assert "syncAutoResetAt" not in later.fields and "syncStatus" not in later.fields
    assert later.fields == {"syncRetryCount": 6, "syncErrorMessage": "still down"}


def test_permanent_failure_without_auto_reset() -> None:
    update = POLICY.on_failure(
        {"syncRetryCount": 0, "syncAutoResetAt": at(5)}, "ignored field", NOW, permanent=True
    )
    assert update.fields["syncStatus"] == "permanently_failed"
    assert update.fields["syncAutoResetAt"] is None  # cleared, so the cron never resets it
    assert update.notify


def test_error_message_is_truncated_to_2000_chars() -> None:
    message = POLICY.on_failure({}, "x" * 5000, NOW).fields["syncErrorMessage"]
    assert len(message) == 2000
    assert POLICY.on_failure({}, "y" * 2000, NOW).fields["syncErrorMessage"] == "y" * 2000


def test_on_success_clears_only_what_is_set() -> None:
    assert POLICY.on_success({"syncStatus": "dirty", "syncRetryCount": 0}, NOW) == {
        "syncStatus": "clean",
        "advowareLastSync": "2026-03-29 12:00:00",
    }
    dirty = {
        "syncRetryCount": 3,
        "syncErrorMessage": "e",
        "syncNextRetry": at(1),
        "advowareDeletedAt": at(-9),
    }
    assert POLICY.on_success(dirty, NOW) == {
        "syncStatus": "clean",
        "advowareLastSync": "2026-03-29 12:00:00",
        "syncRetryCount": 0,
        "syncErrorMessage": None,
        "syncNextRetry": None,
        "advowareDeletedAt": None,
    }


def test_the_stamp_differs_from_the_one_the_record_holds() -> None:
    """Whether the record holds a write's stamp tells whether that write landed (writes in
    flight): a sync in the same second as the last one stamps a second later."""
    same_second = {"syncStatus": "dirty", "advowareLastSync": "2026-03-29 12:00:00"}
    assert POLICY.on_success(same_second, NOW)["advowareLastSync"] == "2026-03-29 12:00:01"
    earlier = {"syncStatus": "dirty", "advowareLastSync": "2026-03-29 11:59:59"}
    assert POLICY.on_success(earlier, NOW)["advowareLastSync"] == "2026-03-29 12:00:00"


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"syncStatus": "failed", "syncNextRetry": at(5)}, 300.0),
        ({"syncStatus": "failed", "syncNextRetry": at(-1)}, None),
        ({"syncStatus": "failed", "syncNextRetry": None}, None),
        ({"syncStatus": "dirty", "syncNextRetry": at(5)}, None),  # backoff applies only to failed
        ({"syncStatus": "permanently_failed", "syncNextRetry": at(5)}, None),
    ],
)
def test_retry_due(record, expected) -> None:
    assert POLICY.retry_due(record, NOW) == expected


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"syncStatus": "pending_sync"}, "sync"),
        ({"syncStatus": "dirty"}, "sync"),
        ({"syncStatus": None}, "sync"),
        ({"syncStatus": "syncing"}, "sync"),  # leftover of the old system
        ({"syncStatus": "conflict"}, "sync"),
        ({"syncStatus": "failed", "syncNextRetry": at(-1)}, "sync"),
        ({"syncStatus": "failed", "syncNextRetry": None}, "sync"),
        ({"syncStatus": "failed", "syncNextRetry": at(10)}, None),
        ({"syncStatus": "permanently_failed", "syncAutoResetAt": at(-1)}, "reset_then_sync"),
        ({"syncStatus": "permanently_failed", "syncAutoResetAt": at(0)}, "reset_then_sync"),
        ({"syncStatus": "permanently_failed", "syncAutoResetAt": at(60)}, None),
        ({"syncStatus": "permanently_failed", "syncAutoResetAt": None}, None),  # round-trip block
        ({"syncStatus": "clean", "advowareLastSync": at(-60)}, None),
        ({"syncStatus": "clean", "advowareLastSync": at(-24 * 60)}, "sync"),
        ({"syncStatus": "clean", "advowareLastSync": None}, "sync"),
        ({"syncStatus": "deleted_in_advoware"}, None),
    ],
)
def test_cron_wants(record, expected) -> None:
    assert POLICY.cron_wants(record, NOW) == expected


def test_cron_staleness_is_a_parameter() -> None:
    record = {"syncStatus": "clean", "advowareLastSync": at(-2)}
    assert RetryPolicy(stale_hours=1 / 60).cron_wants(record, NOW) == "sync"


def test_reset_fields() -> None:
    record = {"syncStatus": "permanently_failed", "syncRetryCount": 5, "syncAutoResetAt": at(-1)}
    assert POLICY.reset_fields(record) == {
        "syncStatus": "failed",
        "syncRetryCount": 0,
        "syncAutoResetAt": None,
    }


SENT = {
    "name": "Muster",
    "vorname": "",
    "rechtsform": "GmbH",
    "titel": "Dr.",
    "geburtsdatum": "2001-01-05T00:00:00",
}


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (dict(SENT), []),
        ({**SENT, "vorname": None, "geburtsdatum": "2001-01-05T00:00:00+01:00"}, []),
        ({**SENT, "rechtsform": "AG"}, ["rechtsform"]),
        ({**SENT, "name": "Alt", "titel": None}, ["name", "titel"]),
        ({**SENT, "geburtsdatum": "2001-01-04T00:00:00"}, ["geburtsdatum"]),
        ({**SENT, "kommunikation": [1], "rowId": "x"}, []),  # unsent attributes are not compared
    ],
)
def test_validate_roundtrip(stored, expected) -> None:
    assert roundtrip.validate_roundtrip(SENT, stored) == expected


def test_same_mismatch_twice_is_permanent_a_different_one_is_not() -> None:
    fp = roundtrip.mismatch_fingerprint(["rechtsform"], SENT, {**SENT, "rechtsform": "AG"})
    verdict, record = roundtrip.judge_roundtrip(["rechtsform"], fp, None)
    assert verdict == "retry" and record == {"fields": ["rechtsform"], "fingerprint": fp, "permanent": False}
    assert roundtrip.judge_roundtrip(["rechtsform"], fp, record)[0] == "permanent"
    other = roundtrip.mismatch_fingerprint(["rechtsform"], SENT, {**SENT, "rechtsform": "KG"})
    assert roundtrip.judge_roundtrip(["rechtsform"], other, record)[0] == "retry"
    assert roundtrip.judge_roundtrip([], fp, record) == ("ok", None)


@pytest.mark.parametrize(
    ("record", "webhook", "due"),
    [
        ({"syncStatus": "clean", "advowareLastSync": at(-60)}, False, False),
        ({"syncStatus": "clean", "advowareLastSync": at(-25 * 60)}, False, True),
        ({"syncStatus": "clean", "advowareLastSync": at(-25 * 60)}, True, False),
        ({"syncStatus": "clean", "advowareLastSync": at(-60), "syncErrorMessage": "old"}, True, True),
        ({"syncStatus": "dirty", "advowareLastSync": at(-60)}, True, True),
    ],
)
def test_bookkeeping_due(record, webhook, due) -> None:
    assert POLICY.bookkeeping_due(record, NOW, webhook=webhook) is due
