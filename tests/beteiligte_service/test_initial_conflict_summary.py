"""Initial-sync conflicts of a bulk run: one admin summary, not one notification per record
(DECISIONS 10). Later conflicts (with a snapshot) are still notified per record."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from services.beteiligte.summary import MAX_IDS, PENDING, SUMMARIZED, summary_message
from services.db import Database, open_database
from tests.beteiligte_service.conftest import ADMIN, ENTITY, Env

LAST_NAMES = ("Kowalczyk", "Brandauer", "Oberhuber", "Zimmerling", "Achterberg")


async def linked_without_snapshot(env: Env, last_name: str) -> str:
    """A party in both systems, linked by betnr, never synced by the service (go-live): titel and
    anrede differ."""
    betnr = await env.advo_post(
        {
            "name": last_name,
            "vorname": "Max",
            "anrede": "Frau",
            "titel": "Prof.",
            "geburtsdatum": "1980-05-17",
        }
    )
    return await env.new_person(lastName=last_name, titel="Dr.", betnr=betnr)


async def kinds(env: Env, pid: str) -> list[str]:
    return [n.kind for n in await env.db.list_notifications(ENTITY, pid)]


async def initial_conflicts(env: Env, count: int) -> list[str]:
    pids = [await linked_without_snapshot(env, LAST_NAMES[i % len(LAST_NAMES)]) for i in range(count)]
    for pid in pids:
        outcome = await env.handle(pid, bulk=True)  # the cron's pass: a bulk run
        assert outcome.status == "synced" and outcome.plan.variant == "initial"
        assert {c.field for c in outcome.plan.conflicts} == {"anrede", "titel"}
    return pids


async def test_initial_conflicts_are_summed_up_once_for_the_admin(env: Env) -> None:
    pids = await initial_conflicts(env, 5)
    assert await env.notifications() == []  # no per-record notification
    for pid in pids:
        assert await kinds(env, pid) == [PENDING, PENDING]  # one item per conflict
        [entry] = await env.service.audit(pid)  # the audit still records every conflict
        assert entry.decision["winners"] == {"anrede": "espocrm", "titel": "espocrm"}
        assert entry.decision["notice"] == "admin_summary"
        assert await env.db.get_snapshot(pid) is not None
        assert (await env.record(pid))["titel"] == "Dr."  # EspoCRM's values were kept

    assert await env.service.send_initial_conflict_summary() == 5
    [note] = await env.notifications()
    assert note["userId"] == ADMIN and note["message"].startswith("5 parties had different values")
    assert "bitbylaw audit beteiligte ID" in note["message"]
    assert all(pid in note["message"] for pid in pids)
    for secret in (*LAST_NAMES, "Max", "Dr.", "Prof.", "Frau", "Herr", "1980"):
        assert secret not in note["message"], secret
    for pid in pids:
        assert await kinds(env, pid) == [SUMMARIZED, SUMMARIZED]

    assert await env.service.send_initial_conflict_summary() == 0  # never summed up twice
    assert len(await env.notifications()) == 1

    # A later two-sided conflict (the snapshot exists now) is notified per record as before.
    betnr = int((await env.record(pids[0]))["betnr"])
    await env.espo_sim.update_as_user(ENTITY, pids[0], {"anrede": "Frau"})
    await env.advo_put(betnr, {"anrede": "Divers"})
    outcome = await env.handle(pids[0], "update")
    assert outcome.plan.variant == "update" and [c.field for c in outcome.plan.conflicts] == ["anrede"]
    [personal] = await env.notifications("user-anna")
    assert personal["relatedId"] == pids[0] and "anrede" in personal["message"]
    assert await env.service.send_initial_conflict_summary() == 0
    assert len(await env.notifications()) == 2


async def test_initial_sync_without_conflict_leaves_nothing_pending(env: Env) -> None:
    betnr = await env.advo_post({"name": "Mustermann", "vorname": "Max", "geburtsdatum": "1980-05-17"})
    pid = await env.new_person(betnr=betnr)  # Advoware lacks fields: filled, no conflict
    outcome = await env.handle(pid)
    assert outcome.plan.variant == "initial" and outcome.plan.conflicts == ()
    assert await kinds(env, pid) == []
    assert await env.service.send_initial_conflict_summary() == 0
    assert await env.notifications() == []


async def test_concurrent_callers_send_one_summary(env: Env) -> None:
    pids = await initial_conflicts(env, 3)
    counts = await asyncio.gather(*(env.service.send_initial_conflict_summary() for _ in range(4)))
    assert sorted(counts) == [0, 0, 0, 3]
    [note] = await env.notifications()
    assert all(pid in note["message"] for pid in pids)


async def test_failed_send_keeps_the_items_for_the_next_tick(env: Env) -> None:
    pids = await initial_conflicts(env, 2)
    await env.faults("espocrm", {"rules": [{"method": "POST", "route": "*Notification*", "status": 400}]})
    assert await env.service.send_initial_conflict_summary() == 0
    assert [await kinds(env, pid) for pid in pids] == [[PENDING, PENDING], [PENDING, PENDING]]
    await env.faults("espocrm", {})
    assert await env.service.send_initial_conflict_summary() == 2
    assert len(await env.notifications(ADMIN)) == 1


def test_message_names_at_most_20_ids() -> None:
    ids = [f"id{i:03d}" for i in range(MAX_IDS + 5)]
    message = summary_message(ids)
    assert message.startswith(f"{MAX_IDS + 5} parties had")
    assert "id019" in message and "id020" not in message and message.endswith("… and 5 more")
    assert summary_message(["x1"]).startswith("1 party had")


# -- the claim in the service database, on both engines -------------------------------------


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
async def any_db(request: pytest.FixtureRequest, tmp_path: object) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/claim.db"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    async with open_database(url) as database:
        await database.migrate()
        yield database


async def test_concurrent_claims_take_each_item_exactly_once(any_db: Database) -> None:
    keys = [f"initial-conflict:e{i}:titel:h" for i in range(40)]
    for i, key in enumerate(keys):
        assert await any_db.record_notification(key, entity_type=ENTITY, entity_id=f"e{i}", kind=PENDING)
    await any_db.record_notification(
        "conflict:e1:titel:h", entity_type=ENTITY, entity_id="e1", kind="conflict"
    )
    claims = await asyncio.gather(
        *(any_db.claim_notifications(ENTITY, PENDING, SUMMARIZED) for _ in range(5))
    )
    taken = [n.dedupe_key for claim in claims for n in claim]
    assert sorted(taken) == sorted(keys)  # every item once, the per-record key untouched
    assert all(n.kind == SUMMARIZED for claim in claims for n in claim)
    assert await any_db.claim_notifications(ENTITY, PENDING, SUMMARIZED) == []
    assert await any_db.relabel_notifications(keys[:3], kind=SUMMARIZED, new_kind=PENDING) == 3
    assert await any_db.relabel_notifications(keys[:3], kind=SUMMARIZED, new_kind=PENDING) == 0
    again = await any_db.claim_notifications(ENTITY, PENDING, SUMMARIZED)
    assert [n.dedupe_key for n in again] == keys[:3]
    assert {n.kind for n in await any_db.list_notifications(ENTITY, "e1")} == {"conflict", SUMMARIZED}
