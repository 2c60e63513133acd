"""Every write of the calendar sync, four ways: it fails; it succeeds but its answer is lost; the
process dies right after it; the same changes arrive twice (a listing seen again). Afterwards
the sync converges with no duplicate on either side and every content where it belongs.

Faults are the simulators' own (`after_write` loses the answer of a write that happened;
`latency_after_ms` holds the answer back while the test cancels the run, as a process killed
after the write). Nothing of the service is mocked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from services.clients.errors import ApiError
from tests.calendar.conftest import CalEnv
from tests.calendar.test_sync_directions import google_meeting, meeting
from tests.calendar.test_times_and_series import GOOGLE_CASES
from tests.clients.conftest import set_faults

pytestmark = pytest.mark.timeout(60)
SB = "sb@kanzlei.example"
Setup = Callable[[CalEnv], Awaitable[None]]
HELD_BACK_MS = 400  # a killed run's write: its answer is held back while the run is cancelled


@dataclass(frozen=True)
class Write:
    sim: str  # "google" | "advoware"
    method: str
    route: str  # glob over the simulator's route template
    setup: Setup  # leaves the state so that the next sync makes this write


async def synced_termin(cal: CalEnv) -> int:
    frnr = await cal.termin(**meeting("2026-03-10"), text="Termin")
    assert (await cal.sync()).status == "synced"
    return frnr


async def synced_google_event(cal: CalEnv) -> str:
    await cal.sync()
    created = await cal.owner.delegate(SB).insert_event(
        await cal.calendar_id(), google_meeting("2026-03-12", "Google")
    )
    await cal.sync()
    return str(created["id"])


async def new_employee(cal: CalEnv) -> None:
    await cal.termin(**meeting("2026-03-10"))


async def new_termin(cal: CalEnv) -> None:
    await cal.sync()
    await cal.termin(**meeting("2026-03-10"))


async def changed_termin(cal: CalEnv) -> None:
    frnr = await synced_termin(cal)
    await cal.advoware.update_termin(frnr, {"text": "geändert"})


async def deleted_in_google(cal: CalEnv) -> None:
    frnr = await synced_termin(cal)
    await cal.owner.delegate(SB).delete_event(await cal.calendar_id(), f"adv{frnr}")


async def deleted_termin(cal: CalEnv) -> None:
    frnr = await synced_termin(cal)
    await cal.advoware.delete_termin(frnr)


async def new_google_event(cal: CalEnv) -> None:
    await cal.sync()
    await cal.owner.delegate(SB).insert_event(await cal.calendar_id(), google_meeting("2026-03-12", "Google"))


async def changed_google_event(cal: CalEnv) -> None:
    event_id = await synced_google_event(cal)
    await cal.owner.delegate(SB).patch_event(await cal.calendar_id(), event_id, {"summary": "geändert"})


async def deleted_google_event(cal: CalEnv) -> None:
    event_id = await synced_google_event(cal)
    await cal.owner.delegate(SB).delete_event(await cal.calendar_id(), event_id)


async def cancelled_occurrence(cal: CalEnv) -> None:
    series = GOOGLE_CASES["weekly across March"]
    frnr = await cal.termin(datum="2026-03-16", uhrzeitVon="10:00", datumBis="2026-03-16", uhrzeitBis="11:00",
                            turnus=1, turnusArt=2, turnusBis="2026-04-13", text=series["summary"])  # fmt: skip
    await cal.sync()
    google = cal.owner.delegate(SB)
    instances = await google.list_instances(await cal.calendar_id(), f"adv{frnr}")
    await google.delete_event(await cal.calendar_id(), instances[1]["id"])


WRITES = {
    "insert calendar": Write("google", "POST", "*/calendars", new_employee),
    "share calendar": Write("google", "POST", "*/acl", new_employee),
    "insert event": Write("google", "POST", "*/events", new_termin),
    "patch event": Write("google", "PATCH", "*/events/*", changed_termin),
    "restore event": Write("google", "PATCH", "*/events/*", deleted_in_google),
    "delete event": Write("google", "DELETE", "*/events/*", deleted_termin),
    "put back occurrence": Write("google", "PATCH", "*/events/*", cancelled_occurrence),
    "link event": Write("google", "PATCH", "*/events/*", new_google_event),
    "create termin": Write("advoware", "POST", "*/Termine", new_google_event),
    "update termin": Write("advoware", "PUT", "*/Termine/*", changed_google_event),
    "delete termin": Write("advoware", "DELETE", "*/Termine/*", deleted_google_event),
}


def root(cal: CalEnv, sim: str) -> str:
    return cal.google_sim.root if sim == "google" else cal.advo_sim.url.rstrip("/")


async def assert_consistent(cal: CalEnv) -> None:
    """Converged, nothing left to write, and every Termin in exactly one event and back."""
    await set_faults(cal.google_sim.root)
    await set_faults(cal.advo_sim.url.rstrip("/"))
    outcome = await cal.converge()
    assert outcome.status == "noop", (outcome.status, outcome.error)
    calendars = [c for c in await cal.owner.list_calendars() if c.get("summary") == "SB"]
    assert len(calendars) == 1
    rules = await cal.owner.list_acl(calendars[0]["id"])
    assert [r["role"] for r in rules if r["id"] == f"user:{SB}"] == ["writer"]
    events, termine = await cal.events(), cal.termine()
    assert len(events) == len(termine) == len(await cal.mappings())
    for frnr, termin in termine.items():
        (event,) = [
            e for e in events.values() if e["extendedProperties"]["private"]["advowareFrNr"] == str(frnr)
        ]
        assert event["summary"] == termin["text"]
        if termin.get("turnus"):
            instances = await cal.owner.list_instances(calendars[0]["id"], event["id"], show_deleted=True)
            assert all(i["status"] == "confirmed" for i in instances)
    cal.reset_counters()
    assert (await cal.sync()).status == "noop" and cal.writes() == 0


async def sync_tolerating(cal: CalEnv) -> Any:
    """A sync whose reads or calendar setup may fail (the engine would retry the job)."""
    try:
        return await cal.sync()
    except ApiError as exc:
        return exc


@pytest.mark.parametrize("name", list(WRITES))
async def test_the_write_fails(cal: CalEnv, name: str) -> None:
    write = WRITES[name]
    await write.setup(cal)
    await set_faults(root(cal, write.sim), {"method": write.method, "route": write.route, "status": 503})
    result = await sync_tolerating(cal)
    assert isinstance(result, ApiError) or result.failed >= 1 or result.status == "partial"
    await assert_consistent(cal)


@pytest.mark.parametrize("name", list(WRITES))
async def test_the_write_succeeds_but_its_answer_is_lost(cal: CalEnv, name: str) -> None:
    write = WRITES[name]
    await write.setup(cal)
    rule = {"method": write.method, "route": write.route, "status": 503, "after_write": True, "count": 1}
    await set_faults(root(cal, write.sim), rule)
    await sync_tolerating(cal)
    await assert_consistent(cal)


async def die_after(cal: CalEnv, write: Write) -> None:
    """A sync killed right after `write` landed: nothing after it ran (no mapping saved, no
    token advanced)."""
    sim = cal.google_sim if write.sim == "google" else cal.advo_sim
    rule = {
        "method": write.method,
        "route": write.route,
        "status": None,
        "latency_after_ms": HELD_BACK_MS,
        "count": 1,
    }
    await set_faults(root(cal, write.sim), rule)
    run = asyncio.create_task(cal.sync())
    for _ in range(500):  # the rule is used when the write arrives; the handler runs at once
        if sim.core.faults.rules[0].count == 0 or run.done():
            break
        await asyncio.sleep(0.01)
    assert not run.done(), "the write was never made"
    await asyncio.sleep(0.05)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    cal.lock.held.clear()  # a dead process releases nothing; its lock would expire
    await set_faults(root(cal, write.sim))
    # The simulator counts the write when its held-back answer goes out: let it, so that a later
    # "0 writes" counts the next runs only.
    await asyncio.sleep(HELD_BACK_MS / 1000)


@pytest.mark.parametrize("name", list(WRITES))
async def test_the_process_dies_right_after_the_write(cal: CalEnv, name: str) -> None:
    write = WRITES[name]
    await write.setup(cal)
    await die_after(cal, write)
    await assert_consistent(cal)


async def test_a_termin_deleted_after_a_crash_behind_its_link_is_not_posted_again(cal: CalEnv) -> None:
    """A Google-born event: Termin POSTed, link PATCHed, then the process died before storing
    the mapping (still the intent). The Termin is deleted in Advoware before the next run: the
    event's link names it, so the delete reaches Google — the event is not POSTed a second time
    (found by the state machine)."""
    await new_google_event(cal)
    await die_after(cal, WRITES["link event"])
    ((frnr, _),) = cal.termine().items()
    (event,) = (await cal.events()).values()
    assert event["extendedProperties"]["private"]["advowareFrNr"] == str(frnr)
    await cal.advoware.delete_termin(frnr)
    await cal.converge()
    assert cal.termine() == {} and await cal.events() == {} and await cal.mappings() == []
    cal.reset_counters()
    assert (await cal.sync()).status == "noop" and cal.writes() == 0


@pytest.mark.parametrize("name", list(WRITES))
async def test_the_same_changes_arrive_twice(cal: CalEnv, name: str) -> None:
    """The run that made the write is followed by one that lists the same changes again (its
    token from before the write, as after a restore of the database): nothing is written twice."""
    write = WRITES[name]
    await write.setup(cal)
    before = await cal.db.get_calendar_employee("SB")
    first = await cal.sync()
    assert first.ok, (first.status, first.error)
    if before is not None and before.sync_token:
        await cal.db.driver.execute("UPDATE calendar_employees SET sync_token = $1", before.sync_token)
    cal.reset_counters()
    again = await cal.sync()
    assert again.status == "noop" and cal.writes() == 0, (again.status, again.done)
    await assert_consistent(cal)


async def test_a_google_edit_after_a_crash_behind_an_insert_reaches_advoware(cal: CalEnv) -> None:
    """A Termin's event inserted, then the process died before storing the mapping. The employee
    edits the event before the next run: his edit is the only change since the insert, so it
    reaches Advoware — it is not overwritten with the Termin's older text (found by the long
    state machine)."""
    await new_termin(cal)
    await die_after(cal, WRITES["insert event"])
    ((frnr, _),) = cal.termine().items()
    await cal.owner.delegate(SB).patch_event(
        await cal.calendar_id(), f"adv{frnr}", {"summary": "Google-Fassung"}
    )
    outcome = await cal.converge()
    assert outcome.status == "noop", (outcome.status, outcome.error)
    assert cal.termine()[frnr]["text"] == (await cal.events())[f"adv{frnr}"]["summary"] == "Google-Fassung"
    assert await cal.notices("conflict") == []


async def test_a_conflict_resolved_by_a_patch_whose_answer_is_lost_is_still_noticed(cal: CalEnv) -> None:
    """Found by the long state machine: both sides edited Advoware's appointment; the PATCH with
    the etag as seen landed, its answer was lost, and the client's retry met our own write's new
    etag (412). The run failed, the next one found both sides alike: the conflict went unnoticed.
    A 412 on a retry whose event already shows the patch is the write having applied."""
    frnr = await synced_termin(cal)
    calendar = await cal.calendar_id()
    await cal.owner.delegate(SB).patch_event(calendar, f"adv{frnr}", {"summary": "Google-Fassung"})
    await cal.advoware.update_termin(frnr, {"text": "Advoware-Fassung"})
    rule = {"method": "PATCH", "route": "*/events/*", "status": 503, "after_write": True, "count": 1}
    await set_faults(cal.google_sim.root, rule)
    outcome = await cal.sync()
    assert outcome.done == {"update_google": 1} and outcome.failed == 0, (outcome.done, outcome.error)
    assert (await cal.events())[f"adv{frnr}"]["summary"] == "Advoware-Fassung"
    (notice,) = await cal.notices("conflict")
    assert notice["data"]["frnr"] == frnr
    (mapping,) = await cal.mappings()
    assert mapping.status == "synced"
    assert (await cal.sync()).status == "noop"


async def test_a_mapping_out_of_retries_is_tried_again_at_the_auto_reset(cal: CalEnv) -> None:
    """Found by the long state machine: a Google-born event's mapping failed three times in a
    row, each time at another write (its Termin POST, its link PATCH, the Termin DELETE after
    the event was deleted in Google). Out of retries, it waited for a change of either side for
    good, and the deleted event's Termin stayed in Advoware. The one retry policy (DECISIONS 30)
    has an auto-reset: the mapping is tried again then, and the delete goes through."""
    event_id = await synced_google_event(cal)
    (mapping,) = await cal.mappings()
    frnr = mapping.advoware_frnr
    rule = {"method": "DELETE", "route": "*/Termine/*", "status": 503}
    await set_faults(cal.advo_sim.url.rstrip("/"), rule)
    await cal.owner.delegate(SB).delete_event(await cal.calendar_id(), event_id)
    for _ in range(3):  # every retry fails: out of retries
        cal.clock.advance(hours=1)
        assert (await cal.sync()).failed == 1
    (mapping,) = await cal.mappings()
    assert mapping.failure_count == 3 and len(await cal.notices("permanently_failed")) == 1
    await set_faults(cal.advo_sim.url.rstrip("/"))
    cal.clock.advance(hours=1)
    assert (await cal.sync()).status == "noop"  # waiting: neither side changed
    assert frnr in cal.termine()
    cal.clock.advance(hours=24)  # SYNC_AUTO_RESET_HOURS
    assert (await cal.sync()).done == {"delete_advoware": 1}
    assert cal.termine() == {} and await cal.mappings() == []
