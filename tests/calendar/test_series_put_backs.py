"""Occurrences put back on Advoware's series follow the series' later edits (found by the long
state machine).

A put-back occurrence is a stored instance in Google: it no longer follows its master. When the
series is edited afterwards (its subject or its times, on either side), the run that carries the
edit over puts those occurrences back again as the series now has them — without a second
"reverted" notice, since the employee changed nothing there — and an occurrence whose original
start is no longer one of the series' is cancelled, not left behind as a phantom."""

from __future__ import annotations

from typing import Any

import pytest

from services.calendar.event_mapping import from_event
from services.calendar.series import exceptions
from tests.calendar.conftest import CalEnv
from tests.calendar.test_mapping_over_http import CASES
from tests.calendar.test_times_and_series import SB, assert_quiet, move_one_cancel_one
from tests.clients.conftest import admin_post, set_faults

pytestmark = pytest.mark.timeout(60)
LATER = {"uhrzeitVon": "12:00:00", "uhrzeitBis": "13:30:00"}


async def put_back_series(cal: CalEnv) -> tuple[str, str, int]:
    """Advoware's weekly series in Google with one occurrence moved and one cancelled there, both
    put back by a sync."""
    frnr = await cal.termin(**CASES["weekly across March"])
    await cal.sync()
    calendar, master_id = await cal.calendar_id(), f"adv{frnr}"
    await move_one_cancel_one(cal, calendar, master_id)
    assert (await cal.sync()).done == {"revert_google": 1}
    await assert_quiet(cal)
    return calendar, master_id, frnr


async def visible_instances(cal: CalEnv, calendar: str, master_id: str) -> list[dict[str, Any]]:
    return list(await cal.owner.list_instances(calendar, master_id))


async def assert_no_exceptions(cal: CalEnv, calendar: str, master_id: str) -> None:
    master = await cal.owner.get_event(calendar, master_id)
    everything = await cal.owner.list_instances(calendar, master_id, show_deleted=True)
    assert exceptions(from_event(master), everything) == []


@pytest.mark.parametrize("side", ["google", "advoware"])
async def test_put_back_occurrences_follow_a_later_subject_edit(cal: CalEnv, side: str) -> None:
    calendar, master_id, frnr = await put_back_series(cal)
    if side == "google":
        await cal.owner.delegate(SB).patch_event(calendar, master_id, {"summary": "Jour fixe"})
    else:
        await cal.advoware.update_termin(frnr, {"text": "Jour fixe"})
    outcome = await cal.converge()
    assert outcome.status == "noop", (outcome.status, outcome.error)
    assert cal.termine()[frnr]["text"] == "Jour fixe"
    shown = await visible_instances(cal, calendar, master_id)
    assert len(shown) == 5 and all(i["summary"] == "Jour fixe" for i in shown), [i["summary"] for i in shown]
    await assert_no_exceptions(cal, calendar, master_id)
    assert len(await cal.notices("change_reverted")) == 1  # the first put-back only
    await assert_quiet(cal)


@pytest.mark.parametrize("side", ["google", "advoware"])
async def test_put_back_occurrences_follow_the_series_to_its_new_time(cal: CalEnv, side: str) -> None:
    calendar, master_id, frnr = await put_back_series(cal)
    if side == "google":
        moved = {"start": {"dateTime": "2026-03-16T12:00:00", "timeZone": "Europe/Berlin"},
                 "end": {"dateTime": "2026-03-16T13:30:00", "timeZone": "Europe/Berlin"}}  # fmt: skip
        await cal.owner.delegate(SB).patch_event(calendar, master_id, moved)
    else:
        await cal.advoware.update_termin(frnr, LATER)
    outcome = await cal.converge()
    assert outcome.status == "noop", (outcome.status, outcome.error)
    assert cal.termine()[frnr]["uhrzeitVon"].startswith("12:00")
    shown = await visible_instances(cal, calendar, master_id)
    times = [i["start"]["dateTime"][:16] for i in shown]
    assert len(shown) == 5 and all(t.endswith("T12:00") for t in times), times
    await assert_no_exceptions(cal, calendar, master_id)
    assert len(await cal.notices("change_reverted")) == 1
    await assert_quiet(cal)


async def test_a_purged_series_is_restored_whole_under_a_fresh_id(cal: CalEnv) -> None:
    """The series is deleted in Google (its put-back occurrences cancelled with it) and purged
    from Google's bin: the restore inserts `adv{frNr}r1`, whose occurrences are all fresh. The
    cancelled occurrences of the purged series are not brought back beside it (each would show
    its date twice)."""
    calendar, master_id, frnr = await put_back_series(cal)
    await cal.owner.delegate(SB).delete_event(calendar, master_id)
    del cal.google_sim.state.calendars[calendar].events[master_id]  # purged; its instances stay
    await admin_post(cal.google_sim.root, "/_admin/invalidate-sync-tokens", {})  # a full listing
    outcome = await cal.converge()
    assert outcome.status == "noop", (outcome.status, outcome.error)
    restored = f"adv{frnr}r1"
    assert list(await cal.events()) == [restored]
    listing = await cal.owner.list_events(calendar, single_events=True)
    shown = [e for e in listing.items if e.get("status") != "cancelled"]
    assert [e.get("recurringEventId") for e in shown] == [restored] * 5, [e["id"] for e in shown]
    assert len(await cal.notices("event_restored")) == 1
    await assert_quiet(cal)


async def test_a_deleted_series_whose_first_restore_failed_gets_its_occurrences_back(cal: CalEnv) -> None:
    """Found by the long state machine: the restore of a deleted series failed, so the next run's
    listing no longer brought the occurrences the delete had cancelled, and events.instances of
    a deleted series answers 410: the series came back without them. A restored series is looked
    at again by the next run, when its instances can be read."""
    calendar, master_id, _ = await put_back_series(cal)
    await cal.owner.delegate(SB).delete_event(calendar, master_id)
    await set_faults(cal.google_sim.root, {"method": "PATCH", "route": "*/events/*", "status": 503})
    assert (await cal.sync()).failed == 1
    await set_faults(cal.google_sim.root)
    cal.clock.advance(hours=1)  # past the retry delay
    outcome = await cal.converge()
    assert outcome.status == "noop", (outcome.status, outcome.error)
    everything = await cal.owner.list_instances(calendar, master_id, show_deleted=True)
    assert len(everything) == 5 and all(i["status"] == "confirmed" for i in everything)
    await assert_no_exceptions(cal, calendar, master_id)
    await assert_quiet(cal)
