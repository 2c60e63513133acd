"""Issue 13 acceptance, time and series: an all-day, a multi-day, a weekly 10:00 series across the
last Sunday of March and of October, 01:30–03:30 on the spring Sunday, Sat 22:00–Sun 04:00 in
autumn — synced both ways end to end, local times kept, no ping-pong; one occurrence of a series
moved and one cancelled stays one series with two exceptions, no duplicate; appointments at the
window's edges are never deleted and re-created as the days pass."""

from __future__ import annotations

from typing import Any

import pytest

from tests.calendar.conftest import SB_USER, CalEnv
from tests.calendar.test_mapping_over_http import CASES
from tests.clients.conftest import set_faults

pytestmark = pytest.mark.timeout(60)
SB = "sb@kanzlei.example"

# The same six appointments as a Google user would enter them (his app's own forms: BYDAY in the
# weekly rules, end dates exclusive, times with the zone name only).
GOOGLE_CASES: dict[str, dict[str, Any]] = {
    "all-day": {"summary": "Urlaub", "start": {"date": "2026-03-27"}, "end": {"date": "2026-03-28"}},
    "multi-day": {"summary": "Seminar", "start": {"date": "2026-10-23"}, "end": {"date": "2026-10-28"}},
    "weekly across March": {
        "summary": "Teambesprechung",
        "start": {"dateTime": "2026-03-16T10:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-03-16T11:00:00", "timeZone": "Europe/Berlin"},
        "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20260413T215959Z"],
    },
    "weekly across October": {
        "summary": "Teambesprechung",
        "start": {"dateTime": "2026-10-12T10:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-10-12T11:00:00", "timeZone": "Europe/Berlin"},
        "recurrence": ["RRULE:FREQ=WEEKLY;WKST=MO;BYDAY=MO;UNTIL=20261109T225959Z"],
    },
    "spring night": {
        "summary": "Fristenbriefkasten", "location": "Kanzlei",
        "start": {"dateTime": "2026-03-29T01:30:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-03-29T03:30:00+02:00", "timeZone": "Europe/Berlin"},
    },
    "autumn night": {
        "summary": "Nachtschicht", "description": "Akte 12/26",
        "start": {"dateTime": "2026-10-24T22:00:00+02:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-10-25T04:00:00+01:00", "timeZone": "Europe/Berlin"},
    },
}  # fmt: skip
# What each case must look like in Berlin wall time on the other side.
LOCAL = {
    "all-day": ("2026-03-27", None, "2026-03-27", None),
    "multi-day": ("2026-10-23", None, "2026-10-27", None),
    "weekly across March": ("2026-03-16", "10:00:00", "2026-03-16", "11:00:00"),
    "weekly across October": ("2026-10-12", "10:00:00", "2026-10-12", "11:00:00"),
    "spring night": ("2026-03-29", "01:30:00", "2026-03-29", "03:30:00"),
    "autumn night": ("2026-10-24", "22:00:00", "2026-10-25", "04:00:00"),
}


def local_of(termin: dict[str, Any]) -> tuple[Any, ...]:
    return (termin["datum"][:10], termin.get("uhrzeitVon"), termin["datumBis"][:10], termin.get("uhrzeitBis"))


async def assert_quiet(cal: CalEnv, runs: int = 2) -> None:
    """No ping-pong: the following runs write nothing."""
    for _ in range(runs):
        cal.reset_counters()
        outcome = await cal.sync()
        assert outcome.status == "noop", (outcome.status, outcome.done)
        assert cal.writes() == 0


async def test_advoware_cases_reach_google_with_local_times_kept(cal: CalEnv) -> None:
    frnrs = {name: await cal.termin(**case) for name, case in CASES.items()}
    assert (await cal.sync()).done == {"insert_google": 6}
    events = await cal.events()
    got = {name: events[f"adv{f}"] for name, f in frnrs.items()}
    assert got["all-day"]["start"] == {"date": "2026-03-27"} and got["all-day"]["end"] == {
        "date": "2026-03-28"
    }
    assert got["multi-day"]["end"] == {"date": "2026-10-28"}  # Google's end is exclusive
    assert got["spring night"]["start"]["dateTime"] == "2026-03-29T01:30:00+01:00"
    assert got["spring night"]["end"]["dateTime"] == "2026-03-29T03:30:00+02:00"
    assert got["autumn night"]["end"]["dateTime"] == "2026-10-25T04:00:00+01:00"
    # Every occurrence of the weekly series is at 10:00 local, on both sides of the change.
    for name, change in (("weekly across March", "2026-03-30"), ("weekly across October", "2026-10-26")):
        instances = await cal.owner.list_instances(await cal.calendar_id(), f"adv{frnrs[name]}")
        starts = [i["start"]["dateTime"] for i in instances]
        assert all(s[11:19] == "10:00:00" for s in starts), starts
        assert any(s.startswith(change) for s in starts), starts
    await assert_quiet(cal)


async def test_google_cases_reach_advoware_with_local_times_kept(cal: CalEnv) -> None:
    await cal.sync()
    google = cal.owner.delegate(SB)
    calendar = await cal.calendar_id()
    for body in GOOGLE_CASES.values():
        await google.insert_event(calendar, body)
    assert (await cal.sync()).done == {"create_advoware": 6}
    termine = {t["text"] + str(t["datum"][:10]): t for t in cal.termine().values()}
    for name, body in GOOGLE_CASES.items():
        day = (body["start"].get("date") or body["start"]["dateTime"])[:10]
        termin = termine[body["summary"] + day]
        assert local_of(termin) == LOCAL[name], name
        if "recurrence" in body:
            assert termin["turnus"] == 1 and termin["turnusArt"] == 2
    await assert_quiet(cal)


async def test_window_edges_are_never_deleted_and_recreated_across_a_day_boundary(cal: CalEnv) -> None:
    first = await cal.termin(datum="2026-01-31", dauertermin=1, text="erster Tag")  # today - 30
    last = await cal.termin(datum="2027-03-02", dauertermin=1, text="letzter Tag")  # today + 365
    late = await cal.termin(**{"datum": "2026-03-01", "uhrzeitVon": "23:30", "datumBis": "2026-03-02",
                               "uhrzeitBis": "00:30", "text": "über Mitternacht"})  # fmt: skip
    assert (await cal.sync()).done == {"insert_google": 3}
    for days in range(1, 4):  # the window moves a day at a time; the first Termin leaves it
        cal.clock.advance(days=1)
        cal.reset_counters()
        outcome = await cal.sync()
        assert outcome.status == "noop", (days, outcome.done)
        assert cal.writes() == 0
        # The one that left by the back edge is left alone: not even a confirming GET.
        assert cal.advo_calls()["GET /api/v1/advonet/Termine"] == 1
    assert {f"adv{f}" for f in (first, last, late)} <= set(await cal.events())
    assert len(await cal.mappings()) == 3


async def google_series(cal: CalEnv) -> tuple[str, str, int]:
    await cal.sync()
    google = cal.owner.delegate(SB)
    calendar = await cal.calendar_id()
    master = await google.insert_event(calendar, GOOGLE_CASES["weekly across March"])
    await cal.sync()
    (frnr,) = cal.termine()
    return calendar, master["id"], frnr


async def move_one_cancel_one(cal: CalEnv, calendar: str, master_id: str) -> tuple[str, str]:
    google = cal.owner.delegate(SB)
    instances = await google.list_instances(calendar, master_id)
    moved, cancelled = instances[1]["id"], instances[2]["id"]
    await google.patch_event(calendar, moved, {
        "start": {"dateTime": "2026-03-24T15:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-03-24T16:00:00", "timeZone": "Europe/Berlin"},
    })  # fmt: skip
    await google.delete_event(calendar, cancelled)
    return moved, cancelled


async def test_google_owned_series_with_a_moved_and_a_cancelled_occurrence(cal: CalEnv) -> None:
    calendar, master_id, frnr = await google_series(cal)
    moved, cancelled = await move_one_cancel_one(cal, calendar, master_id)
    outcome = await cal.sync()
    assert outcome.failed == 1
    # Advoware keeps its one series; nothing written there, no extra Termin.
    (termin,) = cal.termine().values()
    assert termin["frNr"] == frnr and termin["turnus"] == 1
    # Google: still one series with its two exceptions, no separate event, no second series.
    assert list(await cal.events()) == [master_id]
    instances = {i["id"]: i for i in await cal.owner.list_instances(calendar, master_id, show_deleted=True)}
    assert instances[moved]["start"]["dateTime"].startswith("2026-03-24T15:00")
    assert instances[cancelled]["status"] == "cancelled"
    (mapping,) = await cal.mappings()
    assert mapping.status == "failed" and "occurrence" in str(mapping.failure_reason)
    (notice,) = await cal.notices("manual_action")
    assert notice["userId"] == SB_USER
    cal.clock.advance(hours=6)  # every retry: the same exceptions, no second notice, no write
    for _ in range(4):
        cal.clock.advance(minutes=10)
        cal.reset_counters()
        await cal.sync()
        assert cal.writes() == 0
    assert len(await cal.notices("manual_action")) == 1 and len(cal.termine()) == 1


async def test_advoware_owned_series_exceptions_in_google_are_put_back(cal: CalEnv) -> None:
    frnr = await cal.termin(**CASES["weekly across March"])
    await cal.sync()
    calendar, master_id = await cal.calendar_id(), f"adv{frnr}"
    moved, cancelled = await move_one_cancel_one(cal, calendar, master_id)
    outcome = await cal.sync()
    assert outcome.done == {"revert_google": 1}
    instances = {i["id"]: i for i in await cal.owner.list_instances(calendar, master_id, show_deleted=True)}
    assert instances[moved]["start"]["dateTime"].endswith("T10:00:00+01:00")
    assert instances[cancelled]["status"] == "confirmed"
    assert list(await cal.events()) == [master_id] and len(cal.termine()) == 1
    (notice,) = await cal.notices("change_reverted")
    assert notice["userId"] == SB_USER
    await assert_quiet(cal)  # the echo of the put-back instances asks for nothing


async def test_a_master_edit_beside_an_exception_on_advowares_series_reaches_advoware(cal: CalEnv) -> None:
    """Found by the long state machine: one occurrence of Advoware's series moved in Google and
    the series' subject edited there too. The moved occurrence is put back (noticed); the
    subject is a change Advoware can hold and the only one since the last sync: it reaches
    Advoware instead of being reverted with the occurrence."""
    frnr = await cal.termin(**CASES["weekly across March"])
    await cal.sync()
    calendar, master_id = await cal.calendar_id(), f"adv{frnr}"
    google = cal.owner.delegate(SB)
    instances = await google.list_instances(calendar, master_id)
    day = instances[1]["start"]["dateTime"][:10]
    moved = {"start": {"dateTime": f"{day}T18:00:00", "timeZone": "Europe/Berlin"},
             "end": {"dateTime": f"{day}T19:00:00", "timeZone": "Europe/Berlin"}}  # fmt: skip
    await google.patch_event(calendar, instances[1]["id"], moved)
    await google.patch_event(calendar, master_id, {"summary": "Jour fixe"})
    outcome = await cal.converge()
    assert outcome.status == "noop", (outcome.status, outcome.error)
    assert cal.termine()[frnr]["text"] == (await cal.events())[master_id]["summary"] == "Jour fixe"
    after = await google.list_instances(calendar, master_id, show_deleted=True)
    assert all(i["start"]["dateTime"][11:16] == "10:00" and i["summary"] == "Jour fixe" for i in after)
    assert len(await cal.notices("change_reverted")) == 1 and await cal.notices("conflict") == []
    await assert_quiet(cal)


async def test_both_sides_edited_a_series_with_an_exception_advoware_wins_with_a_conflict_notice(
    cal: CalEnv,
) -> None:
    """Found by the long state machine: besides the reverted occurrence, an edit of Advoware's
    series on both sides is a conflict like any other (owner wins, one notice)."""
    frnr = await cal.termin(**CASES["weekly across March"])
    await cal.sync()
    calendar, master_id = await cal.calendar_id(), f"adv{frnr}"
    google = cal.owner.delegate(SB)
    instances = await google.list_instances(calendar, master_id)
    await google.delete_event(calendar, instances[1]["id"])
    await google.patch_event(calendar, master_id, {"summary": "Google-Fassung"})
    await cal.advoware.update_termin(frnr, {"text": "Advoware-Fassung"})
    outcome = await cal.converge()
    assert outcome.status == "noop", (outcome.status, outcome.error)
    assert cal.termine()[frnr]["text"] == (await cal.events())[master_id]["summary"] == "Advoware-Fassung"
    (notice,) = await cal.notices("conflict")
    assert notice["userId"] == SB_USER and len(await cal.notices("change_reverted")) == 1
    await assert_quiet(cal)


@pytest.mark.parametrize("owner", ["advoware", "google"])
async def test_an_occurrence_changed_alone_is_seen_though_the_listing_lacks_its_master(
    cal: CalEnv, owner: str
) -> None:
    """Found by the state machine: once the series' own echo is consumed, the incremental listing
    of a moved occurrence holds only the instance; the no-op path took it for 'nothing changed'."""
    if owner == "advoware":
        frnr = await cal.termin(**CASES["weekly across March"])
        await cal.sync()
        calendar, master_id = await cal.calendar_id(), f"adv{frnr}"
    else:
        calendar, master_id, frnr = await google_series(cal)
    await assert_quiet(cal)  # the listing's echo of the series is consumed
    google = cal.owner.delegate(SB)
    moved = (await google.list_instances(calendar, master_id))[1]
    day = moved["start"]["dateTime"][:10]
    await google.patch_event(calendar, moved["id"], {
        "start": {"dateTime": f"{day}T18:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": f"{day}T19:00:00", "timeZone": "Europe/Berlin"},
    })  # fmt: skip
    outcome = await cal.sync()
    instance = await cal.owner.get_event(calendar, moved["id"])
    if owner == "advoware":
        assert outcome.done == {"revert_google": 1}
        assert instance["start"]["dateTime"][11:16] == "10:00"
        assert len(await cal.notices("change_reverted")) == 1
        await assert_quiet(cal)
    else:
        assert outcome.failed == 1 and instance["start"]["dateTime"][11:16] == "18:00"
        (mapping,) = await cal.mappings()
        assert mapping.status == "failed" and "moved occurrence" in str(mapping.failure_reason)
        assert len(await cal.notices("manual_action")) == 1
    assert list(await cal.events()) == [master_id] and list(cal.termine()) == [frnr]


@pytest.mark.parametrize("side", ["google", "advoware"])
async def test_a_series_moved_as_a_whole_is_no_exception_of_itself(cal: CalEnv, side: str) -> None:
    """Found by the state machine: a Google-owned series is moved as a whole on one side and the
    write to the other side fails, so its mapping is open and the next run reads its instances.
    They follow Google's master; compared with Advoware's times they were taken for moved
    occurrences and the mapping failed for good."""
    calendar, master_id, frnr = await google_series(cal)
    google = cal.owner.delegate(SB)
    if side == "google":
        moved = {"start": {"dateTime": "2026-03-16T12:00:00", "timeZone": "Europe/Berlin"},
                 "end": {"dateTime": "2026-03-16T13:30:00", "timeZone": "Europe/Berlin"}}  # fmt: skip
        await google.patch_event(calendar, master_id, moved)
        root, fault = cal.advo_sim.url.rstrip("/"), {"method": "PUT", "route": "*/Termine/*", "status": 503}
    else:
        await cal.advoware.update_termin(frnr, {"uhrzeitVon": "12:00:00", "uhrzeitBis": "13:30:00"})
        root, fault = cal.google_sim.root, {"method": "PATCH", "route": "*/events/*", "status": 503}
    await set_faults(root, fault)
    assert (await cal.sync()).failed == 1  # the mapping failed: open at its retry time
    await set_faults(root)
    cal.clock.advance(hours=1)
    outcome = await cal.converge()
    assert outcome.status == "noop", (outcome.status, outcome.error)
    (mapping,) = await cal.mappings()
    assert mapping.status == "synced", mapping.failure_reason
    assert await cal.notices("manual_action") == []
    (termin,) = cal.termine().values()
    event = (await cal.events())[master_id]
    assert termin["uhrzeitVon"].startswith("12:00") and termin["uhrzeitBis"].startswith("13:30")
    assert event["start"]["dateTime"].startswith("2026-03-16T12:00")
    instances = await google.list_instances(calendar, master_id, show_deleted=True)
    assert len(instances) == 5 and all(i["start"]["dateTime"][11:16] == "12:00" for i in instances)


async def test_a_deleted_advoware_series_is_restored_with_the_occurrences_its_delete_cancelled(
    cal: CalEnv,
) -> None:
    """Found by the long state machine: an occurrence of Advoware's series, once put back, is a
    stored instance; deleting the series in Google cancels it with the series. The restore put
    back the master only, and the next incremental listing no longer brought the cancelled
    occurrence: the series stayed without it for good."""
    frnr = await cal.termin(**CASES["weekly across March"])
    await cal.sync()
    calendar, master_id = await cal.calendar_id(), f"adv{frnr}"
    google = cal.owner.delegate(SB)
    first = (await google.list_instances(calendar, master_id))[1]["id"]
    await google.delete_event(calendar, first)
    assert (await cal.sync()).done == {"revert_google": 1}  # put back: now a stored instance
    await google.delete_event(calendar, master_id)  # the whole series, in Google
    assert (await cal.sync()).done == {"restore_google": 1}
    outcome = await cal.converge()
    assert outcome.status == "noop", (outcome.status, outcome.error)
    instances = await google.list_instances(calendar, master_id, show_deleted=True)
    assert len(instances) == 5 and all(i["status"] == "confirmed" for i in instances), [
        (i["id"], i["status"]) for i in instances
    ]
    assert len(await cal.notices("event_restored")) == 1
    await assert_quiet(cal)
