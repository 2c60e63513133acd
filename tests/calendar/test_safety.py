"""Issue 13 acceptance, safety: a listing that suddenly comes back empty on either side wipes
nothing (the brake, the admin told once); a Google-side delete of an Advoware appointment is
restored (or, with `propagate`, deleted in Advoware); a Termin missing from the window is deleted
in Google only after a GET says it is gone; the mass-change brake and `--allow-mass-changes`;
no write carries attendees or mails anybody."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from simulators.google.events import create_event
from tests.calendar.conftest import ADMIN, SB_USER, CalEnv, make_settings
from tests.calendar.test_sync_directions import google_meeting, meeting
from tests.clients.conftest import admin_post, set_faults

pytestmark = pytest.mark.timeout(120)
SB = "sb@kanzlei.example"
TERMINE_ROUTE = "GET /api/v1/advonet/Termine"


async def fill(cal: CalEnv, count: int) -> list[int]:
    days = [date(2026, 3, 3) + timedelta(days=n % 300) for n in range(count)]
    frnrs = [await cal.termin(**meeting(day.isoformat()), text=f"T{n}") for n, day in enumerate(days)]
    outcome = await cal.sync()
    assert outcome.done == {"insert_google": count}  # the first fill is exempt from the brake
    return frnrs


async def test_advoware_listing_nothing_for_300_mapped_deletes_nothing_and_tells_the_admin(
    cal: CalEnv,
) -> None:
    await fill(cal, 300)
    advoware = cal.advo_sim.url.rstrip("/")
    await set_faults(
        advoware, {"method": "GET", "route": "*/advonet/Termine", "status": None, "body": [], "count": 2}
    )
    cal.reset_counters()
    outcome = await cal.sync()
    assert outcome.status == "braked" and outcome.done == {}
    assert cal.writes() == 0 and cal.advo_calls()[TERMINE_ROUTE] == 1  # no 300 confirming GETs either
    assert len(await cal.events()) == 300 and len(await cal.mappings()) == 300
    (notice,) = await cal.notices("safety_brake")
    assert notice["userId"] == ADMIN and "300" in notice["message"]
    assert (await cal.sync()).status == "braked"  # the same episode: no second notice
    assert len(await cal.notices("safety_brake")) == 1
    # The listing is back: an ordinary run, the episode closed.
    assert (await cal.sync()).status == "noop"
    stored = await cal.db.get_calendar_employee("SB")
    assert stored is not None and not stored.braking


async def test_google_answering_an_empty_full_listing_wipes_and_duplicates_nothing(cal: CalEnv) -> None:
    await fill(cal, 300)
    await cal.db.clear_calendar_sync_token("SB")  # the next listing is a full one
    empty = {"kind": "calendar#events", "items": []}
    await set_faults(
        cal.google_sim.root, {"method": "GET", "route": "*/events", "status": None, "body": empty, "count": 1}
    )
    cal.reset_counters()
    outcome = await cal.sync()
    assert outcome.status == "braked" and outcome.full
    assert cal.writes() == 0  # no 300 restores, no 300 deletes in Advoware
    assert len(cal.termine()) == 300 and len(await cal.events()) == 300
    assert len(await cal.notices("safety_brake")) == 1
    assert (await cal.sync()).status == "noop"  # the real listing again: nothing to do
    assert len(await cal.events()) == 300


async def test_a_google_delete_of_an_advoware_appointment_is_restored_and_notified(cal: CalEnv) -> None:
    frnr = await cal.termin(**meeting("2026-03-10"), text="Gerichtstermin", ort="LG Köln")
    await cal.sync()
    calendar, event_id = await cal.calendar_id(), f"adv{frnr}"
    await cal.owner.delegate(SB).delete_event(calendar, event_id)  # a tap on a phone
    outcome = await cal.sync()
    assert outcome.done == {"restore_google": 1}
    event = (await cal.events())[event_id]
    assert event["status"] == "confirmed" and event["summary"] == "Gerichtstermin"
    assert cal.termine()[frnr]["text"] == "Gerichtstermin"
    (notice,) = await cal.notices("event_restored")
    assert notice["userId"] == SB_USER and notice["data"]["frnr"] == frnr
    assert (await cal.sync()).status == "noop"


async def test_an_event_gone_for_good_is_restored_under_a_fresh_id(cal: CalEnv) -> None:
    frnr = await cal.termin(**meeting("2026-03-10"))
    await cal.sync()
    calendar = await cal.calendar_id()
    await cal.owner.delete_event(calendar, f"adv{frnr}")
    del cal.google_sim.state.calendars[calendar].events[f"adv{frnr}"]  # purged from Google's bin
    await admin_post(cal.google_sim.root, "/_admin/invalidate-sync-tokens", {})  # a full listing
    assert (await cal.sync()).done == {"restore_google": 1}
    assert list(await cal.events()) == [f"adv{frnr}r1"]
    mapping = await cal.db.mapping_by_frnr("SB", frnr)
    assert mapping is not None and mapping.google_event_id == f"adv{frnr}r1"
    assert (await cal.sync()).status == "noop"


@pytest.mark.parametrize("cal_settings", [make_settings(google_deletes="propagate")])
async def test_with_propagate_a_google_delete_deletes_the_termin(cal: CalEnv) -> None:
    frnr = await cal.termin(**meeting("2026-03-10"))
    await cal.sync()
    await cal.owner.delete_event(await cal.calendar_id(), f"adv{frnr}")
    assert (await cal.sync()).done == {"delete_advoware": 1}
    assert cal.termine() == {} and await cal.notices("event_restored") == []


async def test_a_termin_missing_from_the_window_is_kept_unless_a_get_says_it_is_gone(cal: CalEnv) -> None:
    kept, moved, gone = [await cal.termin(**meeting(f"2026-03-1{n}")) for n in range(3)]
    await cal.sync()
    await cal.advoware.update_termin(
        kept, {"datum": "2028-01-10", "datumBis": "2028-01-10"}
    )  # out of the window
    await cal.advoware.update_termin(moved, {"kuerzel": "AI"})  # now another employee's
    await cal.advoware.delete_termin(gone)
    cal.reset_counters()
    outcome = await cal.sync()
    assert outcome.done == {"delete_google": 2}
    assert cal.advo_calls()[TERMINE_ROUTE] == 4  # the listing and one GET per missing Termin
    assert set(await cal.events()) == {f"adv{kept}"}
    assert await cal.db.mapping_by_frnr("SB", kept) is not None
    # The other employee's run creates the moved one in his calendar.
    assert (await cal.sync("AI")).done == {"insert_google": 1}
    assert set(await cal.events("AI")) == {f"adv{moved}"}


async def test_the_mass_change_brake_waits_for_allow_mass_changes(cal: CalEnv) -> None:
    frnrs = await fill(cal, 40)
    for frnr in frnrs[:25]:  # more than max(20, 25 % of 40)
        await cal.advoware.delete_termin(frnr)
    outcome = await cal.sync()
    assert outcome.status == "braked" and len(await cal.events()) == 40
    (notice,) = await cal.notices("safety_brake")
    assert "25" in notice["message"] and notice["userId"] == ADMIN
    outcome = await cal.sync(allow_mass_changes=True)
    assert outcome.done == {"delete_google": 25} and len(await cal.events()) == 15
    stored = await cal.db.get_calendar_employee("SB")
    assert stored is not None and not stored.braking
    for frnr in frnrs[25:45]:  # a later episode under the limit: no brake at all
        await cal.advoware.delete_termin(frnr)
    assert (await cal.sync()).done == {"delete_google": 15}
    assert len(await cal.notices("safety_brake")) == 1


async def test_no_write_carries_attendees_or_mails_anybody(cal: CalEnv) -> None:
    frnr = await cal.termin(**meeting("2026-03-10"))
    await cal.sync()
    calendar = await cal.calendar_id()
    # A user's app adds guests to an event of his own (our client refuses to write guests).
    state = cal.google_sim.state
    guests = [{"email": "mandant@example.org"}, {"email": "gegner@example.org"}]
    invited = create_event(
        state, state.calendars[calendar], {**google_meeting("2026-03-12"), "attendees": guests}
    )
    await cal.advoware.update_termin(frnr, {"text": "neu"})
    assert (await cal.converge()).status == "noop"
    (termin,) = [t for f, t in cal.termine().items() if f != frnr]
    assert "example.org" not in str(termin)  # guests never reach Advoware
    writes = state.event_writes
    assert {w.event_id for w in writes} == {f"adv{frnr}", invited.id}  # insert + patch, link patch
    assert all(w.send_updates == "none" for w in writes)  # nobody is mailed
    assert all(w.attendees == 0 for w in writes if w.event_id == f"adv{frnr}")
    assert all(w.attendees == 2 for w in writes if w.event_id == invited.id)  # the user's guests kept
