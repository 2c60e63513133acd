"""cron_candidates over ~450 seeded records in every bookkeeping state."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.beteiligte.mapping import format_espo_datetime
from tests.beteiligte_service.conftest import ENTITY, Env, gather_limited


def groups(env: Env) -> list[tuple[str, int, dict[str, Any], bool]]:
    """(label, count, attributes, selected by the cron)."""
    now = env.clock()

    def ago(**delta: float) -> str:
        return format_espo_datetime(now - timedelta(**delta))

    def ahead(**delta: float) -> str:
        return format_espo_datetime(now + timedelta(**delta))

    return [
        ("pending", 50, {"syncStatus": "pending_sync"}, True),
        ("dirty", 50, {"syncStatus": "dirty"}, True),
        (
            "failed due",
            40,
            {"syncStatus": "failed", "syncRetryCount": 2, "syncNextRetry": ago(minutes=1)},
            True,
        ),
        (
            "failed now",
            10,
            {"syncStatus": "failed", "syncRetryCount": 1, "syncNextRetry": ago(seconds=0)},
            True,
        ),
        ("failed no retry", 10, {"syncStatus": "failed", "syncRetryCount": 1}, True),
        (
            "failed later",
            40,
            {"syncStatus": "failed", "syncRetryCount": 3, "syncNextRetry": ahead(minutes=5)},
            False,
        ),
        (
            "perm reset due",
            30,
            {"syncStatus": "permanently_failed", "syncRetryCount": 5, "syncAutoResetAt": ago(hours=1)},
            True,
        ),
        (
            "perm not due",
            30,
            {"syncStatus": "permanently_failed", "syncRetryCount": 5, "syncAutoResetAt": ahead(hours=3)},
            False,
        ),
        ("perm round trip", 20, {"syncStatus": "permanently_failed", "syncRetryCount": 1}, False),
        ("clean stale", 50, {"syncStatus": "clean", "advowareLastSync": ago(hours=25)}, True),
        ("clean never", 30, {"syncStatus": "clean"}, True),
        ("clean fresh", 60, {"syncStatus": "clean", "advowareLastSync": ago(hours=23)}, False),
        # DECISIONS 28: a party deleted in Advoware is looked up again once a day
        (
            "deleted long ago",
            30,
            {"syncStatus": "deleted_in_advoware", "advowareDeletedAt": ago(hours=48)},
            True,
        ),
        (
            "deleted lately",
            20,
            {"syncStatus": "deleted_in_advoware", "advowareDeletedAt": ago(hours=2)},
            False,
        ),
    ]


async def test_cron_candidates_select_exactly_the_due_records(env: Env) -> None:
    plan = groups(env)
    total = sum(n for _, n, _, _ in plan)
    seeded = await env.espo_sim.seed(parties=total, seed=7, with_addresses=False, with_bank_accounts=False)
    ids = list(seeded["party_ids"])
    assert len(ids) == total == 470
    expected: set[str] = set()
    resets: set[str] = set()
    writes = []
    start = listed = 0
    for label, n, attrs, selected in plan:
        chunk = ids[start : start + n]
        start += n
        base = {"advowareLastSync": None, "syncNextRetry": None, "syncAutoResetAt": None}
        writes += [env.espo_sim.update(ENTITY, i, {**base, **attrs}) for i in chunk]
        if selected:
            expected.update(chunk)
        if label == "perm reset due":
            resets.update(chunk)
        if selected or label.startswith(("perm", "deleted")):
            listed += n  # the server-side filter is a superset: parked records are listed too
    assert not [r for r in await gather_limited(16, writes) if isinstance(r, BaseException)]
    env.reset_counters()
    found = await env.service.cron_candidates()
    assert found == sorted(expected)
    calls = env.espo_calls()
    reads = sum(n for (m, _r), n in calls.items() if m == "GET")
    puts = sum(n for (m, _r), n in calls.items() if m == "PUT")
    assert reads == listed // 200 + 1 and puts == len(resets)
    for i in sorted(resets)[:5]:
        rec = await env.record(i)
        assert (rec["syncStatus"], rec["syncRetryCount"]) == ("failed", 0)
        assert not rec.get("syncAutoResetAt") and not rec.get("syncNextRetry")
    # a second cron run selects the same ids (the reset records are now failed and due)
    assert await env.service.cron_candidates() == sorted(expected)
